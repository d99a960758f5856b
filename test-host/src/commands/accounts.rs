//! `atrs-test-host accounts [--all]`: saved accounts, their settings and health, never
//! their secrets; times as local dates with how long ago, internal keys only with `--all`.
//! It first says where accounts live: the backend, whether secrets are sealed, and
//! where the key comes from (never the key).

use std::collections::BTreeMap;

use atrs_host_runtime::hosted::HostedPlugin;
use atrs_host_sdk::{AccountHealth, HealthState};
use serde_json::json;

use crate::{
    commands::owner::saved_account,
    context::Context,
    error::CommandError,
    health_view,
    present::{account_lines, natural_order},
};

/// The health of `account` from its plugin, when the plugin loads and reports it.
fn health_of(
    ctx: &Context,
    handles: &mut BTreeMap<String, Option<HostedPlugin>>,
    plugin: &str,
    account: &str,
) -> Option<AccountHealth> {
    handle_of(ctx, handles, plugin)?
        .account_health(account)
        .ok()
}

/// The open instance of `plugin`, opened on first use; `None` when it does not load.
fn handle_of<'h>(
    ctx: &Context,
    handles: &'h mut BTreeMap<String, Option<HostedPlugin>>,
    plugin: &str,
) -> Option<&'h HostedPlugin> {
    handles
        .entry(plugin.to_owned())
        .or_insert_with(|| {
            let catalog = ctx.catalog().ok()?;
            ctx.open(catalog.find(plugin).ok()?).ok()
        })
        .as_ref()
}

/// Lists the saved accounts: one line each, or in detail `account` (that one) or
/// every one (`all`, with the plugin's internal settings).
pub fn run(ctx: &Context, account: Option<&str>, all: bool) -> Result<(), CommandError> {
    let store = ctx.existing_store()?;
    let mut accounts = match account {
        Some(name) => vec![saved_account(&store, name, None)?],
        None => store.all_accounts()?,
    };
    accounts.sort_by(|a, b| natural_order(&a.account, &b.account).then(a.plugin.cmp(&b.plugin)));
    let detailed = all || account.is_some();
    let out = ctx.output;
    let info = store.info();
    out.say(health_view::store_line(&info));
    if accounts.is_empty() {
        out.say(format!("No saved accounts in {}.", info.location));
    }
    let mut listed = Vec::new();
    let mut handles = BTreeMap::new();
    let now = health_view::unix_now();
    let name_width = accounts
        .iter()
        .map(|a| a.account.chars().count())
        .max()
        .unwrap_or(0);
    for a in &accounts {
        let mut settings = store
            .read_settings(&a.plugin, &a.account)?
            .unwrap_or_default();
        let health = health_of(ctx, &mut handles, &a.plugin, &a.account);
        if detailed {
            let mut shown = settings.clone();
            if health.is_some() {
                // The health lines show these in words already.
                for key in SHOWN_BY_HEALTH {
                    shown.remove(*key);
                }
            }
            let display = handle_of(ctx, &mut handles, &a.plugin)
                .map(|h| h.settings_display())
                .unwrap_or_default();
            for line in account_lines(&a.plugin, &a.account, &shown, &display, all, now) {
                out.say(line);
            }
            for line in health.iter().flat_map(|h| health_view::lines(h, now)) {
                out.say(line);
            }
        } else {
            out.say(one_line(&a.plugin, &a.account, name_width, health.as_ref()));
        }
        listed.push(
            json!({"plugin": a.plugin, "account": a.account, "settings": std::mem::take(&mut settings),
            "health": health.as_ref().map(health_view::to_json)}),
        );
    }
    if !detailed && !accounts.is_empty() {
        out.say("Details: `atrs-test-host accounts NAME` for one account, `atrs-test-host accounts --all` for every one.");
    }
    out.result(
        "accounts",
        json!({"store": info.location, "backend": info.backend, "sealed": info.sealed,
            "key_source": info.key_source, "accounts": listed}),
    );
    Ok(())
}

/// Settings the health lines show in words, left out of the settings beside them.
const SHOWN_BY_HEALTH: &[&str] = &["verified_at", "secret_expires_at"];

/// One account in one line: its state mark, name, plugin and state (with the reason
/// when it is not healthy).
fn one_line(plugin: &str, account: &str, width: usize, health: Option<&AccountHealth>) -> String {
    let pad = " ".repeat(width.saturating_sub(account.chars().count()));
    let state = match health {
        None => "·  ".to_owned(),
        Some(h) => format!("{} ", health_view::state_mark(h.state)),
    };
    let words = match health {
        None => String::new(),
        Some(h) if h.state == HealthState::Healthy => match &h.last_refresh_error {
            // The sign-in holds, but the last attempt to renew it did not get through.
            Some(e) => format!("healthy, but the last renewal failed — {}", e.message()),
            None => health_view::state_words(h.state).to_owned(),
        },
        Some(h) if h.reason.is_empty() => health_view::state_words(h.state).to_owned(),
        Some(h) => format!("{} — {}", health_view::state_words(h.state), h.reason),
    };
    format!("{state}{account}{pad}  {plugin}  {words}")
        .trim_end()
        .to_owned()
}

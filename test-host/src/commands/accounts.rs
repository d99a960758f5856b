//! `atrs-test-host accounts [--all]`: saved accounts, their settings and health, never
//! their secrets; times as local dates with how long ago, internal keys only with `--all`.
//! It first says where accounts live: the backend, whether secrets are sealed, and
//! where the key comes from (never the key).

use std::collections::BTreeMap;

use atrs_host_sdk::{loader::IntegrationHandle, AccountHealth};
use serde_json::json;

use crate::{
    context::Context,
    error::CommandError,
    health_view,
    present::{account_lines, natural_order},
    store::StoreInfo,
};

/// Where accounts live, in one line.
pub fn store_line(info: &StoreInfo) -> String {
    let secrets = if info.sealed {
        format!("secrets sealed (XChaCha20-Poly1305), {}", info.key_source)
    } else {
        "secrets in PLAIN TEXT (allowed by ATRS_STORE_PLAINTEXT=1)".to_owned()
    };
    format!(
        "Accounts live in {} ({}; {secrets}).",
        info.location, info.backend
    )
}

/// The health of `account` from its plugin, when the plugin loads and reports it.
fn health_of(
    ctx: &Context,
    handles: &mut BTreeMap<String, Option<IntegrationHandle>>,
    plugin: &str,
    account: &str,
) -> Option<AccountHealth> {
    let handle = handles.entry(plugin.to_owned()).or_insert_with(|| {
        let catalog = ctx.catalog().ok()?;
        ctx.open(catalog.find(plugin).ok()?).ok()
    });
    handle.as_ref()?.account_health(account).ok()
}

/// Lists every saved account of every plugin.
pub fn run(ctx: &Context, all: bool) -> Result<(), CommandError> {
    let store = ctx.existing_store()?;
    let mut accounts = store.all_accounts()?;
    accounts.sort_by(|a, b| natural_order(&a.account, &b.account).then(a.plugin.cmp(&b.plugin)));
    let out = ctx.output;
    let info = store.info();
    out.say(store_line(&info));
    if accounts.is_empty() {
        out.say(format!("No saved accounts in {}.", info.location));
    }
    let mut listed = Vec::new();
    let mut handles = BTreeMap::new();
    let now = health_view::unix_now();
    for a in &accounts {
        let settings = store
            .read_settings(&a.plugin, &a.account)?
            .unwrap_or_default();
        for line in account_lines(&a.plugin, &a.account, &settings, all, now) {
            out.say(line);
        }
        let health = health_of(ctx, &mut handles, &a.plugin, &a.account);
        for line in health.iter().flat_map(|h| health_view::lines(h, now)) {
            out.say(line);
        }
        listed.push(
            json!({"plugin": a.plugin, "account": a.account, "settings": settings,
            "health": health.as_ref().map(health_view::to_json)}),
        );
    }
    out.result(
        "accounts",
        json!({"store": info.location, "backend": info.backend, "sealed": info.sealed,
            "key_source": info.key_source, "accounts": listed}),
    );
    Ok(())
}

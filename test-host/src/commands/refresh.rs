//! `atrs-test-host refresh [NAME | --all] [--force]`: keeps saved accounts alive. Renews
//! what is due — accounts whose sign-in lapses within 14 days if unused — or every one
//! with `--force`; one line per account; exits 3 when any account needs a person — to
//! sign in again, or to replace an expired client secret or certificate — (5 when one
//! could not be renewed for now), so a scheduler can alert on it.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use atrs_host_runtime::hosted::HostedPlugin;
use atrs_host_sdk::{AccountHealth, ErrorKind, HealthState, TokenRequest};
use serde_json::{json, Value};

use crate::{
    commands::{
        few_at_a_time::{self, Ended},
        owner::saved_account,
    },
    context::Context,
    error::CommandError,
    exit::Exit,
    health_view::{state_words, to_json, unix_now},
    interrupt::{self, Interrupt},
    live_line::Spinner,
    present::{local_time, natural_order, shell_word},
    store::AccountRef,
};

/// How many accounts are renewed at once: a dead server then costs one request timeout
/// for every this many accounts, while a live one is not flooded.
pub const AT_ONCE: usize = 4;

/// A progress line appears only for a wait longer than this.
const SHOW_AFTER: Duration = Duration::from_millis(300);

/// An account is due for renewal this close to lapsing.
pub const DUE_WITHIN_SECS: i64 = 14 * 24 * 3600;

/// What `refresh` was asked.
#[derive(Debug, Clone, Default)]
pub struct RefreshArgs {
    /// One account, or (`None`) every saved account.
    pub account: Option<String>,
    /// The plugin, when several have an account of that name.
    pub plugin: Option<String>,
    /// Renew even what is not due.
    pub force: bool,
}

/// How one account came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Renewed,
    NotDue,
    NeedsSignIn,
    CredentialExpired,
    Failed,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Renewed => "renewed",
            Outcome::NotDue => "not_due",
            Outcome::NeedsSignIn => "needs_sign_in",
            Outcome::CredentialExpired => "credential_expired",
            Outcome::Failed => "failed",
        }
    }
}

/// Renews the accounts asked for and reports each.
pub fn run(ctx: &Context, args: &RefreshArgs) -> Result<(), CommandError> {
    let interrupt = Interrupt::install();
    let store = ctx.existing_store()?;
    let accounts: Vec<AccountRef> = match &args.account {
        Some(name) => vec![saved_account(&store, name, args.plugin.as_deref())?],
        None => {
            let mut all = store.all_accounts()?;
            all.sort_by(|a, b| natural_order(&a.account, &b.account).then(a.plugin.cmp(&b.plugin)));
            all
        }
    };
    if accounts.is_empty() {
        ctx.output
            .say(format!("No saved accounts in {}.", store.info().location));
    }
    let catalog = ctx.catalog()?;
    // A plugin handle makes its calls one at a time: each worker gets its own.
    let mut handles: BTreeMap<String, Vec<Arc<HostedPlugin>>> = BTreeMap::new();
    for a in &accounts {
        let opened = handles.entry(a.plugin.clone()).or_default();
        if opened.len() < AT_ONCE {
            opened.push(Arc::new(ctx.open(catalog.find(&a.plugin)?)?));
        }
    }
    let jobs: Vec<(Vec<Arc<HostedPlugin>>, String)> = accounts
        .iter()
        .map(|a| (handles[&a.plugin].clone(), a.account.clone()))
        .collect();
    let force = args.force;
    let work: few_at_a_time::Work<Renewal> = Arc::new(move |worker, i| {
        let (handles, account) = &jobs[i];
        one(&handles[worker % handles.len()], account, force)
    });
    let mut listed = Vec::new();
    let mut worst = Exit::Success;
    let total = accounts.len();
    // Drawn while waiting, taken away before each account's line.
    let (spinner, started) = (RefCell::new(Spinner::on_terminal()), Instant::now());
    let ended = few_at_a_time::run(
        total,
        AT_ONCE,
        work,
        &interrupt,
        |finished| {
            if started.elapsed() >= SHOW_AFTER {
                spinner.borrow_mut().show(
                    &format!("Renewing {total} accounts, {AT_ONCE} at a time: {finished} done"),
                    started,
                );
            }
        },
        |i, (outcome, line, detail)| {
            spinner.borrow_mut().clear();
            let a = &accounts[i];
            ctx.output
                .say(format!("{} {}: {line}", mark(outcome), a.account));
            worst = match (outcome, worst) {
                (Outcome::NeedsSignIn | Outcome::CredentialExpired, _) => Exit::Refused,
                (Outcome::Failed, Exit::Success) => Exit::Unavailable,
                (_, w) => w,
            };
            let mut entry = json!({"plugin": a.plugin, "account": a.account, "outcome": outcome.name(), "line": line});
            if let Some(d) = detail {
                entry["health"] = d;
            }
            ctx.output.event("account", entry.clone());
            listed.push(entry);
            Ok(())
        },
    );
    spinner.borrow_mut().clear();
    match ended {
        Ok(()) => {}
        Err(Ended::Failed(e)) => return Err(e),
        Err(Ended::Interrupted { done }) => {
            return Err(interrupt::stopped(&match &args.account {
                Some(name) => format!("renewing \"{name}\""),
                None => format!("renewing the saved accounts ({done} of {total} done)"),
            }))
        }
    }
    if worst == Exit::Success {
        ctx.output.result("refresh", json!({"accounts": listed}));
        return Ok(());
    }
    let count = |outcome: Outcome| {
        listed
            .iter()
            .filter(|e| e["outcome"] == outcome.name())
            .count()
    };
    let (needs, expired) = (
        count(Outcome::NeedsSignIn),
        count(Outcome::CredentialExpired),
    );
    let message = match (needs, expired, count(Outcome::Failed)) {
        (0, 0, 1) => {
            "1 account could not be renewed for now; nothing was changed in it.".to_owned()
        }
        (0, 0, n) => {
            format!("{n} accounts could not be renewed for now; nothing was changed in them.")
        }
        (needs, expired, _) => {
            [
                (needs, "needs sign-in again", "need sign-in again"),
                (
                    expired,
                    "has an expired app credential",
                    "have an expired app credential",
                ),
            ]
            .into_iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, one, many)| match n {
                1 => format!("1 account {one}"),
                n => format!("{n} accounts {many}"),
            })
            .collect::<Vec<_>>()
            .join("; ")
                + "."
        }
    };
    let mut hints = Vec::new();
    if needs > 0 {
        hints.push("Re-verify each account marked ✗ needs sign-in again (in the menu: select it → Re-verify); its name and settings are kept.");
    }
    if expired > 0 {
        hints.push("For each account whose app credential expired, create a new client secret or certificate where the app is registered, as its line says, then edit the account and verify it.");
    }
    let hint = match hints.is_empty() {
        true => format!("Run `{}` again later.", again(args)),
        false => hints.join(" "),
    };
    Err(CommandError::new(worst, message).with_hint(hint))
}

/// The command line that asks again what `args` asked, ready to paste into a shell.
fn again(args: &RefreshArgs) -> String {
    let mut words = vec!["atrs-test-host".to_owned(), "refresh".to_owned()];
    match &args.account {
        Some(name) => words.push(shell_word(name)),
        None => words.push("--all".to_owned()),
    }
    if let Some(plugin) = &args.plugin {
        words.extend(["--plugin".to_owned(), shell_word(plugin)]);
    }
    if args.force {
        words.push("--force".to_owned());
    }
    words.join(" ")
}

fn mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Renewed => "✓",
        Outcome::NotDue => "·",
        Outcome::NeedsSignIn | Outcome::CredentialExpired => "✗",
        Outcome::Failed => "!",
    }
}

/// How one account's renewal came out: the outcome, its line, and its health
/// afterwards as JSON.
type Renewal = (Outcome, String, Option<Value>);

/// Renews `account` if due.
fn one(handle: &HostedPlugin, account: &str, force: bool) -> Renewal {
    let now = unix_now();
    let health = match handle.account_health(account) {
        Ok(h) => Some(h),
        Err(e) if e.kind() == ErrorKind::Unsupported => None,
        Err(e) => return (Outcome::Failed, e.message().to_owned(), None),
    };
    if let Some((outcome, h)) = health
        .as_ref()
        .filter(|_| !force)
        .and_then(|h| needs_person(h).map(|o| (o, h)))
    {
        return (outcome, person_line(h), Some(to_json(h)));
    }
    let lapses_at = health.as_ref().and_then(|h| h.lapses_at);
    let due = force || lapses_at.is_none_or(|t| t - now <= DUE_WITHIN_SECS);
    if !due {
        let line = format!(
            "not due (the sign-in lapses on {} if unused)",
            lapses_at.map(local_time).unwrap_or_default()
        );
        return (Outcome::NotDue, line, health.as_ref().map(to_json));
    }
    let renewed = handle.token(account, &TokenRequest::saved_scopes().forced());
    let after = handle.account_health(account).ok();
    let detail = after.as_ref().map(to_json);
    match renewed {
        Ok(grant) => {
            let lapse = after
                .and_then(|h| h.lapses_at)
                .map(|t| format!("; the sign-in now lapses on {} if unused", local_time(t)))
                .unwrap_or_default();
            let line = format!(
                "renewed (access token valid until {}{lapse})",
                local_time(grant.token.expires_at)
            );
            (Outcome::Renewed, line, detail)
        }
        Err(e) => match after.and_then(|h| needs_person(&h).map(|o| (o, h))) {
            Some((outcome, h)) => (outcome, person_line(&h), detail),
            None => {
                let hint = e.hint().map(|h| format!(" {h}")).unwrap_or_default();
                (
                    Outcome::Failed,
                    format!("not renewed: {}{hint}", e.message()),
                    detail,
                )
            }
        },
    }
}

/// The outcome of an account whose health says a person must act first, if it does.
fn needs_person(h: &AccountHealth) -> Option<Outcome> {
    match h.state {
        HealthState::NeedsSignIn => Some(Outcome::NeedsSignIn),
        HealthState::CredentialExpired => Some(Outcome::CredentialExpired),
        _ => None,
    }
}

/// The line of an account a person must act on: its state, why, and what to do.
fn person_line(h: &AccountHealth) -> String {
    let words = state_words(h.state);
    match &h.fix {
        Some(fix) => format!("{words} — {} Fix: {fix}", h.reason),
        None => format!("{words} — {}", h.reason),
    }
}

//! `atrs-test-host accounts [--all]`: saved accounts and their settings, never their
//! secrets; times as local dates with how long ago, internal keys only with `--all`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::{context::Context, error::CommandError, present::account_lines};

/// Lists every saved account of every plugin.
pub fn run(ctx: &Context, all: bool) -> Result<(), CommandError> {
    let store = ctx.store()?;
    let accounts = store.all_accounts()?;
    let out = ctx.output;
    if accounts.is_empty() {
        out.say(format!("No saved accounts in {}.", store.dir().display()));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let mut listed = Vec::new();
    for a in &accounts {
        let settings = store
            .read_settings(&a.plugin, &a.account)?
            .unwrap_or_default();
        for line in account_lines(&a.plugin, &a.account, &settings, all, now) {
            out.say(line);
        }
        listed.push(json!({"plugin": a.plugin, "account": a.account, "settings": settings}));
    }
    out.result(
        "accounts",
        json!({"store": store.dir(), "accounts": listed}),
    );
    Ok(())
}

//! `atrs-test-host accounts`: saved accounts and their settings, never their secrets.

use serde_json::json;

use crate::{context::Context, error::CommandError};

/// Lists every saved account of every plugin.
pub fn run(ctx: &Context) -> Result<(), CommandError> {
    let store = ctx.store()?;
    let accounts = store.all_accounts()?;
    let out = ctx.output;
    if accounts.is_empty() {
        out.say(format!("No saved accounts in {}.", store.dir().display()));
    }
    let mut listed = Vec::new();
    for a in &accounts {
        let settings = store
            .read_settings(&a.plugin, &a.account)?
            .unwrap_or_default();
        out.say(format!("{} / {}", a.plugin, a.account));
        for (k, v) in &settings {
            out.say(format!("    {k}: {v}"));
        }
        listed.push(json!({"plugin": a.plugin, "account": a.account, "settings": settings}));
    }
    out.result(
        "accounts",
        json!({"store": store.dir(), "accounts": listed}),
    );
    Ok(())
}

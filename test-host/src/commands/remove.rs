//! `atrs-test-host remove NAME [--plugin ID]`: deletes a saved account and its secrets.

use serde_json::json;

use crate::{commands::owner::saved_account, context::Context, error::CommandError};

/// Removes `account`, asking its plugin to do it when the plugin is loaded.
pub fn run(ctx: &Context, account: &str, plugin: Option<&str>) -> Result<(), CommandError> {
    let store = ctx.existing_store()?;
    let saved = saved_account(&store, account, plugin)?;
    let (account, owner) = (saved.account.as_str(), saved.plugin.clone());
    let catalog = ctx.catalog()?;
    match catalog.find(&owner) {
        Ok(library) => ctx.open(library)?.remove_account(account)?,
        // The plugin is gone: the host still owns the store and can clean it up.
        Err(_) => {
            store.remove_secrets(&owner, account)?;
            store.remove_settings(&owner, account)?;
        }
    }
    ctx.output
        .say(format!("Removed \"{account}\" ({owner}) and its secrets."));
    ctx.output.result(
        "remove",
        json!({"plugin": owner, "account": account, "removed": true}),
    );
    Ok(())
}

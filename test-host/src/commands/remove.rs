//! `atrs-test-host remove NAME [--plugin ID]`: deletes a saved account and its secrets.

use serde_json::json;

use crate::{context::Context, error::CommandError};

/// Removes `account`, asking its plugin to do it when the plugin is loaded.
pub fn run(ctx: &Context, account: &str, plugin: Option<&str>) -> Result<(), CommandError> {
    let store = ctx.store()?;
    let owners: Vec<String> = store
        .all_accounts()?
        .into_iter()
        .filter(|a| a.account == account && plugin.is_none_or(|p| p == a.plugin))
        .map(|a| a.plugin)
        .collect();
    let owner = match owners.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(CommandError::usage(format!(
                "There is no saved account named \"{account}\"."
            ))
            .with_hint("Run `atrs-test-host accounts` to see the saved accounts."))
        }
        many => {
            return Err(CommandError::usage(format!(
                "Several integrations have an account named \"{account}\": {}.",
                many.join(", ")
            ))
            .with_hint("Say which with --plugin ID."))
        }
    };
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

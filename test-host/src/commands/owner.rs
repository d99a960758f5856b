//! Which plugin owns a saved account name.

use crate::{error::CommandError, store::Store};

/// The plugin that has `account` (of `plugin`, when given); an error says what to do
/// when there is none or several.
pub fn owner_of(
    store: &Store,
    account: &str,
    plugin: Option<&str>,
) -> Result<String, CommandError> {
    let owners: Vec<String> = store
        .all_accounts()?
        .into_iter()
        .filter(|a| a.account == account && plugin.is_none_or(|p| p == a.plugin))
        .map(|a| a.plugin)
        .collect();
    match owners.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(
            CommandError::usage(format!("There is no saved account named \"{account}\"."))
                .with_hint("Run `atrs-test-host accounts` to see the saved accounts."),
        ),
        many => Err(CommandError::usage(format!(
            "Several integrations have an account named \"{account}\": {}.",
            many.join(", ")
        ))
        .with_hint("Say which with --plugin ID.")),
    }
}

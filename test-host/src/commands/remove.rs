//! `atrs-test-host remove NAME [--plugin ID]`: deletes a saved account and its secrets.

use serde_json::json;

use crate::{context::Context, error::CommandError};

/// Removes `account`, asking its plugin to do it when the plugin is loaded.
pub fn run(ctx: &Context, account: &str, plugin: Option<&str>) -> Result<(), CommandError> {
    let store = ctx.store()?;
    let saved = store.all_accounts()?;
    let owners: Vec<String> = saved
        .clone()
        .into_iter()
        .filter(|a| a.account == account && plugin.is_none_or(|p| p == a.plugin))
        .map(|a| a.plugin)
        .collect();
    let owner = match owners.as_slice() {
        [one] => one.clone(),
        [] => {
            let near: Vec<String> = saved
                .iter()
                .filter(|a| is_near(&a.account, account))
                .map(|a| format!("\"{}\"", a.account))
                .collect();
            let hint = if near.is_empty() {
                "Run `atrs-test-host accounts` to see the saved accounts.".to_owned()
            } else {
                format!(
                    "Did you mean {}? Names are matched exactly; `atrs-test-host accounts` lists them.",
                    near.join(" or ")
                )
            };
            return Err(CommandError::usage(format!(
                "There is no saved account named \"{account}\"."
            ))
            .with_hint(hint));
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

/// Whether `saved` is close enough to `typed` to suggest: the same but for case, one
/// inside the other, or at most two letters apart.
fn is_near(saved: &str, typed: &str) -> bool {
    let (a, b) = (saved.to_lowercase(), typed.to_lowercase());
    if a == b || (b.len() >= 3 && (a.contains(&b) || b.contains(&a))) {
        return true;
    }
    edit_distance(&a, &b) <= 2.min(a.chars().count() / 3)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_suggested_and_far_ones_not() {
        assert!(is_near("Reports", "reports"));
        assert!(is_near("Sales reports", "sales"));
        assert!(is_near("Reports", "Reprots"));
        assert!(!is_near("Reports", "Mail"));
        assert!(!is_near("AB", "CD"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

//! Which saved account a typed name means (spaces around it and case forgiven), with a
//! near name suggested when none does.

use crate::{
    error::CommandError,
    store::{AccountRef, Store},
};

/// The saved account `account` names (of `plugin`, when given): the name as typed,
/// spaces around it left out as the plugins leave them out when saving; when no saved
/// name is exactly that, the one saved name equal to it but for case.
pub fn saved_account(
    store: &Store,
    account: &str,
    plugin: Option<&str>,
) -> Result<AccountRef, CommandError> {
    let saved = store.all_accounts()?;
    let typed = account.trim();
    let of_plugin = |a: &&AccountRef| plugin.is_none_or(|p| p == a.plugin);
    let mut found: Vec<&AccountRef> = saved
        .iter()
        .filter(of_plugin)
        .filter(|a| a.account == typed)
        .collect();
    if found.is_empty() {
        found = saved
            .iter()
            .filter(of_plugin)
            .filter(|a| same_name(&a.account, typed))
            .collect();
    }
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(no_such_account(&saved, typed, plugin)),
        many if many.iter().all(|a| a.plugin == many[0].plugin) => {
            let names: Vec<String> = many.iter().map(|a| format!("\"{}\"", a.account)).collect();
            Err(CommandError::usage(format!(
                "Several saved accounts are named \"{typed}\" but for case: {}.",
                names.join(", ")
            ))
            .with_hint(
                "Give the name exactly as it was saved (`atrs-test-host accounts` lists them).",
            ))
        }
        many => {
            let plugins: Vec<&str> = many.iter().map(|a| a.plugin.as_str()).collect();
            Err(CommandError::usage(format!(
                "Several integrations have an account named \"{typed}\": {}.",
                plugins.join(", ")
            ))
            .with_hint("Say which with --plugin ID."))
        }
    }
}

/// Whether two account names are the same name: equal once spaces around them are left
/// out and case is ignored.
pub fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Why `account` (of `plugin`, when given) is not among `saved`, and what to do.
fn no_such_account(saved: &[AccountRef], account: &str, plugin: Option<&str>) -> CommandError {
    if let Some(plugin) = plugin {
        let elsewhere: Vec<&str> = saved
            .iter()
            .filter(|a| a.account == account)
            .map(|a| a.plugin.as_str())
            .collect();
        let message = format!("The plugin \"{plugin}\" has no saved account named \"{account}\".");
        if !elsewhere.is_empty() {
            let hint = format!(
                "\"{account}\" is saved for the plugin {}: give that with --plugin, or leave --plugin out.",
                elsewhere.join(" and ")
            );
            return CommandError::usage(message).with_hint(hint);
        }
        if !saved.iter().any(|a| a.plugin == plugin) {
            return CommandError::usage(message).with_hint(format!(
                "No saved account belongs to a plugin \"{plugin}\". Run `atrs-test-host accounts` to see the saved accounts and their plugins."
            ));
        }
    }
    let near: Vec<String> = saved
        .iter()
        .filter(|a| plugin.is_none_or(|p| p == a.plugin) && is_near(&a.account, account))
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
    CommandError::usage(format!("There is no saved account named \"{account}\".")).with_hint(hint)
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

    fn saved(pairs: &[(&str, &str)]) -> Vec<AccountRef> {
        pairs
            .iter()
            .map(|(plugin, account)| AccountRef {
                plugin: (*plugin).to_owned(),
                account: (*account).to_owned(),
            })
            .collect()
    }

    #[test]
    fn an_unknown_plugin_is_named_not_the_account_suggested_to_itself() {
        let saved = saved(&[("office365", "Mailer")]);
        let e = no_such_account(&saved, "Mailer", Some("nope"));
        assert!(e.message.contains("\"nope\""), "{}", e.message);
        let hint = e.hint.unwrap();
        assert!(hint.contains("office365"), "{hint}");
        assert!(!hint.contains("Did you mean"), "{hint}");

        let e = no_such_account(&saved, "Other", Some("nope"));
        assert!(e
            .hint
            .unwrap()
            .contains("No saved account belongs to a plugin \"nope\""));

        let e = no_such_account(&saved, "Mailr", None);
        assert!(e.hint.unwrap().contains("Did you mean \"Mailer\""));
    }

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

//! Saving from the account form: under which name, and whether it moves a renamed
//! account.

use atrs_host_runtime::hosted::HostedPlugin;
use atrs_host_sdk::{FormValues, PluginError};

/// Where a save puts the account.
pub(super) struct SaveTarget<'a> {
    /// The name it is saved under.
    pub name: &'a str,
    /// The saved account being edited, if any.
    pub previous: Option<&'a str>,
}

impl SaveTarget<'_> {
    /// Whether the save would replace another saved account (not the one edited).
    pub fn overwrites(&self, saved: &[String]) -> bool {
        self.previous != Some(self.name) && saved.iter().any(|s| s == self.name)
    }

    /// Whether the save renames the edited account.
    fn renames(&self) -> Option<&str> {
        self.previous.filter(|p| *p != self.name)
    }

    /// What the menu says once it is saved.
    pub fn saved_line(&self) -> String {
        match self.renames() {
            Some(old) => format!("✓ Saved as \"{}\" (renamed from \"{old}\").", self.name),
            None => "✓ Saved.".to_owned(),
        }
    }
}

/// Saves the verified `values`; a rename moves the account (the old name is gone
/// afterwards, its secrets with it), in one store transaction where the plugin
/// supports it.
pub(super) fn save_account(
    integration: &mut HostedPlugin,
    values: &FormValues,
    target: &SaveTarget<'_>,
) -> Result<(), PluginError> {
    match target.renames() {
        Some(previous) => integration.save_replacing(values, previous),
        None => integration.save(values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_another_saved_account_is_overwritten() {
        let saved = vec!["Sales".to_owned(), "Reports".to_owned()];
        let add = SaveTarget {
            name: "Sales",
            previous: None,
        };
        assert!(add.overwrites(&saved));
        let same = SaveTarget {
            name: "Sales",
            previous: Some("Sales"),
        };
        assert!(!same.overwrites(&saved));
        assert_eq!(same.saved_line(), "✓ Saved.");
        let onto = SaveTarget {
            name: "Reports",
            previous: Some("Sales"),
        };
        assert!(onto.overwrites(&saved));
        let rename = SaveTarget {
            name: "Sales reports",
            previous: Some("Sales"),
        };
        assert!(!rename.overwrites(&saved));
        assert_eq!(
            rename.saved_line(),
            "✓ Saved as \"Sales reports\" (renamed from \"Sales\")."
        );
    }
}

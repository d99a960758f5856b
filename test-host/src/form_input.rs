//! Form values from the command line (`--set KEY=VALUE`), and forms as text or JSON.

pub use atrs_host_runtime::wire::{field_json, kind_name, with_defaults};
use atrs_host_sdk::{FormField, FormValues};

use crate::error::CommandError;

/// The form key that, by this host's convention, holds the account's name.
pub const ACCOUNT_NAME_KEY: &str = "account_name";

/// The account name the values give, if the form has the conventional field.
pub fn account_name(values: &FormValues) -> Option<&str> {
    values
        .get_trimmed(ACCOUNT_NAME_KEY)
        .filter(|n| !n.is_empty())
}

/// Parses `KEY=VALUE` pairs into values. A field the form marks secret is refused (exit 2,
/// before anything is sent): on the command line it would be readable in the process list,
/// shell history and CI logs; `--set-secret KEY` reads it from standard input instead.
pub fn values_from_pairs(pairs: &[String], form: &[FormField]) -> Result<FormValues, CommandError> {
    let mut values = FormValues::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(CommandError::usage(format!("`--set {}` has no `=`.", redact_pair(pair)))
                .with_hint("Write --set KEY=VALUE, for example --set client_id=4a1aa1d5-c567-49d0-ad0b-cd957a47f842."));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(CommandError::usage("`--set` has an empty key.")
                .with_hint("Write --set KEY=VALUE."));
        }
        if let Some(field) = form.iter().find(|f| f.key.as_str() == key && f.is_secret()) {
            return Err(secret_on_command_line(key, field.label.as_str()));
        }
        values.set(key, value);
    }
    Ok(values)
}

/// The refusal of `--set KEY=…` for a secret field (the value is never repeated).
fn secret_on_command_line(key: &str, label: &str) -> CommandError {
    CommandError::usage(format!(
        "{label} is a secret, and `--set {key}=…` would put it on the command line, where other users (the process list), shell history and CI logs can read it."
    ))
    .with_hint(format!(
        "Use --set-secret {key} instead: it reads the value from standard input (for example printf '%s\\n' \"$SECRET\" | atrs-test-host add … --set-secret {key}) or from a hidden prompt on a terminal."
    ))
}

/// Shows at most the key of a malformed pair: its value may be a secret.
fn redact_pair(pair: &str) -> String {
    if pair.len() > 24 {
        format!("{}…", pair.chars().take(8).collect::<String>())
    } else {
        pair.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::FieldKind;

    fn form() -> Vec<FormField> {
        vec![
            FormField::new("name", "Name", FieldKind::Text).required(),
            FormField::new("pw", "Password", FieldKind::Secret),
            FormField::new("cloud", "Cloud", FieldKind::Text).with_default("global"),
        ]
    }

    #[test]
    fn pairs_parse_and_take_defaults() {
        let v = values_from_pairs(&["name=a=b".into()], &form()).unwrap();
        assert_eq!(v.get("name"), Some("a=b"));
        let v = with_defaults(v, &form());
        assert_eq!(v.get("cloud"), Some("global"));
    }

    #[test]
    fn a_secret_field_on_the_command_line_is_refused_pointing_to_set_secret() {
        let e = values_from_pairs(&["name=a".into(), " pw =hunter2".into()], &form()).unwrap_err();
        assert_eq!(e.exit.code(), 2);
        assert!(e.message.contains("Password is a secret"), "{}", e.message);
        let hint = e.hint.clone().unwrap_or_default();
        assert!(hint.contains("--set-secret pw"), "{hint}");
        assert!(!format!("{}{hint}{e:?}", e.message).contains("hunter2"));
    }

    #[test]
    fn a_pair_without_equals_is_a_usage_error_that_does_not_echo_long_values() {
        let e =
            values_from_pairs(&["client_secret_value_that_is_long".into()], &form()).unwrap_err();
        assert_eq!(e.exit.code(), 2);
        assert!(!e.message.contains("that_is_long"), "{}", e.message);
    }
}

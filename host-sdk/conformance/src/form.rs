//! Checks of the form: keys, secret fields, and validation of empty required fields.

use atrs_host_sdk::{form_problems, FormField};

use super::{Check, Probe};

/// The title of the key check (also used when `describe` itself fails).
pub const KEYS_TITLE: &str = "form keys unique and non-empty";
const SECRETS_TITLE: &str = "secret fields marked secret";
const VALIDATION_TITLE: &str = "validation names each empty required field";

/// Key words that make a field's key look like a secret's.
const SECRET_WORDS: [&str; 7] = [
    "secret",
    "password",
    "passwd",
    "passphrase",
    "token",
    "api_key",
    "apikey",
];

/// Key endings that name where or until when a secret is used, not the secret
/// (`token_url`, `client_secret_expires`).
const NOT_SECRET_ENDINGS: [&str; 6] = [
    "_url",
    "_uri",
    "_endpoint",
    "_host",
    "_expires",
    "_expires_at",
];

/// Keys unique, non-empty and typeable; labels present; choices fillable.
pub fn keys(fields: &[FormField]) -> Check {
    let mut problems = form_problems(fields);
    for (index, field) in fields.iter().enumerate() {
        if field.label.trim().is_empty() {
            problems.push(format!(
                "field {} (`{}`) has no label",
                index + 1,
                field.key
            ));
        }
    }
    if fields.is_empty() {
        problems.push("the form has no fields".into());
    }
    if problems.is_empty() {
        let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
        let count = match fields.len() {
            1 => "1 field".to_owned(),
            n => format!("{n} fields"),
        };
        return Check::pass(
            "form_keys",
            KEYS_TITLE,
            format!("{count}: {}", keys.join(", ")),
        );
    }
    Check::fail(
        "form_keys",
        KEYS_TITLE,
        problems.join("; "),
        "Give every FormField its own non-empty key without spaces (hosts store values by key), a label, and choices at least one option that includes the default.",
    )
}

/// Fields whose key says "secret", "password", "token" … are [`atrs_host_sdk::FieldKind::Secret`].
pub fn secrets(fields: &[FormField]) -> Check {
    let plain: Vec<&str> = fields
        .iter()
        .filter(|f| looks_secret(f.key.as_str()) && !f.is_secret())
        .map(|f| f.key.as_str())
        .collect();
    if plain.is_empty() {
        let secret: Vec<&str> = fields
            .iter()
            .filter(|f| f.is_secret())
            .map(|f| f.key.as_str())
            .collect();
        let detail = match secret.is_empty() {
            true => "no field looks secret".to_owned(),
            false => format!("secret: {}", secret.join(", ")),
        };
        return Check::pass("secrets", SECRETS_TITLE, detail);
    }
    Check::fail(
        "secrets",
        SECRETS_TITLE,
        format!(
            "{} look{} secret but {} plain text, so hosts would show, log and store {} in the open",
            quoted(&plain),
            if plain.len() == 1 { "s" } else { "" },
            if plain.len() == 1 { "is" } else { "are" },
            if plain.len() == 1 { "it" } else { "them" },
        ),
        "Declare these fields with FieldKind::Secret: hosts mask them, keep them in the secrets store and never print them.",
    )
}

fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
        && !NOT_SECRET_ENDINGS.iter().any(|e| key.ends_with(e))
}

/// For each required field without a default: emptied, with every other field filled,
/// validation must report an error naming that field, with a message. Errors must
/// only name fields of the form.
pub fn validation(probe: &Probe<'_>, fields: &[FormField]) -> Check {
    let integration = match probe.open() {
        Ok(i) => i,
        Err(e) => {
            return Check::fail(
                "validation",
                VALIDATION_TITLE,
                e.message(),
                "Make `new` succeed.",
            )
        }
    };
    let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
    let required: Vec<&FormField> = fields
        .iter()
        .filter(|f| f.required && f.default.is_none())
        .collect();
    let mut problems = Vec::new();
    let mut named = Vec::new();
    for field in &required {
        let key = field.key.as_str();
        let mut values = probe.sample_values(fields);
        values.set(key, "");
        let errors = match integration.validate(&values) {
            Ok(errors) => errors,
            Err(e) => {
                problems.push(format!(
                    "validate failed with `{key}` empty: {}",
                    e.message()
                ));
                continue;
            }
        };
        match errors.iter().find(|e| e.field() == key) {
            Some(e) if e.message().trim().is_empty() => {
                problems.push(format!("the error for empty `{key}` has no message"))
            }
            Some(_) => named.push(key),
            None => problems.push(format!("nothing reported for empty `{key}`")),
        }
        for e in errors.iter().filter(|e| !keys.contains(&e.field())) {
            problems.push(format!(
                "an error names `{}`, which is not a field of the form",
                e.field()
            ));
        }
    }
    if problems.is_empty() {
        let detail = match named.is_empty() {
            true => "no required field without a default".to_owned(),
            false => format!("reported: {}", named.join(", ")),
        };
        return Check::pass("validation", VALIDATION_TITLE, detail);
    }
    problems.dedup();
    Check::fail(
        "validation",
        VALIDATION_TITLE,
        problems.join("; "),
        "In `validate`, return a FieldError for every required field that is empty (after trimming), with its key as `field`, a message naming it and a hint on what to enter.",
    )
}

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::FieldKind;

    #[test]
    fn secret_looking_keys() {
        for key in [
            "client_secret",
            "Password",
            "api_token",
            "refresh_token",
            "apikey",
        ] {
            assert!(looks_secret(key), "{key}");
        }
        for key in [
            "account_name",
            "token_url",
            "tenant_id",
            "authority",
            "client_secret_expires",
        ] {
            assert!(!looks_secret(key), "{key}");
        }
    }

    #[test]
    fn plain_secret_fields_fail_with_a_fix() {
        let fields = vec![
            FormField::new("account_name", "Name", FieldKind::Text),
            FormField::new("api_token", "Token", FieldKind::Text),
        ];
        let check = secrets(&fields);
        let json = check.to_json();
        assert_eq!(json["passed"], false);
        assert!(json["why"]
            .as_str()
            .unwrap()
            .starts_with("`api_token` looks secret but is plain text"));
        assert!(json["fix"].as_str().unwrap().contains("FieldKind::Secret"));
        assert!(secrets(&fields[..1]).passed());
    }
}

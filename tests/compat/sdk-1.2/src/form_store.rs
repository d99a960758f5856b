//! Storage by default (added in 1.2): an integration whose saved account is just its
//! form — plain fields as settings, [`FieldKind::Secret`](crate::FieldKind::Secret)
//! fields as secrets — hands a [`FormStore`] to the SDK through
//! [`Integration::form_store`](crate::Integration::form_store) and writes no `save`,
//! `load_account` or `remove_account` of its own.
//!
//! The rules it keeps, the same as the Office 365 plugin's:
//! - `save` refuses values that were not verified (the flow's
//!   [`Success`](crate::session::Success) commits them with [`FormStore::recorder`]);
//! - Edit shows the saved values without secrets ([`FormStore::load`]);
//! - a secret field left empty on Edit or Re-verify keeps the saved secret: verify
//!   with [`FormStore::with_saved_secrets`], and `save` keeps it too; a typed one
//!   replaces it;
//! - a rename moves the account in one transaction, secrets included.

use crate::{
    error::PluginError,
    form::{FormField, FormValues, ACCOUNT_NAME},
    host::{Host, Secrets, Settings},
    verified_values::VerifiedValues,
};

/// An integration's saved accounts, kept as its form in the host's stores.
#[derive(Clone)]
pub struct FormStore {
    host: Host,
    fields: Vec<FormField>,
    verified: VerifiedValues<()>,
}

impl std::fmt::Debug for FormStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Field keys only: verified values may hold secrets.
        let keys: Vec<&str> = self.fields.iter().map(|f| f.key.as_str()).collect();
        f.debug_struct("FormStore")
            .field("fields", &keys)
            .finish_non_exhaustive()
    }
}

impl FormStore {
    /// Keeps accounts of the form `fields` (what `describe` returns) through `host`.
    pub fn new(host: Host, fields: Vec<FormField>) -> Self {
        FormStore {
            host,
            fields,
            verified: VerifiedValues::new(),
        }
    }

    /// The host's services.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The form this store keeps.
    pub fn fields(&self) -> &[FormField] {
        &self.fields
    }

    /// What a successful verification commits: `values` (as the host sent them)
    /// become the ones `save` accepts. Hand it to [`crate::session::Success::new`].
    pub fn recorder(&self, values: &FormValues) -> impl FnOnce() + Send + 'static {
        self.verified.recorder(values.clone(), ())
    }

    /// `values` with each secret field left empty filled in from the saved account
    /// of the same name (Re-verify, or an Edit that kept the secret): what a flow
    /// verifies with.
    pub fn with_saved_secrets(&self, values: &FormValues) -> Result<FormValues, PluginError> {
        let mut filled = values.clone();
        let Some(name) = values.get_trimmed(ACCOUNT_NAME) else {
            return Ok(filled);
        };
        for field in self.secret_fields() {
            let key = field.key.as_str();
            if values.get_trimmed(key).is_none() {
                if let Some(saved) = self.host.secret_read(name, key)? {
                    filled.set_secret(key, saved);
                }
            }
        }
        Ok(filled)
    }

    /// Saves `values` as the account they name — in place of `replaces` when given
    /// (a rename moves it) — refusing values that were not verified. A secret field
    /// left empty keeps the secret saved under `replaces` (or the same name).
    pub fn save(&self, values: &FormValues, replaces: Option<&str>) -> Result<(), PluginError> {
        let name = values.get_trimmed(ACCOUNT_NAME).ok_or_else(|| {
            PluginError::invalid_input("The account has no name.")
                .with_field(ACCOUNT_NAME)
                .with_hint("Fill in the account name, verify, then save.")
        })?;
        self.verified.take_for(values)?;
        let kept_from = replaces.unwrap_or(name);
        let mut settings = Settings::new();
        let mut secrets = Secrets::new();
        for field in &self.fields {
            let key = field.key.as_str();
            if key == ACCOUNT_NAME {
                continue;
            }
            match (field.is_secret(), values.get_trimmed(key)) {
                (false, Some(value)) => {
                    settings.insert(key.to_owned(), value.to_owned());
                }
                (false, None) => {}
                (true, Some(value)) => {
                    secrets.insert(key.to_owned(), value.to_owned());
                }
                (true, None) => {
                    if let Some(saved) = self.host.secret_read(kept_from, key)? {
                        secrets.insert(key.to_owned(), saved);
                    }
                }
            }
        }
        self.host
            .account_write(name, &settings, &secrets, replaces.filter(|r| *r != name))
    }

    /// The saved values of `account` for Edit: its name and settings, secrets left
    /// out.
    pub fn load(&self, account: &str) -> Result<FormValues, PluginError> {
        let settings = self
            .host
            .settings_read(account)?
            .ok_or_else(|| not_found(account))?;
        let mut values = FormValues::new().with(ACCOUNT_NAME, account);
        for field in self.fields.iter().filter(|f| !f.is_secret()) {
            if let Some(value) = settings.get(field.key.as_str()) {
                values.set(field.key.as_str(), value.as_str());
            }
        }
        Ok(values)
    }

    /// Deletes `account` with its secrets; saying so when there is none.
    pub fn remove(&self, account: &str) -> Result<(), PluginError> {
        self.host
            .settings_read(account)?
            .ok_or_else(|| not_found(account))?;
        self.host.secrets_remove(account)?;
        self.host.settings_remove(account)
    }

    fn secret_fields(&self) -> impl Iterator<Item = &FormField> {
        self.fields.iter().filter(|f| f.is_secret())
    }
}

fn not_found(account: &str) -> PluginError {
    PluginError::invalid_input(format!("There is no saved account named \"{account}\"."))
        .with_field(ACCOUNT_NAME)
        .with_hint("List the saved accounts and check the spelling.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{testing::MemoryHost, ErrorKind, FieldKind};

    fn store(host: &MemoryHost) -> FormStore {
        FormStore::new(
            host.handle(),
            vec![
                FormField::new(ACCOUNT_NAME, "Account name", FieldKind::Text).required(),
                FormField::new("url", "URL", FieldKind::Text),
                FormField::new("secret", "Shared secret", FieldKind::Secret),
            ],
        )
    }

    fn typed(name: &str, url: &str, secret: Option<&str>) -> FormValues {
        let mut v = FormValues::new().with(ACCOUNT_NAME, name).with("url", url);
        if let Some(s) = secret {
            v.set_secret("secret", s);
        }
        v
    }

    #[test]
    fn only_verified_values_are_saved_and_edit_sees_no_secret() {
        let host = MemoryHost::new();
        let s = store(&host);
        let values = typed("Hook", "https://h.example", Some("s3cret"));
        let refused = s.save(&values, None).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidInput);
        (s.recorder(&values))();
        s.save(&values, None).unwrap();
        let loaded = s.load("Hook").unwrap();
        assert_eq!(loaded.get("url"), Some("https://h.example"));
        assert_eq!(loaded.get("secret"), None, "secrets stay out of Edit");
        let h = host.handle();
        assert_eq!(
            h.secret_read("Hook", "secret").unwrap().as_deref(),
            Some("s3cret")
        );
    }

    #[test]
    fn an_empty_secret_keeps_the_saved_one_through_a_rename_and_a_typed_one_replaces_it() {
        let host = MemoryHost::new();
        let s = store(&host);
        let first = typed("Hook", "https://h.example", Some("old"));
        (s.recorder(&first))();
        s.save(&first, None).unwrap();

        let edited = typed("Hook 2", "https://h.example/v2", None);
        let verified_with = s
            .with_saved_secrets(&typed("Hook", "https://h.example/v2", None))
            .unwrap();
        assert_eq!(verified_with.get("secret"), Some("old"));
        (s.recorder(&edited))();
        s.save(&edited, Some("Hook")).unwrap();
        let h = host.handle();
        assert_eq!(h.settings_list().unwrap(), ["Hook 2"]);
        assert_eq!(
            h.secret_read("Hook 2", "secret").unwrap().as_deref(),
            Some("old")
        );
        assert_eq!(h.secret_read("Hook", "secret").unwrap(), None);

        let retyped = typed("Hook 2", "https://h.example/v2", Some("new"));
        (s.recorder(&retyped))();
        s.save(&retyped, Some("Hook 2")).unwrap();
        assert_eq!(
            h.secret_read("Hook 2", "secret").unwrap().as_deref(),
            Some("new")
        );

        s.remove("Hook 2").unwrap();
        assert!(h.settings_list().unwrap().is_empty());
        assert!(s
            .remove("Hook 2")
            .unwrap_err()
            .message()
            .contains("no saved account"));
    }
}

//! How an account is kept in the host's stores: settings (plain) and secrets (apart),
//! and how settings written by earlier releases are brought to the current layout.
//! Every key of the settings and secrets stores is named here; the form values kept
//! use the form's own keys ([`crate::fields`]).
//!
//! Settings layouts (the `schema_version` setting):
//! - `1` (release 0.1.x): the form's values and what verification found
//!   (`user_principal_name`, `mail`, …).
//! - `2`: adds `written_by`, the plugin version that saved the account, so support can
//!   tell which build wrote it and later migrations can depend on it. From layout 1 it
//!   becomes `0.1.x`, the only releases that wrote layout 1.
//!
//! Reading accepts every earlier layout ([`migrate`]); a layout from a newer release is
//! refused with a way out instead of being misread.

use atrs_host_sdk::{FormValues, Host, PluginError, Secrets, Settings};

use crate::{
    account::token_cache::{CachedToken, TokenCache},
    config::{AccountConfig, ResponseMode},
    fields,
    secret::Secret,
    version::PLUGIN_VERSION,
};

/// The current settings layout; bump it and add a step to [`migrate`] when it changes.
pub const SCHEMA_VERSION: &str = "2";
/// The setting that holds the layout version.
pub const SCHEMA_KEY: &str = "schema_version";

/// Settings key (layout 2): the plugin version that saved the account.
pub const WRITTEN_BY: &str = "written_by";
/// What `written_by` says of accounts migrated from layout 1.
const LAYOUT_1_WRITER: &str = "0.1.x";

/// The form values an account keeps in its settings (the client secret goes apart).
const FORM_KEYS: [&str; 13] = [
    fields::CLIENT_ID,
    fields::CLIENT_SECRET_EXPIRES,
    fields::TENANT_ID,
    fields::CLOUD,
    fields::AUTHORITY,
    fields::SCOPES,
    fields::RESPONSE_MODE,
    fields::CA_FILE,
    fields::MAX_MESSAGE_MB,
    fields::CERTIFICATE_FILE,
    fields::SIGN_IN,
    fields::MAILBOX,
    fields::SITE,
];

/// Secret name of the client secret in the secrets store.
pub const SECRET_CLIENT_SECRET: &str = "client_secret";
/// Secret name of the PKCS#12 certificate file's password in the secrets store.
pub const SECRET_CERTIFICATE_PASSWORD: &str = "certificate_password";
/// The secrets that are part of the account's configuration (the app's credential), as
/// opposed to what a sign-in brought: kept when tokens are renewed, read with the settings.
pub const CREDENTIAL_SECRETS: [&str; 2] = [SECRET_CLIENT_SECRET, SECRET_CERTIFICATE_PASSWORD];
/// Settings key (layout 2): which [`CREDENTIAL_SECRETS`] are saved with the account,
/// their names separated by spaces (empty: none), written in the same store write as
/// the secrets. A read of the configuration asks the store only for those — a public
/// client's renewal reads no credential secret at all. Settings without the key (saved
/// by an earlier build, which ignores it) have both read; their first renewal adds it.
pub const SAVED_CREDENTIAL_SECRETS: &str = "credential_secrets";
/// Secret name of the refresh token in the secrets store.
pub const SECRET_REFRESH_TOKEN: &str = "refresh_token";
/// Secret name of the access-token cache in the secrets store.
pub const SECRET_ACCESS_TOKENS: &str = "access_tokens";

/// Settings key: the signed-in user's principal name.
pub const FACT_USER_PRINCIPAL_NAME: &str = "user_principal_name";
/// Settings key: the signed-in user's display name.
pub const FACT_DISPLAY_NAME: &str = "display_name";
/// Settings key: the mailbox address (Graph `mail`, else the UPN).
pub const FACT_MAIL: &str = "mail";
/// Settings key: the provider's stable user id.
pub const FACT_USER_ID: &str = "user_id";
/// Settings key: the tenant GUID the token was issued by (`tenant_id` is the form's value).
pub const FACT_VERIFIED_TENANT_ID: &str = "verified_tenant_id";
/// Settings key: the scopes granted, space-separated.
pub const FACT_GRANTED_SCOPES: &str = "granted_scopes";
/// Settings key: when the account was verified (Unix seconds).
pub const FACT_VERIFIED_AT: &str = "verified_at";

/// Settings key: when the last refresh was tried (Unix seconds).
pub const LAST_REFRESH_AT: &str = "last_refresh_at";
/// Settings key: when a refresh last succeeded (Unix seconds).
pub const LAST_REFRESH_OK_AT: &str = "last_refresh_ok_at";
/// Settings key: why the last refresh failed (JSON), absent when it succeeded.
pub const LAST_REFRESH_ERROR: &str = "last_refresh_error";
/// Settings key: when the provider last sent a new refresh token (Unix seconds).
pub const REFRESH_TOKEN_ROTATED_AT: &str = "refresh_token_rotated_at";

/// What verification found about the account, saved with its settings (no secret).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedFacts {
    /// The signed-in user's principal name.
    pub user_principal_name: String,
    /// The signed-in user's display name.
    pub display_name: String,
    /// The mailbox address (Graph `mail`, else the UPN).
    pub mail: String,
    /// The provider's stable user id, when it gave one.
    pub user_id: Option<String>,
    /// The tenant GUID the token was issued by (the form's `tenant_id` may be a domain).
    pub tenant_id: String,
    /// The scopes granted.
    pub granted_scopes: Vec<String>,
    /// When the account was verified (Unix seconds).
    pub verified_at: i64,
}

impl VerifiedFacts {
    /// Writes the facts into `settings` under their keys.
    fn write(&self, settings: &mut Settings) {
        let mut put = |key: &str, value: String| {
            settings.insert(key.to_owned(), value);
        };
        put(FACT_USER_PRINCIPAL_NAME, self.user_principal_name.clone());
        put(FACT_DISPLAY_NAME, self.display_name.clone());
        put(FACT_MAIL, self.mail.clone());
        if let Some(id) = &self.user_id {
            put(FACT_USER_ID, id.clone());
        }
        put(FACT_VERIFIED_TENANT_ID, self.tenant_id.clone());
        put(FACT_GRANTED_SCOPES, self.granted_scopes.join(" "));
        put(FACT_VERIFIED_AT, self.verified_at.to_string());
    }
}

/// The user who signed in to the saved account `config` is verified again as, if it
/// was saved for the same app and tenant: the browser sign-in's login hint.
pub fn signed_in_user(host: &Host, config: &AccountConfig) -> Option<String> {
    let saved = read(host, &config.account_name).ok().flatten()?;
    let same_app = saved.get(fields::CLIENT_ID) == Some(&config.client_id)
        && saved.get(fields::TENANT_ID).map(String::as_str) == Some(config.tenant.segment());
    if !same_app {
        return None;
    }
    saved
        .get(FACT_USER_PRINCIPAL_NAME)
        .filter(|upn| !upn.is_empty() && upn.len() <= 256)
        .cloned()
}

/// The newest settings layout this build knows — the one it writes and the newest it
/// reads: [`SCHEMA_VERSION`], unless the build was made with
/// `ATRS_OFFICE365_SETTINGS_LAYOUT=1`, which makes this source keep settings as release
/// 0.1.0 did (write layout 1, refuse later ones). The drop-in update test builds its
/// stand-in for that release this way (see `tests/src/releases.rs`) instead of
/// compiling the old release and its whole dependency tree a second time.
pub fn layout() -> &'static str {
    match option_env!("ATRS_OFFICE365_SETTINGS_LAYOUT") {
        Some("1") => "1",
        _ => SCHEMA_VERSION,
    }
}

/// Writes a verified account — settings and every secret, in place of the account
/// `replaces` when given (a rename) — as one store transaction. Nothing of an earlier
/// sign-in under either name is kept: no refresh facts, and no cached token but
/// `access_token`, the one this sign-in brought.
pub fn write(
    host: &Host,
    config: &AccountConfig,
    refresh_token: Option<&Secret>,
    access_token: Option<&CachedToken>,
    facts: &VerifiedFacts,
    replaces: Option<&str>,
) -> Result<(), PluginError> {
    let mut settings = settings_in_layout(config, facts, layout());
    let mut secrets = Secrets::new();
    if let Some(secret) = &config.client_secret {
        secrets.insert(SECRET_CLIENT_SECRET.into(), secret.expose().into());
    }
    if let Some(password) = &config.certificate_password {
        secrets.insert(SECRET_CERTIFICATE_PASSWORD.into(), password.expose().into());
    }
    if let Some(token) = refresh_token {
        secrets.insert(SECRET_REFRESH_TOKEN.into(), token.expose().into());
    }
    if let Some(token) = access_token {
        let cache = TokenCache::of(token.clone());
        secrets.insert(SECRET_ACCESS_TOKENS.into(), cache.to_stored());
    }
    record_credential_secrets(&mut settings, &secrets);
    host.account_write(&config.account_name, &settings, &secrets, replaces)
}

/// Saves new form values of the saved account `config.account_name` whose sign-in
/// they do not change (see [`AccountConfig::sign_in_changes`]): its form settings are
/// replaced; its secrets, what verification found and its refresh facts stay.
pub fn update_form(host: &Host, config: &AccountConfig) -> Result<(), PluginError> {
    let name = &config.account_name;
    let mut settings = read(host, name)?.ok_or_else(|| not_found(name))?;
    settings.retain(|key, _| !FORM_KEYS.contains(&key.as_str()));
    settings.extend(form_settings(config));
    if layout() != "1" {
        settings.insert(WRITTEN_BY.into(), PLUGIN_VERSION.into());
    }
    host.settings_write(name, &settings)
}

/// The settings of a verified account, in `layout` (`"1"` or the current one).
fn settings_in_layout(config: &AccountConfig, facts: &VerifiedFacts, layout: &str) -> Settings {
    let mut settings = form_settings(config);
    settings.insert(SCHEMA_KEY.into(), layout.into());
    facts.write(&mut settings);
    if layout != "1" {
        settings.insert(WRITTEN_BY.into(), PLUGIN_VERSION.into());
    }
    settings
}

/// The form values of `config` as settings (the client secret goes apart).
fn form_settings(config: &AccountConfig) -> Settings {
    let mut settings = Settings::new();
    settings.insert(fields::CLIENT_ID.into(), config.client_id.clone());
    settings.insert(fields::TENANT_ID.into(), config.tenant.segment().to_owned());
    settings.insert(fields::CLOUD.into(), config.cloud.key().into());
    settings.insert(fields::SCOPES.into(), config.scopes.join(" "));
    if let Some(day) = &config.client_secret_expires {
        settings.insert(fields::CLIENT_SECRET_EXPIRES.into(), day.clone());
    }
    if let Some(authority) = &config.authority_override {
        settings.insert(
            fields::AUTHORITY.into(),
            authority.as_str().trim_end_matches('/').to_owned(),
        );
    }
    if config.response_mode != ResponseMode::Query {
        settings.insert(
            fields::RESPONSE_MODE.into(),
            config.response_mode.key().into(),
        );
    }
    if let Some(path) = &config.ca_file {
        settings.insert(fields::CA_FILE.into(), path.to_string_lossy().into_owned());
    }
    if let Some(certificate) = &config.certificate {
        settings.insert(
            fields::CERTIFICATE_FILE.into(),
            certificate.path().to_string_lossy().into_owned(),
        );
    }
    if config.is_application() {
        settings.insert(fields::SIGN_IN.into(), config.sign_in.key().into());
    }
    if let Some(mailbox) = &config.mailbox {
        settings.insert(fields::MAILBOX.into(), mailbox.clone());
    }
    if let Some(site) = &config.site {
        settings.insert(fields::SITE.into(), site.clone());
    }
    if config.max_message_bytes != crate::config::DEFAULT_MAX_MESSAGE_BYTES {
        settings.insert(
            fields::MAX_MESSAGE_MB.into(),
            (config.max_message_bytes / crate::config::MIB).to_string(),
        );
    }
    settings
}

/// The saved settings of `account`, migrated to this build's layout; `None` when
/// there is no such account. Every read of saved settings goes through here.
pub fn read(host: &Host, account: &str) -> Result<Option<Settings>, PluginError> {
    host.settings_read(account)?.map(migrate).transpose()
}

/// Records in `settings` which credential secrets `secrets` — everything the same write
/// stores for the account — holds ([`SAVED_CREDENTIAL_SECRETS`]); not in layout 1, which
/// release 0.1.0 wrote without it.
pub fn record_credential_secrets(settings: &mut Settings, secrets: &Secrets) {
    if layout() == "1" {
        return;
    }
    let saved: Vec<&str> = CREDENTIAL_SECRETS
        .into_iter()
        .filter(|name| secrets.contains_key(*name))
        .collect();
    settings.insert(SAVED_CREDENTIAL_SECRETS.into(), saved.join(" "));
}

/// The saved form values of `account` (secrets left out), migrated to the current layout.
pub fn read_values(host: &Host, account: &str) -> Result<FormValues, PluginError> {
    let settings = read(host, account)?.ok_or_else(|| not_found(account))?;
    Ok(form_values(account, &settings))
}

/// The saved form values of `account` with its credential secrets, migrated to the
/// current layout: what its configuration is parsed from.
pub fn read_values_with_secrets(host: &Host, account: &str) -> Result<FormValues, PluginError> {
    let settings = read(host, account)?.ok_or_else(|| not_found(account))?;
    let mut values = form_values(account, &settings);
    CredentialSecrets::read(host, account, Some(&settings))?.fill(&mut values);
    Ok(values)
}

/// The form values of `account` in its (migrated) `settings`.
fn form_values(account: &str, settings: &Settings) -> FormValues {
    let mut values = FormValues::new().with(fields::ACCOUNT_NAME, account);
    for key in FORM_KEYS {
        if let Some(v) = settings.get(key) {
            values.set(key, v.as_str());
        }
    }
    values
}

/// Brings settings written by any earlier plugin version to this build's [`layout`],
/// one layout at a time.
pub fn migrate(settings: Settings) -> Result<Settings, PluginError> {
    migrate_to(settings, layout())
}

fn migrate_to(mut settings: Settings, newest: &str) -> Result<Settings, PluginError> {
    loop {
        match settings.get(SCHEMA_KEY).map(String::as_str) {
            Some(current) if current == newest => return Ok(settings),
            Some("1") => settings = from_layout_1(settings),
            Some(other) => return Err(unknown_layout(other, newest)),
            None => {
                return Err(PluginError::internal(
                    "This account's settings carry no layout version.",
                )
                .with_hint("Remove the account and add it again."))
            }
        }
    }
}

/// Layout 1 → 2: `written_by` is added.
fn from_layout_1(mut settings: Settings) -> Settings {
    settings.insert(SCHEMA_KEY.into(), "2".into());
    settings.insert(WRITTEN_BY.into(), LAYOUT_1_WRITER.into());
    settings
}

fn unknown_layout(layout: &str, newest: &str) -> PluginError {
    let newer = layout.parse::<u32>().ok() > newest.parse::<u32>().ok();
    let message = if newer {
        format!("This account was saved by a newer Office 365 plugin (settings layout {layout}).")
    } else {
        format!("This account's settings have a layout this plugin does not know ({layout:?}).")
    };
    PluginError::unsupported(message)
        .with_hint("Install that plugin version again, or remove the account and add it anew.")
}

/// Deletes `account` and its secrets.
pub fn remove(host: &Host, account: &str) -> Result<(), PluginError> {
    if host.settings_read(account)?.is_none() {
        return Err(not_found(account));
    }
    host.secrets_remove(account)?;
    host.settings_remove(account)
}

/// The secrets of an account's configuration: its client secret and its certificate
/// file's password, when saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialSecrets {
    /// The client secret.
    pub client_secret: Option<Secret>,
    /// The PKCS#12 certificate file's password.
    pub certificate_password: Option<Secret>,
}

impl CredentialSecrets {
    /// The credential secrets saved for `account` whose stored `settings` are given:
    /// only the ones they say are saved ([`SAVED_CREDENTIAL_SECRETS`]); both when they
    /// do not say (saved by an earlier build) or there are no settings.
    pub fn read(
        host: &Host,
        account: &str,
        settings: Option<&Settings>,
    ) -> Result<CredentialSecrets, PluginError> {
        let listed = settings.and_then(|s| s.get(SAVED_CREDENTIAL_SECRETS));
        let read = |name: &str| -> Result<Option<Secret>, PluginError> {
            match listed.is_none_or(|list| list.split(' ').any(|n| n == name)) {
                true => Ok(host.secret_read(account, name)?.map(Secret::new)),
                false => Ok(None),
            }
        };
        Ok(CredentialSecrets {
            client_secret: read(SECRET_CLIENT_SECRET)?,
            certificate_password: read(SECRET_CERTIFICATE_PASSWORD)?,
        })
    }

    /// Puts them in `secrets` under their stored names.
    pub fn put_in(&self, secrets: &mut Secrets) {
        if let Some(secret) = &self.client_secret {
            secrets.insert(SECRET_CLIENT_SECRET.to_owned(), secret.expose().to_owned());
        }
        if let Some(password) = &self.certificate_password {
            secrets.insert(
                SECRET_CERTIFICATE_PASSWORD.to_owned(),
                password.expose().to_owned(),
            );
        }
    }

    /// Puts them in `values` under their form keys, as secrets.
    pub fn fill(&self, values: &mut FormValues) {
        if let Some(secret) = &self.client_secret {
            values.set_secret(fields::CLIENT_SECRET, secret.expose());
        }
        if let Some(password) = &self.certificate_password {
            values.set_secret(fields::CERTIFICATE_PASSWORD, password.expose());
        }
    }
}

/// `values` editing the saved account `account`, with its saved certificate password put
/// in when they leave the password empty and name the same certificate file: as with the
/// client secret, a password left empty keeps the saved one (the form never gets a saved
/// secret back, and a PKCS#12 file cannot be opened without it). Otherwise — no such
/// account, another file, a password typed, or a store that cannot be read — `values` as
/// they are.
pub fn keeping_certificate_password(host: &Host, values: &FormValues, account: &str) -> FormValues {
    let typed = values
        .get(fields::CERTIFICATE_PASSWORD)
        .is_some_and(|p| !p.is_empty());
    let Some(file) = values.get_trimmed(fields::CERTIFICATE_FILE) else {
        return values.clone();
    };
    if typed {
        return values.clone();
    }
    let same_file = read(host, account)
        .ok()
        .flatten()
        .is_some_and(|s| s.get(fields::CERTIFICATE_FILE).map(String::as_str) == Some(file));
    let saved = match same_file {
        true => host
            .secret_read(account, SECRET_CERTIFICATE_PASSWORD)
            .ok()
            .flatten(),
        false => None,
    };
    let mut kept = values.clone();
    if let Some(password) = saved {
        kept.set_secret(fields::CERTIFICATE_PASSWORD, password);
    }
    kept
}

/// The configuration `account` was saved with, its credential secrets included.
pub fn config_of(host: &Host, account: &str) -> Result<AccountConfig, PluginError> {
    let (settings, secrets) = read_stored(host, account)?;
    config_from(account, settings, &secrets)
}

/// What the configuration of `account` is parsed from, as stored: its settings (`None`:
/// no such account) and the credential secrets they list.
pub fn read_stored(
    host: &Host,
    account: &str,
) -> Result<(Option<Settings>, CredentialSecrets), PluginError> {
    let settings = host.settings_read(account)?;
    let secrets = CredentialSecrets::read(host, account, settings.as_ref())?;
    Ok((settings, secrets))
}

/// The configuration of `account` from its stored `settings` and credential secrets (as
/// [`config_of`] reads them).
pub fn config_from(
    account: &str,
    settings: Option<Settings>,
    secrets: &CredentialSecrets,
) -> Result<AccountConfig, PluginError> {
    let settings = settings
        .map(migrate)
        .transpose()?
        .ok_or_else(|| not_found(account))?;
    let mut values = form_values(account, &settings);
    secrets.fill(&mut values);
    AccountConfig::parse(&values).map_err(|errors| {
        let fields: Vec<&str> = errors.iter().map(|e| e.field()).collect();
        PluginError::internal(format!(
            "The saved settings of \"{account}\" are no longer valid ({}).",
            fields.join(", ")
        ))
        .with_hint("Open the account, correct it and verify it again.")
    })
}

/// The error for an account name with no saved account.
pub fn not_found(account: &str) -> PluginError {
    PluginError::invalid_input(format!(
        "There is no saved Office 365 account named \"{account}\"."
    ))
    .with_field(fields::ACCOUNT_NAME)
    .with_hint("List the saved accounts and check the spelling.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::testing::MemoryHost;

    fn config() -> AccountConfig {
        AccountConfig::parse(
            &FormValues::new()
                .with(fields::ACCOUNT_NAME, "Reports")
                .with(fields::CLIENT_ID, "4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
                .with(fields::TENANT_ID, "contoso.onmicrosoft.com")
                .with(fields::CLIENT_SECRET, "s3cr3t~value")
                .with(fields::AUTHORITY, "http://127.0.0.1:9/"),
        )
        .unwrap()
    }

    #[test]
    fn write_then_read_round_trips_and_keeps_secrets_apart() {
        let memory = MemoryHost::new();
        let host = memory.handle();
        let issued = CachedToken::issued(
            Secret::new("at-1"),
            Some(std::time::Duration::from_secs(3600)),
            Some("User.Read Mail.Send"),
            &["openid".to_owned(), "User.Read".to_owned()],
            1_000,
        );
        let rt = Secret::new("rt-1");
        write(&host, &config(), Some(&rt), Some(&issued), &facts(), None).unwrap();
        let settings = memory.settings_of("Reports").unwrap();
        assert!(!settings
            .values()
            .any(|v| v.contains("s3cr3t") || v.contains("rt-1") || v.contains("at-1")));
        let cached = memory.secrets_of("Reports").remove(SECRET_ACCESS_TOKENS);
        let cache = TokenCache::parse(cached.as_deref());
        let wanted = ["User.Read".to_owned()];
        assert_eq!(
            cache.find(&wanted, 1_000).map(|t| t.expires_at),
            Some(4_600),
            "the sign-in's access token is cached with the account"
        );
        let secrets = memory.secrets_of("Reports");
        assert_eq!(
            secrets.get(SECRET_CLIENT_SECRET).map(String::as_str),
            Some("s3cr3t~value")
        );
        assert_eq!(
            secrets.get(SECRET_REFRESH_TOKEN).map(String::as_str),
            Some("rt-1")
        );
        let values = read_values(&host, "Reports").unwrap();
        assert_eq!(
            values.get(fields::TENANT_ID),
            Some("contoso.onmicrosoft.com")
        );
        assert_eq!(values.get(fields::AUTHORITY), Some("http://127.0.0.1:9"));
        assert_eq!(values.get(fields::CLIENT_SECRET), None);
        remove(&host, "Reports").unwrap();
        assert!(memory.settings_of("Reports").is_none());
        assert!(memory.secrets_of("Reports").is_empty());
        assert!(remove(&host, "Reports")
            .unwrap_err()
            .message()
            .contains("no saved"));
    }

    #[test]
    fn newer_layouts_are_refused_with_a_way_out() {
        let mut s = Settings::new();
        s.insert(SCHEMA_KEY.into(), "99".into());
        let e = migrate(s.clone()).unwrap_err();
        assert!(e.message().contains("newer"), "{e}");
        assert!(e.hint().is_some());
        s.insert(SCHEMA_KEY.into(), "x".into());
        assert!(migrate(s).unwrap_err().message().contains("does not know"));
    }

    #[test]
    fn a_build_that_knows_layout_1_only_refuses_layout_2_as_release_0_1_0_did() {
        let current = settings_in_layout(&config(), &facts(), SCHEMA_VERSION);
        let e = migrate_to(current, "1").unwrap_err();
        assert_eq!(
            e.message(),
            "This account was saved by a newer Office 365 plugin (settings layout 2)."
        );
        let old = settings_in_layout(&config(), &facts(), "1");
        assert_eq!(migrate_to(old.clone(), "1").unwrap(), old);
    }

    #[test]
    fn only_the_credential_secrets_the_settings_list_are_read() {
        let memory = MemoryHost::new();
        let host = memory.handle();
        write(&host, &config(), None, None, &facts(), None).unwrap();
        let listed = memory.settings_of("Reports").unwrap();
        assert_eq!(listed[SAVED_CREDENTIAL_SECRETS], SECRET_CLIENT_SECRET);
        let reads_of = |f: &dyn Fn() -> AccountConfig| {
            let before = memory.reads();
            let config = f();
            (memory.reads() - before, config)
        };
        let (reads, read) = reads_of(&|| config_of(&host, "Reports").unwrap());
        assert_eq!(reads, 2, "the settings and the client secret");
        assert_eq!(
            read.client_secret.as_ref().map(Secret::expose),
            Some("s3cr3t~value")
        );

        // Settings an earlier version saved do not say: both are read.
        let mut earlier = listed.clone();
        earlier.remove(SAVED_CREDENTIAL_SECRETS);
        host.settings_write("Reports", &earlier).unwrap();
        let (reads, read) = reads_of(&|| config_of(&host, "Reports").unwrap());
        assert_eq!(reads, 3);
        assert_eq!(
            read.client_secret.as_ref().map(Secret::expose),
            Some("s3cr3t~value")
        );
        let values = read_values_with_secrets(&host, "Reports").unwrap();
        assert_eq!(values.get(fields::CLIENT_SECRET), Some("s3cr3t~value"));

        // A list with both names, as an account with a certificate and its password.
        let mut both = listed;
        both.insert(
            SAVED_CREDENTIAL_SECRETS.into(),
            CREDENTIAL_SECRETS.join(" "),
        );
        host.settings_write("Reports", &both).unwrap();
        assert_eq!(reads_of(&|| config_of(&host, "Reports").unwrap()).0, 3);
    }

    fn facts() -> VerifiedFacts {
        VerifiedFacts {
            mail: "ada@contoso.example".into(),
            verified_at: 1_700_000_000,
            ..VerifiedFacts::default()
        }
    }

    #[test]
    fn the_current_layout_names_the_version_that_wrote_it() {
        let s = settings_in_layout(&config(), &facts(), SCHEMA_VERSION);
        assert_eq!(s[SCHEMA_KEY], "2");
        assert_eq!(s["mail"], "ada@contoso.example");
        assert_eq!(s[WRITTEN_BY], PLUGIN_VERSION);
        assert_eq!(
            migrate(s.clone()).unwrap(),
            s,
            "the current layout needs no step"
        );
    }

    #[test]
    fn layout_1_as_release_0_1_0_wrote_it_migrates_to_the_current_one() {
        let old = settings_in_layout(&config(), &facts(), "1");
        assert_eq!(old[SCHEMA_KEY], "1");
        assert!(!old.contains_key(WRITTEN_BY));

        let migrated = migrate(old.clone()).unwrap();
        let mut expected = settings_in_layout(&config(), &facts(), SCHEMA_VERSION);
        expected.insert(WRITTEN_BY.into(), "0.1.x".into());
        assert_eq!(migrated, expected);

        let memory = MemoryHost::new();
        memory.handle().settings_write("Reports", &old).unwrap();
        let values = read_values(&memory.handle(), "Reports").unwrap();
        assert_eq!(
            values.get(fields::CLIENT_ID),
            Some("4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
        );
        assert_eq!(values.get(fields::AUTHORITY), Some("http://127.0.0.1:9"));
        assert_eq!(values.get("mail"), None, "facts are not form values");
    }
}

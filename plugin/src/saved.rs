//! How an account is kept in the host's stores: settings (plain) and secrets (apart).

use atrs_host_sdk::{FormValues, Host, PluginError, Settings};

use crate::{config::AccountConfig, fields, secret::Secret};

/// The settings layout written by this plugin; bump it and add a migration when it changes.
pub const SCHEMA_VERSION: &str = "1";
const SCHEMA_KEY: &str = "schema_version";

/// Secret name of the client secret in the secrets store.
pub const SECRET_CLIENT_SECRET: &str = "client_secret";
/// Secret name of the refresh token in the secrets store.
pub const SECRET_REFRESH_TOKEN: &str = "refresh_token";

/// Writes a verified account: settings first, then secrets.
pub fn write(
    host: &Host,
    config: &AccountConfig,
    refresh_token: Option<&Secret>,
    extra: &Settings,
) -> Result<(), PluginError> {
    let mut settings = extra.clone();
    settings.insert(SCHEMA_KEY.into(), SCHEMA_VERSION.into());
    settings.insert(fields::CLIENT_ID.into(), config.client_id.clone());
    settings.insert(fields::TENANT_ID.into(), config.tenant.segment().to_owned());
    settings.insert(fields::CLOUD.into(), config.cloud.key().into());
    settings.insert(fields::SCOPES.into(), config.scopes.join(" "));
    if let Some(authority) = &config.authority_override {
        settings.insert(
            fields::AUTHORITY.into(),
            authority.as_str().trim_end_matches('/').to_owned(),
        );
    }
    let account = &config.account_name;
    host.settings_write(account, &settings)?;
    host.secrets_remove(account)?;
    if let Some(secret) = &config.client_secret {
        host.secret_write(account, SECRET_CLIENT_SECRET, secret.expose())?;
    }
    if let Some(token) = refresh_token {
        host.secret_write(account, SECRET_REFRESH_TOKEN, token.expose())?;
    }
    Ok(())
}

/// The saved form values of `account` (secrets left out), migrated to the current layout.
pub fn read_values(host: &Host, account: &str) -> Result<FormValues, PluginError> {
    let settings = host
        .settings_read(account)?
        .ok_or_else(|| not_found(account))?;
    let settings = migrate(settings)?;
    let mut values = FormValues::new().with(fields::ACCOUNT_NAME, account);
    for key in [
        fields::CLIENT_ID,
        fields::TENANT_ID,
        fields::CLOUD,
        fields::AUTHORITY,
        fields::SCOPES,
    ] {
        if let Some(v) = settings.get(key) {
            values.set(key, v.as_str());
        }
    }
    Ok(values)
}

/// Brings settings written by any earlier plugin version to the current layout.
pub fn migrate(settings: Settings) -> Result<Settings, PluginError> {
    match settings.get(SCHEMA_KEY).map(String::as_str) {
        Some(SCHEMA_VERSION) => Ok(settings),
        Some(newer) => Err(PluginError::unsupported(format!(
            "This account was saved by a newer Office 365 plugin (settings layout {newer})."
        ))
        .with_hint("Install that plugin version again, or remove the account and add it anew.")),
        None => Err(
            PluginError::internal("This account's settings carry no layout version.")
                .with_hint("Remove the account and add it again."),
        ),
    }
}

/// Deletes `account` and its secrets.
pub fn remove(host: &Host, account: &str) -> Result<(), PluginError> {
    if host.settings_read(account)?.is_none() {
        return Err(not_found(account));
    }
    host.secrets_remove(account)?;
    host.settings_remove(account)
}

fn not_found(account: &str) -> PluginError {
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
        write(
            &host,
            &config(),
            Some(&Secret::new("rt-1")),
            &Settings::new(),
        )
        .unwrap();
        let settings = memory.settings_of("Reports").unwrap();
        assert!(!settings
            .values()
            .any(|v| v.contains("s3cr3t") || v.contains("rt-1")));
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
        let e = migrate(s).unwrap_err();
        assert!(e.message().contains("newer"), "{e}");
        assert!(e.hint().is_some());
    }
}

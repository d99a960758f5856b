//! How hosts show an account's saved settings (interface 1.2's `settings_display`):
//! each key the plugin saves under a label people read, dates as dates, the authority
//! as an address, and the plugin's own bookkeeping hidden unless everything is asked
//! for.

use atrs_host_sdk::{SettingDisplay, ShownAs};

use super::saved;
use crate::fields;

/// Every setting key this plugin saves, as hosts should show it.
pub fn settings_display() -> Vec<SettingDisplay> {
    let text = |key: &str, label: &str| SettingDisplay::new(key, label, ShownAs::Text);
    let hidden = |key: &str| SettingDisplay::new(key, key, ShownAs::Hidden);
    vec![
        text(fields::CLIENT_ID, "Application (client) ID"),
        text(fields::TENANT_ID, "Directory (tenant) ID"),
        text(fields::CLOUD, "Cloud"),
        SettingDisplay::new(fields::AUTHORITY, "Authority", ShownAs::Url),
        text(fields::SCOPES, "Permissions asked for"),
        text(fields::RESPONSE_MODE, "Browser answer"),
        text(fields::CA_FILE, "CA certificates file"),
        text(fields::MAX_MESSAGE_MB, "Largest e-mail (MB)"),
        text(fields::CERTIFICATE_FILE, "Certificate file"),
        text(fields::CLIENT_SECRET_EXPIRES, "Client secret expires"),
        text(fields::SIGN_IN, "Account kind"),
        text(fields::MAILBOX, "Acts for mailbox"),
        SettingDisplay::new(fields::SITE, "Files go to", ShownAs::Url),
        text(saved::FACT_USER_PRINCIPAL_NAME, "Signed in as"),
        text(saved::FACT_DISPLAY_NAME, "Name"),
        text(saved::FACT_MAIL, "Mail"),
        text(saved::FACT_USER_ID, "User object ID"),
        text(saved::FACT_VERIFIED_TENANT_ID, "Verified in tenant"),
        text(saved::FACT_GRANTED_SCOPES, "Permissions granted"),
        SettingDisplay::new(saved::FACT_VERIFIED_AT, "Verified", ShownAs::Date),
        hidden(saved::SCHEMA_KEY),
        hidden(saved::WRITTEN_BY),
        hidden(saved::SAVED_CREDENTIAL_SECRETS),
        hidden(saved::LAST_REFRESH_AT),
        hidden(saved::LAST_REFRESH_OK_AT),
        hidden(saved::LAST_REFRESH_ERROR),
        hidden(saved::REFRESH_TOKEN_ROTATED_AT),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_once_with_a_label_and_the_bookkeeping_hidden() {
        let shown = settings_display();
        let mut keys: Vec<&str> = shown.iter().map(|d| d.key.as_str()).collect();
        keys.sort_unstable();
        let count = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), count, "a key listed twice");
        assert!(shown.iter().all(|d| !d.label.is_empty()));
        let hidden: Vec<&str> = shown
            .iter()
            .filter(|d| d.shown_as() == ShownAs::Hidden)
            .map(|d| d.key.as_str())
            .collect();
        assert!(hidden.contains(&saved::LAST_REFRESH_ERROR), "{hidden:?}");
        assert!(!hidden.contains(&fields::CLIENT_ID));
    }
}

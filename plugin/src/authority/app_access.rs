//! What an application account (nobody signs in; client credentials) may reach, and the
//! refusals that name what is missing: application permissions (`roles`) not granted, one
//! role missing, or an Exchange application access policy (or RBAC for Applications)
//! keeping the app from the mailbox. Shared by the direct verification and deliveries.

use atrs_host_sdk::{ErrorKind, PluginError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::{authority::admin_consent, config::AccountConfig};

/// The application permission that sends mail as any mailbox the app may reach.
pub const MAIL_SEND: &str = "Mail.Send";
/// The application permission for drafts (attachments over 3 MB go through one).
pub const MAIL_READWRITE: &str = "Mail.ReadWrite";
/// The application permission for every user's OneDrive.
pub const FILES_READWRITE_ALL: &str = "Files.ReadWrite.All";
/// The application permission for SharePoint sites' libraries.
pub const SITES_READWRITE_ALL: &str = "Sites.ReadWrite.All";
/// The application permission that reads the mailbox's user (its name, for Verify).
pub const USER_READ_ALL: &str = "User.Read.All";

/// Application permissions that let an app read a mailbox's folders.
pub const MAIL_READ_ROLES: [&str; 4] = [
    "Mail.ReadBasic",
    "Mail.ReadBasic.All",
    "Mail.Read",
    MAIL_READWRITE,
];
/// Application permissions that let an app write a user's OneDrive.
pub const FILES_ROLES: [&str; 2] = [FILES_READWRITE_ALL, SITES_READWRITE_ALL];

/// The `roles` an application token carries, when it is a JWT whose payload says (as
/// Entra's Graph tokens are); `None` when it cannot be read — then only Graph's answers
/// tell. An empty list: no application permission was granted.
pub fn roles_of(access_token: &str) -> Option<Vec<String>> {
    let mut parts = access_token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let claims = claims.as_object()?;
    Some(
        claims
            .get("roles")
            .and_then(|r| r.as_array())
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

/// Whether `roles` holds `role` (compared without regard to case).
pub fn has(roles: &[String], role: &str) -> bool {
    roles.iter().any(|r| r.eq_ignore_ascii_case(role))
}

/// Whether a Graph refusal is Exchange's application access policy (or RBAC for
/// Applications) keeping the app from a mailbox: `403 ErrorAccessDenied` "Access to OData is
/// disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
pub fn is_access_policy(status: u16, code: &str, message: &str) -> bool {
    status == 403
        && code.eq_ignore_ascii_case("ErrorAccessDenied")
        && (message.contains("[RAOP]") || message.contains("AccessPolicy"))
}

/// Whether a Graph 401 says the token carries neither `scp` nor `roles`: an application
/// token whose permissions no administrator granted.
pub fn is_without_roles(status: u16, message: &str) -> bool {
    status == 401 && message.contains("roles claim")
}

/// The access policy refusal for `mailbox`.
pub fn access_policy(mailbox: &str, client_id: &str) -> PluginError {
    PluginError::new(
        ErrorKind::AuthorizationRefused,
        format!("An Exchange application access policy keeps this app from the mailbox {mailbox} (Exchange answered \"Access to OData is disabled\", [RAOP])."),
    )
    .with_hint(format!(
        "An Exchange administrator adds {mailbox} to the mail-enabled security group named by the app's policy (Exchange Online PowerShell: Get-ApplicationAccessPolicy shows it; Test-ApplicationAccessPolicy -Identity {mailbox} -AppId {client_id} checks the result), or, with RBAC for Applications, to the app's management scope. Changes can take up to an hour to apply; then verify the account again."
    ))
}

/// The refusal when no application permission is granted (no `roles` at all).
pub fn no_roles(config: &AccountConfig) -> PluginError {
    PluginError::new(
        ErrorKind::AuthorizationRefused,
        "The app has no application permissions granted: Entra issued its token without roles, so Microsoft Graph accepts it for nothing.",
    )
    .with_field(crate::fields::CLIENT_ID)
    .with_hint(format!(
        "Add the Microsoft Graph application permissions ({MAIL_SEND}; {FILES_READWRITE_ALL} for files; {USER_READ_ALL}) under Entra admin center → App registrations → your app → API permissions, then an administrator grants admin consent there (\"Grant admin consent for …\") or opens {} — then verify the account again.",
        admin_consent::app_address(config)
    ))
}

/// The refusal when the application permission `role`, needed to `what`, is not granted.
pub fn missing_role(config: &AccountConfig, role: &str, what: &str) -> PluginError {
    PluginError::new(
        ErrorKind::AuthorizationRefused,
        format!("The app lacks the application permission {role}, which it needs to {what}."),
    )
    .with_field(crate::fields::CLIENT_ID)
    .with_hint(missing_role_fix(config, role))
}

/// How to add `role`: the permission, then an administrator's consent.
pub fn missing_role_fix(config: &AccountConfig, role: &str) -> String {
    format!(
        "Add the Microsoft Graph application permission {role} (Entra admin center → App registrations → your app → API permissions → Add a permission → Microsoft Graph → Application permissions), then an administrator grants admin consent (\"Grant admin consent for …\", or {}) — then verify the account again.",
        admin_consent::app_address(config)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(b"{\"alg\":\"RS256\"}"),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn roles_are_read_from_a_jwt_and_nothing_is_guessed_otherwise() {
        assert_eq!(
            roles_of(&jwt(json!({"roles": ["Mail.Send", "User.Read.All"]}))),
            Some(vec!["Mail.Send".to_owned(), "User.Read.All".to_owned()])
        );
        assert_eq!(roles_of(&jwt(json!({"appid": "x"}))), Some(Vec::new()));
        assert_eq!(roles_of("EwAoA8l6BAAU-opaque"), None);
        assert_eq!(roles_of("a.b.c"), None);
        assert!(has(&["mail.send".to_owned()], MAIL_SEND));
    }

    #[test]
    fn exchange_s_policy_refusal_is_told_apart() {
        let raop = "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.";
        assert!(is_access_policy(403, "ErrorAccessDenied", raop));
        assert!(!is_access_policy(
            403,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again."
        ));
        assert!(is_without_roles(
            401,
            "Either scp or roles claim need to be present in the token."
        ));
        let e = access_policy("reports@contoso.com", "c-1");
        assert!(e
            .hint()
            .unwrap()
            .contains("Test-ApplicationAccessPolicy -Identity reports@contoso.com -AppId c-1"));
    }
}

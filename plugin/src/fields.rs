//! The Office 365 account form: field keys and the fields as the host shows them.

use atrs_host_sdk::{ChoiceOption, FieldKind, FormField};

use crate::{net::cloud::Cloud, response_mode::ResponseMode, sign_in_kind::SignIn};

/// The name the user recognises the account by; also the key it is saved under.
pub const ACCOUNT_NAME: &str = "account_name";
/// The Application (client) ID of the app registration.
pub const CLIENT_ID: &str = "client_id";
/// The Directory (tenant) ID, a verified domain, or organizations/common/consumers.
pub const TENANT_ID: &str = "tenant_id";
/// The client secret's value, for confidential (web) registrations.
pub const CLIENT_SECRET: &str = "client_secret";
/// The day the client secret expires (`YYYY-MM-DD`, optional), for a warning ahead.
pub const CLIENT_SECRET_EXPIRES: &str = "client_secret_expires";
/// Which national cloud.
pub const CLOUD: &str = "cloud";
/// Advanced: replaces the cloud's sign-in host (for example a local mock).
pub const AUTHORITY: &str = "authority";
/// Advanced: the permissions to request.
pub const SCOPES: &str = "scopes";
/// Advanced: how the browser hands the sign-in back (`query` or `form_post`).
pub const RESPONSE_MODE: &str = "response_mode";
/// Advanced: a PEM file of extra certificate authorities to trust (a TLS-inspecting
/// proxy's, or a local test server's).
pub const CA_FILE: &str = "ca_file";

/// Advanced: the mailbox's maximum message size in MB (Exchange Online's default: 35).
pub const MAX_MESSAGE_MB: &str = "max_message_mb";

/// Advanced: a PEM file with the certificate registered on the app and its private key,
/// or a PKCS#12 (`.pfx`, `.p12`) file of both, used instead of a client secret.
pub const CERTIFICATE_FILE: &str = "certificate_file";

/// Advanced, secret: the password of a PKCS#12 [`CERTIFICATE_FILE`].
pub const CERTIFICATE_PASSWORD: &str = "certificate_password";

/// Advanced: who signs in — `user` (device code or browser; the default) or `application`
/// (no user: client credentials, acting for [`MAILBOX`]).
pub const SIGN_IN: &str = "sign_in";

/// Advanced, application accounts: the mailbox (and OneDrive) the account acts for.
pub const MAILBOX: &str = "mailbox";

/// Advanced: the SharePoint site files go to when a delivery names none (instead of the
/// user's, or an application account's mailbox's, OneDrive).
pub const SITE: &str = "site";

/// Every key the form knows.
pub const ALL_KEYS: [&str; 16] = [
    ACCOUNT_NAME,
    CLIENT_ID,
    TENANT_ID,
    CLIENT_SECRET,
    CLIENT_SECRET_EXPIRES,
    CLOUD,
    AUTHORITY,
    SCOPES,
    RESPONSE_MODE,
    CA_FILE,
    MAX_MESSAGE_MB,
    CERTIFICATE_FILE,
    CERTIFICATE_PASSWORD,
    SIGN_IN,
    MAILBOX,
    SITE,
];

/// Exchange Online's default maximum message size, in MB.
pub const DEFAULT_MAX_MESSAGE_MB: &str = "35";

/// The permissions requested when the user does not choose others.
pub const DEFAULT_SCOPES: &str = "openid profile offline_access User.Read Mail.Send";

/// The form, in display order.
pub fn describe() -> Vec<FormField> {
    vec![
        FormField::new(ACCOUNT_NAME, "Account name", FieldKind::Text)
            .required()
            .with_placeholder("Reports mailbox")
            .with_help("A name to recognise this account by in ATRS."),
        FormField::new(CLIENT_ID, "Client ID", FieldKind::Text)
            .required()
            .with_placeholder("00000000-0000-0000-0000-000000000000")
            .with_help(
                "Azure portal → App registrations → your app → Overview → Application (client) ID.",
            ),
        FormField::new(TENANT_ID, "Tenant ID", FieldKind::Text)
            .required()
            .with_placeholder("00000000-0000-0000-0000-000000000000 or contoso.onmicrosoft.com")
            .with_help(
                "Overview → Directory (tenant) ID; a verified domain also works, \
                 or organizations / common / consumers.",
            ),
        FormField::new(CLIENT_SECRET, "Client secret", FieldKind::Secret).with_help(
            "Only for apps registered with a Web redirect: Certificates & secrets → \
                 the secret's Value (not its Secret ID). Leave empty for desktop apps.",
        ),
        FormField::new(
            CLIENT_SECRET_EXPIRES,
            "Client secret expires",
            FieldKind::Text,
        )
        .with_placeholder("2027-06-30")
        .with_help(
            "Optional: the secret's Expires date from Certificates & secrets, so ATRS \
                 warns 30 days ahead.",
        ),
        FormField::new(
            CLOUD,
            "Cloud",
            FieldKind::Choice {
                options: Cloud::ALL
                    .iter()
                    .map(|c| ChoiceOption::new(c.key(), c.label()))
                    .collect(),
            },
        )
        .required()
        .with_default(Cloud::Global.key())
        .with_help("The Microsoft cloud your tenant lives in."),
        FormField::new(AUTHORITY, "Authority URL override", FieldKind::Text)
            .advanced()
            .with_placeholder("https://login.microsoftonline.com")
            .with_help(
                "Replaces the cloud's sign-in host. https only; plain http is allowed for \
                 loopback addresses (a local test server).",
            ),
        FormField::new(SCOPES, "Scopes", FieldKind::Text)
            .advanced()
            .with_default(DEFAULT_SCOPES)
            .with_help("Delegated permissions to request, separated by spaces."),
        FormField::new(
            RESPONSE_MODE,
            "Browser answer",
            FieldKind::Choice {
                options: ResponseMode::ALL
                    .iter()
                    .map(|m| ChoiceOption::new(m.key(), m.label()))
                    .collect(),
            },
        )
        .advanced()
        .with_default(ResponseMode::Query.key())
        .with_help(
            "How Verify ▾ With Browser gets the sign-in back. query: in the address the \
             browser ends on, which can also be pasted. form_post: posted straight to \
             ATRS's loopback listener, so the code never appears in the address bar or \
             history (RFC 9700), but nothing can be pasted; used only where the sign-in \
             service offers it and the listener runs.",
        ),
        FormField::new(
            CA_FILE,
            "Extra trusted certificates (PEM file)",
            FieldKind::Text,
        )
        .advanced()
        .with_help(
            "Certificate authorities to trust besides the public ones, for a proxy that \
                 inspects TLS or a local test server. SSL_CERT_FILE is honoured as well.",
        ),
        FormField::new(MAX_MESSAGE_MB, "Maximum message size (MB)", FieldKind::Text)
            .advanced()
            .with_default(DEFAULT_MAX_MESSAGE_MB)
            .with_help(
                "The mailbox's maximum send size: 35 MB unless an Exchange administrator \
                 raised it (up to 150). A message over it, counted as Exchange counts it \
                 (attachments grow by a third when encoded), is refused before anything \
                 is uploaded.",
            ),
        FormField::new(
            CERTIFICATE_FILE,
            "Certificate (PEM or .pfx / .p12 file with its private key)",
            FieldKind::Text,
        )
        .advanced()
        .with_placeholder("/etc/atrs/app.pem or /etc/atrs/app.pfx")
        .with_help(
            "Instead of a client secret, for tenants that forbid secrets: the certificate \
             uploaded under Certificates & secrets → Certificates with its RSA private key — \
             a PEM file (key unencrypted), or the .pfx / .p12 file exported with the private \
             key, its password in Certificate password. Keep the file readable only by this \
             account. Leave Client secret empty.",
        ),
        FormField::new(
            CERTIFICATE_PASSWORD,
            "Certificate password (.pfx / .p12)",
            FieldKind::Secret,
        )
        .advanced()
        .with_help(
            "The password the .pfx / .p12 file was exported with; kept as a secret. Leave \
             empty for a PEM file.",
        ),
        FormField::new(
            SIGN_IN,
            "Account kind",
            FieldKind::Choice {
                options: SignIn::ALL
                    .iter()
                    .map(|k| ChoiceOption::new(k.key(), k.label()))
                    .collect(),
            },
        )
        .advanced()
        .with_default(SignIn::User.key())
        .with_help(
            "Application: nobody signs in — for a service that must send for years. The app \
             proves itself with its client secret or certificate and needs application \
             permissions granted by an administrator (Mail.Send; Files.ReadWrite.All for \
             files; User.Read.All to check the mailbox). Verify with Verify ▾ Directly.",
        ),
        FormField::new(MAILBOX, "Mailbox (application accounts)", FieldKind::Text)
            .advanced()
            .with_placeholder("reports@contoso.com")
            .with_help(
                "The mailbox an application account sends as, and whose OneDrive it writes \
                 to. An Exchange application access policy may limit which mailboxes the \
                 app reaches.",
            ),
        FormField::new(SITE, "Files go to (SharePoint site)", FieldKind::Text)
            .advanced()
            .with_placeholder("https://contoso.sharepoint.com/sites/Reports")
            .with_help(
                "Where uploads go when a delivery names no site: a SharePoint site's address. \
                 Empty: the signed-in user's OneDrive (an application account: its mailbox's). \
                 An application account needs Sites.ReadWrite.All (or Files.ReadWrite.All); \
                 Verify ▾ Directly checks that it reaches the site.",
            ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique_and_match_all_keys() {
        let fields = describe();
        let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ALL_KEYS.to_vec());
        assert_eq!(keys.iter().collect::<HashSet<_>>().len(), keys.len());
    }

    #[test]
    fn only_the_client_secret_and_certificate_password_are_secret() {
        let secret: Vec<String> = describe()
            .iter()
            .filter(|f| f.is_secret())
            .map(|f| f.key.to_string())
            .collect();
        assert_eq!(
            secret,
            vec![CLIENT_SECRET.to_string(), CERTIFICATE_PASSWORD.to_string()]
        );
    }
}

//! Form values checked and parsed into an account configuration, or per-field errors.

use std::path::PathBuf;

use atrs_host_sdk::{FieldError, FormValues};
use url::Url;

use crate::{fields, net::cloud::Cloud, net::http::is_loopback, net::trust, secret::Secret};

use crate::certificate::Certificate;
pub use crate::response_mode::ResponseMode;
pub use crate::sign_in_kind::SignIn;

/// Which directory accounts sign in from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    /// A tenant GUID (lower-cased).
    Id(String),
    /// A verified domain (lower-cased), e.g. `contoso.onmicrosoft.com`.
    Domain(String),
    /// `organizations`, `common` or `consumers`.
    Audience(&'static str),
}

impl Tenant {
    /// The path segment used in endpoint URLs.
    pub fn segment(&self) -> &str {
        match self {
            Tenant::Id(s) | Tenant::Domain(s) => s,
            Tenant::Audience(s) => s,
        }
    }
}

/// The labels of the values whose change needs a new sign-in, in form order (the
/// order [`AccountConfig::sign_in_changes`] compares them in).
pub const SIGN_IN_VALUES: [&str; 12] = [
    "Account name",
    "Account kind",
    "Client ID",
    "Tenant ID",
    "Client secret",
    "Certificate",
    "Certificate password",
    "Cloud",
    "Authority URL override",
    "Scopes",
    "Extra trusted certificates",
    "Mailbox",
];

/// A checked account configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountConfig {
    /// The account name (trimmed).
    pub account_name: String,
    /// The Application (client) ID, lower-cased.
    pub client_id: String,
    /// The tenant.
    pub tenant: Tenant,
    /// The client secret, for confidential apps.
    pub client_secret: Option<Secret>,
    /// The day the client secret expires (`YYYY-MM-DD`), when the user gave it.
    pub client_secret_expires: Option<String>,
    /// The cloud.
    pub cloud: Cloud,
    /// The authority override, if any.
    pub authority_override: Option<Url>,
    /// The permissions to request.
    pub scopes: Vec<String>,
    /// How a browser sign-in with the loopback listener asks for its answer.
    pub response_mode: ResponseMode,
    /// Extra certificate authorities to trust (checked to hold PEM certificates).
    pub ca_file: Option<PathBuf>,
    /// The mailbox's maximum message size in bytes (35 MB unless the form says otherwise).
    pub max_message_bytes: u64,
    /// The certificate credential, used instead of a client secret.
    pub certificate: Option<Certificate>,
    /// The password the PKCS#12 certificate file was opened with (kept as a secret).
    pub certificate_password: Option<Secret>,
    /// Who signs in: a user, or nobody (an application account).
    pub sign_in: SignIn,
    /// The mailbox an application account acts for (`None` for user accounts).
    pub mailbox: Option<String>,
    /// The SharePoint site files go to when a delivery names none (its address).
    pub site: Option<String>,
}

impl AccountConfig {
    /// Checks `values`; every problem found is returned, one per field.
    pub fn parse(values: &FormValues) -> Result<AccountConfig, Vec<FieldError>> {
        let mut errors = Vec::new();
        for value in values.iter() {
            if !fields::ALL_KEYS.contains(&value.key()) {
                errors.push(
                    FieldError::new(
                        value.key(),
                        format!(
                            "There is no field `{}` in the Office 365 form.",
                            value.key()
                        ),
                    )
                    .with_hint(format!("The fields are: {}.", fields::ALL_KEYS.join(", "))),
                );
            }
        }
        let account_name = collect(
            &mut errors,
            parse_account_name(values.get(fields::ACCOUNT_NAME)),
        );
        let client_id = collect(&mut errors, parse_client_id(values.get(fields::CLIENT_ID)));
        let tenant = collect(&mut errors, parse_tenant(values.get(fields::TENANT_ID)));
        let client_secret = collect(
            &mut errors,
            parse_client_secret(values.get(fields::CLIENT_SECRET)),
        );
        let client_secret_expires = collect(
            &mut errors,
            parse_secret_expiry(values.get(fields::CLIENT_SECRET_EXPIRES)),
        );
        let cloud = collect(&mut errors, parse_cloud(values.get(fields::CLOUD)));
        let authority_override =
            collect(&mut errors, parse_authority(values.get(fields::AUTHORITY)));
        let sign_in = collect(&mut errors, parse_sign_in(values.get(fields::SIGN_IN)));
        let app = sign_in == Some(SignIn::Application);
        // An application account asks for the application permissions granted to the app
        // (`{graph}/.default`, the only scope client credentials take): the Scopes field,
        // which lists delegated permissions, does not apply to it.
        let scopes = match (app, &cloud) {
            (true, Some(c)) => Some(vec![format!("https://{}/.default", c.graph_hosts()[0])]),
            (true, None) => None,
            (false, _) => collect(&mut errors, parse_scopes(values.get(fields::SCOPES))),
        };
        let mailbox = collect(
            &mut errors,
            parse_mailbox(values.get(fields::MAILBOX), sign_in.unwrap_or_default()),
        );
        let response_mode = collect(
            &mut errors,
            parse_response_mode(values.get(fields::RESPONSE_MODE)),
        );
        let ca_file = collect(&mut errors, parse_ca_file(values.get(fields::CA_FILE)));
        let site = collect(&mut errors, parse_site(values.get(fields::SITE)));
        let max_message_bytes = collect(
            &mut errors,
            parse_max_message(values.get(fields::MAX_MESSAGE_MB)),
        );
        // A password is taken as typed: spaces and quotes may be part of it.
        let certificate_password = values
            .get(fields::CERTIFICATE_PASSWORD)
            .filter(|v| !v.is_empty())
            .map(Secret::new);
        let certificate = collect(
            &mut errors,
            parse_certificate(
                values.get(fields::CERTIFICATE_FILE),
                certificate_password.as_ref(),
            ),
        );
        if app {
            app_checks(&mut errors, &tenant);
        }
        if let (Some(Some(_)), Some(Some(_))) = (&client_secret, &certificate) {
            errors.push(
                FieldError::new(
                    fields::CERTIFICATE_FILE,
                    "Give either a client secret or a certificate, not both.",
                )
                .with_hint("Clear Client secret to sign in with the certificate, or clear Certificate to use the secret."),
            );
        }
        if let (Some(client), Some(Tenant::Id(tenant))) = (&client_id, &tenant) {
            if client == tenant {
                errors.push(
                    FieldError::new(fields::CLIENT_ID, "Client ID and Tenant ID are the same.")
                        .with_hint("The Client ID is the Application (client) ID; the Tenant ID is the Directory (tenant) ID. Both are on the app's Overview page."),
                );
            }
        }
        match (
            account_name,
            client_id,
            tenant,
            client_secret,
            client_secret_expires,
            cloud,
            authority_override,
            scopes,
            response_mode,
            ca_file,
            max_message_bytes,
            certificate,
            sign_in,
            mailbox,
            site,
        ) {
            (
                Some(account_name),
                Some(client_id),
                Some(tenant),
                Some(client_secret),
                Some(client_secret_expires),
                Some(cloud),
                Some(authority_override),
                Some(scopes),
                Some(response_mode),
                Some(ca_file),
                Some(max_message_bytes),
                Some(certificate),
                Some(sign_in),
                Some(mailbox),
                Some(site),
            ) if errors.is_empty() => Ok(AccountConfig {
                account_name,
                client_id,
                tenant,
                client_secret,
                client_secret_expires,
                cloud,
                authority_override,
                scopes,
                response_mode,
                ca_file,
                max_message_bytes,
                certificate,
                certificate_password,
                sign_in,
                mailbox,
                site,
            }),
            _ => Err(errors),
        }
    }

    /// The form parameters that authenticate this app at `token_endpoint`: its client
    /// secret, or a client assertion signed with its certificate; none for a public client.
    pub fn client_credentials(&self, token_endpoint: &str) -> Vec<(&'static str, Secret)> {
        match (&self.certificate, &self.client_secret) {
            (Some(cert), _) => vec![
                (
                    "client_assertion_type",
                    Secret::new(crate::certificate::JWT_BEARER),
                ),
                (
                    "client_assertion",
                    cert.assertion(&self.client_id, token_endpoint),
                ),
            ],
            (None, Some(secret)) => vec![("client_secret", secret.clone())],
            (None, None) => Vec::new(),
        }
    }

    /// The labels of the values that decide the sign-in — which account, app, tenant,
    /// credential, cloud, permissions and trusted certificates — and differ between
    /// `self` (what was signed in with) and `other`; empty when that sign-in still holds
    /// for `other`. The other values (the secret's expiry date, the browser answer, the
    /// maximum message size) change no sign-in.
    pub fn sign_in_changes(&self, other: &AccountConfig) -> Vec<&'static str> {
        let same = [
            self.account_name == other.account_name,
            self.sign_in == other.sign_in,
            self.client_id == other.client_id,
            self.tenant == other.tenant,
            self.client_secret == other.client_secret,
            self.certificate == other.certificate,
            self.certificate_password == other.certificate_password,
            self.cloud == other.cloud,
            self.authority_override == other.authority_override,
            self.scopes == other.scopes,
            self.ca_file == other.ca_file,
            self.mailbox == other.mailbox,
        ];
        SIGN_IN_VALUES
            .into_iter()
            .zip(same)
            .filter(|(_, same)| !same)
            .map(|(label, _)| label)
            .collect()
    }

    /// An application account's credential, required to verify it: nobody signs in to
    /// vouch for the app, so its client secret or certificate must.
    pub fn application_credential(&self) -> Result<(), FieldError> {
        if self.client_secret.is_some() || self.certificate.is_some() {
            return Ok(());
        }
        Err(FieldError::new(
            fields::CLIENT_SECRET,
            "An application account needs the app's client secret or certificate: with nobody signing in, that is what proves it is your app.",
        )
        .with_hint("Give the secret's Value (Certificates & secrets → Client secrets), or a certificate file under Advanced settings → Certificate."))
    }

    /// Whether nobody signs in: an application account (client credentials).
    pub fn is_application(&self) -> bool {
        self.sign_in == SignIn::Application
    }

    /// The sign-in authority (scheme and host, no tenant) in effect.
    pub fn authority(&self) -> String {
        match &self.authority_override {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => self.cloud.authority().to_owned(),
        }
    }
}

fn parse_sign_in(value: Option<&str>) -> Result<SignIn, FieldError> {
    match blank(value) {
        None => Ok(SignIn::User),
        Some(v) => SignIn::parse(v).ok_or_else(|| {
            FieldError::new(fields::SIGN_IN, format!("`{v}` is not an account kind."))
                .with_hint("Choose user (a user signs in; the usual choice) or application (no user signs in).")
        }),
    }
}

/// The SharePoint site files go to by default: an `https` address with a host
/// (`https://contoso.sharepoint.com/sites/Reports`), found through Graph by host and path.
fn parse_site(value: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(site) = blank(value) else {
        return Ok(None);
    };
    let refused = || {
        FieldError::new(
            fields::SITE,
            format!("`{site}` is not a SharePoint site address."),
        )
        .with_hint("Give the site's address as the browser shows it, for example https://contoso.sharepoint.com/sites/Reports (or leave it empty for OneDrive).")
    };
    let url = Url::parse(site).map_err(|_| refused())?;
    if url.scheme() != "https" || url.host_str().is_none() || url.query().is_some() {
        return Err(refused());
    }
    Ok(Some(site.trim_end_matches('/').to_owned()))
}

/// The mailbox an application account acts for: required for one, refused for a user
/// account (which acts as whoever signs in). It becomes a Graph path segment
/// (`/users/{mailbox}`), so it is an address, a UPN or an object id, nothing else.
fn parse_mailbox(value: Option<&str>, kind: SignIn) -> Result<Option<String>, FieldError> {
    let field = fields::MAILBOX;
    match (blank(value), kind) {
        (None, SignIn::User) => Ok(None),
        (Some(_), SignIn::User) => Err(FieldError::new(
            field,
            "Mailbox is only for application accounts: a user account sends as the user who signs in.",
        )
        .with_hint("Clear Mailbox, or set Account kind to Application — no user signs in. (A user account sends as another mailbox when a delivery names it as the sender.)")),
        (None, SignIn::Application) => Err(FieldError::new(
            field,
            "An application account needs the mailbox it sends as.",
        )
        .with_hint("Give the mailbox's address, for example reports@contoso.com.")),
        (Some(m), SignIn::Application) => {
            let plain = !m.chars().any(|c| c.is_control() || c.is_whitespace())
                && !m.contains(['/', '\\', ':', '?', '#']);
            let (local, domain) = m.split_once('@').unwrap_or(("", ""));
            if plain && ((!local.is_empty() && domain.contains('.')) || is_guid(m)) {
                Ok(Some(m.to_owned()))
            } else {
                Err(FieldError::new(field, format!("`{m}` is not a mailbox address."))
                    .with_hint("Give the mailbox's address or user principal name, for example reports@contoso.com (or its object id)."))
            }
        }
    }
}

/// What an application account needs beyond a user account's values: one tenant (client
/// credentials are refused on `organizations`, `common` and `consumers`). Its credential
/// is checked when it is verified ([`AccountConfig::application_credential`]): a form
/// that edits a saved account leaves the saved secret out.
fn app_checks(errors: &mut Vec<FieldError>, tenant: &Option<Tenant>) {
    if let Some(Tenant::Audience(a)) = tenant {
        errors.push(
            FieldError::new(
                fields::TENANT_ID,
                format!("An application account needs one tenant, and `{a}` names none."),
            )
            .with_hint("Give the Directory (tenant) ID from the app's Overview page, or a verified domain such as contoso.onmicrosoft.com: Entra issues application tokens for one tenant only."),
        );
    }
}

fn collect<T>(errors: &mut Vec<FieldError>, result: Result<T, FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn blank(value: Option<&str>) -> Option<&str> {
    value
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\''))
        .filter(|v| !v.is_empty())
}

const MAX_ACCOUNT_NAME: usize = 100;

fn parse_account_name(value: Option<&str>) -> Result<String, FieldError> {
    let field = fields::ACCOUNT_NAME;
    let Some(name) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Err(FieldError::new(field, "Account name is empty.").with_hint(
            "Type a name to recognise this account by, for example \"Reports mailbox\".",
        ));
    };
    if name.chars().count() > MAX_ACCOUNT_NAME {
        return Err(FieldError::new(
            field,
            format!("Account name is longer than {MAX_ACCOUNT_NAME} characters."),
        )
        .with_hint("Use a shorter name."));
    }
    if let Some((bad, what)) = name.chars().find_map(|c| unwanted(c).map(|what| (c, what))) {
        return Err(FieldError::new(
            field,
            format!(
                "Account name contains {what} (U+{:04X}), which is not allowed.",
                u32::from(bad)
            ),
        )
        .with_hint("Use letters, digits, spaces, punctuation and symbols (such as – é 📊); leave out tabs, line breaks and invisible characters."));
    }
    Ok(name.to_owned())
}

/// What an account name must not hold, in words: characters that do not show, or do not
/// show as themselves — control characters, spaces other than the plain one, and the
/// invisible formatting ones (zero-width, direction overrides) that make two names look
/// alike. The zero-width joiner and variation selectors stay: emoji are made of them.
fn unwanted(c: char) -> Option<&'static str> {
    match c {
        '\t' => Some("a tab"),
        '\n' | '\r' | '\u{2028}' | '\u{2029}' => Some("a line break"),
        c if c.is_control() => Some("a control character"),
        ' ' | '\u{200D}' | '\u{FE0E}' | '\u{FE0F}' => None,
        c if c.is_whitespace() => Some("a space other than a plain one"),
        '\u{00AD}'
        | '\u{061C}'
        | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}' => Some("an invisible character"),
        '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{10FFFF}' => Some("a private-use character"),
        _ => None,
    }
}

/// Whether `s` is a GUID in the 8-4-4-4-12 hex form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn strip_braces(s: &str) -> &str {
    s.strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(s)
}

fn parse_client_id(value: Option<&str>) -> Result<String, FieldError> {
    let field = fields::CLIENT_ID;
    let hint = "Copy the Application (client) ID from Azure portal → App registrations → your app → Overview; it looks like 4a1aa1d5-c567-49d0-ad0b-cd957a47f842.";
    let Some(id) = blank(value) else {
        return Err(FieldError::new(field, "Client ID is empty.").with_hint(hint));
    };
    let id = strip_braces(id);
    if is_guid(id) {
        return Ok(id.to_ascii_lowercase());
    }
    let message = if id.contains('~') || (id.len() >= 34 && !id.contains('-')) {
        "Client ID looks like a client secret, not an ID."
    } else if id.contains("://") {
        "Client ID is a web address, not an ID."
    } else {
        "Client ID is not a GUID."
    };
    Err(FieldError::new(field, message).with_hint(hint))
}

const AUDIENCES: [&str; 3] = ["organizations", "common", "consumers"];

fn parse_tenant(value: Option<&str>) -> Result<Tenant, FieldError> {
    let field = fields::TENANT_ID;
    let hint = "Enter the Directory (tenant) ID from the app's Overview page (a GUID), a verified domain such as contoso.onmicrosoft.com, or organizations, common or consumers.";
    let Some(raw) = blank(value) else {
        return Err(FieldError::new(field, "Tenant ID is empty.").with_hint(hint));
    };
    let tenant = strip_braces(raw).to_ascii_lowercase();
    if is_guid(&tenant) {
        return Ok(Tenant::Id(tenant));
    }
    if let Some(audience) = AUDIENCES.iter().find(|a| **a == tenant) {
        return Ok(Tenant::Audience(audience));
    }
    if tenant.contains("://") || tenant.contains('/') {
        return Err(FieldError::new(field, "Tenant ID is a web address.")
            .with_hint("Enter only the tenant's ID or domain, not a URL: for https://login.microsoftonline.com/contoso.onmicrosoft.com enter contoso.onmicrosoft.com."));
    }
    if let Some((_, domain)) = tenant.split_once('@') {
        return Err(FieldError::new(field, "Tenant ID is an e-mail address.")
            .with_hint(format!("Enter the domain part only: {domain}.")));
    }
    if is_domain(&tenant) {
        return Ok(Tenant::Domain(tenant));
    }
    Err(FieldError::new(field, "Tenant ID is neither a GUID nor a domain name.").with_hint(hint))
}

fn is_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && s.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

fn parse_client_secret(value: Option<&str>) -> Result<Option<Secret>, FieldError> {
    let Some(secret) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if is_guid(secret) {
        return Err(FieldError::new(fields::CLIENT_SECRET, "Client secret looks like the secret's ID, not its value.")
            .with_hint("In Certificates & secrets, copy the Value column (shown only right after creating the secret), not the Secret ID."));
    }
    if secret.chars().any(char::is_whitespace) {
        return Err(
            FieldError::new(fields::CLIENT_SECRET, "Client secret contains spaces.")
                .with_hint("Paste the secret's Value exactly as the Azure portal shows it."),
        );
    }
    Ok(Some(Secret::new(secret)))
}

fn parse_secret_expiry(value: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(v) = blank(value) else {
        return Ok(None);
    };
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map(|d| Some(d.format("%Y-%m-%d").to_string()))
        .map_err(|_| {
            FieldError::new(
                fields::CLIENT_SECRET_EXPIRES,
                format!("`{v}` is not a date."),
            )
            .with_hint("Write the Expires date shown in Certificates & secrets as YYYY-MM-DD, or leave the field empty.")
        })
}

fn parse_cloud(value: Option<&str>) -> Result<Cloud, FieldError> {
    let Some(v) = blank(value) else {
        return Ok(Cloud::Global);
    };
    Cloud::parse(v).ok_or_else(|| {
        FieldError::new(fields::CLOUD, format!("Unknown cloud `{v}`."))
            .with_hint("Choose global, usgov or china.")
    })
}

fn parse_authority(value: Option<&str>) -> Result<Option<Url>, FieldError> {
    let field = fields::AUTHORITY;
    let Some(raw) = blank(value) else {
        return Ok(None);
    };
    let url = Url::parse(raw).map_err(|e| {
        FieldError::new(
            field,
            format!("Authority URL is not a valid address ({e})."),
        )
        .with_hint("Enter a full address such as https://login.microsoftonline.com.")
    })?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(FieldError::new(
            field,
            "Authority URL must not carry a user name, password, query or fragment.",
        )
        .with_hint(
            "Enter only the scheme and host, for example https://login.microsoftonline.com.",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(FieldError::new(
                field,
                "Authority URL uses plain http on a non-loopback host.",
            )
            .with_hint("Use https; plain http is allowed only for 127.0.0.1, [::1] or localhost."))
        }
        other => {
            return Err(FieldError::new(
                field,
                format!("Authority URL uses `{other}`, which is not supported."),
            )
            .with_hint("Use an https address."))
        }
    }
    let path = url.path().trim_end_matches('/');
    if !path.is_empty() {
        let shown: String = path
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(80)
            .collect();
        let origin = url[..url::Position::BeforePath].to_owned();
        let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
        let tenant_hint = if parse_tenant(Some(first)).is_ok() {
            format!(" and put {first} in the Tenant ID field")
        } else {
            String::new()
        };
        return Err(FieldError::new(
            field,
            format!("Authority URL has a path (`{shown}`), but it takes only the scheme and host."),
        )
        .with_hint(format!(
            "Enter {origin}{tenant_hint}: the tenant and the endpoints' paths are added by the sign-in itself."
        )));
    }
    Ok(Some(url))
}

fn parse_scopes(value: Option<&str>) -> Result<Vec<String>, FieldError> {
    let field = fields::SCOPES;
    let raw = blank(value).unwrap_or(fields::DEFAULT_SCOPES);
    if raw.contains(',') || raw.contains(';') {
        return Err(FieldError::new(field, "Scopes are separated by commas or semicolons.")
            .with_hint("Separate scopes with spaces, for example: openid profile offline_access User.Read Mail.Send"));
    }
    let scopes: Vec<String> = raw.split_whitespace().map(str::to_owned).collect();
    if let Some(bad) = scopes.iter().find(|s| !is_scope(s)) {
        return Err(FieldError::new(field, format!("`{bad}` is not a well-formed scope."))
            .with_hint("Use permission names such as User.Read, or full URIs such as https://graph.microsoft.com/Mail.Send."));
    }
    if scopes.iter().any(|s| s.ends_with("/.default"))
        && scopes
            .iter()
            .any(|s| !is_oidc(s) && !s.ends_with("/.default"))
    {
        return Err(FieldError::new(field, "A `.default` scope cannot be mixed with individual permissions.")
            .with_hint("Request either https://graph.microsoft.com/.default or individual permissions, not both."));
    }
    if !scopes.iter().any(|s| s == "offline_access") {
        return Err(FieldError::new(field, "Scopes lack offline_access.")
            .with_hint("Add offline_access: ATRS needs a refresh token to send scheduled reports while you are away."));
    }
    let resources = resources_of(&scopes);
    if resources.len() > 1 {
        return Err(FieldError::new(
            field,
            format!("Scopes name more than one resource: {}.", resources.join(" and ")),
        )
        .with_hint("A sign-in gets a token for one resource only, and Entra refuses such a request (AADSTS28000). Keep one resource's permissions: Microsoft Graph's (User.Read Mail.Send …) or, for example, Outlook's (https://outlook.office.com/SMTP.Send), not both."));
    }
    let mut unique = Vec::new();
    for s in scopes {
        if !unique.iter().any(|u: &String| u.eq_ignore_ascii_case(&s)) {
            unique.push(s);
        }
    }
    Ok(unique)
}

/// The resources `scopes` ask for, in order, each once: `Microsoft Graph` for bare names
/// and Graph's URIs, else the scheme and host before the permission.
fn resources_of(scopes: &[String]) -> Vec<String> {
    let graph = "Microsoft Graph".to_owned();
    let mut resources: Vec<String> = Vec::new();
    for scope in scopes.iter().filter(|s| !is_oidc(s)) {
        let resource = if scope.contains("://") {
            match Url::parse(scope) {
                Ok(u)
                    if u.host_str().is_some_and(|h| {
                        Cloud::ALL
                            .iter()
                            .any(|c| c.graph_hosts().iter().any(|g| g.eq_ignore_ascii_case(h)))
                    }) =>
                {
                    graph.clone()
                }
                Ok(u) => u[..url::Position::BeforePath].to_ascii_lowercase(),
                Err(_) => scope.clone(),
            }
        } else {
            graph.clone()
        };
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    resources
}

fn parse_response_mode(value: Option<&str>) -> Result<ResponseMode, FieldError> {
    let Some(v) = blank(value) else {
        return Ok(ResponseMode::Query);
    };
    ResponseMode::ALL
        .into_iter()
        .find(|m| m.key().eq_ignore_ascii_case(v))
        .ok_or_else(|| {
            FieldError::new(
                fields::RESPONSE_MODE,
                format!("Unknown browser answer `{v}`."),
            )
            .with_hint("Choose query or form_post.")
        })
}

/// A megabyte as Exchange counts message sizes (1024 × 1024 bytes).
pub const MIB: u64 = 1024 * 1024;
/// Exchange Online's default maximum message size (35 MB).
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 35 * MIB;

/// Whole megabytes (MiB, as Exchange counts them), 1 to 150; empty: 35.
fn parse_max_message(value: Option<&str>) -> Result<u64, FieldError> {
    let raw = blank(value).unwrap_or(fields::DEFAULT_MAX_MESSAGE_MB);
    match raw.parse::<u64>() {
        Ok(mb @ 1..=150) => Ok(mb * MIB),
        _ => Err(FieldError::new(
            fields::MAX_MESSAGE_MB,
            format!("`{raw}` is not a maximum message size Exchange Online allows."),
        )
        .with_hint("Give a whole number of MB from 1 to 150 (Exchange Online's default is 35), or leave the field empty.")),
    }
}

/// The certificate file, opened (a PKCS#12 one with `password`). A refusal about the
/// password is the password field's; a password without a file is refused too, so no
/// secret is kept that nothing uses.
fn parse_certificate(
    value: Option<&str>,
    password: Option<&Secret>,
) -> Result<Option<Certificate>, FieldError> {
    let Some(raw) = blank(value) else {
        return match password {
            None => Ok(None),
            Some(_) => Err(FieldError::new(
                fields::CERTIFICATE_PASSWORD,
                "Certificate password is given, but Certificate names no file.",
            )
            .with_hint(
                "Name the .pfx / .p12 file in Certificate, or leave Certificate password empty.",
            )),
        };
    };
    Certificate::load(std::path::Path::new(raw), password)
        .map(Some)
        .map_err(|e| {
            let field = match e.is_about_the_password() {
                true => fields::CERTIFICATE_PASSWORD,
                false => fields::CERTIFICATE_FILE,
            };
            FieldError::new(field, format!("The certificate file {raw} {e}.")).with_hint(e.fix())
        })
}

fn parse_ca_file(value: Option<&str>) -> Result<Option<PathBuf>, FieldError> {
    let Some(raw) = blank(value) else {
        return Ok(None);
    };
    let path = PathBuf::from(raw);
    trust::certificates_in(&path).map_err(|e| {
        FieldError::new(fields::CA_FILE, format!("The certificate file {e}."))
            .with_hint("Name a PEM file of certificate authorities (lines starting -----BEGIN CERTIFICATE-----), or leave the field empty.")
    })?;
    Ok(Some(path))
}

fn is_oidc(scope: &str) -> bool {
    matches!(scope, "openid" | "profile" | "email" | "offline_access")
}

fn is_scope(scope: &str) -> bool {
    let printable = scope
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '<' | '>'));
    if !printable {
        return false;
    }
    if scope.contains("://") {
        return Url::parse(scope).is_ok_and(|u| u.has_host());
    }
    scope.starts_with(|c: char| c.is_ascii_alphabetic())
        && scope
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "4a1aa1d5-c567-49d0-ad0b-cd957a47f842";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn valid() -> FormValues {
        FormValues::new()
            .with(fields::ACCOUNT_NAME, "Reports")
            .with(fields::CLIENT_ID, GUID)
            .with(fields::TENANT_ID, TENANT)
    }

    #[test]
    fn an_application_account_asks_for_its_cloud_s_default_scope_and_names_a_mailbox() {
        let app = valid()
            .with(fields::SIGN_IN, "application")
            .with(fields::MAILBOX, "reports@contoso.com")
            .with(fields::SCOPES, "openid User.Read");
        let c = AccountConfig::parse(&app).unwrap();
        assert!(c.is_application());
        assert_eq!(c.scopes, ["https://graph.microsoft.com/.default"]);
        assert!(c.application_credential().is_err());
        let us = AccountConfig::parse(&app.clone().with(fields::CLOUD, "usgov")).unwrap();
        assert_eq!(us.scopes, ["https://graph.microsoft.us/.default"]);
        let user = AccountConfig::parse(&valid()).unwrap();
        assert_eq!(user.sign_in, SignIn::User);
        assert_eq!(user.mailbox, None);
        assert_eq!(
            user.sign_in_changes(&c),
            ["Account kind", "Scopes", "Mailbox"]
        );
        for bad in ["reports", "a/b@c.com", "x:y@c.com", "a b@c.com"] {
            let e = AccountConfig::parse(&app.clone().with(fields::MAILBOX, bad)).unwrap_err();
            assert_eq!(e[0].field(), fields::MAILBOX, "{bad}: {e:?}");
        }
        AccountConfig::parse(&app.with(fields::MAILBOX, GUID)).expect("an object id");
    }

    fn errors_for(values: FormValues) -> Vec<(String, String)> {
        AccountConfig::parse(&values)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field().to_owned(), e.message().to_owned()))
            .collect()
    }

    #[test]
    fn a_minimal_form_parses_with_defaults() {
        let c = AccountConfig::parse(&valid()).unwrap();
        assert_eq!(c.account_name, "Reports");
        assert_eq!(c.tenant, Tenant::Id(TENANT.into()));
        assert_eq!(c.cloud, Cloud::Global);
        assert_eq!(
            c.scopes,
            vec![
                "openid",
                "profile",
                "offline_access",
                "User.Read",
                "Mail.Send"
            ]
        );
        assert_eq!(c.authority(), "https://login.microsoftonline.com");
        assert!(c.client_secret.is_none());
    }

    #[test]
    fn empty_form_names_every_required_field() {
        let fields: Vec<String> = errors_for(FormValues::new())
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            vec![fields::ACCOUNT_NAME, fields::CLIENT_ID, fields::TENANT_ID]
        );
    }

    #[test]
    fn client_id_mistakes_are_explained() {
        let e = errors_for(valid().with(fields::CLIENT_ID, "not-a-guid"));
        assert_eq!(
            e,
            vec![(fields::CLIENT_ID.into(), "Client ID is not a GUID.".into())]
        );
        let e =
            errors_for(valid().with(fields::CLIENT_ID, "Abc8Q~xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz"));
        assert!(e[0].1.contains("client secret"), "{e:?}");
        let e = errors_for(valid().with(fields::CLIENT_ID, TENANT));
        assert!(e[0].1.contains("same"), "{e:?}");
        let c = AccountConfig::parse(
            &valid().with(fields::CLIENT_ID, format!(" {{{}}} ", GUID.to_uppercase())),
        )
        .unwrap();
        assert_eq!(c.client_id, GUID);
    }

    #[test]
    fn tenants_accept_guid_domain_and_audiences() {
        for (input, expected) in [
            (
                "Contoso.onmicrosoft.com",
                Tenant::Domain("contoso.onmicrosoft.com".into()),
            ),
            ("organizations", Tenant::Audience("organizations")),
            ("COMMON", Tenant::Audience("common")),
            ("consumers", Tenant::Audience("consumers")),
        ] {
            let c = AccountConfig::parse(&valid().with(fields::TENANT_ID, input)).unwrap();
            assert_eq!(c.tenant, expected);
        }
        for bad in [
            "https://login.microsoftonline.com/x",
            "adele@contoso.com",
            "contoso",
            "-bad-.com",
        ] {
            let e = errors_for(valid().with(fields::TENANT_ID, bad));
            assert_eq!(e.len(), 1, "{bad}: {e:?}");
            assert_eq!(e[0].0, fields::TENANT_ID);
        }
    }

    #[test]
    fn authority_is_https_or_loopback_http() {
        for ok in [
            "https://login.example.com",
            "http://127.0.0.1:8080",
            "http://[::1]:9",
            "http://localhost:1234/",
        ] {
            assert!(
                AccountConfig::parse(&valid().with(fields::AUTHORITY, ok)).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://login.example.com",
            "ftp://x",
            "https://u:p@x.com",
            "https://x.com/?a=b",
            "nope",
            "https://login.microsoftonline.com/common",
            "http://127.0.0.1:9/tenant/v2.0",
        ] {
            let e = errors_for(valid().with(fields::AUTHORITY, bad));
            assert_eq!(e.len(), 1, "{bad}");
            assert_eq!(e[0].0, fields::AUTHORITY);
        }
        let c = AccountConfig::parse(&valid().with(fields::AUTHORITY, "http://127.0.0.1:8080/"))
            .unwrap();
        assert_eq!(c.authority(), "http://127.0.0.1:8080");
    }

    #[test]
    fn an_authority_with_a_path_is_refused_with_the_fix() {
        let e = AccountConfig::parse(&valid().with(
            fields::AUTHORITY,
            "https://login.microsoftonline.com/common/",
        ))
        .unwrap_err();
        assert_eq!(e[0].field(), fields::AUTHORITY);
        assert!(
            e[0].message().contains("has a path (`/common`)"),
            "{:?}",
            e[0]
        );
        assert_eq!(
            e[0].hint(),
            Some("Enter https://login.microsoftonline.com and put common in the Tenant ID field: the tenant and the endpoints' paths are added by the sign-in itself.")
        );
        let e = AccountConfig::parse(&valid().with(fields::AUTHORITY, "https://idp.example/x/y"))
            .unwrap_err();
        assert!(
            e[0].hint()
                .unwrap()
                .starts_with("Enter https://idp.example:"),
            "{:?}",
            e[0]
        );
    }

    #[test]
    fn scopes_of_two_resources_are_refused_with_the_reason() {
        let e = errors_for(valid().with(
            fields::SCOPES,
            "openid offline_access User.Read https://outlook.office.com/SMTP.Send",
        ));
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(
            e[0],
            (
                fields::SCOPES.into(),
                "Scopes name more than one resource: Microsoft Graph and https://outlook.office.com.".into()
            )
        );
        let hint = AccountConfig::parse(&valid().with(
            fields::SCOPES,
            "offline_access https://graph.microsoft.com/Mail.Send https://outlook.office.com/IMAP.AccessAsUser.All",
        ))
        .unwrap_err()[0]
            .hint()
            .unwrap()
            .to_owned();
        assert!(hint.contains("AADSTS28000"), "{hint}");
        for one in [
            "offline_access User.Read https://graph.microsoft.com/Mail.Send",
            "openid offline_access https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All",
        ] {
            assert!(AccountConfig::parse(&valid().with(fields::SCOPES, one)).is_ok(), "{one}");
        }
    }

    #[test]
    fn the_maximum_message_size_is_35_mb_unless_given_from_1_to_150() {
        const MIB: u64 = 1024 * 1024;
        let c = AccountConfig::parse(&valid()).unwrap();
        assert_eq!(c.max_message_bytes, 35 * MIB);
        let c = AccountConfig::parse(&valid().with(fields::MAX_MESSAGE_MB, " 150 ")).unwrap();
        assert_eq!(c.max_message_bytes, 150 * MIB);
        for bad in ["0", "151", "35.5", "lots", "-1"] {
            let e = errors_for(valid().with(fields::MAX_MESSAGE_MB, bad));
            assert_eq!(e[0].0, fields::MAX_MESSAGE_MB, "{bad}");
            assert!(e[0].1.contains(bad), "{e:?}");
        }
    }

    #[test]
    fn response_mode_and_ca_file_are_checked() {
        let c = AccountConfig::parse(&valid()).unwrap();
        assert_eq!((c.response_mode, c.ca_file), (ResponseMode::Query, None));
        let c = AccountConfig::parse(&valid().with(fields::RESPONSE_MODE, "form_post")).unwrap();
        assert_eq!(c.response_mode, ResponseMode::FormPost);
        let e = errors_for(valid().with(fields::RESPONSE_MODE, "fragment"));
        assert_eq!(e[0].0, fields::RESPONSE_MODE);
        let e = errors_for(valid().with(fields::CA_FILE, "/nonexistent/ca.pem"));
        assert_eq!(e[0].0, fields::CA_FILE);
        assert!(
            e[0].1.contains("/nonexistent/ca.pem could not be read"),
            "{e:?}"
        );
    }

    #[test]
    fn scopes_must_be_well_formed() {
        let c = AccountConfig::parse(&valid().with(
            fields::SCOPES,
            "openid offline_access https://graph.microsoft.com/Mail.Send User.Read user.read",
        ))
        .unwrap();
        assert_eq!(
            c.scopes.len(),
            4,
            "duplicates differing in case are dropped"
        );
        for bad in [
            "openid,offline_access",
            "offline_access Mail\"Send",
            "User.Read",
            "offline_access https://graph.microsoft.com/.default User.Read",
        ] {
            let e = errors_for(valid().with(fields::SCOPES, bad));
            assert_eq!(e.len(), 1, "{bad}: {e:?}");
            assert_eq!(e[0].0, fields::SCOPES);
        }
    }

    #[test]
    fn secret_id_pasted_as_secret_is_caught_without_echoing_it() {
        let e = AccountConfig::parse(&valid().with(fields::CLIENT_SECRET, GUID)).unwrap_err();
        assert_eq!(e[0].field(), fields::CLIENT_SECRET);
        assert!(!format!("{e:?}").contains(GUID));
    }

    #[test]
    fn account_names_take_unicode_letters_dashes_and_symbols_and_show_what_they_refuse() {
        for name in [
            "Rapports – Québec 📊",
            "Отчёты / 报告 #1",
            "Family 👨‍👩‍👧 ❤️",
            "a/b \"quoted\" ~ * ? < > |",
        ] {
            let c = AccountConfig::parse(&valid().with(fields::ACCOUNT_NAME, name)).unwrap();
            assert_eq!(c.account_name, name);
        }
        for (name, said) in [
            ("a\tb", "a tab (U+0009)"),
            ("a\nb", "a line break (U+000A)"),
            ("a\u{202E}b", "an invisible character (U+202E)"),
            ("a\u{200B}b", "an invisible character (U+200B)"),
            ("a\u{00A0}b", "a space other than a plain one (U+00A0)"),
            ("a\u{7}b", "a control character (U+0007)"),
        ] {
            let e = errors_for(valid().with(fields::ACCOUNT_NAME, name));
            assert_eq!(
                e,
                vec![(
                    fields::ACCOUNT_NAME.into(),
                    format!("Account name contains {said}, which is not allowed.")
                )],
                "{name:?}"
            );
        }
    }

    #[test]
    fn only_values_that_decide_the_sign_in_count_as_sign_in_changes() {
        let saved =
            AccountConfig::parse(&valid().with(fields::CLIENT_SECRET, "s3cr3t~value")).unwrap();
        let settings_only = AccountConfig::parse(
            &valid()
                .with(fields::CLIENT_SECRET, "s3cr3t~value")
                .with(fields::CLIENT_SECRET_EXPIRES, "2030-01-31")
                .with(fields::MAX_MESSAGE_MB, "50")
                .with(fields::RESPONSE_MODE, "form_post"),
        )
        .unwrap();
        assert!(saved.sign_in_changes(&settings_only).is_empty());
        let other_app = AccountConfig::parse(
            &valid()
                .with(fields::CLIENT_ID, "0a1aa1d5-c567-49d0-ad0b-cd957a47f842")
                .with(fields::SCOPES, "offline_access Mail.Send"),
        )
        .unwrap();
        assert_eq!(
            saved.sign_in_changes(&other_app),
            vec!["Client ID", "Client secret", "Scopes"]
        );
    }

    #[test]
    fn unknown_keys_and_bad_names_are_reported() {
        let e = errors_for(
            valid()
                .with("tenant", "x")
                .with(fields::ACCOUNT_NAME, "a\tb"),
        );
        let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, vec!["tenant", fields::ACCOUNT_NAME]);
        assert!(errors_for(valid().with(fields::CLOUD, "mars"))[0]
            .1
            .contains("mars"));
    }
}

//! Provider errors: the OAuth error object as Entra ID sends it, and the AADSTS codes
//! mapped to a plain message and a fix.
//!
//! Following Entra's own guidance, code branches on `error` and on the numeric codes
//! in `error_codes`, never on `error_description` (which is prose for humans and is
//! not copied into our messages).

use std::fmt;

use atrs_host_sdk::{ErrorKind, PluginError};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::fields;
use crate::net::provider_text::{clean, clean_opt};

/// An OAuth error answer with Entra's extra fields (`error_codes`, ids, `suberror`).
///
/// `oauth2`'s `StandardErrorResponse` drops these, so this type is used as the
/// client's error response type instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ProviderError {
    /// The OAuth error string (`invalid_grant`, `authorization_pending`, …).
    pub error: String,
    /// Prose for humans; never branched on nor shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// AADSTS numbers, most specific first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_codes: Vec<u64>,
    /// Where the request can be found in Microsoft's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The id tying the request to the client's session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// A finer reason (`consent_required`, `basic_action`, `bad_token` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suberror: Option<String>,
    /// A help page for the code, when Microsoft has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
    /// When it happened (`YYYY-MM-DD HH:MM:SSZ`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error)?;
        if let Some(code) = self.error_codes.first() {
            write!(f, " (AADSTS{code})")?;
        }
        Ok(())
    }
}

impl oauth2::ErrorResponse for ProviderError {}

impl ProviderError {
    /// An error with just the OAuth `error` string (for tests and synthetic errors).
    pub fn new(error: impl Into<String>) -> Self {
        ProviderError {
            error: error.into(),
            ..Default::default()
        }
    }

    /// Adds an AADSTS code.
    pub fn with_code(mut self, code: u64) -> Self {
        self.error_codes.push(code);
        self
    }

    /// Whether any of the AADSTS codes is `code`.
    pub fn has_code(&self, code: u64) -> bool {
        self.error_codes.contains(&code)
    }

    /// The user-facing error: the plain message and fix for its code, with the
    /// provider code, trace and correlation ids and suberror kept.
    pub fn to_plugin_error(&self) -> PluginError {
        self.to_plugin_error_in(Flow::Any)
    }

    /// [`ProviderError::to_plugin_error`] for an error met in `flow`, whose fix for
    /// some codes differs (see [`lookup_in`]).
    pub fn to_plugin_error_in(&self, flow: Flow) -> PluginError {
        let known = self
            .error_codes
            .iter()
            .find_map(|c| lookup_in(flow, *c).map(|row| (*c, row)));
        let mut e = match known {
            // These device-flow outcomes have one meaning whatever code comes with them
            // (Entra's codes for them are undocumented; the mock sends 65004 on decline).
            _ if DEVICE_OUTCOMES.contains(&self.error.as_str()) => self.by_error_string(),
            Some((_, row)) => {
                let mut e = PluginError::new(row.kind, row.message).with_hint(row.hint);
                if let Some(field) = row.field {
                    e = e.with_field(field);
                }
                e
            }
            None => self.by_error_string(),
        };
        if let Some(code) = known.map(|(c, _)| c).or(self.error_codes.first().copied()) {
            e = e.with_provider_code(format!("AADSTS{code}"));
        }
        // Everything below is the server's own text: no control characters get through.
        if let Some(id) = clean_opt(self.trace_id.as_deref()) {
            e = e.with_trace_id(id);
        }
        if let Some(id) = clean_opt(self.correlation_id.as_deref()) {
            e = e.with_correlation_id(id);
        }
        e = e.with_detail("error", clean(&self.error));
        if let Some(sub) = clean_opt(self.suberror.as_deref()) {
            e = e.with_detail("suberror", sub);
        }
        if self.error_codes.len() > 1 {
            let all: Vec<String> = self
                .error_codes
                .iter()
                .map(|c| format!("AADSTS{c}"))
                .collect();
            e = e.with_detail("error_codes", all.join(" "));
        }
        if let Some(uri) = clean_opt(self.error_uri.as_deref()) {
            e = e.with_detail("error_uri", uri);
        }
        if let Some(ts) = clean_opt(self.timestamp.as_deref()) {
            e = e.with_detail("timestamp", ts);
        }
        e
    }

    /// The meaning of `error` alone: the fallback when no code is known, and the rule
    /// for the device-flow outcomes.
    fn by_error_string(&self) -> PluginError {
        let code = self
            .error_codes
            .first()
            .map(|c| format!(" (AADSTS{c})"))
            .unwrap_or_default();
        let look_up = match self.error_codes.first() {
            Some(c) => format!(
                " Look up AADSTS{c} at https://login.microsoftonline.com/error?code={c}; give your administrator the trace ID."
            ),
            None => " Give your administrator the trace ID.".to_owned(),
        };
        let (kind, message, hint) = match self.error.as_str() {
            "authorization_declined" | "access_denied" => (
                ErrorKind::AuthorizationRefused,
                "The sign-in was declined.".to_owned(),
                "Choose Verify again and approve the sign-in, or ask your administrator why it was refused.".to_owned(),
            ),
            "expired_token" => (
                ErrorKind::TimedOut,
                "The sign-in code expired before the sign-in was finished.".to_owned(),
                "Choose Verify again and enter the new code before the time shown runs out.".to_owned(),
            ),
            "bad_verification_code" => (
                ErrorKind::Provider,
                "The sign-in service did not recognise the device code.".to_owned(),
                "Choose Verify again to get a new code.".to_owned(),
            ),
            "invalid_client" => (
                ErrorKind::Provider,
                format!("The sign-in service refused the app's credentials{code}."),
                format!("Check the Client ID, the client secret and the app registration's Authentication settings.{look_up}"),
            ),
            "unauthorized_client" => (
                ErrorKind::Provider,
                format!("The app is not allowed to sign in this way{code}."),
                format!("Check the Client ID, Tenant ID and cloud, and that 'Allow public client flows' is on.{look_up}"),
            ),
            "invalid_scope" => (
                ErrorKind::InvalidInput,
                format!("The sign-in service refused the requested scopes{code}."),
                "Fix the Scopes field: use permission names such as User.Read or full URIs such as https://graph.microsoft.com/Mail.Send.".to_owned(),
            ),
            "invalid_tenant" => (
                ErrorKind::InvalidInput,
                format!("The tenant was not found{code}."),
                "Check the Tenant ID (or domain) and the cloud.".to_owned(),
            ),
            "invalid_grant" | "interaction_required" | "consent_required" | "login_required" => (
                ErrorKind::AuthorizationRefused,
                format!("The sign-in service refused the sign-in{code}."),
                format!("Choose Verify again and complete every step of the sign-in.{look_up}"),
            ),
            // Transient trouble on the service's side, like a 5xx: a network-class fault.
            "temporarily_unavailable" | "server_error" => (
                ErrorKind::Network,
                format!("The sign-in service is having trouble{code}."),
                "Try again in a few minutes.".to_owned(),
            ),
            _ => (
                ErrorKind::Provider,
                format!(
                    "The sign-in service answered with the error `{}`{code}.",
                    printable(&self.error)
                ),
                format!("Choose Verify again; if it happens again, ask your administrator.{look_up}"),
            ),
        };
        let mut e = PluginError::new(kind, message).with_hint(hint);
        if kind == ErrorKind::InvalidInput {
            let field = if self.error == "invalid_scope" {
                fields::SCOPES
            } else {
                fields::TENANT_ID
            };
            e = e.with_field(field);
        }
        e
    }
}

/// `error` values whose meaning does not depend on the AADSTS code sent with them.
const DEVICE_OUTCOMES: [&str; 3] = [
    "authorization_declined",
    "expired_token",
    "bad_verification_code",
];

/// Keeps an unknown `error` string short and printable before it is shown.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(60)
        .collect()
}

/// One row of the AADSTS table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The AADSTS number.
    pub code: u64,
    /// How hosts should treat it.
    pub kind: ErrorKind,
    /// What went wrong, in plain words.
    pub message: &'static str,
    /// How to fix it.
    pub hint: &'static str,
    /// The form field to fix, when one is at fault.
    pub field: Option<&'static str>,
}

const fn row(
    code: u64,
    kind: ErrorKind,
    message: &'static str,
    hint: &'static str,
    field: Option<&'static str>,
) -> Row {
    Row {
        code,
        kind,
        message,
        hint,
        field,
    }
}

const REFUSED: ErrorKind = ErrorKind::AuthorizationRefused;
const PROVIDER: ErrorKind = ErrorKind::Provider;
const INPUT: ErrorKind = ErrorKind::InvalidInput;
const TIMED_OUT: ErrorKind = ErrorKind::TimedOut;
const CLIENT: Option<&str> = Some(fields::CLIENT_ID);
const TENANT: Option<&str> = Some(fields::TENANT_ID);
const SECRET: Option<&str> = Some(fields::CLIENT_SECRET);
const CERTIFICATE: Option<&str> = Some(fields::CERTIFICATE_FILE);
const SCOPES: Option<&str> = Some(fields::SCOPES);
const BUG: &str = "This is a bug in the Office 365 plugin; report it with the trace ID.";

/// Every AADSTS code the plugin explains: the reference's table and the device code,
/// tenant and refresh codes around it.
pub const TABLE: &[Row] = &[
    // Device code flow.
    row(70016, PROVIDER, "The sign-in is still waiting for you to finish it.", "Finish signing in on the page shown, then wait a moment.", None),
    row(70018, REFUSED, "The code typed on the sign-in page was wrong.", "Choose Verify again and type the new code exactly as shown.", None),
    row(70019, TIMED_OUT, "The sign-in code expired before it was entered.", "Choose Verify again and enter the new code before the time shown runs out.", None),
    row(70020, TIMED_OUT, "The sign-in code expired before the sign-in was finished.", "Choose Verify again and enter the new code before the time shown runs out.", None),
    row(90119, REFUSED, "No code was typed on the sign-in page.", "Choose Verify again and type the code shown.", None),
    row(90120, REFUSED, "This sign-in code was already approved or declined.", "Choose Verify again to get a new code.", None),
    // The reference's table (section 5).
    row(50011, PROVIDER, "The app's sign-in return address (redirect URI) is not registered.", "An administrator must add the redirect URI exactly (same case, trailing slash and platform) under App registrations → your app → Authentication.", None),
    row(50020, REFUSED, "The account you signed in with is from another organization (or is a personal Microsoft account) and is not a guest of this one.", "Sign in with an account of this organization, or ask its administrator for a guest invitation; for personal accounts the app must allow them and the Tenant ID must be common or consumers.", None),
    row(50034, REFUSED, "The account was not found in this tenant.", "Check the user name you signed in with and the Tenant ID.", TENANT),
    row(50053, REFUSED, "The account is temporarily locked (too many wrong passwords, or a suspicious location).", "Wait a few minutes and try again, or contact your administrator.", None),
    row(50076, REFUSED, "Multi-factor authentication is now required for this account.", "Choose Verify again and complete multi-factor authentication when asked.", None),
    row(50079, REFUSED, "The account must register for multi-factor authentication.", "Set up multi-factor authentication for the account, then choose Verify again.", None),
    row(50126, REFUSED, "Wrong user name or password.", "Choose Verify again and check the user name and password.", None),
    row(50158, REFUSED, "Your organization's extra security verification was not completed.", "Choose Verify again and complete the extra verification your organization asks for.", None),
    row(65001, REFUSED, "The app has not been given permission (consent) for the requested scopes.", "Choose Verify again and accept the permission prompt, or ask an administrator to grant admin consent under App registrations → your app → API permissions.", None),
    row(65004, REFUSED, "The permission prompt was declined.", "The app needs these permissions to send reports: choose Verify again and accept them.", None),
    row(70000, REFUSED, "The sign-in grant was invalid or not valid for the requested scopes.", "Choose Verify again to sign in anew.", None),
    row(70008, TIMED_OUT, "The sign-in has expired from inactivity.", "Choose Verify again to sign in anew.", None),
    row(700082, TIMED_OUT, "The saved sign-in expired after a long time unused.", "Choose Verify again to sign in anew.", None),
    row(70011, INPUT, "A requested scope is malformed or unknown.", "Fix the Scopes field: use permission names such as User.Read or full URIs such as https://graph.microsoft.com/Mail.Send.", SCOPES),
    row(700016, INPUT, "No app with this Client ID exists in this tenant or cloud.", "Check the Client ID, the Tenant ID and the cloud: the app must be registered in that directory.", CLIENT),
    row(7000218, PROVIDER, "The app registration requires a client secret: public client flows are not allowed for it.", "Turn on 'Allow public client flows': in Azure portal → App registrations → your app → Authentication, set 'Allow public client flows' to Yes (the app needs a Mobile and desktop platform), then choose Verify again.", None),
    row(7000215, INPUT, "The client secret is wrong (often the secret's ID was entered instead of its value).", "Use the secret's Value, not its Secret ID: in Azure portal → App registrations → your app → Certificates & secrets, copy the Value column into Client secret (it is shown only right after the secret is created; if it is hidden, create a new secret), then choose Verify again.", SECRET),
    row(700025, INPUT, "This app signs in as a public client (Mobile and desktop), so it must not be given a client secret.", "Remove the secret: clear the Client secret field, then choose Verify again.", SECRET),
    row(90002, INPUT, "The tenant was not found.", "Check the Tenant ID (or domain) and the cloud.", TENANT),
    row(900144, PROVIDER, "The sign-in request lacked a required parameter.", BUG, None),
    row(500011, PROVIDER, "The requested service (resource) is not enabled in this tenant.", "An administrator must enable the service in the tenant and consent to the app's permissions.", None),
    row(54005, PROVIDER, "The sign-in code was already used.", "Choose Verify again to sign in anew.", None),
    row(501481, PROVIDER, "The sign-in code's proof (PKCE verifier) did not match.", BUG, None),
    row(9002327, PROVIDER, "The app's redirect URI is registered as a single-page application.", "Register the redirect URI under Mobile and desktop applications, not Single-page application.", None),
    // Tenant segment, secrets and refresh.
    row(9002326, PROVIDER, "The app's redirect URI only allows sign-in from a browser page (single-page application).", "Register the redirect URI under Mobile and desktop applications, not Single-page application.", None),
    row(9002332, INPUT, "The app does not accept personal Microsoft accounts, so the tenant `consumers` cannot be used.", "Enter the Directory (tenant) ID or `organizations`, or change the app's supported account types.", TENANT),
    row(50194, INPUT, "The app is single-tenant, so it cannot sign in through `common` or `organizations`.", "Enter the app's Directory (tenant) ID or a verified domain instead.", TENANT),
    row(9001023, INPUT, "This sign-in method cannot use the `common` or `consumers` tenant.", "Enter the Directory (tenant) ID or a verified domain instead.", TENANT),
    // Certificate credentials (client assertions).
    row(700027, INPUT, "The certificate was not accepted: it is not registered on the app, its registration has expired, or the private key in the file does not belong to it.", "In Azure portal → App registrations → your app → Certificates & secrets → Certificates, upload the certificate (the .cer or .pem, without its key) or renew an expired one; make sure Certificate names a PEM file with that certificate and its own private key; then choose Verify again.", CERTIFICATE),
    row(700024, PROVIDER, "The certificate sign-in proof was outside its valid time: this computer's clock is probably wrong.", "Set this computer's clock to the correct time (turn on automatic time setting), then try again.", None),
    row(700021, PROVIDER, "The certificate sign-in proof named another application than the Client ID.", BUG, None),
    row(50012, PROVIDER, "The certificate sign-in proof was refused (wrong audience, or used twice).", "Try again; if it keeps happening, check the authority URL and the cloud, or report it with the trace ID.", None),
    row(7000222, INPUT, "The client secret has expired.", "Create a new secret: in Azure portal → App registrations → your app → Certificates & secrets, add a client secret, enter its Value in Client secret, then choose Verify again.", SECRET),
    row(50173, REFUSED, "The sign-in was revoked (for example after a password change).", "Choose Verify again to sign in anew.", None),
    row(700084, TIMED_OUT, "The sign-in expired: single-page application sign-ins last only 24 hours.", "Choose Verify again; register the app as Mobile and desktop so sign-ins last longer.", None),
    row(70043, REFUSED, "Your organization's sign-in frequency policy requires signing in again.", "Choose Verify again to sign in anew.", None),
    row(53003, REFUSED, "Access was blocked by your organization's Conditional Access policies.", "Ask your administrator which policy blocked the sign-in (give them the trace ID).", None),
    row(50105, REFUSED, "The account is not assigned to this app.", "Ask an administrator to assign the account to the app under Enterprise applications → your app → Users and groups.", None),
    row(50057, REFUSED, "The account is disabled.", "Ask your administrator to enable the account, or sign in with another one.", None),
    row(50055, REFUSED, "The account's password has expired.", "Change the password, then choose Verify again.", None),
    row(7000112, PROVIDER, "The app is disabled in this tenant.", "Ask an administrator to enable the app under Enterprise applications → your app → Properties.", None),
    row(90033, ErrorKind::Network, "The sign-in service is temporarily unavailable.", "Try again in a few minutes.", None),
    row(50059, INPUT, "The sign-in service could not tell which tenant to use.", "Enter the Directory (tenant) ID or a verified domain instead of `common`.", TENANT),
    // Admin consent, resources and Conditional Access.
    row(90094, REFUSED, "An administrator must consent to the permissions this app asks for before anyone can use it.", ADMIN_CONSENT, None),
    row(90095, REFUSED, "Your organization requires an administrator to approve this app (the admin consent workflow) before you can use it.", "Send the approval request the sign-in page offers and wait for an administrator to approve it, then choose Verify again.", None),
    row(28000, INPUT, "The scopes name more than one resource (for example Microsoft Graph and Outlook), and one sign-in gets a token for one resource only.", "Keep one resource's permissions in the Scopes field: Microsoft Graph's (User.Read Mail.Send …) or Outlook's (https://outlook.office.com/SMTP.Send …), not both.", SCOPES),
    row(50097, REFUSED, "Your organization requires device authentication: this sign-in must come from a device registered with it.", "Sign in on a device registered with your organization (or ask your administrator to register this one), then choose Verify again.", None),
    row(53000, REFUSED, "Your organization's Conditional Access requires a compliant or managed device, and this one is not.", "Sign in on a device your organization manages, or ask your administrator to enrol this one; then choose Verify again.", None),
    row(53001, REFUSED, "Your organization's Conditional Access requires a device joined to its domain.", "Sign in on a domain-joined device, or ask your administrator which devices are allowed.", None),
    row(53002, REFUSED, "Your organization's Conditional Access allows only approved client apps, and this app is not one of them.", "Ask your administrator to approve this app for your organization.", None),
    row(53004, REFUSED, "The account must finish registering its security information (multi-factor authentication) before it can sign in here.", "Register at https://aka.ms/mysecurityinfo from a trusted location or device, then choose Verify again.", None),
    row(530032, REFUSED, "The sign-in was blocked by a security policy of your organization.", "Ask your administrator which security policy blocked the sign-in (give them the trace ID).", None),
];

/// The fix of AADSTS90094 without the app's own admin consent address (see
/// [`crate::authority::admin_consent::address`], which the flows add).
const ADMIN_CONSENT: &str = "Ask an administrator to grant admin consent: Azure portal → Enterprise applications → your app → Permissions → Grant admin consent; then choose Verify again.";

/// `e` with the admin consent address in its fix, when it is AADSTS90094 or 90095.
pub fn with_admin_consent_address(e: PluginError, address: &str) -> PluginError {
    match e.provider_code() {
        Some("AADSTS90094") | Some("AADSTS90095") => {
            let hint = format!(
                "Ask an administrator to open {address} and grant consent for the organization (or, with the admin consent workflow, to approve your request); then choose Verify again."
            );
            e.with_hint(hint)
        }
        _ => e,
    }
}

/// The table row for an AADSTS number.
pub fn lookup(code: u64) -> Option<&'static Row> {
    TABLE.iter().find(|r| r.code == code)
}

/// Where a provider error was met, for the codes whose fix depends on the sign-in method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Any request (discovery, device code, refresh): the general table.
    Any,
    /// Redeeming a browser sign-in's authorization code.
    Browser,
    /// Asking for and polling a device code.
    Device,
}

/// Rows that replace [`TABLE`]'s for a browser sign-in (authorization code + PKCE).
///
/// There the redirect URI's platform decides the client type (the reference, §3): an
/// app whose redirect is registered under Web is confidential even with public client
/// flows on, so AADSTS7000218 means "enter the secret, or register the redirect under
/// Mobile and desktop", not just "allow public client flows".
pub const BROWSER_TABLE: &[Row] = &[
    row(7000218, INPUT, "The app registration treats this sign-in as a confidential (web) app, so it requires a client secret.", "Enter the secret's Value in the Client secret field; or, to sign in without a secret, register the redirect URI under Authentication → Mobile and desktop applications (not Web) and turn on 'Allow public client flows'. Then choose Verify again.", SECRET),
];

/// Rows that replace [`TABLE`]'s for a device code sign-in: Conditional Access often
/// blocks the device code flow alone (it is a common phishing route), so the browser
/// sign-in may still be allowed.
pub const DEVICE_TABLE: &[Row] = &[
    row(53003, REFUSED, "Your organization's Conditional Access blocked this device code sign-in.", "Use Verify ▾ With Browser instead; if that is blocked too, ask your administrator which policy blocked the sign-in (give them the trace ID).", None),
];

/// The row for an AADSTS number met in `flow`: its own row first, else the general one.
pub fn lookup_in(flow: Flow, code: u64) -> Option<&'static Row> {
    let own = match flow {
        Flow::Any => None,
        Flow::Browser => BROWSER_TABLE.iter().find(|r| r.code == code),
        Flow::Device => DEVICE_TABLE.iter().find(|r| r.code == code),
    };
    own.or_else(|| lookup(code))
}

impl ProviderError {
    /// The error an authorization redirect carries (`error=…` and the parameters
    /// `param` looks up by name): the `error`, the AADSTS code from the description's
    /// `AADSTSnnnn:` prefix, and the trace and correlation ids, each cut down to what
    /// such a value can hold (the text came from a paste, not the provider).
    pub fn from_redirect<'a>(error: &str, param: impl Fn(&str) -> Option<&'a str>) -> Self {
        let description = param("error_description").unwrap_or("");
        let mut e = ProviderError::new(keep(error, |c| c.is_ascii_alphanumeric() || c == '_', 60));
        e.error_codes = aadsts_code(description).into_iter().collect();
        let id = |param_name: &str, label: &str| {
            param(param_name)
                .or_else(|| labelled(description, label))
                .map(|v| keep(v, |c| c.is_ascii_alphanumeric() || c == '-', 64))
                .filter(|v| !v.is_empty())
        };
        e.trace_id = id("trace_id", "traceid");
        e.correlation_id = id("correlation_id", "correlationid");
        e.timestamp = param("timestamp")
            .or_else(|| labelled(description, "timestamp"))
            .map(|v| {
                keep(
                    v,
                    |c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | ' ' | '.'),
                    40,
                )
            })
            .filter(|v| !v.is_empty());
        e.suberror = param("error_subcode")
            .or_else(|| param("suberror"))
            .map(|v| keep(v, |c| c.is_ascii_alphanumeric() || c == '_', 60))
            .filter(|v| !v.is_empty());
        e.error_uri = param("error_uri")
            .filter(|u| u.len() <= 200)
            .and_then(|u| Url::parse(u).ok())
            .filter(|u| u.scheme() == "https")
            .map(String::from);
        e
    }
}

/// `nnnn` of a description starting `AADSTSnnnn:`.
fn aadsts_code(description: &str) -> Option<u64> {
    let digits: String = description
        .trim_start()
        .strip_prefix("AADSTS")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    digits.parse().ok()
}

/// The value of a `Label: value` line of a description; `label` is lower case without
/// spaces (`traceid` matches `Trace ID:`).
fn labelled<'a>(description: &'a str, label: &str) -> Option<&'a str> {
    description.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        let key: String = key
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        (key == label).then(|| value.trim())
    })
}

/// At most `max` characters of `s` that pass `allowed`.
fn keep(s: &str, allowed: impl Fn(char) -> bool, max: usize) -> String {
    s.chars().filter(|c| allowed(*c)).take(max).collect()
}

/// Whether `provider_code` (`AADSTSnnnn`) says the app's client secret has expired.
pub fn is_expired_secret(provider_code: &str) -> bool {
    provider_code == "AADSTS7000222"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's section 5 table plus the codes named in issue 4.
    const REQUIRED: &[u64] = &[
        50011, 50020, 50034, 50053, 50076, 50079, 50126, 50158, 65001, 65004, 70000, 70008, 700082,
        70011, 700016, 7000218, 7000215, 700025, 90002, 900144, 500011, 54005, 501481, 9002327,
        70016, 70020, 7000222, 9002332, 50194, 9001023, 50173, 700084, 70043,
        // Issue 11.
        90094, 90095, 28000, 50097, 53000, 53001, 53002, 53003, 53004, 530032,
    ];

    #[test]
    fn conditional_access_on_the_device_path_points_to_the_browser() {
        let e = ProviderError::new("invalid_grant").with_code(53003);
        let device = e.to_plugin_error_in(Flow::Device);
        assert!(
            device
                .hint()
                .unwrap()
                .starts_with("Use Verify ▾ With Browser instead"),
            "{device}"
        );
        assert_eq!(device.provider_code(), Some("AADSTS53003"));
        let browser = e.to_plugin_error_in(Flow::Browser);
        assert!(
            !browser.hint().unwrap().contains("With Browser"),
            "{browser}"
        );
    }

    #[test]
    fn admin_consent_errors_name_the_app_s_consent_address() {
        let address = "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent?client_id=4a1aa1d5-c567-49d0-ad0b-cd957a47f842";
        for code in [90094, 90095] {
            let e = ProviderError::new("invalid_grant")
                .with_code(code)
                .to_plugin_error();
            let e = with_admin_consent_address(e, address);
            assert!(e.hint().unwrap().contains(address), "{e}");
        }
        let other = with_admin_consent_address(
            ProviderError::new("invalid_grant")
                .with_code(65001)
                .to_plugin_error(),
            address,
        );
        assert!(!other.hint().unwrap().contains("adminconsent"));
        let mixed = ProviderError::new("invalid_request")
            .with_code(28000)
            .to_plugin_error();
        assert_eq!(mixed.field(), Some(fields::SCOPES));
        assert_eq!(mixed.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn hints_name_no_mouse_click_the_host_may_not_have() {
        // A terminal host has no buttons; "Choose Verify" reads right in a form, a menu,
        // and (translated by the host) on a command line. Portal buttons are clicked.
        for r in TABLE {
            let without_portal = r.hint.replace("click \"Grant admin consent\"", "");
            assert!(
                !without_portal.to_lowercase().contains("click"),
                "AADSTS{}: {}",
                r.code,
                r.hint
            );
        }
        for error in [
            "expired_token",
            "authorization_declined",
            "bad_verification_code",
        ] {
            let e = ProviderError::new(error).to_plugin_error();
            assert!(
                !e.hint().unwrap_or_default().contains("lick"),
                "{error}: {e}"
            );
        }
    }

    #[test]
    fn every_required_code_has_a_row() {
        for code in REQUIRED {
            assert!(lookup(*code).is_some(), "AADSTS{code} has no row");
        }
    }

    #[test]
    fn rows_are_unique_and_well_written() {
        for (i, r) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|o| o.code != r.code),
                "AADSTS{} twice",
                r.code
            );
            assert!(r.message.ends_with('.'), "AADSTS{}: {}", r.code, r.message);
            assert!(
                r.hint.ends_with('.') || r.hint.ends_with(')'),
                "AADSTS{}",
                r.code
            );
            assert!(!r.message.contains("AADSTS"), "message repeats the code");
            if r.kind == ErrorKind::InvalidInput {
                assert!(
                    r.field.is_some(),
                    "AADSTS{}: input errors name a field",
                    r.code
                );
            }
        }
    }

    fn parsed(json: &str) -> ProviderError {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_full_entra_error_keeps_code_ids_and_suberror() {
        let e = parsed(
            r#"{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: x",
                "error_codes":[65001],"timestamp":"2024-01-01 00:00:00Z","trace_id":"0c8f-trace","correlation_id":"9a1b-corr",
                "suberror":"consent_required","error_uri":"https://login.microsoftonline.com/error?code=65001"}"#,
        )
        .to_plugin_error();
        assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
        assert_eq!(
            e.message(),
            "The app has not been given permission (consent) for the requested scopes."
        );
        assert!(e.hint().unwrap().contains("admin consent"));
        assert_eq!(e.provider_code(), Some("AADSTS65001"));
        assert_eq!(e.trace_id(), Some("0c8f-trace"));
        assert_eq!(e.correlation_id(), Some("9a1b-corr"));
        let details: Vec<(&str, &str)> = e.details().collect();
        assert!(details.contains(&("suberror", "consent_required")));
        assert!(details.contains(&("error", "invalid_grant")));
        assert!(!format!("{e:?} {e}").contains("The user or administrator"));
    }

    #[test]
    fn the_first_known_code_wins_and_all_are_kept() {
        let e = ProviderError::new("invalid_grant")
            .with_code(1)
            .with_code(54005)
            .to_plugin_error();
        assert_eq!(e.provider_code(), Some("AADSTS54005"));
        assert!(e
            .details()
            .any(|(k, v)| k == "error_codes" && v == "AADSTS1 AADSTS54005"));
    }

    #[test]
    fn codes_decide_not_descriptions() {
        let mut e = ProviderError::new("invalid_request").with_code(90002);
        e.error_description = Some("AADSTS700016: misleading text".into());
        let shown = e.to_plugin_error();
        assert_eq!(shown.message(), "The tenant was not found.");
        assert_eq!(shown.field(), Some(fields::TENANT_ID));
    }

    #[test]
    fn device_outcomes_by_error_string() {
        for (error, kind) in [
            ("authorization_declined", ErrorKind::AuthorizationRefused),
            ("access_denied", ErrorKind::AuthorizationRefused),
            ("expired_token", ErrorKind::TimedOut),
            ("bad_verification_code", ErrorKind::Provider),
        ] {
            let e = ProviderError::new(error).to_plugin_error();
            assert_eq!(e.kind(), kind, "{error}");
            assert!(e.hint().is_some());
            assert_eq!(e.provider_code(), None);
        }
    }

    #[test]
    fn device_outcomes_win_over_their_codes() {
        let declined = ProviderError::new("authorization_declined")
            .with_code(65004)
            .to_plugin_error();
        assert_eq!(declined.kind(), ErrorKind::AuthorizationRefused);
        assert_eq!(declined.message(), "The sign-in was declined.");
        assert_eq!(declined.provider_code(), Some("AADSTS65004"));
        let consent = ProviderError::new("access_denied")
            .with_code(65004)
            .to_plugin_error();
        assert_eq!(consent.message(), "The permission prompt was declined.");
        let unknown = ProviderError::new("bad_verification_code")
            .with_code(70000)
            .to_plugin_error();
        assert!(unknown.message().contains("device code"), "{unknown}");
    }

    #[test]
    fn transient_service_errors_are_network_class() {
        for e in [
            ProviderError::new("temporarily_unavailable").with_code(90033),
            ProviderError::new("server_error"),
        ] {
            let shown = e.to_plugin_error();
            assert_eq!(shown.kind(), ErrorKind::Network, "{shown}");
            assert!(shown.hint().unwrap().contains("Try again"));
        }
    }

    #[test]
    fn unknown_codes_point_to_the_lookup_page() {
        let e = ProviderError::new("invalid_grant")
            .with_code(123456)
            .to_plugin_error();
        assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
        assert_eq!(e.provider_code(), Some("AADSTS123456"));
        assert!(e.message().contains("AADSTS123456"));
        assert!(e.hint().unwrap().contains("error?code=123456"));
        let odd = ProviderError::new("weird\u{7}thing<script>").to_plugin_error();
        assert_eq!(odd.kind(), ErrorKind::Provider);
        assert!(!odd.message().contains('\u{7}'));
    }

    #[test]
    fn seven_digit_codes_map_to_their_fields() {
        let e = ProviderError::new("invalid_client")
            .with_code(7000222)
            .to_plugin_error();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some(fields::CLIENT_SECRET));
        assert_eq!(e.message(), "The client secret has expired.");
        let e = ProviderError::new("invalid_client")
            .with_code(7000218)
            .to_plugin_error();
        assert!(e.hint().unwrap().contains("Allow public client flows"));
    }

    /// Each secret-related code names the one fix that applies to it.
    #[test]
    fn secret_codes_name_their_fix() {
        let hint = |flow, code| {
            let e = ProviderError::new("invalid_client")
                .with_code(code)
                .to_plugin_error_in(flow);
            assert_eq!(e.provider_code(), Some(format!("AADSTS{code}").as_str()));
            e.hint().unwrap().to_owned()
        };
        assert!(hint(Flow::Any, 7000218).starts_with("Turn on 'Allow public client flows'"));
        assert!(hint(Flow::Any, 7000215).starts_with("Use the secret's Value, not its Secret ID"));
        assert!(hint(Flow::Any, 7000222).starts_with("Create a new secret"));
        assert!(hint(Flow::Any, 700025).starts_with("Remove the secret"));
        let browser = hint(Flow::Browser, 7000218);
        assert!(browser.starts_with("Enter the secret's Value"), "{browser}");
        assert!(browser.contains("Allow public client flows"), "{browser}");
        for code in [7000215, 7000222, 700025] {
            assert_eq!(hint(Flow::Browser, code), hint(Flow::Any, code));
        }
        let e = ProviderError::new("invalid_client")
            .with_code(7000218)
            .to_plugin_error_in(Flow::Browser);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some(fields::CLIENT_SECRET));
    }

    #[test]
    fn browser_rows_are_well_written() {
        for r in BROWSER_TABLE {
            assert!(
                lookup(r.code).is_some(),
                "AADSTS{} overrides a general row",
                r.code
            );
            assert!(r.message.ends_with('.') && r.hint.ends_with('.'));
            assert!(r.kind != ErrorKind::InvalidInput || r.field.is_some());
        }
    }

    #[test]
    fn aadsts_codes_and_labels_are_read_leniently() {
        assert_eq!(aadsts_code("AADSTS50011: x"), Some(50011));
        assert_eq!(aadsts_code("  AADSTS7000218:"), Some(7000218));
        assert_eq!(aadsts_code("aadsts1"), None);
        assert_eq!(aadsts_code("AADSTS:"), None);
        assert_eq!(aadsts_code("AADSTS123456789012"), None);
        assert_eq!(labelled("a\nTrace ID: t-1\n", "traceid"), Some("t-1"));
        assert_eq!(labelled("TraceID:t-2", "traceid"), Some("t-2"));
        assert_eq!(labelled("no labels here", "traceid"), None);
    }

    #[test]
    fn provider_ids_and_uris_lose_control_characters() {
        let e = ProviderError {
            error: "invalid_grant\u{1b}[2J".into(),
            error_codes: vec![50126],
            trace_id: Some("\u{1b}]52;c;aGFja2Vk\u{7}t-1".into()),
            correlation_id: Some("c\u{9b}31m-2".into()),
            error_uri: Some("https://login.example/\u{1b}]8;;x\u{7}".into()),
            ..Default::default()
        }
        .to_plugin_error();
        let all = format!(
            "{:?} {:?} {:?} {:?}",
            e.trace_id(),
            e.correlation_id(),
            e.details().collect::<Vec<_>>(),
            e.message()
        );
        assert!(!all.chars().any(|c| c.is_control()), "{all}");
        assert_eq!(e.trace_id(), Some("]52;c;aGFja2Vkt-1"));
    }
}

//! Error bodies: Entra's OAuth error JSON (with AADSTS codes), Graph's error JSON,
//! and this crate's own [`MockError`].

use std::path::PathBuf;

use axum::http::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ids::guid;
use crate::reply;

/// What can go wrong when starting or driving the mock.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The listening socket could not be bound.
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port that was asked for (0 = any).
        port: u16,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The TLS certificate or configuration could not be made (`--tls`).
    #[error("could not set up TLS: {0}")]
    Tls(String),
    /// The generated CA certificate could not be written.
    #[error("could not write the CA certificate to {path}: {source}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The background runtime or thread could not be started.
    #[error("could not start the mock server's runtime: {0}")]
    Runtime(std::io::Error),
    /// A directory file could not be read.
    #[error("could not read directory file {path}: {source}")]
    DirectoryIo {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A directory document is not valid JSON of the expected shape.
    #[error("directory JSON is not valid: {0}")]
    DirectoryJson(#[from] serde_json::Error),
    /// A directory is internally inconsistent (duplicate ids, unknown tenants …).
    #[error("directory is not consistent: {0}")]
    DirectoryInvalid(String),
    /// No device code with this user code exists.
    #[error("no device code with user code {0:?}")]
    UnknownUserCode(String),
    /// The device code was already approved, declined, redeemed or has expired.
    #[error("device code {user_code:?} can no longer be changed: it is {state}")]
    DeviceCodeClosed {
        /// The user code.
        user_code: String,
        /// Its current state.
        state: &'static str,
    },
    /// No user with this UPN exists in the directory.
    #[error("no user {0:?} in the directory")]
    UnknownUser(String),
    /// The user may not sign in to this app through this tenant.
    #[error("user {upn:?} may not sign in here: {reason}")]
    UserRefused {
        /// The user's UPN.
        upn: String,
        /// Entra's explanation (with its AADSTS code).
        reason: String,
    },
}

/// An OAuth error from the identity platform, rendered as Entra's error JSON.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntraError {
    /// HTTP status (400 for grant errors, 401 for `invalid_client`).
    pub status: StatusCode,
    /// The OAuth `error` string.
    pub error: &'static str,
    /// The AADSTS number, when Entra has one for this case.
    pub code: Option<u32>,
    /// The text after `AADSTSnnnn: `.
    pub text: String,
    /// The optional `suberror`.
    pub suberror: Option<&'static str>,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl EntraError {
    /// A 400 error with an AADSTS code.
    pub fn bad(error: &'static str, code: u32, text: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            code: Some(code),
            text: text.into(),
            suberror: None,
            retry_after: None,
        }
    }

    /// A 401 `invalid_client` error.
    pub fn invalid_client(code: u32, text: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::bad("invalid_client", code, text)
        }
    }

    /// A required parameter is missing (AADSTS900144).
    pub fn missing(param: &str) -> Self {
        Self::bad(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{param}'."),
        )
    }

    /// The tenant segment names no known tenant (AADSTS90002).
    pub fn unknown_tenant(tenant: &str) -> Self {
        Self::bad(
            "invalid_tenant",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    /// The client id is unknown in this tenant (AADSTS700016).
    pub fn unknown_client(client_id: &str, directory: &str) -> Self {
        Self::bad(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{directory}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// A single-tenant app used `/common` or `/organizations` (AADSTS50194).
    pub fn single_tenant_on_common(client_id: &str, name: &str) -> Self {
        Self::bad(
            "invalid_request",
            50194,
            format!(
                "Application '{client_id}'({name}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant."
            ),
        )
    }

    /// A work-or-school-only app used `/consumers` (AADSTS9002332).
    pub fn consumers_not_allowed(client_id: &str, name: &str) -> Self {
        Self::bad(
            "invalid_request",
            9002332,
            format!(
                "Application '{client_id}'({name}) is configured for use by Azure Active Directory users only. Please do not use the /consumers endpoint to serve this request."
            ),
        )
    }

    /// A `prompt` value this server does not support (`invalid_request`, as OpenID
    /// providers without it answer).
    pub fn unsupported_prompt(value: &str) -> Self {
        Self::bad(
            "invalid_request",
            90023,
            format!("Unsupported prompt value requested: '{value}'."),
        )
    }

    /// AADSTS28000: the scopes name more than one resource.
    pub fn multiple_resources(scope: &str) -> Self {
        Self::bad(
            "invalid_request",
            28000,
            format!("Provided value for the input parameter scope is not valid because it contains more than one resource. Scope {scope} is not valid."),
        )
    }

    /// The scope string is malformed or names an unknown permission (AADSTS70011).
    pub fn invalid_scope(scope: &str) -> Self {
        Self::bad(
            "invalid_scope",
            70011,
            format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope '{scope}' does not exist."
            ),
        )
    }

    /// A claims challenge the user must answer (Continuous Access Evaluation after a
    /// location or policy change): `interaction_required`, AADSTS50076.
    pub fn claims_need_user() -> Self {
        Self::bad(
            "interaction_required",
            50076,
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'.",
        )
    }

    /// The user has not finished signing in (AADSTS70016).
    pub fn authorization_pending() -> Self {
        Self::bad(
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    }

    /// The device code's lifetime is over (AADSTS70020).
    pub fn expired_token() -> Self {
        Self::bad(
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        )
    }

    /// The user declined the device sign-in (the mock uses AADSTS65004).
    pub fn authorization_declined() -> Self {
        Self::bad(
            "authorization_declined",
            65004,
            "User declined to consent to access the app.",
        )
    }

    /// The device code is unknown, belongs to another client, or was already used.
    pub fn bad_verification_code() -> Self {
        Self::bad(
            "bad_verification_code",
            70000,
            "The provided value for the input parameter 'device_code' is not valid.",
        )
    }

    /// RFC 8628 `slow_down`; Entra documents no AADSTS code for it.
    pub fn slow_down() -> Self {
        Self {
            code: None,
            ..Self::bad(
                "slow_down",
                0,
                "Polling too frequently: wait 5 seconds longer between requests.",
            )
        }
    }

    /// No secret was sent for a confidential client (AADSTS7000218).
    pub fn secret_required() -> Self {
        Self::invalid_client(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    }

    /// The secret is wrong, often the secret's id instead of its value (AADSTS7000215).
    pub fn wrong_secret(client_id: &str) -> Self {
        Self::invalid_client(
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    /// The secret has expired (AADSTS7000222).
    pub fn expired_secret(client_id: &str) -> Self {
        Self::invalid_client(
            7000222,
            format!(
                "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
            ),
        )
    }

    /// A public client presented a secret (AADSTS700025).
    pub fn public_client_secret() -> Self {
        Self::invalid_client(
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        )
    }

    /// The redirect URI is not registered or differs from the one used at /authorize (AADSTS50011).
    pub fn redirect_mismatch(redirect_uri: &str, client_id: &str) -> Self {
        Self::invalid_client(
            50011,
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."
            ),
        )
    }

    /// The authorization code was already redeemed (AADSTS54005).
    pub fn code_redeemed() -> Self {
        Self::bad(
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
        )
    }

    /// The code or refresh token expired from inactivity (AADSTS70008).
    pub fn code_expired() -> Self {
        Self::bad(
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        )
    }

    /// The grant is unknown or malformed (AADSTS70000).
    pub fn invalid_grant() -> Self {
        Self::bad(
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed.",
        )
    }

    /// The PKCE verifier does not match the challenge (AADSTS501481).
    pub fn pkce_mismatch() -> Self {
        Self::bad(
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        )
    }

    /// The scopes are not consented (AADSTS65001, `suberror: consent_required`).
    pub fn consent_required(client_id: &str, name: &str) -> Self {
        Self {
            suberror: Some("consent_required"),
            ..Self::bad(
                "invalid_grant",
                65001,
                format!(
                    "The user or administrator has not consented to use the application with ID '{client_id}' named '{name}'. Send an interactive authorization request for this user and resource."
                ),
            )
        }
    }

    /// The refresh token expired from inactivity (AADSTS700082).
    pub fn refresh_expired(issued: &str) -> Self {
        Self::bad(
            "invalid_grant",
            700082,
            format!(
                "The refresh token has expired due to inactivity. The token was issued on {issued} and was inactive for 90.00:00:00."
            ),
        )
    }

    /// The grant type is not supported (AADSTS70003).
    pub fn unsupported_grant_type(grant: &str) -> Self {
        Self::bad(
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        )
    }

    /// A token-style endpoint was called with a method other than POST (AADSTS900561).
    pub fn post_only(method: &str) -> Self {
        Self::bad(
            "invalid_request",
            900561,
            format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {method} request."
            ),
        )
    }

    /// A SPA redirect was redeemed without an `Origin` header (AADSTS9002327).
    pub fn spa_needs_origin() -> Self {
        Self::bad(
            "invalid_request",
            9002327,
            "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
        )
    }

    /// A non-SPA redirect was redeemed cross-origin (AADSTS9002326).
    pub fn cross_origin(origin: &str) -> Self {
        Self::bad(
            "invalid_request",
            9002326,
            format!(
                "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '{origin}'."
            ),
        )
    }

    /// The user declined consent at the browser (AADSTS65004, `access_denied`).
    pub fn consent_declined() -> Self {
        Self::bad(
            "access_denied",
            65004,
            "User declined to consent to access the app.",
        )
    }

    /// `prompt=none` but nobody is signed in (AADSTS50058).
    pub fn login_required() -> Self {
        Self::bad(
            "login_required",
            50058,
            "A silent sign-in request was sent but no user is signed in.",
        )
    }

    /// An injected server failure: 503/429 become `temporarily_unavailable`, others `server_error`.
    pub fn injected(status: StatusCode, retry_after: Option<u64>) -> Self {
        let error = match status.as_u16() {
            503 | 429 => "temporarily_unavailable",
            _ => "server_error",
        };
        Self {
            status,
            retry_after,
            ..Self::bad(
                error,
                90033,
                "A transient error has occurred. Please try again.",
            )
        }
    }

    /// The same error with a `suberror` (e.g. `basic_action` for AADSTS50076).
    pub fn with_suberror(mut self, suberror: &'static str) -> Self {
        self.suberror = Some(suberror);
        self
    }

    /// A refresh token that rotation replaced, presented again while the mock refuses such
    /// tokens (AADSTS70000).
    pub fn refresh_replaced() -> Self {
        Self::bad(
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed. The refresh token was replaced by a newer one and can no longer be redeemed.",
        )
    }

    /// The same error with another OAuth `error` string (e.g. `consent_required` at /authorize).
    pub fn with_error(mut self, error: &'static str) -> Self {
        self.error = error;
        self
    }

    /// The `error_description` line: `AADSTSnnnn: text\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …`.
    fn description(&self, ids: &Ids) -> String {
        let prefix = self
            .code
            .map(|c| format!("AADSTS{c}: "))
            .unwrap_or_default();
        format!(
            "{prefix}{}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.text, ids.trace, ids.correlation, ids.timestamp
        )
    }

    /// Entra's full error JSON (§2 of the reference).
    pub fn body(&self) -> serde_json::Value {
        let ids = Ids::new();
        let mut body = json!({
            "error": self.error,
            "error_description": self.description(&ids),
            "error_codes": self.code.into_iter().collect::<Vec<_>>(),
            "timestamp": ids.timestamp,
            "trace_id": ids.trace,
            "correlation_id": ids.correlation,
        });
        if let Some(code) = self.code {
            body["error_uri"] = json!(error_uri(code));
        }
        if let Some(sub) = self.suberror {
            body["suberror"] = json!(sub);
        }
        body
    }

    /// The query parameters of an error redirect to the app.
    pub fn redirect_params(&self) -> Vec<(&'static str, String)> {
        let ids = Ids::new();
        let mut params = vec![
            ("error", self.error.to_owned()),
            ("error_description", self.description(&ids)),
        ];
        if let Some(code) = self.code {
            params.push(("error_uri", error_uri(code)));
        }
        params
    }

    /// The first line of the description, for pages and logs.
    pub fn headline(&self) -> String {
        match self.code {
            Some(c) => format!("AADSTS{c}: {}", self.text),
            None => self.text.clone(),
        }
    }
}

impl IntoResponse for EntraError {
    fn into_response(self) -> Response {
        let mut response = reply::json(self.status, &self.body());
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Entra's help-page address for an AADSTS code.
fn error_uri(code: u32) -> String {
    format!("https://login.microsoftonline.com/error?code={code}")
}

/// The per-error trace and correlation ids and timestamp.
struct Ids {
    trace: String,
    correlation: String,
    timestamp: String,
}

impl Ids {
    fn new() -> Self {
        Self {
            trace: guid(),
            correlation: guid(),
            timestamp: chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string(),
        }
    }
}

/// A Microsoft Graph error: `{"error":{"code","message","innerError":{…}}}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphError {
    /// HTTP status.
    pub status: StatusCode,
    /// Graph's error `code` (what clients branch on).
    pub code: &'static str,
    /// Graph's `message`.
    pub message: String,
    /// Seconds for a `Retry-After` header.
    pub retry_after: Option<u64>,
    /// A claims challenge (base64 claims) for `WWW-Authenticate` on a 401.
    pub claims: Option<String>,
}

impl GraphError {
    /// A 401 `InvalidAuthenticationToken` with Graph's message.
    pub fn unauthenticated(message: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "InvalidAuthenticationToken",
            message: message.to_owned(),
            retry_after: None,
            claims: None,
        }
    }

    /// A 403 `accessDenied`: the token lacks the needed scope.
    pub fn access_denied() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "accessDenied",
            message: "Insufficient privileges to complete the operation.".to_owned(),
            retry_after: None,
            claims: None,
        }
    }

    /// Continuous access evaluation's 401: the token no longer satisfies the tenant's
    /// policy; `claims` (base64) names what a new token must carry.
    pub fn claims_challenge(claims: String) -> Self {
        Self {
            claims: Some(claims),
            ..Self::unauthenticated(
                "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: LocationConditionEvaluationSatisfied",
            )
        }
    }

    /// Any Graph error: `status`, Graph's `code` and its `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            claims: None,
        }
    }

    /// An injected failure with Graph's code for the status.
    pub fn injected(status: StatusCode, retry_after: Option<u64>) -> Self {
        let (code, message) = match status.as_u16() {
            429 => ("activityLimitReached", "The request has been throttled."),
            503 => (
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry later.",
            ),
            _ => ("generalException", "An unexpected error occurred."),
        };
        Self {
            status,
            code,
            message: message.to_owned(),
            retry_after,
            claims: None,
        }
    }

    /// Graph's error JSON with a fresh request id.
    pub fn body(&self) -> serde_json::Value {
        let request_id = guid();
        self.body_for(&request_id, &request_id)
    }

    /// Graph's error JSON naming this request's ids.
    pub fn body_for(&self, request_id: &str, client_request_id: &str) -> serde_json::Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string(),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                }
            }
        })
    }
}

impl GraphError {
    /// The response for a request with these ids (also sent as headers).
    pub fn response_for(self, request_id: &str, client_request_id: &str) -> Response {
        let mut response = reply::json(self.status, &self.body_for(request_id, client_request_id));
        for (name, value) in [
            ("request-id", request_id),
            ("client-request-id", client_request_id),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                response.headers_mut().insert(name, v);
            }
        }
        self.decorate(response)
    }

    /// `WWW-Authenticate` on a 401, `Retry-After` when set.
    fn decorate(self, mut response: Response) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            let value = match &self.claims {
                Some(claims) => HeaderValue::from_str(&format!(
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\", error=\"insufficient_claims\", claims=\"{claims}\""
                ))
                .ok(),
                None => None,
            };
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                value.unwrap_or(HeaderValue::from_static(
                    "Bearer realm=\"\", error=\"invalid_token\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                )),
            );
        }
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let response = reply::json(self.status, &self.body());
        self.decorate(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_body_has_every_field_of_the_reference() {
        let body = EntraError::authorization_pending().body();
        assert_eq!(body["error"], "authorization_pending");
        assert_eq!(body["error_codes"], json!([70016]));
        let desc = body["error_description"].as_str().unwrap();
        assert!(desc.starts_with("AADSTS70016: "), "{desc}");
        assert!(desc.contains("\r\nTrace ID: "));
        assert!(desc.contains("\r\nCorrelation ID: "));
        assert!(desc.contains("\r\nTimestamp: "));
        let ts = body["timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2024-01-01 00:00:00Z".len());
        assert!(ts.ends_with('Z'));
        assert!(crate::ids::is_guid(body["trace_id"].as_str().unwrap()));
        assert!(crate::ids::is_guid(
            body["correlation_id"].as_str().unwrap()
        ));
        assert_eq!(
            body["error_uri"],
            "https://login.microsoftonline.com/error?code=70016"
        );
        assert!(body.get("suberror").is_none());
    }

    #[test]
    fn consent_required_carries_its_suberror() {
        let body = EntraError::consent_required("id", "name").body();
        assert_eq!(body["suberror"], "consent_required");
        assert_eq!(body["error"], "invalid_grant");
    }

    #[test]
    fn invalid_client_is_401() {
        assert_eq!(
            EntraError::secret_required().status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(EntraError::invalid_grant().status, StatusCode::BAD_REQUEST);
    }
}

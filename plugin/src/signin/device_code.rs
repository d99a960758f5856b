//! Device code sign-in (RFC 8628): ask for a code through `oauth2`, show it, poll the
//! token endpoint at the given interval (+5 s on `slow_down`) until the user approves,
//! declines, or the code expires.
//!
//! The polling loop is ours rather than `oauth2`'s: that one keeps only the standard
//! error fields (losing AADSTS codes and trace ids) and retries transport failures
//! until the code expires, where we want a typed error at once.

use std::time::Duration;

use atrs_host_sdk::{session::Reporter, ErrorKind, Host, PluginError, SessionState};
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationResponse, DeviceAuthorizationUrl, DeviceCode,
    ExtraDeviceAuthorizationFields, RequestTokenError, Scope, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use crate::{
    authority::aadsts::{Flow, ProviderError},
    authority::discovery::Endpoints,
    authority::token::{request_error, EntraClient, EntraTokenResponse, Tokens},
    clock::unix_now,
    config::AccountConfig,
    net::http::{host_of, parse_json, Http},
    net::provider_text,
};

/// The grant type of a device code poll.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Polls after the first never come closer than this, whatever the provider says
/// (guards against a busy loop when `interval` is 0).
const MIN_INTERVAL: Duration = Duration::from_millis(250);
/// What RFC 8628 adds to the interval on `slow_down`.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// Network-class failures in a row that polling rides out before giving up.
const POLL_RETRIES: u32 = 2;
/// The longest code lifetime honoured; Entra's is 15 minutes.
const MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// Entra's extra field in the device authorization answer: ready-made instructions.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct DeviceCodeExtra {
    /// The provider's message for the user (localized with `mkt`).
    #[serde(default)]
    pub message: Option<String>,
}

impl ExtraDeviceAuthorizationFields for DeviceCodeExtra {}

/// Obtains tokens by device code from the discovered `endpoints`.
pub async fn sign_in(
    config: &AccountConfig,
    http: &Http,
    host: &Host,
    reporter: &Reporter,
    endpoints: &Endpoints,
) -> Result<Tokens, PluginError> {
    let device_url = endpoints.device_authorization.clone().ok_or_else(|| {
        PluginError::unsupported("This sign-in service does not offer device code sign-in.")
            .with_hint("Use Verify ▾ With Browser instead.")
    })?;
    let device_host = host_of(device_url.as_str());
    // The device code request itself never carries a secret; the polls do when one is
    // given (below).
    let client = EntraClient::new(ClientId::new(config.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(TokenUrl::from_url(endpoints.token.clone()))
        .set_device_authorization_url(DeviceAuthorizationUrl::from_url(device_url));
    host.info(&format!("Asking {device_host} for a device code."));
    let details: DeviceAuthorizationResponse<DeviceCodeExtra> = client
        .exchange_device_code()
        .add_scopes(config.scopes.iter().map(|s| Scope::new(s.clone())))
        .request_async(http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(provider) => {
                provider.to_plugin_error_in(Flow::Device)
            }
            other => request_error(other, &device_host, "device code request"),
        })?;
    let lifetime = details
        .expires_in()
        .clamp(Duration::from_secs(1), MAX_LIFETIME);
    let deadline = Instant::now()
        .checked_add(lifetime)
        .unwrap_or_else(Instant::now);
    // The page, code and message are the server's words, shown and (the page) opened by
    // the host: only an https page (http on loopback), no control characters.
    let verification_uri = details.verification_uri().url().clone();
    if !provider_text::is_browser_address(&verification_uri) {
        return Err(PluginError::new(
            ErrorKind::Provider,
            format!(
                "{device_host} named {} as the page to enter the code on, which is not an https address.",
                provider_text::clean(verification_uri.as_str())
            ),
        )
        .with_hint("Check the account's authority URL and cloud (a proxy or another server may be answering in the sign-in service's place), or use Verify ▾ With Browser."));
    }
    let verification_uri = verification_uri.to_string();
    let user_code = provider_text::clean(details.user_code().secret());
    let message = provider_text::clean_opt(details.extra_fields().message.as_deref())
        .unwrap_or_else(|| {
            format!("To sign in, open {verification_uri} and enter the code {user_code} to authenticate.")
        });
    reporter.show(SessionState::ShowCode {
        user_code: user_code.as_str().into(),
        verification_uri: verification_uri.as_str().into(),
        message: message.into(),
        expires_at: crate::clock::expires_at(unix_now(), lifetime, MAX_LIFETIME),
    });
    host.info(&format!(
        "Showing the device code; waiting for the user at {verification_uri} (the code expires in {} s, polling every {} s).",
        lifetime.as_secs(),
        details.interval().as_secs()
    ));
    let poll = Poll {
        http,
        host,
        token_url: client.token_uri().url(),
        client_id: &config.client_id,
        config,
        device_code: details.device_code(),
        claims: crate::authority::claims::request_claims(None, endpoints.server.takes_claims()),
    };
    poll.until_done(details.interval(), deadline).await
}

/// The token endpoint polling of one device code.
struct Poll<'a> {
    http: &'a Http,
    host: &'a Host,
    token_url: &'a Url,
    client_id: &'a str,
    /// Its client secret or certificate is sent with every poll when given, so the token
    /// endpoint checks it (RFC 8628 §3.4 with RFC 6749 §2.3): a credential Save stores has
    /// been accepted, not merely typed. A public client's app is told to drop it
    /// (AADSTS700025), a wrong one to fix it.
    config: &'a AccountConfig,
    device_code: &'a DeviceCode,
    /// The `claims` parameter declaring `cp1`, for servers that take it.
    claims: Option<String>,
}

/// What one poll said.
enum PollOutcome {
    Tokens(Box<Tokens>),
    Pending,
    SlowDown,
}

impl Poll<'_> {
    /// Polls every `interval` until tokens come, the provider says stop, or `deadline`.
    async fn until_done(
        &self,
        interval: Duration,
        deadline: Instant,
    ) -> Result<Tokens, PluginError> {
        // The first poll waits the interval as given (none at all for 0: a server that
        // says so may have approved already); later ones never come closer than
        // MIN_INTERVAL.
        // A server-given interval longer than the code lives is waited only until the
        // deadline; the arithmetic never overflows.
        let mut wait = interval;
        let mut interval = interval.max(MIN_INTERVAL);
        let mut failures = 0;
        loop {
            let next = Instant::now().checked_add(wait).unwrap_or(deadline);
            tokio::time::sleep_until(next.min(deadline)).await;
            if Instant::now() >= deadline {
                return Err(expired());
            }
            match self.once().await {
                Ok(PollOutcome::Tokens(tokens)) => return Ok(*tokens),
                Ok(PollOutcome::Pending) => failures = 0,
                Ok(PollOutcome::SlowDown) => {
                    failures = 0;
                    interval = interval.saturating_add(SLOW_DOWN_STEP);
                    self.host.info(&format!(
                        "The sign-in service asked to slow down; polling every {:.1} s now.",
                        interval.as_secs_f64()
                    ));
                }
                // A blip should not cost the user their code; a lasting fault ends the
                // sign-in after a few intervals.
                Err(e) if e.kind() == ErrorKind::Network && failures < POLL_RETRIES => {
                    failures += 1;
                    self.host.warn(&format!(
                        "Polling for the sign-in failed ({}); trying again ({failures} of {POLL_RETRIES}).",
                        e.message()
                    ));
                }
                Err(e) => return Err(e),
            }
            wait = interval;
        }
    }

    async fn once(&self) -> Result<PollOutcome, PluginError> {
        let host = host_of(self.token_url.as_str());
        let mut form = vec![
            ("grant_type", DEVICE_GRANT),
            ("client_id", self.client_id),
            ("device_code", self.device_code.secret().as_str()),
        ];
        let credentials = self.config.client_credentials(self.token_url.as_str());
        form.extend(credentials.iter().map(|(k, v)| (*k, v.expose())));
        if let Some(claims) = &self.claims {
            form.push(("claims", claims));
        }
        let response = self
            .http
            .post_form(self.token_url, &form)
            .await
            .map_err(|e| e.to_plugin_error())?;
        if response.status().is_success() {
            let tokens: EntraTokenResponse =
                parse_json(&response, &host).map_err(|e| e.to_plugin_error())?;
            return Ok(PollOutcome::Tokens(Box::new(tokens.into())));
        }
        // `Http::oauth` lets a failure through only as an OAuth error object.
        let error: ProviderError = parse_json(&response, &host).map_err(|e| e.to_plugin_error())?;
        match error.error.as_str() {
            "authorization_pending" => Ok(PollOutcome::Pending),
            "slow_down" => Ok(PollOutcome::SlowDown),
            _ if error.has_code(70016) => Ok(PollOutcome::Pending),
            _ => Err(error.to_plugin_error_in(Flow::Device)),
        }
    }
}

/// Our own deadline passed: the same outcome as the provider's `expired_token`.
fn expired() -> PluginError {
    PluginError::new(
        ErrorKind::TimedOut,
        "The sign-in code expired before the sign-in was finished.",
    )
    .with_hint("Choose Verify again and enter the new code before the time shown runs out.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_answer_keeps_entra_s_message() {
        let d: DeviceAuthorizationResponse<DeviceCodeExtra> = serde_json::from_str(
            r#"{"device_code":"DC-SECRET","user_code":"ABCD-EFGH","verification_uri":"https://microsoft.com/devicelogin",
                "expires_in":900,"interval":5,"message":"To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate."}"#,
        )
        .unwrap();
        assert!(d
            .extra_fields()
            .message
            .as_deref()
            .unwrap()
            .contains("ABCD-EFGH"));
        assert_eq!(d.interval(), Duration::from_secs(5));
        assert!(!format!("{d:?}").contains("DC-SECRET"));
    }

    #[test]
    fn our_deadline_reads_like_the_provider_s_expiry() {
        let ours = expired();
        let theirs = ProviderError::new("expired_token")
            .with_code(70020)
            .to_plugin_error();
        assert_eq!(ours.kind(), ErrorKind::TimedOut);
        assert_eq!(ours.kind(), theirs.kind());
        assert_eq!(ours.message(), theirs.message());
    }
}

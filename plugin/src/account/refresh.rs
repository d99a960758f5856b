//! Renewing an access token with the saved refresh token (RFC 6749 §6), transient faults
//! retried inside a stated bound ([`RetryBound`]) and `Retry-After` honoured.

use std::time::Duration;

use oauth2::http::header::RETRY_AFTER;
use oauth2::TokenResponse;
use tokio::time::Instant;
use url::Url;

use crate::{
    account::refresh_error::{OtherCause, RefreshError},
    account::token_cache::CachedToken,
    authority::aadsts::ProviderError,
    authority::token::EntraTokenResponse,
    clock::unix_now,
    config::AccountConfig,
    net::http::{host_of, Http, HttpResponse},
    secret::Secret,
};

/// How long and how often transient faults are retried.
///
/// The defaults: at most 3 attempts; between them the `Retry-After` the service asked for
/// (at most 10 s), else 1 s then 2 s; no wait that would end after 20 s from the start.
/// An exchange that ran out of its time (the request timeout) is not tried again: the
/// server had all the time stated, so a server that takes a request and never answers
/// costs one request timeout, as the timeout says, not one per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBound {
    /// Attempts in all, the first one included.
    pub attempts: u32,
    /// The wait before the second attempt when the service names none; doubled after.
    pub first_backoff: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// No retry starts later than this after the first attempt.
    pub total: Duration,
}

impl Default for RetryBound {
    fn default() -> Self {
        RetryBound {
            attempts: 3,
            first_backoff: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(10),
            total: Duration::from_secs(20),
        }
    }
}

/// What a successful refresh brought.
#[derive(Debug, Clone)]
pub struct Renewed {
    /// The new access token, as it is cached.
    pub token: CachedToken,
    /// The new refresh token, when the provider rotated it.
    pub refresh_token: Option<Secret>,
}

/// The scopes sent with a refresh: `wanted`, with `offline_access` so a new refresh
/// token comes back.
fn scope_param(wanted: &[String]) -> String {
    let mut list: Vec<&str> = wanted.iter().map(String::as_str).collect();
    if !list
        .iter()
        .any(|s| s.eq_ignore_ascii_case("offline_access"))
    {
        list.push("offline_access");
    }
    list.join(" ")
}

/// Redeems `refresh_token` at `token_url` for `wanted` (with the `claims` parameter when
/// given, [`crate::authority::claims::request_claims`]), retrying transient faults within `bound`.
pub async fn renew(
    http: &Http,
    token_url: &Url,
    config: &AccountConfig,
    refresh_token: &Secret,
    (wanted, claims): (&[String], Option<&str>),
    bound: RetryBound,
) -> Result<Renewed, RefreshError> {
    with_retries(bound, || {
        once(http, token_url, config, refresh_token, wanted, claims)
    })
    .await
}

/// An application token for `config` (an application account: nobody signs in) by the
/// client credentials grant (RFC 6749 §4.4) at `token_url` for `wanted` (the Graph
/// `.default` scope), the app proving itself with its secret or a client assertion signed
/// with its certificate; transient faults retried within `bound`. Nothing comes back to
/// refresh with: the next token is asked for the same way.
pub async fn client_credentials(
    http: &Http,
    token_url: &Url,
    config: &AccountConfig,
    wanted: &[String],
    bound: RetryBound,
) -> Result<Renewed, RefreshError> {
    with_retries(bound, || app_once(http, token_url, config, wanted)).await
}

/// Runs `attempt` until it succeeds, fails for good, or `bound` ends the retries.
async fn with_retries<F, Fut>(
    bound: RetryBound,
    mut attempt_once: F,
) -> Result<Renewed, RefreshError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Renewed, RefreshError>>,
{
    let started = Instant::now();
    let mut backoff = bound.first_backoff;
    let mut attempt = 1;
    loop {
        let result = attempt_once().await;
        let wait = match &result {
            Err(e @ RefreshError::Transient { retry_after, .. })
                if attempt < bound.attempts && !e.is_timeout() =>
            {
                retry_after.map_or(backoff, |d| d.min(bound.max_retry_after))
            }
            _ => return result,
        };
        if started.elapsed() + wait > bound.total {
            return result;
        }
        tokio::time::sleep(wait).await;
        backoff *= 2;
        attempt += 1;
    }
}

/// One refresh request.
async fn once(
    http: &Http,
    token_url: &Url,
    config: &AccountConfig,
    refresh_token: &Secret,
    wanted: &[String],
    claims: Option<&str>,
) -> Result<Renewed, RefreshError> {
    let scope = scope_param(wanted);
    let credentials = config.client_credentials(token_url.as_str());
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("client_id", config.client_id.as_str()),
        ("refresh_token", refresh_token.expose()),
        ("scope", scope.as_str()),
    ];
    form.extend(credentials.iter().map(|(k, v)| (*k, v.expose())));
    if let Some(claims) = claims {
        form.push(("claims", claims));
    }
    exchange(http, token_url, &form, wanted).await
}

/// One client credentials request.
async fn app_once(
    http: &Http,
    token_url: &Url,
    config: &AccountConfig,
    wanted: &[String],
) -> Result<Renewed, RefreshError> {
    let scope = wanted.join(" ");
    let credentials = config.client_credentials(token_url.as_str());
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", config.client_id.as_str()),
        ("scope", scope.as_str()),
    ];
    form.extend(credentials.iter().map(|(k, v)| (*k, v.expose())));
    exchange(http, token_url, &form, wanted).await
}

/// Posts `form` to the token endpoint and reads the token answer.
async fn exchange(
    http: &Http,
    token_url: &Url,
    form: &[(&str, &str)],
    wanted: &[String],
) -> Result<Renewed, RefreshError> {
    let response = http
        .post_form(token_url, form)
        .await
        .map_err(RefreshError::from_http)?;
    let host = host_of(token_url.as_str());
    let status = response.status().as_u16();
    if status != 200 {
        let provider: ProviderError = serde_json::from_slice(response.body())
            .map_err(|_| RefreshError::Other(OtherCause::Unusable(host.clone())))?;
        return Err(RefreshError::from_provider(
            provider,
            status,
            retry_after(&response),
        ));
    }
    let answer: EntraTokenResponse = serde_json::from_slice(response.body())
        .map_err(|_| RefreshError::Other(OtherCause::Unusable(host)))?;
    let granted = answer.scopes().map(|listed| {
        listed
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    });
    Ok(Renewed {
        token: CachedToken::issued(
            Secret::new(answer.access_token().secret().as_str()),
            answer.expires_in(),
            granted.as_deref(),
            wanted,
            unix_now(),
        ),
        refresh_token: answer
            .refresh_token()
            .map(|t| Secret::new(t.secret().as_str())),
    })
}

/// `Retry-After` in seconds (the HTTP-date form is read as no advice).
fn retry_after(response: &HttpResponse) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_access_is_always_asked_for() {
        let s = |v: &str| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(scope_param(&s("User.Read")), "User.Read offline_access");
        assert_eq!(
            scope_param(&s("openid offline_access Mail.Send")),
            "openid offline_access Mail.Send"
        );
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let r = |v: &str| {
            oauth2::http::Response::builder()
                .header(RETRY_AFTER, v)
                .body(Vec::new())
                .unwrap()
        };
        assert_eq!(retry_after(&r("2")), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&r("Wed, 21 Oct 2015 07:28:00 GMT")), None);
    }
}

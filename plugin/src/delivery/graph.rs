//! The Microsoft Graph client deliveries use: a `client-request-id` on every call, the
//! bearer token from the account (refreshed once on a 401), and a stated retry bound.
//!
//! **Retries.** 429 and 503 wait what `Retry-After` says (at most
//! [`RetryPolicy::max_retry_after`]; longer is reported, not waited); 500, 502, 504 and broken
//! or timed-out connections wait `backoff`, doubling; at most [`RetryPolicy::attempts`] tries
//! per call. Any other answer is permanent and never retried. Upload URLs get one attempt per
//! fragment: [`crate::delivery::upload_session`] resumes from the server's ranges instead.
//!
//! **Politeness.** Every request names the application in its `User-Agent` and, for a
//! saved account's deliveries, holds one of the account's permits while in flight
//! ([`crate::delivery::politeness`]).
//!
//! Nothing here logs or keeps a body, a token or a header value other than the request ids.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atrs_host_sdk::PluginError;
use reqwest::header::{
    HeaderMap, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use tokio::sync::Semaphore;
use url::Url;

use crate::delivery::progress::Cancel;
use crate::net::provider_text::{clean, clean_opt};
use crate::net::request_id::new_id;
use crate::secret::Secret;

/// What a delivery asks of the account's token source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAsk {
    /// The current token (from the cache while fresh).
    Current,
    /// A new one: Graph refused the one it had.
    Renewed,
    /// A new one issued for these claims (JSON), which Graph's claims challenge named
    /// ([`crate::authority::claims`]).
    WithClaims(String),
}

/// Fetches the account's access token as asked.
pub type TokenFn = Arc<dyn Fn(TokenAsk) -> Result<Secret, PluginError> + Send + Sync>;

/// The largest Graph answer read (JSON entities and errors are small).
const MAX_ANSWER: usize = 1024 * 1024;

/// How hard a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per call, the first included.
    pub attempts: u32,
    /// The first wait after a fault without `Retry-After`; doubles each time.
    pub backoff: Duration,
    /// The longest `Retry-After` waited out; a longer one fails the call.
    pub max_retry_after: Duration,
    /// Time for one exchange (connect, send the body, read the answer).
    pub request_timeout: Duration,
    /// Time for a whole delivery, every call, retry and wait included (clean-up is not
    /// counted): a server that keeps a delivery going without end is stopped here.
    pub delivery_timeout: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries; 1, 2, 4, 8 s between them (15 s) unless `Retry-After` (≤ 120 s each) says
    /// otherwise; 120 s per exchange; 2 hours per delivery (150 MB at 200 kB/s).
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            backoff: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(120),
            request_timeout: Duration::from_secs(120),
            delivery_timeout: Duration::from_secs(2 * 60 * 60),
        }
    }
}

impl RetryPolicy {
    /// The defaults, with the exchange time of [`crate::net::http::REQUEST_TIMEOUT_VAR`] and the
    /// delivery time of [`DELIVERY_TIMEOUT_VAR`] when set.
    pub fn from_env() -> Self {
        let default = RetryPolicy::default();
        RetryPolicy {
            request_timeout: crate::net::http::request_timeout_from_env()
                .unwrap_or(default.request_timeout),
            delivery_timeout: crate::net::http::seconds_from_env(DELIVERY_TIMEOUT_VAR)
                .unwrap_or(default.delivery_timeout),
            ..default
        }
    }
}

/// Seconds one delivery may take in all ([`RetryPolicy::delivery_timeout`]).
pub const DELIVERY_TIMEOUT_VAR: &str = "ATRS_OFFICE365_DELIVERY_TIMEOUT";

/// The ids support needs to find a call: Graph's `request-id`, ours, and Graph's date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallIds {
    /// Graph's `request-id`.
    pub request_id: Option<String>,
    /// The `client-request-id` sent.
    pub client_request_id: String,
    /// `innerError.date` of an error.
    pub date: Option<String>,
}

impl CallIds {
    /// As named pairs for a receipt or an error's details.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        if let Some(r) = &self.request_id {
            v.push(("request-id".to_owned(), r.clone()));
        }
        v.push((
            "client-request-id".to_owned(),
            self.client_request_id.clone(),
        ));
        if let Some(d) = &self.date {
            v.push(("date".to_owned(), d.clone()));
        }
        v
    }
}

/// Why a Graph call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphFailure {
    /// Graph answered with an error.
    #[error("Microsoft Graph answered HTTP {status} {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Graph's `error.code` (empty when the body was not Graph's).
        code: String,
        /// Graph's `error.message`.
        message: String,
        /// Request ids.
        ids: Box<CallIds>,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
        /// A 401's claims challenge (the claims JSON), when `WWW-Authenticate` carried one.
        claims: Option<String>,
    },
    /// No answer: no connection, a time-out, or a connection that broke off.
    #[error("{what} ({host})")]
    Transport {
        /// What happened, in words.
        what: String,
        /// Whether the request may have reached the server (anything but a failed connect).
        maybe_delivered: bool,
        /// The host asked.
        host: String,
        /// Request ids (no `request-id`: there was no answer).
        ids: Box<CallIds>,
    },
    /// The host cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The delivery ran past [`RetryPolicy::delivery_timeout`].
    #[error("the delivery took longer than {} s ({host})", .limit.as_secs())]
    Deadline {
        /// The bound.
        limit: Duration,
        /// The host being asked (or waited for) when it passed.
        host: String,
    },
    /// The account's token could not be had.
    #[error("{}", .0.message())]
    Token(PluginError),
}

impl GraphFailure {
    /// Whether trying again may help (throttling, a server fault, a broken connection).
    pub fn is_transient(&self) -> bool {
        match self {
            GraphFailure::Refused { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            GraphFailure::Transport { .. } => true,
            GraphFailure::Cancelled | GraphFailure::Token(_) | GraphFailure::Deadline { .. } => {
                false
            }
        }
    }

    /// Whether a request that failed this way may have reached the server.
    pub fn maybe_delivered(&self) -> bool {
        matches!(
            self,
            GraphFailure::Transport {
                maybe_delivered: true,
                ..
            }
        )
    }

    /// Graph's error code, if Graph answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphFailure::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, if there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphFailure::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A Graph answer with a success status.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Request ids.
    pub ids: CallIds,
    /// `Location`, when sent.
    pub location: Option<String>,
    /// The JSON body (`Null` when empty).
    pub body: serde_json::Value,
}

/// A request body.
#[derive(Clone)]
pub enum Body {
    /// None.
    Empty,
    /// JSON.
    Json(serde_json::Value),
    /// Raw bytes of a file (a fragment, or a small file), with `Content-Range` when a fragment.
    Bytes {
        /// The bytes.
        data: Vec<u8>,
        /// `Content-Range` value.
        range: Option<String>,
    },
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Json(_) => f.write_str("Json(..)"),
            Body::Bytes { data, range } => write!(f, "Bytes({} bytes, {range:?})", data.len()),
        }
    }
}

/// Whether a request carries the account's bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// A Graph call.
    Bearer,
    /// A pre-authenticated upload URL: no `Authorization` header.
    None,
}

/// The Graph client of one delivery.
#[derive(Clone)]
pub struct Graph {
    client: reqwest::Client,
    base: Url,
    token: TokenFn,
    current: Arc<Mutex<Option<Secret>>>,
    policy: RetryPolicy,
    cancel: Cancel,
    /// When [`RetryPolicy::delivery_timeout`] runs out (from the client's creation).
    deadline: tokio::time::Instant,
    /// Requests in flight for the account ([`crate::delivery::politeness`]); `None`: unbounded.
    permits: Option<Arc<Semaphore>>,
    /// The mailbox an application account acts for (`/users/{mailbox}` where a user
    /// account says `/me`); `None` for a user account.
    acting_for: Option<String>,
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph")
            .field("base", &self.base.as_str())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Graph {
    /// A client for the Graph at `graph_base` (`https://graph.microsoft.com`); `loopback_only`
    /// skips system proxies (a local test server).
    pub fn new(
        graph_base: &Url,
        token: TokenFn,
        policy: RetryPolicy,
        cancel: Cancel,
        loopback_only: bool,
    ) -> Result<Self, PluginError> {
        let base = graph_base.join("v1.0/").map_err(|_| {
            PluginError::internal(format!(
                "{graph_base} is not a usable Microsoft Graph address."
            ))
        })?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(policy.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(crate::delivery::politeness::USER_AGENT);
        if loopback_only {
            builder = builder.no_proxy();
        }
        crate::net::tls::install();
        let client = builder.build().map_err(|e| {
            PluginError::internal(format!("The HTTP client could not be set up ({e})."))
        })?;
        let now = tokio::time::Instant::now();
        // A bound too large to add is no bound: a century stands in for it.
        let deadline = now
            .checked_add(policy.delivery_timeout)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600));
        Ok(Graph {
            client,
            base,
            token,
            current: Arc::new(Mutex::new(None)),
            policy,
            cancel,
            deadline,
            permits: None,
            acting_for: None,
        })
    }

    /// The same client, its requests bounded by `permits` (one each while in flight):
    /// [`crate::delivery::politeness::permits_for`] shares them among an account's deliveries.
    pub fn with_permits(mut self, permits: Arc<Semaphore>) -> Self {
        self.permits = Some(permits);
        self
    }

    /// The same client acting for `mailbox` (an application account: nobody signs in, so
    /// there is no `/me`).
    pub fn acting_for(mut self, mailbox: Option<String>) -> Self {
        self.acting_for = mailbox;
        self
    }

    /// The segments that name whose mailbox and OneDrive a call reaches: `me` for a user
    /// account, `users/{mailbox}` for an application account, or `users/{sender}` when
    /// a delivery names another sender.
    pub fn owner<'a>(&'a self, sender: Option<&'a str>) -> Vec<&'a str> {
        match (sender, self.acting_for.as_deref()) {
            (Some(s), _) | (None, Some(s)) => vec!["users", s],
            (None, None) => vec!["me"],
        }
    }

    /// Whether this client acts for a mailbox with nobody signed in.
    pub fn is_application(&self) -> bool {
        self.acting_for.is_some()
    }

    /// The cancel signal of this delivery.
    pub fn cancel(&self) -> &Cancel {
        &self.cancel
    }

    /// The Graph's own address (`https://graph.microsoft.com/v1.0/`): what upload session
    /// URLs are checked against.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn past_deadline(&self, host: &str) -> GraphFailure {
        GraphFailure::Deadline {
            limit: self.policy.delivery_timeout,
            host: host.to_owned(),
        }
    }

    /// `base/v1.0/` + `segments`, each percent-encoded (`root:` and `name:` keep their colon).
    /// A `.` or `..` segment would be dropped and a `:` would end Graph's path addressing, so
    /// values from a request are checked first ([`crate::delivery::graph_path`]).
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        url
    }

    /// `base/v1.0/` + an already percent-encoded relative path.
    pub fn url_encoded(&self, relative: &str) -> Option<Url> {
        self.base.join(relative).ok()
    }

    /// A call with the retry policy and one new token on 401: issued for the claims when the
    /// 401 is a claims challenge, else a plain refresh — never both, so a challenge that
    /// comes back is the answer. A `POST` whose connection broke off after it may have
    /// reached Graph is not repeated (it could send a mail twice).
    pub async fn send(&self, method: Method, url: Url, body: Body) -> Result<Reply, GraphFailure> {
        let repeatable = method != Method::POST;
        let ids = CallIds {
            client_request_id: new_id(),
            ..CallIds::default()
        };
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .once(method.clone(), url.clone(), &body, Auth::Bearer, &ids)
                .await
            {
                Err(GraphFailure::Refused {
                    status: 401,
                    claims,
                    ..
                }) if !renewed => {
                    renewed = true;
                    let ask = match claims {
                        Some(claims) => TokenAsk::WithClaims(claims),
                        None => TokenAsk::Renewed,
                    };
                    self.fetch_token(ask).await?;
                }
                Err(e)
                    if e.is_transient()
                        && attempt < self.policy.attempts
                        && (repeatable || !e.maybe_delivered()) =>
                {
                    if self.pause(&e, attempt).await? {
                        return Err(GraphFailure::Cancelled);
                    }
                }
                other => return other,
            }
        }
    }

    /// One exchange, no retry.
    pub async fn once(
        &self,
        method: Method,
        url: Url,
        body: &Body,
        auth: Auth,
        ids: &CallIds,
    ) -> Result<Reply, GraphFailure> {
        if self.cancel.is_raised() {
            return Err(GraphFailure::Cancelled);
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        if tokio::time::Instant::now() >= self.deadline {
            return Err(self.past_deadline(&host));
        }
        let mut req = self
            .client
            .request(method, url)
            .header("client-request-id", &ids.client_request_id)
            .header("return-client-request-id", "true");
        if auth == Auth::Bearer {
            let token = self.fetch_token(TokenAsk::Current).await?;
            req = req.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
        }
        let _permit = match &self.permits {
            Some(permits) => tokio::select! {
                p = permits.clone().acquire_owned() => p.ok(),
                _ = self.cancel.raised() => return Err(GraphFailure::Cancelled),
            },
            None => None,
        };
        req = match body {
            Body::Empty => req.header(reqwest::header::CONTENT_LENGTH, 0),
            Body::Json(v) => req
                .header(CONTENT_TYPE, "application/json")
                .body(v.to_string()),
            Body::Bytes { data, range } => {
                let r = req
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(data.clone());
                match range {
                    Some(range) => r.header(reqwest::header::CONTENT_RANGE, range),
                    None => r,
                }
            }
        };
        let exchange = async {
            let response = req.send().await.map_err(|e| transport(&e, &host, ids))?;
            let status = response.status();
            let headers = response.headers().clone();
            let mut bytes = Vec::new();
            let mut response = response;
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| transport(&e, &host, ids))?
            {
                if bytes.len() + chunk.len() > MAX_ANSWER {
                    return Err(GraphFailure::Transport {
                        what: format!("the answer was larger than {MAX_ANSWER} bytes"),
                        maybe_delivered: true,
                        host: host.clone(),
                        ids: Box::new(ids.clone()),
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            answer(status, &headers, &bytes, &host, ids)
        };
        tokio::select! {
            r = exchange => r,
            _ = self.cancel.raised() => Err(GraphFailure::Cancelled),
            _ = tokio::time::sleep_until(self.deadline) => Err(self.past_deadline(&host)),
        }
    }

    /// Best-effort clean-up after a failure or a cancel (delete a draft, cancel an upload
    /// session): one try, at most 5 s, run even when the delivery is cancelled.
    pub async fn cleanup(&self, method: Method, url: Url, auth: Auth) -> bool {
        let budget = Duration::from_secs(5);
        let _permit = match &self.permits {
            Some(permits) => {
                match tokio::time::timeout(budget, permits.clone().acquire_owned()).await {
                    Ok(Ok(p)) => Some(p),
                    _ => return false,
                }
            }
            None => None,
        };
        let mut req = self
            .client
            .request(method, url)
            .timeout(budget)
            .header("client-request-id", new_id());
        if auth == Auth::Bearer {
            let token = self
                .current
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            match token {
                Some(t) => req = req.header(AUTHORIZATION, format!("Bearer {}", t.expose())),
                None => return false,
            }
        }
        matches!(req.send().await, Ok(r) if r.status().is_success())
    }

    /// Waits before another try; `Ok(true)` when cancelled meanwhile.
    pub async fn pause(&self, e: &GraphFailure, attempt: u32) -> Result<bool, GraphFailure> {
        let wait = match e {
            GraphFailure::Refused {
                retry_after: Some(after),
                ..
            } => {
                if *after > self.policy.max_retry_after {
                    return Err(e.clone());
                }
                *after
            }
            _ => self
                .policy
                .backoff
                .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1))),
        };
        let ends = tokio::time::Instant::now().checked_add(wait);
        if ends.is_none_or(|ends| ends > self.deadline) {
            return Err(self.past_deadline("waiting to try again"));
        }
        Ok(self.cancel.sleep(wait).await)
    }

    /// The retry policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    async fn fetch_token(&self, ask: TokenAsk) -> Result<Secret, GraphFailure> {
        if ask == TokenAsk::Current {
            if let Some(t) = self
                .current
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
            {
                return Ok(t);
            }
        }
        let fetch = self.token.clone();
        let token = tokio::task::spawn_blocking(move || fetch(ask))
            .await
            .map_err(|_| {
                GraphFailure::Token(PluginError::internal(
                    "Getting the account's access token failed inside the plugin.",
                ))
            })?
            .map_err(GraphFailure::Token)?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        Ok(token)
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Why a success answer with this body cannot be Graph's, if it cannot: Graph answers a
/// success with JSON or with no body, so a web page (a proxy or captive portal answering in
/// its place) or JSON cut short is no proof that anything was done.
fn not_from_graph(headers: &HeaderMap, bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let content_type = header(headers, CONTENT_TYPE.as_str()).unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "text/html" {
        return Some("a web page came back instead of Graph's answer (a proxy or captive portal may be answering in its place)".to_owned());
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
        return Some("Graph's answer was cut short or unreadable".to_owned());
    }
    None
}

/// A success as a [`Reply`], an error status as [`GraphFailure::Refused`]; a success that
/// cannot be Graph's (a web page, or a body cut short) as [`GraphFailure::Transport`] that may have
/// been delivered, so a `POST` is not repeated. Also what the fuzz target `graph_error`
/// drives.
pub fn answer(
    status: StatusCode,
    headers: &HeaderMap,
    bytes: &[u8],
    host: &str,
    sent: &CallIds,
) -> Result<Reply, GraphFailure> {
    if status.is_success() {
        if let Some(what) = not_from_graph(headers, bytes) {
            return Err(GraphFailure::Transport {
                what,
                maybe_delivered: true,
                host: host.to_owned(),
                ids: Box::new(sent.clone()),
            });
        }
    }
    let body: serde_json::Value = serde_json::from_slice(bytes).unwrap_or(serde_json::Value::Null);
    let inner = &body["error"]["innerError"];
    // The ids and the error text are the server's words: no control characters get through.
    let ids = CallIds {
        request_id: clean_opt(
            header(headers, "request-id")
                .as_deref()
                .or_else(|| inner["request-id"].as_str()),
        ),
        client_request_id: sent.client_request_id.clone(),
        date: clean_opt(inner["date"].as_str()),
    };
    if status.is_success() {
        return Ok(Reply {
            status: status.as_u16(),
            ids,
            location: header(headers, LOCATION.as_str()),
            body,
        });
    }
    let retry_after = header(headers, RETRY_AFTER.as_str())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    Err(GraphFailure::Refused {
        status: status.as_u16(),
        code: clean(body["error"]["code"].as_str().unwrap_or_default()),
        message: clean(body["error"]["message"].as_str().unwrap_or_default()),
        ids: Box::new(ids),
        retry_after,
        claims: (status == StatusCode::UNAUTHORIZED)
            .then(|| header(headers, WWW_AUTHENTICATE.as_str()))
            .flatten()
            .and_then(|h| crate::authority::claims::challenge_claims(&h)),
    })
}

fn transport(e: &reqwest::Error, host: &str, ids: &CallIds) -> GraphFailure {
    let what = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "no connection could be opened"
    } else {
        "the connection broke off"
    };
    GraphFailure::Transport {
        what: what.to_owned(),
        maybe_delivered: !e.is_connect(),
        host: host.to_owned(),
        ids: Box::new(ids.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_and_permanent_are_told_apart() {
        let refused = |status| GraphFailure::Refused {
            status,
            code: String::new(),
            message: String::new(),
            ids: Box::default(),
            retry_after: None,
            claims: None,
        };
        for s in [429, 500, 502, 503, 504] {
            assert!(refused(s).is_transient(), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 413, 416, 423, 507] {
            assert!(!refused(s).is_transient(), "{s}");
        }
    }

    #[test]
    fn urls_keep_colons_and_encode_names() {
        let (_s, cancel) = crate::delivery::progress::cancel_pair();
        let token: TokenFn = Arc::new(|_| Ok(Secret::new("t")));
        let g = Graph::new(
            &Url::parse("http://127.0.0.1:9").unwrap(),
            token,
            RetryPolicy::default(),
            cancel,
            true,
        )
        .unwrap();
        let u = g.url(&["me", "drive", "root:", "Reports", "a b#1.pdf:", "content"]);
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:9/v1.0/me/drive/root:/Reports/a%20b%231.pdf:/content"
        );
    }

    #[test]
    fn a_success_that_cannot_be_graph_s_is_no_success() {
        let sent = CallIds {
            client_request_id: "c-1".into(),
            ..CallIds::default()
        };
        let typed = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, ct.parse().unwrap());
            h
        };
        let html = typed("text/html; charset=utf-8");
        match answer(
            StatusCode::OK,
            &html,
            b"<html>Sign in to the Wi-Fi</html>",
            "graph",
            &sent,
        ) {
            Err(e @ GraphFailure::Transport { .. }) => {
                assert!(e.maybe_delivered(), "a POST must not be repeated");
                assert!(e.to_string().contains("web page"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        let json = typed("application/json");
        assert!(matches!(
            answer(StatusCode::OK, &json, br#"{"id":"abc","na"#, "graph", &sent),
            Err(GraphFailure::Transport { .. })
        ));
        let ok = answer(
            StatusCode::CREATED,
            &json,
            br#"{"id":"abc"}"#,
            "graph",
            &sent,
        )
        .unwrap();
        assert_eq!(ok.body["id"], "abc");
        assert!(answer(StatusCode::ACCEPTED, &HeaderMap::new(), b"", "graph", &sent).is_ok());
    }

    #[test]
    fn a_401_with_a_claims_challenge_carries_the_claims_and_others_do_not() {
        use base64::Engine;
        let claims = r#"{"access_token":{"nbf":{"essential":true,"value":"1"}}}"#;
        let mut h = HeaderMap::new();
        h.insert(
            WWW_AUTHENTICATE,
            format!(
                r#"Bearer realm="", error="insufficient_claims", claims="{}""#,
                base64::engine::general_purpose::STANDARD.encode(claims)
            )
            .parse()
            .unwrap(),
        );
        let sent = CallIds::default();
        let body = br#"{"error":{"code":"InvalidAuthenticationToken","message":"m"}}"#;
        match answer(StatusCode::UNAUTHORIZED, &h, body, "graph", &sent) {
            Err(GraphFailure::Refused {
                claims: Some(c), ..
            }) => assert_eq!(c, claims),
            other => panic!("{other:?}"),
        }
        // The same header on another status is no challenge; a plain 401 has none.
        assert!(matches!(
            answer(StatusCode::FORBIDDEN, &h, body, "graph", &sent),
            Err(GraphFailure::Refused { claims: None, .. })
        ));
        assert!(matches!(
            answer(
                StatusCode::UNAUTHORIZED,
                &HeaderMap::new(),
                body,
                "graph",
                &sent
            ),
            Err(GraphFailure::Refused { claims: None, .. })
        ));
    }

    #[test]
    fn error_answers_keep_the_ids_and_retry_after() {
        let mut h = HeaderMap::new();
        h.insert("request-id", "r-1".parse().unwrap());
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        let body = br#"{"error":{"code":"activityLimitReached","message":"m","innerError":{"date":"2026-01-01T00:00:00","request-id":"r-1"}}}"#;
        let sent = CallIds {
            client_request_id: "c-1".into(),
            ..CallIds::default()
        };
        match answer(StatusCode::TOO_MANY_REQUESTS, &h, body, "graph", &sent) {
            Err(GraphFailure::Refused {
                code,
                ids,
                retry_after,
                ..
            }) => {
                assert_eq!(code, "activityLimitReached");
                assert_eq!(ids.request_id.as_deref(), Some("r-1"));
                assert_eq!(ids.client_request_id, "c-1");
                assert_eq!(ids.date.as_deref(), Some("2026-01-01T00:00:00"));
                assert_eq!(retry_after, Some(Duration::from_secs(7)));
            }
            other => panic!("{other:?}"),
        }
    }
}

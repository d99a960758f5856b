//! Fault injection per endpoint, and the middleware that applies faults and logs requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::connection::ConnHandle;
use crate::errors::{EntraError, GraphError};
use crate::graph_call::Call;
use crate::state::Shared;
use crate::stats::RequestRecord;
use crate::{pages, reply, DEVICE_CODE_GRANT_TYPE};

/// An endpoint of the mock, as a fault target and a stats key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/{tenant}/v2.0/.well-known/openid-configuration`.
    Discovery,
    /// `/{tenant}/oauth2/v2.0/devicecode`.
    DeviceCode,
    /// `/{tenant}/oauth2/v2.0/authorize`.
    Authorize,
    /// `/{tenant}/oauth2/v2.0/token`.
    Token,
    /// Microsoft Graph under `/v1.0/`.
    Graph,
    /// `/oidc/userinfo`.
    UserInfo,
    /// `/{tenant}/discovery/v2.0/keys`.
    Keys,
    /// The `/devicelogin` pages.
    DeviceLogin,
    /// The sign-in, MFA and consent pages under `/login/`.
    SignIn,
    /// `/{tenant}/oauth2/v2.0/logout`.
    Logout,
    /// Upload URLs (`/upload/{id}`) of attachment and drive upload sessions.
    Upload,
}

impl Endpoint {
    /// Which endpoint a request path addresses.
    pub(crate) fn classify(path: &str) -> Option<Endpoint> {
        let e = if path.ends_with("/v2.0/.well-known/openid-configuration") {
            Endpoint::Discovery
        } else if path.ends_with("/oauth2/v2.0/devicecode") {
            Endpoint::DeviceCode
        } else if path.ends_with("/oauth2/v2.0/authorize") {
            Endpoint::Authorize
        } else if path.ends_with("/oauth2/v2.0/token") {
            Endpoint::Token
        } else if path.ends_with("/oauth2/v2.0/logout") {
            Endpoint::Logout
        } else if path.ends_with("/discovery/v2.0/keys") {
            Endpoint::Keys
        } else if path.starts_with("/upload/") {
            Endpoint::Upload
        } else if path.starts_with("/v1.0/") {
            Endpoint::Graph
        } else if path == "/oidc/userinfo" {
            Endpoint::UserInfo
        } else if path.starts_with("/devicelogin") {
            Endpoint::DeviceLogin
        } else if path.starts_with("/login/") {
            Endpoint::SignIn
        } else {
            return None;
        };
        Some(e)
    }
}

/// A misbehaviour to inject into an endpoint's responses.
///
/// As JSON (for `POST /_mock/faults`), tagged by `kind`: `{"kind":"delay","ms":1500}`,
/// `{"kind":"status","status":503,"retry_after":7}`, `{"kind":"html"}`,
/// `{"kind":"html_error","status":502}`, `{"kind":"truncated"}`, `{"kind":"reset"}`,
/// `{"kind":"oversized"}`, `{"kind":"slow_down","times":2}`, `{"kind":"reset_mid_body"}`,
/// `{"kind":"flood","bytes":10485760}`, `{"kind":"go_down"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FaultWire", into = "FaultWire")]
pub enum Fault {
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer with this status and the endpoint's error body (Entra JSON, Graph JSON, or an
    /// HTML page at /authorize), with `Retry-After` when given.
    Status {
        /// HTTP status, e.g. 500 or 503.
        status: u16,
        /// Seconds for `Retry-After`.
        retry_after: Option<u64>,
    },
    /// `200 OK` with an HTML page where JSON was expected (a captive portal or proxy).
    Html,
    /// An HTML error page with this status (a gateway's 502/503 page).
    HtmlError {
        /// HTTP status.
        status: u16,
    },
    /// The real response with `Content-Length` as declared but only half the body, then close.
    Truncated,
    /// Close the socket with a TCP reset before any response byte (the request is not handled).
    Reset,
    /// `200 OK` with a 20 MiB JSON-looking body.
    Oversized,
    /// The real response's head and half its body, then a TCP reset (a connection cut
    /// mid-transfer, where [`Fault::Truncated`] closes it cleanly).
    ResetMidBody,
    /// `200 OK` JSON-looking, `bytes` long, sent chunked with no `Content-Length`, so only a
    /// client that counts what it reads stops it.
    Flood {
        /// Body size in bytes.
        bytes: usize,
    },
    /// Answer this request normally (with `Connection: close`), then stop listening: every
    /// later connection is refused, as from a server that went down.
    GoDown,
    /// Answer device-code polls with `slow_down` this many times (other requests pass).
    SlowDown {
        /// How many polls get `slow_down`.
        times: u32,
    },
}

/// Size of the [`Fault::Oversized`] body.
pub const OVERSIZED_BYTES: usize = 20 * 1024 * 1024;

impl Fault {
    /// A short name for logs and stats.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Delay(_) => "delay",
            Fault::Status { .. } => "status",
            Fault::Html => "html",
            Fault::HtmlError { .. } => "html_error",
            Fault::Truncated => "truncated",
            Fault::Reset => "reset",
            Fault::Oversized => "oversized",
            Fault::SlowDown { .. } => "slow_down",
            Fault::ResetMidBody => "reset_mid_body",
            Fault::Flood { .. } => "flood",
            Fault::GoDown => "go_down",
        }
    }
}

/// The JSON form of [`Fault`].
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultWire {
    Delay {
        ms: u64,
    },
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    Html,
    HtmlError {
        status: u16,
    },
    Truncated,
    Reset,
    Oversized,
    SlowDown {
        times: u32,
    },
    ResetMidBody,
    Flood {
        bytes: usize,
    },
    GoDown,
}

impl TryFrom<FaultWire> for Fault {
    type Error = String;
    fn try_from(w: FaultWire) -> Result<Self, String> {
        let valid = |s: u16| {
            StatusCode::from_u16(s)
                .map(|_| s)
                .map_err(|_| format!("{s} is not an HTTP status"))
        };
        Ok(match w {
            FaultWire::Delay { ms } => Fault::Delay(Duration::from_millis(ms)),
            FaultWire::Status {
                status,
                retry_after,
            } => Fault::Status {
                status: valid(status)?,
                retry_after,
            },
            FaultWire::Html => Fault::Html,
            FaultWire::HtmlError { status } => Fault::HtmlError {
                status: valid(status)?,
            },
            FaultWire::Truncated => Fault::Truncated,
            FaultWire::Reset => Fault::Reset,
            FaultWire::Oversized => Fault::Oversized,
            FaultWire::SlowDown { times } => Fault::SlowDown { times },
            FaultWire::ResetMidBody => Fault::ResetMidBody,
            FaultWire::Flood { bytes } => Fault::Flood { bytes },
            FaultWire::GoDown => Fault::GoDown,
        })
    }
}

impl From<Fault> for FaultWire {
    fn from(f: Fault) -> Self {
        match f {
            Fault::Delay(d) => FaultWire::Delay {
                ms: d.as_millis() as u64,
            },
            Fault::Status {
                status,
                retry_after,
            } => FaultWire::Status {
                status,
                retry_after,
            },
            Fault::Html => FaultWire::Html,
            Fault::HtmlError { status } => FaultWire::HtmlError { status },
            Fault::Truncated => FaultWire::Truncated,
            Fault::Reset => FaultWire::Reset,
            Fault::Oversized => FaultWire::Oversized,
            Fault::SlowDown { times } => FaultWire::SlowDown { times },
            Fault::ResetMidBody => FaultWire::ResetMidBody,
            Fault::Flood { bytes } => FaultWire::Flood { bytes },
            Fault::GoDown => FaultWire::GoDown,
        }
    }
}

/// A fault armed on an endpoint.
#[derive(Debug)]
struct Armed {
    fault: Fault,
    /// Requests left to hit; `None` = until cleared.
    remaining: Option<u32>,
}

/// The faults armed per endpoint (one per endpoint; arming replaces).
#[derive(Debug, Default)]
pub(crate) struct FaultTable(Mutex<HashMap<Endpoint, Armed>>);

impl FaultTable {
    /// Arm `fault` on `endpoint` for `times` requests (`None` = until cleared).
    pub fn set(&self, endpoint: Endpoint, fault: Fault, times: Option<u32>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let remaining = match (&fault, times) {
            (_, Some(n)) => Some(n),
            (Fault::SlowDown { times }, None) => Some(*times),
            (_, None) => None,
        };
        if remaining == Some(0) {
            map.remove(&endpoint);
        } else {
            map.insert(endpoint, Armed { fault, remaining });
        }
    }

    /// Disarm `endpoint`, or every endpoint.
    pub fn clear(&self, endpoint: Option<Endpoint>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match endpoint {
            Some(e) => {
                map.remove(&e);
            }
            None => map.clear(),
        }
    }

    /// Whether a fault is armed on `endpoint` now (one armed for a number of requests is
    /// gone once they came).
    pub fn is_armed(&self, endpoint: Endpoint) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&endpoint)
    }

    /// The fault this request suffers, counting it against the armed number.
    fn take(&self, endpoint: Endpoint, grant_type: Option<&str>) -> Option<Fault> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let armed = map.get_mut(&endpoint)?;
        if matches!(armed.fault, Fault::SlowDown { .. })
            && grant_type != Some(DEVICE_CODE_GRANT_TYPE)
        {
            return None;
        }
        let fault = armed.fault.clone();
        if let Some(n) = armed.remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                map.remove(&endpoint);
            }
        }
        Some(fault)
    }
}

/// Middleware: classify the request, apply an armed fault, and log it (never secrets).
pub(crate) async fn intercept(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with("/_mock") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let endpoint = Endpoint::classify(&path);
    // Like Entra: a client's `client-request-id` is kept and echoed back.
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .cloned()
        .filter(|v| v.len() <= 64);
    let (req, grant_type) = if endpoint == Some(Endpoint::Token) {
        match read_grant_type(req).await {
            Ok(pair) => pair,
            Err(response) => return response,
        }
    } else {
        (req, None)
    };
    let fault = endpoint.and_then(|e| shared.faults.take(e, grant_type.as_deref()));
    let mut response = match (&fault, endpoint) {
        (Some(f), Some(e)) => apply(&shared, &conn, f, e, req, next).await,
        _ => next.run(req).await,
    };
    if let Some(id) = &client_request_id {
        response
            .headers_mut()
            .insert("client-request-id", id.clone());
    }
    let status = (fault != Some(Fault::Reset)).then(|| response.status().as_u16());
    shared.log(format_args!(
        "{method} {path} -> {}{}",
        status.map_or("reset".to_owned(), |s| s.to_string()),
        fault
            .as_ref()
            .map_or(String::new(), |f| format!(" (fault: {})", f.kind()))
    ));
    shared.stats.record(RequestRecord {
        method,
        path,
        endpoint,
        grant_type,
        status,
        fault: fault.map(|f| f.kind().to_owned()),
        client_request_id: client_request_id.and_then(|v| v.to_str().ok().map(str::to_owned)),
    });
    response
}

/// Buffer a token request's body to learn its `grant_type`, then rebuild the request.
async fn read_grant_type(req: Request) -> Result<(Request, Option<String>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response())?;
    let grant = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    Ok((Request::from_parts(parts, Body::from(bytes)), grant))
}

/// Answer `req` the way `fault` says.
async fn apply(
    shared: &Shared,
    conn: &ConnHandle,
    fault: &Fault,
    endpoint: Endpoint,
    req: Request,
    next: Next,
) -> Response {
    match fault {
        Fault::Delay(d) => {
            shared.pause(*d).await;
            next.run(req).await
        }
        Fault::Status {
            status,
            retry_after,
        } => status_reply(endpoint, *status, *retry_after, &Call::of(req.headers())),
        Fault::Html => reply::html(StatusCode::OK, pages::proxy_sign_in()),
        Fault::HtmlError { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            reply::html(status, pages::gateway_error(status))
        }
        Fault::Truncated => truncate(conn, next.run(req).await, false).await,
        Fault::ResetMidBody => truncate(conn, next.run(req).await, true).await,
        Fault::Flood { bytes } => flood(*bytes),
        Fault::GoDown => {
            let mut response = next.run(req).await;
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            // The port is closed before the answer leaves, so the client's next connection
            // is refused rather than caught in the closing listener's backlog.
            shared.go_down.send_replace(true);
            let mut closed = shared.port_closed.clone();
            let _ = tokio::time::timeout(Duration::from_secs(2), closed.wait_for(|c| *c)).await;
            response
        }
        Fault::Reset => {
            conn.reset();
            StatusCode::OK.into_response()
        }
        Fault::Oversized => oversized(),
        Fault::SlowDown { .. } => EntraError::slow_down().into_response(),
    }
}

/// The endpoint's own error shape for an injected status.
fn status_reply(
    endpoint: Endpoint,
    status: u16,
    retry_after: Option<u64>,
    call: &Call,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match endpoint {
        Endpoint::Graph | Endpoint::UserInfo | Endpoint::Upload => {
            call.fail(GraphError::injected(status, retry_after))
        }
        Endpoint::Authorize | Endpoint::DeviceLogin | Endpoint::SignIn | Endpoint::Logout => {
            let mut r = reply::html(status, pages::gateway_error(status));
            if let Some(secs) = retry_after {
                r.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, secs.into());
            }
            r
        }
        _ => EntraError::injected(status, retry_after).into_response(),
    }
}

/// Keep the real response's head (and its full `Content-Length`) but only half its body,
/// then close the connection (`reset`: with a TCP reset).
async fn truncate(conn: &ConnHandle, response: Response, reset: bool) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    conn.truncate_body(bytes.len() / 2, reset);
    Response::from_parts(parts, Body::from(bytes))
}

/// `bytes` of a JSON-looking object, `{"padding":"xxxx…`, in 64 KiB chunks, never closed:
/// a client that does not count will read all of it.
fn flood(bytes: usize) -> Response {
    const CHUNK: usize = 64 * 1024;
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    let head = Bytes::from_static(br#"{"padding":""#);
    let mut left = bytes.saturating_sub(head.len());
    let tail = std::iter::from_fn(move || {
        (left > 0).then(|| {
            let n = left.min(CHUNK);
            left -= n;
            chunk.slice(..n)
        })
    });
    let chunks = std::iter::once(head)
        .chain(tail)
        .map(Ok::<Bytes, std::convert::Infallible>);
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, reply::JSON_UTF8)],
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response()
}

/// A 20 MiB JSON object: `{"padding":"xxxx…"}`.
fn oversized() -> Response {
    static BODY: OnceLock<Bytes> = OnceLock::new();
    let body = BODY.get_or_init(|| {
        let head = br#"{"padding":""#;
        let tail = br#""}"#;
        let mut v = Vec::with_capacity(OVERSIZED_BYTES);
        v.extend_from_slice(head);
        v.resize(OVERSIZED_BYTES - tail.len(), b'x');
        v.extend_from_slice(tail);
        Bytes::from(v)
    });
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, reply::JSON_UTF8)],
        body.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_round_trip_through_json() {
        for f in [
            Fault::Delay(Duration::from_millis(1500)),
            Fault::Status {
                status: 503,
                retry_after: Some(7),
            },
            Fault::Html,
            Fault::HtmlError { status: 502 },
            Fault::Truncated,
            Fault::Reset,
            Fault::Oversized,
            Fault::SlowDown { times: 2 },
            Fault::ResetMidBody,
            Fault::Flood { bytes: 10 << 20 },
            Fault::GoDown,
        ] {
            let text = serde_json::to_string(&f).unwrap();
            assert_eq!(serde_json::from_str::<Fault>(&text).unwrap(), f, "{text}");
        }
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"status","status":42}"#).is_err());
    }

    #[test]
    fn armed_counts_run_down_and_slow_down_hits_only_device_polls() {
        let t = FaultTable::default();
        t.set(Endpoint::Token, Fault::SlowDown { times: 1 }, None);
        assert_eq!(t.take(Endpoint::Token, Some("refresh_token")), None);
        assert!(t
            .take(Endpoint::Token, Some(DEVICE_CODE_GRANT_TYPE))
            .is_some());
        assert!(t
            .take(Endpoint::Token, Some(DEVICE_CODE_GRANT_TYPE))
            .is_none());
        t.set(Endpoint::Graph, Fault::Html, None);
        assert!(t.take(Endpoint::Graph, None).is_some());
        assert!(t.take(Endpoint::Graph, None).is_some());
        t.clear(None);
        assert!(t.take(Endpoint::Graph, None).is_none());
    }

    #[test]
    fn paths_are_classified() {
        assert_eq!(
            Endpoint::classify("/common/v2.0/.well-known/openid-configuration"),
            Some(Endpoint::Discovery)
        );
        assert_eq!(
            Endpoint::classify("/x/oauth2/v2.0/token"),
            Some(Endpoint::Token)
        );
        assert_eq!(Endpoint::classify("/v1.0/me"), Some(Endpoint::Graph));
        assert_eq!(Endpoint::classify("/nothing"), None);
    }
}

//! The middleware that applies the faults armed in [`crate::faults`] and logs each
//! request (never secrets).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::connection::ConnHandle;
use crate::delivery_store::Target;
use crate::errors::{EntraError, GraphError};
use crate::faults::{Endpoint, Fault, OVERSIZED_BYTES};
use crate::graph_call::Call;
use crate::state::Shared;
use crate::stats::RequestRecord;
use crate::{pages, reply};

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
    let user_agent = req
        .headers()
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mailbox = match endpoint {
        Some(Endpoint::Graph | Endpoint::Upload) => mailbox_of(&shared, &req),
        _ => None,
    };
    let _counted = mailbox
        .as_deref()
        .map(|upn| shared.in_flight.enter(upn, &shared.stats));
    let challenge = match endpoint {
        Some(Endpoint::Graph) => claims_challenge_for(&shared, &req),
        _ => None,
    };
    let fault = match challenge {
        Some(_) => None,
        None => endpoint.and_then(|e| shared.faults.take(e, grant_type.as_deref())),
    };
    let mut response = match (challenge, &fault, endpoint) {
        (Some(claims), _, _) => {
            let call = Call::of(req.headers());
            drain(req).await;
            call.fail(GraphError::claims_challenge(claims))
        }
        (None, Some(f), Some(e)) => apply(&shared, &conn, f, e, req, next).await,
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
        user_agent,
    });
    response
}

/// The claims to challenge this Graph request with, when its bearer token's account has a
/// claims challenge armed that the token does not satisfy (counted per account).
fn claims_challenge_for(shared: &Shared, req: &Request) -> Option<String> {
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')?
        .1
        .trim();
    let (user, nbf) = {
        let store = shared.store();
        let entry = store.access.get(token)?;
        (entry.user.clone(), entry.claims_nbf)
    };
    let upn = shared.dir().user_by_id(&user)?.upn.clone();
    let claims = shared.claims.challenge(&upn, req.uri().path(), nbf)?;
    shared.stats.count_challenge(&upn);
    Some(claims)
}

/// The mailbox (the user's UPN) a Graph request or upload works on: the bearer token's
/// user, or for an upload URL the owner of the draft or OneDrive its session writes to.
fn mailbox_of(shared: &Shared, req: &Request) -> Option<String> {
    let user_id = match req.uri().path().strip_prefix("/upload/") {
        Some(session) => {
            let store = shared.deliveries();
            match &store.sessions.get(session)?.target {
                Target::Attachment { message, .. } => store.drafts.get(message)?.owner.clone(),
                Target::Drive { drive, .. } => drive.strip_prefix("me:")?.to_owned(),
            }
        }
        None => {
            let token = req
                .headers()
                .get(axum::http::header::AUTHORIZATION)?
                .to_str()
                .ok()?
                .split_once(' ')?
                .1
                .trim()
                .to_owned();
            let entry = shared.store().access.get(&token)?.clone();
            if entry.app_only {
                // An app token acts for the mailbox its path names.
                let who = req.uri().path().strip_prefix("/v1.0/users/")?;
                let who = who.split('/').next()?;
                return crate::bearer::named_user(shared, who).ok().map(|u| u.upn);
            }
            entry.user
        }
    };
    shared.dir().user_by_id(&user_id).map(|u| u.upn.clone())
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
        } => {
            let call = Call::of(req.headers());
            drain(req).await;
            status_reply(endpoint, *status, *retry_after, &call)
        }
        Fault::Html => {
            drain(req).await;
            reply::html(StatusCode::OK, pages::proxy_sign_in())
        }
        Fault::HtmlError { status } => {
            drain(req).await;
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

/// Reads and drops the request's body before an injected answer, as a real server does:
/// answering a large upload before reading it races the client, which may see the
/// connection close mid-send instead of the answer.
async fn drain(req: Request) {
    use futures_util::StreamExt;
    let mut body = req.into_body().into_data_stream();
    while let Some(Ok(_)) = body.next().await {}
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

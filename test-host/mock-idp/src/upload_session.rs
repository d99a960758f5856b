//! Upload URLs (`/upload/{id}`), pre-authenticated like Graph's: `PUT` a fragment with
//! `Content-Range`, `GET` for `nextExpectedRanges`, `DELETE` to cancel. Fragments are hashed as
//! they stream in; nothing is kept but the running SHA-256.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, HttpBody};
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::delivery_store::{
    finish, item_path, DeliveryStore, DriveItem, DriveRefusal, Session, StoredAttachment, Target,
    DRIVE_FRAGMENT_UNIT, DRIVE_MAX_FRAGMENT, MAIL_MAX_FRAGMENT, SESSION_LIFETIME,
};
use crate::errors::GraphError;
use crate::graph_call::Call;
use crate::ids;
use crate::state::Shared;

/// `GET /upload/{id}`: the session's `nextExpectedRanges`.
pub(crate) async fn status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = Call::of(&headers);
    let store = shared.deliveries();
    match live(&store, &id) {
        Ok(s) => call.json(StatusCode::OK, &progress(s)),
        Err(e) => call.fail(e),
    }
}

/// `DELETE /upload/{id}`: cancel the session.
pub(crate) async fn cancel(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let call = Call::of(&headers);
    let mut store = shared.deliveries();
    match store.sessions.remove(&id) {
        Some(_) => {
            store.counters.sessions_cancelled += 1;
            call.empty(StatusCode::NO_CONTENT)
        }
        None => call.fail(session_gone()),
    }
}

/// `PUT /upload/{id}`: one fragment, in order. A refused fragment's body is read to its end
/// before the answer, as a real server does: answering a large upload before reading it
/// races the client, which may then see the connection reset instead of the answer.
pub(crate) async fn fragment(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut body: Body,
) -> Response {
    let call = Call::of(&headers);
    match put(&shared, &id, &headers, &mut body).await {
        Ok(r) => r.into_response(&call, &shared.base_url),
        Err(e) => {
            drain(&mut body).await;
            call.fail(e)
        }
    }
}

/// Read and drop what is left of a request body.
async fn drain(body: &mut Body) {
    while let Some(Ok(_)) = poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {}
}

/// What a fragment ended in.
enum Outcome {
    /// More is expected.
    Partial(serde_json::Value, bool),
    /// An attachment was completed.
    Attachment { message: String, attachment: String },
    /// A drive item was completed (`true` = newly created).
    Item(DriveItem, bool),
}

impl Outcome {
    fn into_response(self, call: &Call, base: &str) -> Response {
        match self {
            Outcome::Partial(v, mail) => call.json(
                if mail {
                    StatusCode::OK
                } else {
                    StatusCode::ACCEPTED
                },
                &v,
            ),
            Outcome::Attachment {
                message,
                attachment,
            } => {
                let at = format!("{base}/v1.0/me/messages/{message}/attachments/{attachment}");
                call.json_at(StatusCode::CREATED, &json!({}), &at)
            }
            Outcome::Item(item, created) => call.json(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                &item.to_graph(),
            ),
        }
    }
}

async fn put(
    shared: &Shared,
    id: &str,
    headers: &HeaderMap,
    body: &mut Body,
) -> Result<Outcome, GraphError> {
    if headers.contains_key(AUTHORIZATION) {
        shared.deliveries().counters.authorized_puts += 1;
        return Err(GraphError::unauthenticated(
            "Upload URLs are pre-authenticated: send no Authorization header.",
        ));
    }
    let (start, end, total) = content_range(headers)?;
    let len = end - start + 1;
    if let Some(declared) = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if declared != len {
            return Err(invalid_range(
                "The Content-Length does not match the Content-Range.",
            ));
        }
    }
    let (mut hasher, failing) = {
        let mut store = shared.deliveries();
        if let Err((e, overlap)) = check_fragment(live(&store, id)?, start, len, total) {
            store.counters.refused_ranges += u64::from(overlap);
            return Err(e);
        }
        let session = live(&store, id)?;
        let hasher = session.hasher.clone();
        if session.size.is_none() && store.faults.quota_bytes.is_some_and(|q| total > q) {
            return Err(DriveRefusal::Quota.into_graph());
        }
        let failing = store.take_chunk_fault(start);
        (hasher, failing)
    };
    let unit = if failing { len / 2 } else { len };
    let keep = if failing && !is_mail(shared, id) {
        unit / DRIVE_FRAGMENT_UNIT * DRIVE_FRAGMENT_UNIT
    } else {
        unit
    };
    let mut received: u64 = 0;
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| invalid_range("The fragment's body broke off."))?;
        if let Ok(data) = frame.into_data() {
            let from = received;
            received += data.len() as u64;
            if from < keep {
                let upto = (keep - from).min(data.len() as u64) as usize;
                sha2::Digest::update(&mut hasher, &data[..upto]);
            }
            if received > len {
                break;
            }
        }
    }
    let mut store = shared.deliveries();
    store.counters.bytes_received += received;
    store.counters.fragments += 1;
    if received != len {
        return Err(invalid_range(
            "The fragment's body is not as long as its Content-Range says.",
        ));
    }
    let session = store.sessions.get_mut(id).ok_or_else(session_gone)?;
    if session.next != start {
        return Err(invalid_range(
            "Another fragment for this range arrived first.",
        ));
    }
    session.hasher = hasher;
    session.next = start + keep;
    session.size = Some(total);
    session.expires = Instant::now() + SESSION_LIFETIME;
    store.counters.bytes_accepted += keep;
    if failing {
        return Err(GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An unspecified error has occurred while storing the fragment.",
        ));
    }
    if start + keep < total {
        let s = store.sessions.get(id).ok_or_else(session_gone)?;
        return Ok(Outcome::Partial(progress(s), s.is_mail()));
    }
    let session = store.sessions.remove(id).ok_or_else(session_gone)?;
    complete(&mut store, session, total)
}

/// Store what a finished session uploaded.
fn complete(
    store: &mut DeliveryStore,
    session: Session,
    total: u64,
) -> Result<Outcome, GraphError> {
    let sha256 = finish(session.hasher);
    match session.target {
        Target::Attachment {
            message,
            name,
            content_type,
        } => {
            let draft = store.drafts.get_mut(&message).ok_or_else(|| {
                GraphError::new(
                    StatusCode::NOT_FOUND,
                    "ErrorItemNotFound",
                    "The draft this attachment belongs to no longer exists.",
                )
            })?;
            let attachment = ids::opaque(24);
            draft.attachments.push(StoredAttachment {
                id: attachment.clone(),
                name,
                content_type,
                size: total,
                sha256,
                via: "session",
            });
            Ok(Outcome::Attachment {
                message,
                attachment,
            })
        }
        Target::Drive {
            drive,
            folder,
            name,
            conflict,
            web_root,
        } => {
            let resolved = store
                .resolve_name(&drive, &folder, &name, &conflict, 0)
                .map_err(DriveRefusal::into_graph)?;
            let created = !store
                .items
                .contains_key(&(drive.clone(), item_path(&folder, &resolved)));
            let item = store.put_item(DriveItem {
                id: ids::opaque(24),
                web_url: format!("{web_root}/{}", item_path(&folder, &resolved)),
                drive,
                folder,
                name: resolved,
                size: total,
                sha256,
                via: "session",
            });
            Ok(Outcome::Item(item, created))
        }
    }
}

fn is_mail(shared: &Shared, id: &str) -> bool {
    shared
        .deliveries()
        .sessions
        .get(id)
        .is_some_and(Session::is_mail)
}

/// Refuse a fragment that is out of order, too large, or not a multiple of 320 KiB.
fn check_fragment(s: &Session, start: u64, len: u64, total: u64) -> Result<(), (GraphError, bool)> {
    let plain = |e: GraphError| Err((e, false));
    if s.size.is_some_and(|size| size != total) {
        return plain(invalid_range(
            "The total in Content-Range differs from the upload session's size.",
        ));
    }
    if start < s.next {
        return Err((GraphError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalidRange",
            format!(
                "The uploaded fragment overlaps with data that has already been received (next expected byte: {}).",
                s.next
            ),
        ), true));
    }
    if start > s.next {
        return plain(invalid_range(&format!(
            "Fragments must be uploaded in order; the next expected byte is {}.",
            s.next
        )));
    }
    let last = start + len == total;
    if s.is_mail() {
        if len > MAIL_MAX_FRAGMENT {
            return plain(invalid_range("A fragment may be at most 4 MB."));
        }
    } else if len > DRIVE_MAX_FRAGMENT {
        return plain(invalid_range("A fragment may be at most 60 MiB."));
    } else if !last && !len.is_multiple_of(DRIVE_FRAGMENT_UNIT) {
        return plain(invalid_range(
            "Fragments other than the last must be a multiple of 320 KiB (327,680 bytes).",
        ));
    }
    Ok(())
}

/// `Content-Range: bytes START-END/TOTAL`.
fn content_range(headers: &HeaderMap) -> Result<(u64, u64, u64), GraphError> {
    let raw = headers
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| invalid_range("A fragment needs a Content-Range header."))?;
    let parsed = raw.strip_prefix("bytes ").and_then(|r| {
        let (range, total) = r.split_once('/')?;
        let (s, e) = range.split_once('-')?;
        Some((s.parse().ok()?, e.parse().ok()?, total.parse().ok()?))
    });
    match parsed {
        Some((s, e, t)) if s <= e && e < t => Ok((s, e, t)),
        _ => Err(invalid_range(&format!(
            "The Content-Range header '{raw}' is not 'bytes START-END/TOTAL'."
        ))),
    }
}

/// The session, unless unknown or lapsed.
fn live<'a>(store: &'a DeliveryStore, id: &str) -> Result<&'a Session, GraphError> {
    match store.sessions.get(id) {
        Some(s) if Instant::now() < s.expires => Ok(s),
        _ => Err(session_gone()),
    }
}

/// `{"expirationDateTime", "nextExpectedRanges"}`: `"N"` for Outlook, `"N-"` for drives.
fn progress(s: &Session) -> serde_json::Value {
    let left = s.expires.saturating_duration_since(Instant::now());
    let expires = chrono::Utc::now() + left;
    let next = if s.is_mail() {
        s.next.to_string()
    } else {
        format!("{}-", s.next)
    };
    json!({
        "expirationDateTime": expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "nextExpectedRanges": [next],
    })
}

fn session_gone() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        "The upload session was not found; it was cancelled, completed or has expired.",
    )
}

fn invalid_range(message: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "invalidRange", message)
}

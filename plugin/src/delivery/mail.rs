//! Sending mail through Graph: `sendMail` when the attachments total at most
//! [`INLINE_LIMIT`]; above that a draft, one upload session per large attachment, then
//! `/send` — up to [`MAX_MESSAGE`], refused above it before anything is sent. A failure or a
//! cancel after the draft exists deletes the draft, so nothing is left half-sent.

use std::path::Path;

use atrs_host_sdk::{Attachment, DeliveryKind, DeliveryReceipt, MailRequest};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::delivery::byte_size;
use crate::delivery::delivery_error::{DeliveryError, Step};
use crate::delivery::graph::{Auth, Body, Graph, Reply};
use crate::delivery::graph_path::{single_segment, PathValue};
use crate::delivery::progress::Progress;
use crate::delivery::upload_session::{session_url, Upload, MAIL_FRAGMENT};

/// Attachments up to this total go inline in one `sendMail` (Graph: "under 3 MB").
pub const INLINE_LIMIT: u64 = 3_000_000;
/// The largest message Graph takes through upload sessions (150 MB).
pub const MAX_MESSAGE: u64 = 150 * 1024 * 1024;

/// An attachment with its size.
struct Sized<'a> {
    attachment: &'a Attachment,
    size: u64,
}

/// The mailbox sent as, when not the account's own, checked ([`crate::delivery::graph_path`]): it
/// becomes a segment of the Graph path (`/users/{mailbox}/sendMail`).
pub fn check_sender(request: &MailRequest) -> Result<(), DeliveryError> {
    match &request.from {
        Some(from) => single_segment(PathValue::Mailbox, from),
        None => Ok(()),
    }
}

/// The content bytes `request` will send (its attachments), checked against the limits.
pub fn content_size(request: &MailRequest) -> Result<u64, DeliveryError> {
    let mut total: u64 = 0;
    for a in &request.attachments {
        total = total.saturating_add(file_size(&a.path)?);
    }
    if total > MAX_MESSAGE {
        return Err(DeliveryError::TooLarge {
            what: format!(
                "The message's {} together",
                byte_size::count(request.attachments.len(), "attachment")
            ),
            size: total,
            limit: MAX_MESSAGE,
        });
    }
    Ok(total)
}

/// Refuses `request` when its attachments, as Exchange counts them (base64: 4/3 of their
/// bytes), exceed the mailbox's maximum message size `limit` — before any byte is sent.
pub fn check_message_limit(request: &MailRequest, limit: u64) -> Result<(), DeliveryError> {
    let size = content_size(request)?;
    let encoded = size.saturating_mul(4) / 3;
    if encoded > limit {
        return Err(DeliveryError::OverMessageLimit {
            size,
            encoded,
            limit,
        });
    }
    Ok(())
}

/// Send `request`. The receipt's id is the sent draft's message id; `sendMail` answers with
/// no id, so then it is the call's `client-request-id` (with Graph's `request-id` in the
/// details), which is what Microsoft support asks for.
pub async fn send(
    graph: &Graph,
    request: &MailRequest,
    progress: &Progress,
) -> Result<DeliveryReceipt, DeliveryError> {
    if request.to.is_empty() && request.cc.is_empty() && request.bcc.is_empty() {
        return Err(DeliveryError::Input(
            "The message has no recipients: give at least one address in To, Cc or Bcc.".into(),
        ));
    }
    check_sender(request)?;
    let total = content_size(request)?;
    let sized = request
        .attachments
        .iter()
        .map(|a| {
            Ok(Sized {
                attachment: a,
                size: file_size(&a.path)?,
            })
        })
        .collect::<Result<Vec<_>, DeliveryError>>()?;
    if total <= INLINE_LIMIT {
        send_inline(graph, request, &sized, total, progress).await
    } else {
        send_with_sessions(graph, request, &sized, total, progress).await
    }
}

async fn send_inline(
    graph: &Graph,
    request: &MailRequest,
    sized: &[Sized<'_>],
    total: u64,
    progress: &Progress,
) -> Result<DeliveryReceipt, DeliveryError> {
    progress.say("Sending the message…");
    let mut message = message_json(request);
    message["attachments"] = Value::Array(
        sized
            .iter()
            .map(|s| inline_attachment(s.attachment))
            .collect::<Result<_, _>>()?,
    );
    let mut segments = graph.owner(request.from.as_deref());
    segments.push("sendMail");
    let url = graph.url(&segments);
    let step = Step::SendMail {
        from: request.from.clone(),
    };
    let reply = graph
        .send(
            Method::POST,
            url,
            Body::Json(json!({"message": message, "saveToSentItems": true})),
        )
        .await
        .map_err(|e| DeliveryError::graph(step, e))?;
    progress.sent(total);
    Ok(receipt(request, sized, total, String::new(), None, &reply))
}

async fn send_with_sessions(
    graph: &Graph,
    request: &MailRequest,
    sized: &[Sized<'_>],
    total: u64,
    progress: &Progress,
) -> Result<DeliveryReceipt, DeliveryError> {
    progress.say("Creating a draft for the large attachments…");
    let mut message = message_json(request);
    if let Some(from) = &request.from {
        message["from"] = json!({"emailAddress": {"address": from}});
    }
    // Small attachments ride in the draft itself while they fit; the rest get sessions.
    let mut inline_bytes = 0;
    let mut inline = Vec::new();
    let mut large = Vec::new();
    for s in sized {
        if s.size < INLINE_LIMIT && inline_bytes + s.size <= INLINE_LIMIT {
            inline_bytes += s.size;
            inline.push(inline_attachment(s.attachment)?);
        } else {
            large.push(s);
        }
    }
    message["attachments"] = Value::Array(inline);
    let draft = graph
        .send(
            Method::POST,
            draft_url(graph, request, &[]),
            Body::Json(message),
        )
        .await
        .map_err(|e| DeliveryError::graph(Step::Draft, e))?;
    let id = draft.body["id"].as_str().unwrap_or_default().to_owned();
    if id.is_empty() {
        return Err(DeliveryError::Protocol("a draft without an id".into()));
    }
    progress.sent(inline_bytes);
    let sent = attach_and_send(graph, request, &id, &large, inline_bytes, progress).await;
    match sent {
        Ok(reply) => {
            let web = draft.body["webLink"].as_str().map(str::to_owned);
            Ok(receipt(request, sized, total, id, web, &reply))
        }
        Err(e) => {
            progress.say("Deleting the unsent draft…");
            graph
                .cleanup(
                    Method::DELETE,
                    draft_url(graph, request, &[&id]),
                    Auth::Bearer,
                )
                .await;
            Err(e)
        }
    }
}

async fn attach_and_send(
    graph: &Graph,
    request: &MailRequest,
    id: &str,
    large: &[&Sized<'_>],
    mut before: u64,
    progress: &Progress,
) -> Result<Reply, DeliveryError> {
    for s in large {
        progress.say(&format!("Uploading {}…", s.attachment.name));
        let session = graph
            .send(
                Method::POST,
                draft_url(graph, request, &[id, "attachments", "createUploadSession"]),
                Body::Json(json!({"AttachmentItem": {
                    "attachmentType": "file",
                    "name": s.attachment.name,
                    "size": s.size,
                    "contentType": s.attachment.content_type,
                }})),
            )
            .await
            .map_err(|e| DeliveryError::graph(Step::Draft, e))?;
        Upload {
            graph,
            url: session_url(graph, &session)?,
            path: &s.attachment.path,
            total: s.size,
            fragment: MAIL_FRAGMENT,
            progress,
            before,
            step: Step::Draft,
        }
        .run()
        .await?;
        before += s.size;
    }
    progress.say("Sending the message…");
    graph
        .send(
            Method::POST,
            draft_url(graph, request, &[id, "send"]),
            Body::Empty,
        )
        .await
        .map_err(|e| {
            DeliveryError::graph(
                Step::SendDraft {
                    from: request.from.clone(),
                },
                e,
            )
        })
}

/// `…/messages/{rest}` in the mailbox drafts live in: the signed-in user's (`/me`, even
/// when sending as another mailbox) or, for an application account, the sending mailbox's.
fn draft_url(graph: &Graph, request: &MailRequest, rest: &[&str]) -> url::Url {
    let mut segments = match graph.is_application() {
        true => graph.owner(request.from.as_deref()),
        false => vec!["me"],
    };
    segments.push("messages");
    segments.extend_from_slice(rest);
    graph.url(&segments)
}

/// The message JSON without attachments.
fn message_json(request: &MailRequest) -> Value {
    let list = |v: &[String]| {
        v.iter()
            .map(|a| json!({"emailAddress": {"address": a}}))
            .collect::<Vec<_>>()
    };
    json!({
        "subject": request.subject,
        "body": {
            "contentType": if request.body_is_html { "HTML" } else { "Text" },
            "content": request.body,
        },
        "toRecipients": list(&request.to),
        "ccRecipients": list(&request.cc),
        "bccRecipients": list(&request.bcc),
    })
}

/// A `fileAttachment` with its bytes (only for small files: read whole, under 3 MB).
fn inline_attachment(a: &Attachment) -> Result<Value, DeliveryError> {
    let bytes = std::fs::read(&a.path).map_err(|e| DeliveryError::File {
        path: a.path.display().to_string(),
        reason: e.to_string(),
    })?;
    Ok(json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": a.name,
        "contentType": a.content_type,
        "contentBytes": STANDARD.encode(bytes),
    }))
}

fn file_size(path: &Path) -> Result<u64, DeliveryError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| DeliveryError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
}

fn receipt(
    request: &MailRequest,
    sized: &[Sized<'_>],
    total: u64,
    id: String,
    web_url: Option<String>,
    last: &Reply,
) -> DeliveryReceipt {
    let mut to: Vec<&str> = request.to.iter().map(String::as_str).collect();
    to.extend(request.cc.iter().map(String::as_str));
    let who = if to.is_empty() {
        byte_size::count(request.bcc.len(), "Bcc recipient")
    } else {
        to.join(", ")
    };
    let with = match sized.len() {
        0 => String::new(),
        n => format!(
            " with {} ({})",
            byte_size::count(n, "attachment"),
            byte_size::words(total)
        ),
    };
    let from = request
        .from
        .as_ref()
        .map(|f| format!(" as {f}"))
        .unwrap_or_default();
    let id = if id.is_empty() {
        last.ids.client_request_id.clone()
    } else {
        id
    };
    DeliveryReceipt {
        kind: DeliveryKind::Mail,
        id,
        web_url,
        summary: format!("Sent{from} to {who}{with}."),
        bytes: total,
        details: last.ids.pairs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_limit_counts_attachments_as_exchange_does() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::File::create(&path)
            .unwrap()
            .set_len(3_000)
            .unwrap();
        let request = MailRequest {
            attachments: vec![Attachment {
                path: path.clone(),
                name: "a.bin".into(),
                content_type: "application/octet-stream".into(),
            }],
            ..MailRequest::default()
        };
        // 3,000 bytes are 4,000 once base64-encoded.
        assert!(check_message_limit(&request, 4_000).is_ok());
        match check_message_limit(&request, 3_999) {
            Err(DeliveryError::OverMessageLimit {
                size,
                encoded,
                limit,
            }) => assert_eq!((size, encoded, limit), (3_000, 4_000, 3_999)),
            other => panic!("{other:?}"),
        }
        assert!(check_message_limit(&MailRequest::default(), 1).is_ok());
    }
}

//! Microsoft Graph mail: `sendMail` (own mailbox, or one the user may send as), drafts,
//! attachment upload sessions and `/send`. Answers and errors as Graph v1.0 gives them.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::bearer::{bearer_as, bearer_or, Resource};
use crate::defaults::{SEND_AS_MAILBOX, UNRESOLVED_DOMAIN};
use crate::delivery_store::{
    finish, Message, Recipient, Session, StoredAttachment, Target, MAIL_MAX_ATTACHMENT,
    SESSION_LIFETIME,
};
use crate::directory::User;
use crate::errors::GraphError;
use crate::graph_call::Call;
use crate::graph_json::canonical;
use crate::ids;
use crate::state::Shared;

/// The largest JSON body a mail call takes (Graph caps requests near 4 MB; base64 grows 4/3).
const MAX_JSON: usize = 5 * 1024 * 1024;

/// `POST /v1.0/me/sendMail`.
pub(crate) async fn send_mail_me(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    send_mail(&shared, &headers, None, body).await
}

/// `POST /v1.0/users/{user}/sendMail`.
pub(crate) async fn send_mail_as(
    State(shared): State<Arc<Shared>>,
    Path(mailbox): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    send_mail(&shared, &headers, Some(mailbox), body).await
}

/// `POST /v1.0/me/messages`: a draft.
pub(crate) async fn create_draft(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    draft_in(&shared, &headers, None, body).await
}

/// `POST /v1.0/users/{user}/messages`: a draft in that mailbox.
pub(crate) async fn create_draft_as(
    State(shared): State<Arc<Shared>>,
    Path(mailbox): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    draft_in(&shared, &headers, Some(&mailbox), body).await
}

async fn draft_in(
    shared: &Shared,
    headers: &HeaderMap,
    mailbox: Option<&str>,
    body: Body,
) -> Response {
    let call = Call::of(headers);
    let result = async {
        let user = authorize(shared, headers, mailbox, "Mail.ReadWrite")?;
        let own = own_mailbox(&user)?;
        let wire: MessageWire = read_json(body).await?;
        let from = match &wire.from {
            Some(r) => r.email_address.address.clone(),
            None => own,
        };
        let attachments = wire
            .attachments
            .iter()
            .map(AttachmentWire::store)
            .collect::<Result<Vec<_>, _>>()?;
        let mut message = wire.into_message(&user, from, "draft", attachments)?;
        message.id = ids::opaque(48);
        let answer = json!({
            "id": message.id,
            "subject": message.subject,
            "isDraft": true,
            "webLink": web_link(&message.id),
        });
        shared
            .deliveries()
            .drafts
            .insert(message.id.clone(), message);
        Ok(answer)
    }
    .await;
    match result {
        Ok(v) => call.json(StatusCode::CREATED, &v),
        Err(e) => call.fail(e),
    }
}

/// `DELETE /v1.0/me/messages/{id}`.
pub(crate) async fn delete_draft(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    delete_in(&shared, &headers, None, &id)
}

/// `DELETE /v1.0/users/{user}/messages/{id}`.
pub(crate) async fn delete_draft_as(
    State(shared): State<Arc<Shared>>,
    Path((mailbox, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    delete_in(&shared, &headers, Some(&mailbox), &id)
}

fn delete_in(shared: &Shared, headers: &HeaderMap, mailbox: Option<&str>, id: &str) -> Response {
    let call = Call::of(headers);
    let result = authorize(shared, headers, mailbox, "Mail.ReadWrite").and_then(|user| {
        let mut store = shared.deliveries();
        match store.drafts.get(id) {
            Some(d) if d.owner == user.id => {
                store.drafts.remove(id);
                store.sessions.retain(|_, s| !matches!(&s.target, Target::Attachment { message, .. } if message == id));
                Ok(())
            }
            _ => Err(not_found()),
        }
    });
    match result {
        Ok(()) => call.empty(StatusCode::NO_CONTENT),
        Err(e) => call.fail(e),
    }
}

/// `POST /v1.0/me/messages/{id}/attachments/createUploadSession`.
pub(crate) async fn attachment_session(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    session_in(&shared, &headers, None, id, body).await
}

/// `POST /v1.0/users/{user}/messages/{id}/attachments/createUploadSession`.
pub(crate) async fn attachment_session_as(
    State(shared): State<Arc<Shared>>,
    Path((mailbox, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    session_in(&shared, &headers, Some(&mailbox), id, body).await
}

async fn session_in(
    shared: &Shared,
    headers: &HeaderMap,
    mailbox: Option<&str>,
    id: String,
    body: Body,
) -> Response {
    let call = Call::of(headers);
    let result = async {
        let user = authorize(shared, headers, mailbox, "Mail.ReadWrite")?;
        let wire: SessionWire = read_json(body).await?;
        let item = wire.attachment_item;
        if item.attachment_type.as_deref().unwrap_or("file") != "file" {
            return Err(invalid("Only file attachments can be uploaded in a session."));
        }
        if item.size == 0 || item.size > MAIL_MAX_ATTACHMENT {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                "The size of an attachment uploaded in a session must be between 1 byte and 150 MB.",
            ));
        }
        let mut store = shared.deliveries();
        match store.drafts.get(&id) {
            Some(d) if d.owner == user.id => {}
            _ => return Err(not_found()),
        }
        let session_id = ids::opaque(32);
        let expires = chrono::Utc::now() + SESSION_LIFETIME;
        store.sessions.insert(
            session_id.clone(),
            Session {
                target: Target::Attachment {
                    message: id.clone(),
                    name: item.name,
                    content_type: item
                        .content_type
                        .unwrap_or_else(|| "application/octet-stream".to_owned()),
                },
                size: Some(item.size),
                next: 0,
                hasher: Sha256::new(),
                expires: Instant::now() + SESSION_LIFETIME,
            },
        );
        store.counters.sessions_created += 1;
        Ok(json!({
            "@odata.context": format!("{}/v1.0/$metadata#microsoft.graph.uploadSession", shared.base_url),
            "uploadUrl": format!("{}/upload/{session_id}", shared.base_url),
            "expirationDateTime": expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "nextExpectedRanges": ["0-"],
        }))
    }
    .await;
    match result {
        Ok(v) => call.json(StatusCode::CREATED, &v),
        Err(e) => call.fail(e),
    }
}

/// `POST /v1.0/me/messages/{id}/send`.
pub(crate) async fn send_draft(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    send_in(&shared, &headers, None, &id)
}

/// `POST /v1.0/users/{user}/messages/{id}/send`.
pub(crate) async fn send_draft_as(
    State(shared): State<Arc<Shared>>,
    Path((mailbox, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    send_in(&shared, &headers, Some(&mailbox), &id)
}

fn send_in(shared: &Shared, headers: &HeaderMap, mailbox: Option<&str>, id: &str) -> Response {
    let call = Call::of(headers);
    let result = authorize(shared, headers, mailbox, "Mail.Send").and_then(|user| {
        let own = own_mailbox(&user)?;
        let mut store = shared.deliveries();
        let draft = match store.drafts.get(id) {
            Some(d) if d.owner == user.id => d.clone(),
            _ => return Err(not_found()),
        };
        if !draft.from.eq_ignore_ascii_case(&own) {
            may_send_as(&user, &draft.from)?;
        }
        check_recipients(&draft)?;
        if store.faults.too_big(&draft.attachments) {
            return Err(too_big());
        }
        store.drafts.remove(id);
        store.sent.push(draft);
        Ok(())
    });
    match result {
        Ok(()) => call.empty(StatusCode::ACCEPTED),
        Err(e) => call.fail(e),
    }
}

async fn send_mail(
    shared: &Shared,
    headers: &HeaderMap,
    mailbox: Option<String>,
    body: Body,
) -> Response {
    let call = Call::of(headers);
    let result = async {
        let user = authorize_sender(shared, headers, mailbox.as_deref())?;
        let own = own_mailbox(&user)?;
        let from = match mailbox {
            Some(m) if !is_self(&user, &m) => {
                may_send_as(&user, &m)?;
                m
            }
            _ => own,
        };
        let wire: SendMailWire = read_json(body).await?;
        let attachments = wire
            .message
            .attachments
            .iter()
            .map(AttachmentWire::store)
            .collect::<Result<Vec<_>, _>>()?;
        let mut message = wire
            .message
            .into_message(&user, from, "sendMail", attachments)?;
        check_recipients(&message)?;
        message.id = ids::opaque(48);
        let mut store = shared.deliveries();
        if store.faults.too_big(&message.attachments) {
            return Err(too_big());
        }
        store.sent.push(message);
        Ok(())
    }
    .await;
    match result {
        Ok(()) => call.empty(StatusCode::ACCEPTED),
        Err(e) => call.fail(e),
    }
}

/// The signed-in user if the token carries `permission`; 403 `ErrorAccessDenied` otherwise.
/// The user whose mailbox the request works on: the signed-in user (`/me`, or `/users/{them}`
/// naming themselves), or for an app token the mailbox `/users/{mailbox}` names.
fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    mailbox: Option<&str>,
    permission: &str,
) -> Result<User, GraphError> {
    let user = reach(shared, headers, mailbox, permission)?;
    match mailbox {
        Some(m) if !is_self(&user, m) => Err(mail_denied()),
        _ => Ok(user),
    }
}

/// [`authorize`] for `sendMail`, whose `/users/{mailbox}` a delegated user may name to send as
/// another mailbox (checked by the caller).
fn authorize_sender(
    shared: &Shared,
    headers: &HeaderMap,
    mailbox: Option<&str>,
) -> Result<User, GraphError> {
    reach(shared, headers, mailbox, "Mail.Send")
}

fn reach(
    shared: &Shared,
    headers: &HeaderMap,
    mailbox: Option<&str>,
    permission: &str,
) -> Result<User, GraphError> {
    match mailbox {
        None => bearer_or(shared, headers, &[permission], mail_denied),
        Some(m) => bearer_as(
            shared,
            headers,
            (m, Resource::Exchange),
            &[permission],
            mail_denied,
        ),
    }
    .map(|(user, _)| user)
}

/// Exchange's refusal of a token without the mail permission.
fn mail_denied() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "ErrorAccessDenied",
        "Access is denied. Check credentials and try again.",
    )
}

/// The user's own mailbox, or `MailboxNotEnabledForRESTAPI` when they have none (no licence).
fn own_mailbox(user: &User) -> Result<String, GraphError> {
    user.mail.clone().ok_or_else(|| {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        )
    })
}

fn is_self(user: &User, mailbox: &str) -> bool {
    [Some(&user.id), Some(&user.upn), user.mail.as_ref()]
        .into_iter()
        .flatten()
        .any(|m| m.eq_ignore_ascii_case(mailbox))
}

/// Send As is granted on [`SEND_AS_MAILBOX`] only.
fn may_send_as(user: &User, mailbox: &str) -> Result<(), GraphError> {
    if mailbox.eq_ignore_ascii_case(SEND_AS_MAILBOX) || is_self(user, mailbox) {
        Ok(())
    } else {
        Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "ErrorSendAsDenied",
            "The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.",
        ))
    }
}

fn check_recipients(m: &Message) -> Result<(), GraphError> {
    let all: Vec<&Recipient> = m.to.iter().chain(&m.cc).chain(&m.bcc).collect();
    if all.is_empty() {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRecipients",
            "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
        ));
    }
    for r in all {
        let valid = r
            .address
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
        if !valid || r.address.to_ascii_lowercase().ends_with(UNRESOLVED_DOMAIN) {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidRecipients",
                format!("At least one recipient is not valid., Recipient '{}' is not resolved. All recipients must be resolved before a message can be submitted.", r.address),
            ));
        }
    }
    Ok(())
}

fn too_big() -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "ErrorMessageSizeExceeded",
        "The message exceeds the maximum supported size., Cannot save changes made to an item to store.",
    )
}

fn not_found() -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

fn invalid(message: &str) -> GraphError {
    GraphError::new(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", message)
}

/// Permissions that let a token read a mailbox's folders.
const FOLDER_READ: [&str; 4] = [
    "Mail.ReadBasic",
    "Mail.ReadBasic.All",
    "Mail.Read",
    "Mail.ReadWrite",
];

/// Well-known folder names and their display names.
const WELL_KNOWN_FOLDERS: [(&str, &str); 6] = [
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("outbox", "Outbox"),
    ("junkemail", "Junk Email"),
];

/// `GET /v1.0/users/{user}/mailFolders/{folder}`: a well-known folder of that mailbox (what
/// an app reads to learn whether it reaches the mailbox).
pub(crate) async fn mail_folder(
    State(shared): State<Arc<Shared>>,
    Path((mailbox, folder)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let call = Call::of(&headers);
    let result = bearer_as(
        &shared,
        &headers,
        (&mailbox, Resource::Exchange),
        &FOLDER_READ,
        mail_denied,
    )
    .and_then(|(user, _)| {
        if !is_self(&user, &mailbox) {
            return Err(mail_denied());
        }
        own_mailbox(&user)?;
        let (_, name) = WELL_KNOWN_FOLDERS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&folder))
            .ok_or_else(|| {
                GraphError::new(
                    StatusCode::NOT_FOUND,
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                )
            })?;
        let count = shared
            .deliveries()
            .sent
            .iter()
            .filter(|m| {
                *name == "Sent Items"
                    && user
                        .mail
                        .as_deref()
                        .is_some_and(|a| m.from.eq_ignore_ascii_case(a))
            })
            .count();
        Ok(json!({
            "id": URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{}|{name}", user.id))),
            "displayName": name,
            "parentFolderId": URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{}|root", user.id))),
            "childFolderCount": 0,
            "unreadItemCount": 0,
            "totalItemCount": count,
        }))
    });
    match result {
        Ok(v) => call.json(StatusCode::OK, &v),
        Err(e) => call.fail(e),
    }
}

fn web_link(id: &str) -> String {
    format!("https://outlook.office365.com/owa/?ItemID={id}&exvsurl=1&viewmodel=ReadMessageItem")
}

/// Read a JSON body of at most [`MAX_JSON`] bytes, its names matched as Graph matches them
/// ([`canonical`]).
async fn read_json<T: for<'de> Deserialize<'de>>(body: Body) -> Result<T, GraphError> {
    let bytes = axum::body::to_bytes(body, MAX_JSON).await.map_err(|_| {
        GraphError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestBodyTooLarge",
            "The request body is too large: attachments over 3 MB must be uploaded in an upload session.",
        )
    })?;
    let unreadable = |e: serde_json::Error| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "RequestBodyRead",
            format!("Cannot read the request body: {e}"),
        )
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(unreadable)?;
    serde_json::from_value(canonical(value)).map_err(unreadable)
}

#[derive(Deserialize)]
struct SendMailWire {
    message: MessageWire,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MessageWire {
    subject: String,
    body: Option<BodyWire>,
    to_recipients: Vec<RecipientWire>,
    cc_recipients: Vec<RecipientWire>,
    bcc_recipients: Vec<RecipientWire>,
    attachments: Vec<AttachmentWire>,
    from: Option<RecipientWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BodyWire {
    content_type: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecipientWire {
    email_address: AddressWire,
}

#[derive(Deserialize)]
struct AddressWire {
    address: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentWire {
    #[serde(rename = "@odata.type")]
    odata_type: String,
    name: String,
    #[serde(default)]
    content_type: Option<String>,
    content_bytes: String,
}

impl AttachmentWire {
    fn store(&self) -> Result<StoredAttachment, GraphError> {
        if self.odata_type != "#microsoft.graph.fileAttachment" {
            return Err(invalid(
                "Only #microsoft.graph.fileAttachment is supported.",
            ));
        }
        let bytes = STANDARD
            .decode(&self.content_bytes)
            .map_err(|_| invalid("contentBytes is not valid base64."))?;
        Ok(StoredAttachment {
            id: ids::opaque(24),
            name: self.name.clone(),
            content_type: self
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            size: bytes.len() as u64,
            sha256: finish(Sha256::new_with_prefix(&bytes)),
            via: "inline",
        })
    }
}

#[derive(Deserialize)]
struct SessionWire {
    #[serde(rename = "attachmentItem")]
    attachment_item: AttachmentItemWire,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentItemWire {
    #[serde(default)]
    attachment_type: Option<String>,
    name: String,
    size: u64,
    #[serde(default)]
    content_type: Option<String>,
}

impl MessageWire {
    fn into_message(
        self,
        user: &User,
        from: String,
        via: &'static str,
        attachments: Vec<StoredAttachment>,
    ) -> Result<Message, GraphError> {
        let list = |v: Vec<RecipientWire>| {
            v.into_iter()
                .map(|r| Recipient {
                    address: r.email_address.address,
                })
                .collect::<Vec<_>>()
        };
        let (body_type, body_chars) = match self.body {
            Some(b) if b.content_type.eq_ignore_ascii_case("html") => {
                ("HTML".to_owned(), b.content.chars().count())
            }
            Some(b) if b.content_type.eq_ignore_ascii_case("text") => {
                ("Text".to_owned(), b.content.chars().count())
            }
            Some(_) => return Err(invalid("body.contentType must be Text or HTML.")),
            None => ("Text".to_owned(), 0),
        };
        Ok(Message {
            id: String::new(),
            from,
            owner: user.id.clone(),
            subject: self.subject,
            body_type,
            body_chars,
            to: list(self.to_recipients),
            cc: list(self.cc_recipients),
            bcc: list(self.bcc_recipients),
            attachments,
            via,
        })
    }
}

//! Delivering through a saved account (added in 1.1): an e-mail with attachments, or a
//! file for a folder; the host watches progress and may cancel.
//!
//! These are the plain types an author and a host use; `abi` carries them across the
//! boundary in stable form. Content is named by file path and streamed by the plugin,
//! never handed over in memory.

// abi_stable's StableAbi derive for non-exhaustive enums puts trait impls inside
// a const block, which this lint flags; the code is abi_stable's, not ours.
#![allow(non_local_definitions)]

use std::{path::PathBuf, time::Duration};

use abi_stable::StableAbi;

use crate::error::PluginError;

/// A kind of delivery an integration may offer (so a host shows only what works).
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[sabi(kind(WithNonExhaustive(size = [u64; 1], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum DeliveryKind {
    /// An e-mail, with attachments.
    Mail,
    /// A file put in a folder (a drive, a document library).
    File,
    /// Added in 1.2: a file handed to the account's own endpoint (a webhook, an
    /// API) as it is — no folder, no site; where it goes is the integration's
    /// business. A host built before 1.2 does not list it.
    Push,
}

impl DeliveryKind {
    /// The name used on command lines and in JSON (`mail`, `file`, `push`).
    pub fn name(self) -> &'static str {
        match self {
            DeliveryKind::Mail => "mail",
            DeliveryKind::File => "file",
            DeliveryKind::Push => "push",
        }
    }
}

/// What to do when a file of the same name is already in the folder.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[sabi(kind(WithNonExhaustive(size = [u64; 1], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum ConflictBehavior {
    /// Overwrite it.
    Replace,
    /// Keep both: the new file gets a free name.
    #[default]
    Rename,
    /// Refuse, and say so.
    Fail,
}

impl ConflictBehavior {
    /// The name used on command lines and in JSON (`replace`, `rename`, `fail`).
    pub fn name(self) -> &'static str {
        match self {
            ConflictBehavior::Replace => "replace",
            ConflictBehavior::Rename => "rename",
            ConflictBehavior::Fail => "fail",
        }
    }
}

/// A file to attach, read from disk while sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Where the content is.
    pub path: PathBuf,
    /// The name the recipient sees.
    pub name: String,
    /// Its media type (`application/pdf`).
    pub content_type: String,
}

/// An e-mail to send through a saved account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailRequest {
    /// Send as this mailbox (one the account may send as); `None`: the account's own.
    pub from: Option<String>,
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Blind-copy recipients.
    pub bcc: Vec<String>,
    /// The subject line.
    pub subject: String,
    /// The body, plain text unless `body_is_html`.
    pub body: String,
    /// Whether `body` is HTML.
    pub body_is_html: bool,
    /// Files to attach.
    pub attachments: Vec<Attachment>,
}

impl MailRequest {
    /// The short message a person sends right after Save & Close to prove that
    /// sending works.
    pub fn test_message(account: &str, to: impl Into<String>) -> Self {
        MailRequest {
            to: vec![to.into()],
            subject: format!("ATRS test message from \"{account}\""),
            body: format!(
                "This message was sent by ATRS through the account \"{account}\" to check \
                 that scheduled reports can be delivered. No action is needed."
            ),
            ..MailRequest::default()
        }
    }
}

/// A file to put in a folder through a saved account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRequest {
    /// Where the content is.
    pub source: PathBuf,
    /// The destination folder, `/`-separated from the drive's root (`Reports/2026`).
    pub folder: String,
    /// A site's address (a SharePoint site); `None`: the signed-in user's own drive.
    pub site: Option<String>,
    /// The name the file gets in the folder.
    pub file_name: String,
    /// What to do when the name is taken.
    pub conflict: ConflictBehavior,
}

/// Added in 1.2: a file to hand to the account's own endpoint ([`DeliveryKind::Push`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRequest {
    /// Where the content is.
    pub source: PathBuf,
    /// The name the receiver is told (`report-2026-12.pdf`).
    pub file_name: String,
    /// The content's media type (`application/pdf`); empty: the plugin decides.
    pub content_type: String,
}

impl PushRequest {
    /// Pushes the file at `source` under its own name, media type left to the plugin.
    pub fn of_file(source: impl Into<PathBuf>) -> Self {
        let source = source.into();
        let file_name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        PushRequest {
            source,
            file_name,
            content_type: String::new(),
        }
    }
}

/// Something to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryRequest {
    /// Send an e-mail.
    Mail(MailRequest),
    /// Put a file in a folder.
    File(FileRequest),
    /// Added in 1.2: hand a file to the account's endpoint.
    Push(PushRequest),
}

impl DeliveryRequest {
    /// Which kind of delivery this is.
    pub fn kind(&self) -> DeliveryKind {
        match self {
            DeliveryRequest::Mail(_) => DeliveryKind::Mail,
            DeliveryRequest::File(_) => DeliveryKind::File,
            DeliveryRequest::Push(_) => DeliveryKind::Push,
        }
    }
}

/// What a user needs to find a delivered item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryReceipt {
    /// Mail or file.
    pub kind: DeliveryKind,
    /// The provider's id of what was made (message id, file id).
    pub id: String,
    /// Where to see it in a browser, if there is such a place.
    pub web_url: Option<String>,
    /// One line for people: "Sent to a@example.com with 2 attachments (12.4 MB)".
    pub summary: String,
    /// How many bytes of content were delivered.
    pub bytes: u64,
    /// Support details (request ids and the like), by name.
    pub details: Vec<(String, String)>,
}

/// Where a delivery stands.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Still going: `bytes_sent` of `bytes_total` content bytes are through.
    Running {
        /// What it is doing, for a status line.
        message: String,
        /// Content bytes sent so far.
        bytes_sent: u64,
        /// All content bytes (0 when there is no content to speak of).
        bytes_total: u64,
    },
    /// Delivered.
    Done(DeliveryReceipt),
    /// Not delivered (and nothing half-delivered left behind); the error says why.
    Failed(PluginError),
}

impl DeliveryState {
    /// Whether the delivery has ended.
    pub fn is_terminal(&self) -> bool {
        matches!(self, DeliveryState::Done(_) | DeliveryState::Failed(_))
    }
}

/// A running delivery, as its author writes it. Called from any thread.
pub trait DeliveryJob: Send + Sync + 'static {
    /// Waits up to `timeout` for progress, then returns the current state.
    /// Must return promptly once the timeout passes.
    fn poll(&self, timeout: Duration) -> DeliveryState;

    /// Stops at once, leaving nothing half-delivered (a draft deleted, an upload
    /// session cancelled). Later polls report the delivery as cancelled.
    fn cancel(&self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_message_names_the_account_and_goes_to_one_address() {
        let m = MailRequest::test_message("Sales", "me@example.com");
        assert_eq!(m.to, vec!["me@example.com".to_string()]);
        assert!(m.subject.contains("Sales") && m.body.contains("Sales"));
        assert!(m.attachments.is_empty() && m.from.is_none());
    }

    #[test]
    fn kinds_and_names() {
        let r = DeliveryRequest::Mail(MailRequest::default());
        assert_eq!(r.kind().name(), "mail");
        assert_eq!(ConflictBehavior::default().name(), "rename");
        let push = PushRequest::of_file("/tmp/out/report.pdf");
        assert_eq!(push.file_name, "report.pdf");
        assert_eq!(DeliveryRequest::Push(push).kind().name(), "push");
        let done = DeliveryState::Failed(PluginError::cancelled("x"));
        assert!(done.is_terminal());
    }
}

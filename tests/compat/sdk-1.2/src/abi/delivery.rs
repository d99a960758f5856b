//! Stable forms of the 1.1 delivery types ([`crate::delivery`]), converted once at the
//! boundary.

use abi_stable::{
    std_types::{RBox, ROption, RString, RVec},
    StableAbi,
};

use crate::{
    delivery::{
        Attachment, ConflictBehavior_NE, DeliveryKind, DeliveryKind_NE, DeliveryReceipt,
        DeliveryRequest, DeliveryState, FileRequest, MailRequest, PushRequest,
    },
    error::PluginError,
    form::KeyValue,
};

/// [`Attachment`] as it crosses the boundary (the path as UTF-8).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq)]
pub struct AttachmentAbi {
    pub path: RString,
    pub name: RString,
    pub content_type: RString,
}

/// [`MailRequest`] as it crosses the boundary; `details` leaves room for options
/// later minor versions add (reply-to, importance …).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct MailRequestAbi {
    pub from: ROption<RString>,
    pub to: RVec<RString>,
    pub cc: RVec<RString>,
    pub bcc: RVec<RString>,
    pub subject: RString,
    pub body: RString,
    pub body_is_html: bool,
    pub attachments: RVec<AttachmentAbi>,
    pub details: RVec<KeyValue>,
}

/// [`FileRequest`] as it crosses the boundary (the path as UTF-8); `details` leaves
/// room for options later minor versions add.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct FileRequestAbi {
    pub source: RString,
    pub folder: RString,
    pub site: ROption<RString>,
    pub file_name: RString,
    pub conflict: ConflictBehavior_NE,
    pub details: RVec<KeyValue>,
}

/// [`DeliveryRequest`] as it crosses the boundary. Non-exhaustive: a plugin answers
/// a kind it does not know with `unsupported`.
/// Added in 1.2: [`PushRequest`] across the boundary.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct PushRequestAbi {
    pub source: RString,
    pub file_name: RString,
    pub content_type: RString,
    pub details: RVec<KeyValue>,
}

#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [u64; 4], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum DeliveryRequestAbi {
    Mail(RBox<MailRequestAbi>),
    File(RBox<FileRequestAbi>),
    /// Added in 1.2.
    Push(RBox<PushRequestAbi>),
}

/// [`DeliveryReceipt`] as it crosses the boundary.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct DeliveryReceiptAbi {
    pub kind: DeliveryKind_NE,
    pub id: RString,
    pub web_url: ROption<RString>,
    pub summary: RString,
    pub bytes: u64,
    pub details: RVec<KeyValue>,
}

/// [`DeliveryState`] as it crosses the boundary. Non-exhaustive: a host shows a state
/// it does not know as still running.
#[repr(u8)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [u64; 8], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum DeliveryStateAbi {
    Running {
        message: RString,
        bytes_sent: u64,
        bytes_total: u64,
    },
    Done(RBox<DeliveryReceiptAbi>),
    Failed(RBox<PluginError>),
}

fn strings(items: &[String]) -> RVec<RString> {
    items.iter().map(|s| RString::from(s.as_str())).collect()
}

fn owned(items: &[RString]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A path as the UTF-8 text that crosses the boundary.
fn path_text(path: &std::path::Path) -> Result<RString, PluginError> {
    path.to_str().map(RString::from).ok_or_else(|| {
        PluginError::invalid_input(format!(
            "The file name {} is not valid UTF-8, so it cannot be handed to the plugin.",
            path.display()
        ))
        .with_hint("Rename the file (or a folder above it) to a name without unusual characters.")
    })
}

impl TryFrom<&DeliveryRequest> for DeliveryRequestAbi {
    type Error = PluginError;

    fn try_from(request: &DeliveryRequest) -> Result<Self, PluginError> {
        Ok(match request {
            DeliveryRequest::Mail(m) => DeliveryRequestAbi::Mail(RBox::new(MailRequestAbi {
                from: m.from.as_deref().map(RString::from).into(),
                to: strings(&m.to),
                cc: strings(&m.cc),
                bcc: strings(&m.bcc),
                subject: m.subject.as_str().into(),
                body: m.body.as_str().into(),
                body_is_html: m.body_is_html,
                attachments: m
                    .attachments
                    .iter()
                    .map(|a| {
                        Ok(AttachmentAbi {
                            path: path_text(&a.path)?,
                            name: a.name.as_str().into(),
                            content_type: a.content_type.as_str().into(),
                        })
                    })
                    .collect::<Result<_, PluginError>>()?,
                details: RVec::new(),
            })),
            DeliveryRequest::File(f) => DeliveryRequestAbi::File(RBox::new(FileRequestAbi {
                source: path_text(&f.source)?,
                folder: f.folder.as_str().into(),
                site: f.site.as_deref().map(RString::from).into(),
                file_name: f.file_name.as_str().into(),
                conflict: ConflictBehavior_NE::new(f.conflict),
                details: RVec::new(),
            })),
            DeliveryRequest::Push(p) => DeliveryRequestAbi::Push(RBox::new(PushRequestAbi {
                source: path_text(&p.source)?,
                file_name: p.file_name.as_str().into(),
                content_type: p.content_type.as_str().into(),
                details: RVec::new(),
            })),
        })
    }
}

impl TryFrom<&DeliveryRequestAbi> for DeliveryRequest {
    type Error = PluginError;

    fn try_from(request: &DeliveryRequestAbi) -> Result<Self, PluginError> {
        Ok(match request {
            DeliveryRequestAbi::Mail(m) => DeliveryRequest::Mail(MailRequest {
                from: m.from.as_ref().map(|s| s.to_string()).into_option(),
                to: owned(&m.to),
                cc: owned(&m.cc),
                bcc: owned(&m.bcc),
                subject: m.subject.to_string(),
                body: m.body.to_string(),
                body_is_html: m.body_is_html,
                attachments: m
                    .attachments
                    .iter()
                    .map(|a| Attachment {
                        path: a.path.as_str().into(),
                        name: a.name.to_string(),
                        content_type: a.content_type.to_string(),
                    })
                    .collect(),
            }),
            DeliveryRequestAbi::File(f) => DeliveryRequest::File(FileRequest {
                source: f.source.as_str().into(),
                folder: f.folder.to_string(),
                site: f.site.as_ref().map(|s| s.to_string()).into_option(),
                file_name: f.file_name.to_string(),
                conflict: f.conflict.as_enum().copied().map_err(|_| {
                    PluginError::unsupported(
                        "The host asked for a way of handling name conflicts this plugin does not know.",
                    )
                    .with_hint("Choose replace, rename or fail, or update the plugin.")
                })?,
            }),
            DeliveryRequestAbi::Push(p) => DeliveryRequest::Push(PushRequest {
                source: p.source.as_str().into(),
                file_name: p.file_name.to_string(),
                content_type: p.content_type.to_string(),
            }),
        })
    }
}

impl From<DeliveryReceipt> for DeliveryReceiptAbi {
    fn from(r: DeliveryReceipt) -> Self {
        DeliveryReceiptAbi {
            kind: DeliveryKind_NE::new(r.kind),
            id: r.id.into(),
            web_url: r.web_url.map(RString::from).into(),
            summary: r.summary.into(),
            bytes: r.bytes,
            details: r
                .details
                .iter()
                .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
                .collect(),
        }
    }
}

impl From<DeliveryReceiptAbi> for DeliveryReceipt {
    fn from(r: DeliveryReceiptAbi) -> Self {
        DeliveryReceipt {
            // Only kinds the host asked for come back; a newer one reads as a file.
            kind: r.kind.as_enum().copied().unwrap_or(DeliveryKind::File),
            id: r.id.into(),
            web_url: r.web_url.into_option().map(String::from),
            summary: r.summary.into(),
            bytes: r.bytes,
            details: r
                .details
                .iter()
                .map(|kv| (kv.key().to_owned(), kv.value().to_owned()))
                .collect(),
        }
    }
}

impl From<DeliveryState> for DeliveryStateAbi {
    fn from(state: DeliveryState) -> Self {
        match state {
            DeliveryState::Running {
                message,
                bytes_sent,
                bytes_total,
            } => DeliveryStateAbi::Running {
                message: message.into(),
                bytes_sent,
                bytes_total,
            },
            DeliveryState::Done(r) => DeliveryStateAbi::Done(RBox::new(r.into())),
            DeliveryState::Failed(e) => DeliveryStateAbi::Failed(RBox::new(e)),
        }
    }
}

impl From<DeliveryStateAbi> for DeliveryState {
    fn from(state: DeliveryStateAbi) -> Self {
        match state {
            DeliveryStateAbi::Running {
                message,
                bytes_sent,
                bytes_total,
            } => DeliveryState::Running {
                message: message.into(),
                bytes_sent,
                bytes_total,
            },
            DeliveryStateAbi::Done(r) => DeliveryState::Done(RBox::into_inner(r).into()),
            DeliveryStateAbi::Failed(e) => DeliveryState::Failed(RBox::into_inner(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::ConflictBehavior;

    #[test]
    fn requests_round_trip() {
        let mail = DeliveryRequest::Mail(MailRequest {
            from: Some("shared@example.com".into()),
            to: vec!["a@example.com".into()],
            attachments: vec![Attachment {
                path: "/tmp/r.pdf".into(),
                name: "r.pdf".into(),
                content_type: "application/pdf".into(),
            }],
            ..MailRequest::test_message("Sales", "a@example.com")
        });
        let abi = DeliveryRequestAbi::try_from(&mail).unwrap();
        assert_eq!(DeliveryRequest::try_from(&abi).unwrap(), mail);
        let file = DeliveryRequest::File(FileRequest {
            source: "/tmp/r.xlsx".into(),
            folder: "Reports".into(),
            site: None,
            file_name: "r.xlsx".into(),
            conflict: ConflictBehavior::Fail,
        });
        let abi = DeliveryRequestAbi::try_from(&file).unwrap();
        assert_eq!(DeliveryRequest::try_from(&abi).unwrap(), file);
        let push = DeliveryRequest::Push(PushRequest {
            content_type: "text/csv".into(),
            ..PushRequest::of_file("/tmp/r.csv")
        });
        let abi = DeliveryRequestAbi::try_from(&push).unwrap();
        assert_eq!(DeliveryRequest::try_from(&abi).unwrap(), push);
    }

    #[test]
    fn states_round_trip() {
        let done = DeliveryState::Done(DeliveryReceipt {
            kind: DeliveryKind::Mail,
            id: "m1".into(),
            web_url: None,
            summary: "Sent".into(),
            bytes: 3,
            details: vec![("request-id".into(), "r".into())],
        });
        assert_eq!(
            DeliveryState::from(DeliveryStateAbi::from(done.clone())),
            done
        );
    }

    #[test]
    fn a_path_that_is_not_utf8_is_refused_before_crossing() {
        use std::os::unix::ffi::OsStrExt;
        let bad = std::ffi::OsStr::from_bytes(b"/tmp/\xff.pdf");
        let request = DeliveryRequest::File(FileRequest {
            source: bad.into(),
            folder: String::new(),
            site: None,
            file_name: "x".into(),
            conflict: ConflictBehavior::Rename,
        });
        let e = DeliveryRequestAbi::try_from(&request).unwrap_err();
        assert!(e.message().contains("not valid UTF-8"), "{e}");
    }
}

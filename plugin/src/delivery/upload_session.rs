//! Sending a file through a Graph upload session: fragments read from disk one at a time
//! (memory stays at one fragment), `PUT` with `Content-Range` and no `Authorization`, and
//! after a failed fragment a resume from the range the server says it has — never from zero.
//!
//! Used for Outlook attachment sessions (fragments ≤ 4 MB) and OneDrive/SharePoint sessions
//! (multiples of 320 KiB). A fault that keeps coming back ends the upload after
//! [`crate::delivery::graph::RetryPolicy::attempts`] failures in a row.
//!
//! Nothing the server says is taken on trust ([`crate::delivery::upload_check`]): the `uploadUrl` must
//! be one of the cloud's hosts over https, and each next range must lie after what the server
//! had acknowledged and before the end, so every accepted answer moves forward; the whole
//! delivery is bounded by [`crate::delivery::graph::RetryPolicy::delivery_timeout`]. A violation ends
//! the upload with [`DeliveryError::UploadSession`] naming the server, and an upload that
//! ends in any error is cancelled (`DELETE uploadUrl`, best effort).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use reqwest::Method;
use url::Url;

use crate::delivery::delivery_error::{DeliveryError, Step};
use crate::delivery::graph::{Auth, Body, CallIds, Graph, GraphFailure, Reply};
use crate::delivery::progress::Progress;
use crate::delivery::upload_check::{self, Violation};
use crate::net::request_id::new_id;

/// Graph's drive fragments must be multiples of this (320 KiB).
pub const FRAGMENT_UNIT: u64 = 320 * 1024;
/// Fragment size for attachment sessions: 12 × 320 KiB = 3.75 MiB (under Outlook's 4 MB).
pub const MAIL_FRAGMENT: u64 = 12 * FRAGMENT_UNIT;
/// Fragment size for drive sessions: 16 × 320 KiB = 5 MiB.
pub const DRIVE_FRAGMENT: u64 = 16 * FRAGMENT_UNIT;

// Graph's rules, checked when compiling: drive fragments are multiples of 320 KiB, Outlook
// takes at most 4 MB per PUT.
const _: () = assert!(DRIVE_FRAGMENT.is_multiple_of(FRAGMENT_UNIT) && MAIL_FRAGMENT <= 4_000_000);

/// The `uploadUrl` of a `createUploadSession` answer from `graph`, if it may be used
/// ([`upload_check::session_url`]); otherwise an error naming Graph's host. Nothing is sent to
/// a refused URL, not even a cancel: it could carry the session's token to a host or over a
/// channel that is not trusted.
pub fn session_url(graph: &Graph, answer: &Reply) -> Result<Url, DeliveryError> {
    upload_check::session_url(graph.base(), &answer.body).map_err(|violation| {
        DeliveryError::UploadSession {
            host: graph.base().host_str().unwrap_or_default().to_owned(),
            violation,
        }
    })
}

/// One upload through a session URL.
pub struct Upload<'a> {
    /// The client (for its cancel signal and retry policy).
    pub graph: &'a Graph,
    /// The session's `uploadUrl`, checked by [`session_url`].
    pub url: Url,
    /// The file.
    pub path: &'a Path,
    /// Its size.
    pub total: u64,
    /// Bytes per fragment.
    pub fragment: u64,
    /// Where progress goes.
    pub progress: &'a Progress,
    /// Content bytes of the whole delivery sent before this file (for overall progress).
    pub before: u64,
    /// What is being done (for errors).
    pub step: Step,
}

impl Upload<'_> {
    /// Send every fragment; the answer to the last one (the driveItem, or the attachment's
    /// `Location`). When it fails (or is cancelled) the session is cancelled too.
    pub async fn run(&self) -> Result<Reply, DeliveryError> {
        let sent = self.send_all().await;
        if sent.is_err() {
            self.progress.say("Cancelling the upload session…");
            self.graph
                .cleanup(Method::DELETE, self.url.clone(), Auth::None)
                .await;
        }
        sent
    }

    async fn send_all(&self) -> Result<Reply, DeliveryError> {
        let mut file = File::open(self.path).map_err(|e| self.unreadable(&e))?;
        let attempts = self.graph.policy().attempts;
        // Where the next fragment starts: always what the server has acknowledged, and
        // (checked) below `total`.
        let mut next: u64 = 0;
        let mut failures: u32 = 0;
        let mut buf = Vec::new();
        loop {
            let end = next.saturating_add(self.fragment).min(self.total);
            let len = usize::try_from(end - next).map_err(|_| {
                self.violation(Violation::PastEnd {
                    byte: end,
                    total: self.total,
                })
            })?;
            buf.resize(len, 0);
            file.seek(SeekFrom::Start(next))
                .and_then(|_| file.read_exact(&mut buf))
                .map_err(|e| self.unreadable(&e))?;
            let body = Body::Bytes {
                data: std::mem::take(&mut buf),
                range: Some(format!("bytes {next}-{}/{}", end - 1, self.total)),
            };
            let ids = CallIds {
                client_request_id: new_id(),
                ..CallIds::default()
            };
            let sent = self
                .graph
                .once(Method::PUT, self.url.clone(), &body, Auth::None, &ids)
                .await;
            if let Body::Bytes { data, .. } = body {
                buf = data;
            }
            match sent {
                Ok(reply) if end == self.total => {
                    self.progress.sent(self.before.saturating_add(self.total));
                    return Ok(reply);
                }
                Ok(reply) => {
                    failures = 0;
                    next = upload_check::next_after_fragment(&reply.body, end, self.total)
                        .map_err(|v| self.violation(v))?;
                    self.progress.sent(self.before.saturating_add(next));
                }
                Err(GraphFailure::Cancelled) => return Err(self.failed(GraphFailure::Cancelled)),
                Err(e) if e.is_transient() || e.status() == Some(416) => {
                    failures += 1;
                    if failures >= attempts {
                        return Err(DeliveryError::Stalled {
                            attempts: failures,
                            last: Box::new(e),
                        });
                    }
                    if e.status() != Some(416)
                        && self
                            .graph
                            .pause(&e, failures)
                            .await
                            .map_err(|e| self.failed(e))?
                    {
                        return Err(self.failed(GraphFailure::Cancelled));
                    }
                    next = self.resume_point(next).await?;
                }
                Err(e) => return Err(self.failed(e)),
            }
        }
    }

    /// `GET uploadUrl` → the first of `nextExpectedRanges` (retried like a Graph call), which
    /// must not be behind the `acknowledged` bytes.
    async fn resume_point(&self, acknowledged: u64) -> Result<u64, DeliveryError> {
        let attempts = self.graph.policy().attempts;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let ids = CallIds {
                client_request_id: new_id(),
                ..CallIds::default()
            };
            match self
                .graph
                .once(
                    Method::GET,
                    self.url.clone(),
                    &Body::Empty,
                    Auth::None,
                    &ids,
                )
                .await
            {
                Ok(reply) => {
                    return upload_check::resume_from(&reply.body, acknowledged, self.total)
                        .map_err(|v| self.violation(v))
                }
                Err(e) if e.is_transient() && attempt < attempts => {
                    if self
                        .graph
                        .pause(&e, attempt)
                        .await
                        .map_err(|e| self.failed(e))?
                    {
                        return Err(self.failed(GraphFailure::Cancelled));
                    }
                }
                Err(e) => return Err(self.failed(e)),
            }
        }
    }

    fn violation(&self, violation: Violation) -> DeliveryError {
        DeliveryError::UploadSession {
            host: self.url.host_str().unwrap_or_default().to_owned(),
            violation,
        }
    }

    fn failed(&self, failure: GraphFailure) -> DeliveryError {
        DeliveryError::graph(self.step.clone(), failure)
    }

    fn unreadable(&self, e: &std::io::Error) -> DeliveryError {
        DeliveryError::File {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }
}

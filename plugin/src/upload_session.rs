//! Sending a file through a Graph upload session: fragments read from disk one at a time
//! (memory stays at one fragment), `PUT` with `Content-Range` and no `Authorization`, and
//! after a failed fragment a resume from the range the server says it has — never from zero.
//!
//! Used for Outlook attachment sessions (fragments ≤ 4 MB) and OneDrive/SharePoint sessions
//! (multiples of 320 KiB). A fault that keeps coming back ends the upload after
//! [`crate::graph::RetryPolicy::attempts`] failures in a row.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use reqwest::Method;
use url::Url;

use crate::delivery_error::{DeliveryError, Step};
use crate::graph::{Auth, Body, CallIds, Graph, GraphFailure, Reply};
use crate::progress::Progress;
use crate::request_id::new_id;

/// Graph's drive fragments must be multiples of this (320 KiB).
pub const FRAGMENT_UNIT: u64 = 320 * 1024;
/// Fragment size for attachment sessions: 12 × 320 KiB = 3.75 MiB (under Outlook's 4 MB).
pub const MAIL_FRAGMENT: u64 = 12 * FRAGMENT_UNIT;
/// Fragment size for drive sessions: 16 × 320 KiB = 5 MiB.
pub const DRIVE_FRAGMENT: u64 = 16 * FRAGMENT_UNIT;

// Graph's rules, checked when compiling: drive fragments are multiples of 320 KiB, Outlook
// takes at most 4 MB per PUT.
const _: () = assert!(DRIVE_FRAGMENT.is_multiple_of(FRAGMENT_UNIT) && MAIL_FRAGMENT <= 4_000_000);

/// One upload through a session URL.
pub struct Upload<'a> {
    /// The client (for its cancel signal and retry policy).
    pub graph: &'a Graph,
    /// The session's `uploadUrl`.
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
    /// `Location`).
    pub async fn run(&self) -> Result<Reply, DeliveryError> {
        let mut file = File::open(self.path).map_err(|e| self.unreadable(&e))?;
        let attempts = self.graph.policy().attempts;
        let mut next: u64 = 0;
        let mut failures: u32 = 0;
        let mut buf = Vec::new();
        loop {
            let end = (next + self.fragment).min(self.total);
            buf.resize((end - next) as usize, 0);
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
                    self.progress.sent(self.before + self.total);
                    return Ok(reply);
                }
                Ok(reply) => {
                    failures = 0;
                    next = next_expected(&reply.body).unwrap_or(end);
                    self.progress.sent(self.before + next);
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
                    next = self.resume_point().await?;
                    if next >= self.total {
                        return Err(DeliveryError::Protocol(
                            "that it has every byte but never confirmed the upload".into(),
                        ));
                    }
                }
                Err(e) => return Err(self.failed(e)),
            }
        }
    }

    /// `GET uploadUrl` → the first of `nextExpectedRanges` (retried like a Graph call).
    async fn resume_point(&self) -> Result<u64, DeliveryError> {
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
                    return next_expected(&reply.body).ok_or_else(|| {
                        DeliveryError::Protocol("no nextExpectedRanges to resume from".into())
                    })
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

/// The start of the first range in `nextExpectedRanges` (`"N-M"`, `"N-"` or `"N"`).
pub fn next_expected(body: &serde_json::Value) -> Option<u64> {
    body["nextExpectedRanges"]
        .as_array()?
        .first()?
        .as_str()?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn next_expected_reads_every_range_form() {
        assert_eq!(
            next_expected(&json!({"nextExpectedRanges": ["0-"]})),
            Some(0)
        );
        assert_eq!(
            next_expected(&json!({"nextExpectedRanges": ["655360-1048575", "2000000-"]})),
            Some(655360)
        );
        assert_eq!(
            next_expected(&json!({"nextExpectedRanges": ["4194304"]})),
            Some(4194304)
        );
        assert_eq!(next_expected(&json!({})), None);
    }
}

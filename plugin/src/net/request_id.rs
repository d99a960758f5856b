//! `client-request-id`: a fresh GUID on every request, as MSAL sends it, so a failed
//! sign-in can be found in Microsoft's logs. Entra uses it as the correlation id and
//! answers with its own trace id (`x-ms-request-id`); the ids of the last failed
//! exchange are kept and put on the error the user sees.

use std::sync::{Arc, Mutex};

use atrs_host_sdk::PluginError;

/// The request header (and the answer header Entra echoes it in).
pub const CLIENT_REQUEST_ID: &str = "client-request-id";
/// Asks Entra to echo `client-request-id` in its answer.
pub const RETURN_CLIENT_REQUEST_ID: &str = "return-client-request-id";
/// Entra's answer header with its trace id.
pub const MS_REQUEST_ID: &str = "x-ms-request-id";
/// The error detail that carries the failed request's id.
pub const DETAIL: &str = "client_request_id";

/// A new random (version 4) GUID.
pub fn new_id() -> String {
    let mut b = crate::random::bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The ids of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestIds {
    /// What we sent as `client-request-id`.
    pub client_request_id: String,
    /// Entra's `x-ms-request-id`, when it answered one.
    pub trace_id: Option<String>,
}

/// The ids of the last exchange, kept while it failed (a success clears them).
#[derive(Debug, Clone, Default)]
pub struct LastFailure(Arc<Mutex<Option<RequestIds>>>);

impl LastFailure {
    /// Records how the exchange with `ids` ended.
    pub fn record(&self, ids: RequestIds, failed: bool) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = failed.then_some(ids);
    }

    /// `e` with the last failed exchange's `client-request-id` (and trace id, unless it
    /// has one from the provider's answer already).
    pub fn annotate(&self, e: PluginError) -> PluginError {
        let Some(ids) = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
            return e;
        };
        let e = e.with_detail(DETAIL, ids.client_request_id);
        match ids.trace_id {
            Some(trace) if e.trace_id().is_none() => e.with_trace_id(trace),
            _ => e,
        }
    }
}

/// Keeps a header value short and printable before it is shown.
pub fn printable(value: &str) -> Option<String> {
    let kept: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    (!kept.is_empty()).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::is_guid;

    #[test]
    fn ids_are_fresh_guids() {
        let (a, b) = (new_id(), new_id());
        assert!(is_guid(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn only_a_failed_exchange_annotates() {
        let last = LastFailure::default();
        let ids = RequestIds {
            client_request_id: "c-1".into(),
            trace_id: Some("t-1".into()),
        };
        last.record(ids.clone(), true);
        let e = last.annotate(PluginError::internal("x"));
        assert!(e.details().any(|(k, v)| k == DETAIL && v == "c-1"));
        assert_eq!(e.trace_id(), Some("t-1"));
        let kept = last.annotate(PluginError::internal("x").with_trace_id("from-body"));
        assert_eq!(kept.trace_id(), Some("from-body"));
        last.record(ids, false);
        assert_eq!(
            last.annotate(PluginError::internal("x")).details().count(),
            0
        );
    }
}

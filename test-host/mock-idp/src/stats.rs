//! What the server was asked: counters and a request log, so tests can prove a call was *not* made.
//!
//! Only the method, path, endpoint, grant type, status and injected fault are kept — never query
//! strings, bodies, codes or tokens.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use crate::faults::Endpoint;

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path, without the query string.
    pub path: String,
    /// The endpoint it addressed, if any.
    pub endpoint: Option<Endpoint>,
    /// `grant_type` of a token request.
    pub grant_type: Option<String>,
    /// Status sent; `None` when the connection was reset without a response.
    pub status: Option<u16>,
    /// The fault injected into this request (`delay`, `status`, `html`, …).
    pub fault: Option<String>,
    /// The `client-request-id` header the client sent (a GUID; not a secret).
    pub client_request_id: Option<String>,
}

/// A snapshot of the counters and the request log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Requests per endpoint.
    pub endpoints: BTreeMap<Endpoint, u64>,
    /// Token requests per `grant_type`.
    pub grant_types: BTreeMap<String, u64>,
    /// Every request in arrival order (control calls under `/_mock` are not logged).
    pub requests: Vec<RequestRecord>,
}

impl Stats {
    /// How many requests reached `endpoint`.
    pub fn count(&self, endpoint: Endpoint) -> u64 {
        self.endpoints.get(&endpoint).copied().unwrap_or(0)
    }

    /// How many token requests used `grant_type` (e.g. [`crate::DEVICE_CODE_GRANT_TYPE`]).
    pub fn grant_count(&self, grant_type: &str) -> u64 {
        self.grant_types.get(grant_type).copied().unwrap_or(0)
    }

    /// How many requests were logged in total.
    pub fn total(&self) -> usize {
        self.requests.len()
    }
}

/// The live log behind [`Stats`] snapshots.
#[derive(Debug, Default)]
pub(crate) struct StatsLog(Mutex<Stats>);

impl StatsLog {
    /// Add a request.
    pub fn record(&self, record: RequestRecord) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = record.endpoint {
            *s.endpoints.entry(e).or_default() += 1;
        }
        if let Some(g) = &record.grant_type {
            *s.grant_types.entry(g.clone()).or_default() += 1;
        }
        s.requests.push(record);
    }

    /// A copy of everything so far.
    pub fn snapshot(&self) -> Stats {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forget everything.
    pub fn reset(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_endpoint_and_grant() {
        let log = StatsLog::default();
        log.record(RequestRecord {
            method: "POST".into(),
            path: "/common/oauth2/v2.0/token".into(),
            endpoint: Some(Endpoint::Token),
            grant_type: Some("refresh_token".into()),
            status: Some(200),
            fault: None,
            client_request_id: None,
        });
        let s = log.snapshot();
        assert_eq!(s.count(Endpoint::Token), 1);
        assert_eq!(s.count(Endpoint::Graph), 0);
        assert_eq!(s.grant_count("refresh_token"), 1);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["endpoints"]["token"], 1);
        log.reset();
        assert_eq!(log.snapshot().total(), 0);
    }
}

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
    /// The `User-Agent` header the client sent.
    pub user_agent: Option<String>,
}

/// A snapshot of the counters and the request log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Requests per endpoint.
    pub endpoints: BTreeMap<Endpoint, u64>,
    /// Token requests per `grant_type`.
    pub grant_types: BTreeMap<String, u64>,
    /// Token requests per account (lower-case UPN of the user the grant belongs to).
    pub accounts: BTreeMap<String, AccountCounts>,
    /// Every request in arrival order (control calls under `/_mock` are not logged).
    pub requests: Vec<RequestRecord>,
}

/// What the token endpoint was asked for one account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AccountCounts {
    /// Token requests per `grant_type` that named this account's grant (refused ones too).
    pub grant_types: BTreeMap<String, u64>,
    /// Refreshes that presented a refresh token rotation had already replaced.
    pub replaced_presented: u64,
    /// Token requests whose `claims` declared the client capability `cp1`.
    pub cp1_declared: u64,
    /// Token requests whose `claims` answered a claims challenge (named its `nbf`).
    pub claims_answered: u64,
    /// Graph requests answered with a claims challenge.
    pub claims_challenges: u64,
    /// The most Graph requests (upload URLs included) of this mailbox in flight at once.
    pub max_in_flight: u64,
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

    /// How many token requests with `grant_type` named a grant of `upn` (any case).
    pub fn account_grant_count(&self, upn: &str, grant_type: &str) -> u64 {
        self.accounts
            .get(&upn.to_ascii_lowercase())
            .and_then(|a| a.grant_types.get(grant_type))
            .copied()
            .unwrap_or(0)
    }

    /// How many refreshes of `upn` presented a refresh token that rotation had replaced.
    pub fn replaced_presented(&self, upn: &str) -> u64 {
        self.accounts
            .get(&upn.to_ascii_lowercase())
            .map_or(0, |a| a.replaced_presented)
    }

    /// The counters of `upn` (any case); zeros when it made no request.
    pub fn account(&self, upn: &str) -> AccountCounts {
        self.accounts
            .get(&upn.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
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

    /// Count a token request for `upn`'s grant; `replaced` when it presented a refresh token
    /// that rotation had replaced.
    pub fn count_account(&self, upn: &str, grant_type: &str, replaced: bool) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let counts = s.accounts.entry(upn.to_ascii_lowercase()).or_default();
        *counts.grant_types.entry(grant_type.to_owned()).or_default() += 1;
        if replaced {
            counts.replaced_presented += 1;
        }
    }

    /// Count a token request's `claims` for `upn`: declaring `cp1`, answering a challenge.
    pub fn count_claims(&self, upn: &str, cp1: bool, answered: bool) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let counts = s.accounts.entry(upn.to_ascii_lowercase()).or_default();
        counts.cp1_declared += u64::from(cp1);
        counts.claims_answered += u64::from(answered);
    }

    /// Note that `now` requests of `upn` are in flight.
    pub fn note_in_flight(&self, upn: &str, now: u64) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let counts = s.accounts.entry(upn.to_ascii_lowercase()).or_default();
        counts.max_in_flight = counts.max_in_flight.max(now);
    }

    /// Count a Graph request of `upn` answered with a claims challenge.
    pub fn count_challenge(&self, upn: &str) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.accounts
            .entry(upn.to_ascii_lowercase())
            .or_default()
            .claims_challenges += 1;
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
            user_agent: None,
        });
        let s = log.snapshot();
        assert_eq!(s.count(Endpoint::Token), 1);
        assert_eq!(s.count(Endpoint::Graph), 0);
        assert_eq!(s.grant_count("refresh_token"), 1);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["endpoints"]["token"], 1);
        log.count_account("Ada@Contoso", "refresh_token", true);
        let s = log.snapshot();
        assert_eq!(s.account_grant_count("ada@contoso", "refresh_token"), 1);
        assert_eq!(s.replaced_presented("ADA@contoso"), 1);
        assert_eq!(s.account_grant_count("bob@contoso", "refresh_token"), 0);
        log.reset();
        assert_eq!(log.snapshot().total(), 0);
    }
}

//! What refreshing a saved account left in its settings (plain facts, never secrets):
//! when it last refreshed, whether that failed and why, when the refresh token last
//! rotated, and whether the account needs signing in again.

use atrs_host_sdk::{ErrorKind, PluginError, Settings};
use serde::{Deserialize, Serialize};

use crate::account::saved::{
    LAST_REFRESH_AT, LAST_REFRESH_ERROR, LAST_REFRESH_OK_AT, REFRESH_TOKEN_ROTATED_AT,
};

/// Every settings key a refresh writes; a new verification starts without them.
pub const KEYS: [&str; 4] = [
    LAST_REFRESH_AT,
    LAST_REFRESH_OK_AT,
    LAST_REFRESH_ERROR,
    REFRESH_TOKEN_ROTATED_AT,
];

/// A refresh failure as kept in the settings: enough to show it again, no secret in it
/// (messages and hints are the plugin's own words, never the provider's prose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFailure {
    /// [`ErrorKind::as_str`] of the error.
    pub kind: String,
    /// What went wrong, as the error said it.
    pub message: String,
    /// Why, in one plain sentence that does not name the account (for its health).
    #[serde(default)]
    pub reason: String,
    /// What to do.
    #[serde(default)]
    pub hint: Option<String>,
    /// `AADSTSnnnn`, when the provider named one.
    #[serde(default)]
    pub provider_code: Option<String>,
    /// Whether the refresh was refused for good: the account needs signing in again.
    pub needs_sign_in: bool,
}

impl StoredFailure {
    /// Keeps `error` and its `reason`; `needs_sign_in` when it was a refusal for good.
    pub fn new(error: &PluginError, reason: &str, needs_sign_in: bool) -> Self {
        StoredFailure {
            kind: error.kind().as_str().to_owned(),
            message: error.message().to_owned(),
            reason: reason.to_owned(),
            hint: error.hint().map(str::to_owned),
            provider_code: error.provider_code().map(str::to_owned),
            needs_sign_in,
        }
    }

    /// The error again, as it was shown when it happened.
    pub fn to_error(&self) -> PluginError {
        let kind = KINDS
            .into_iter()
            .find(|k| k.as_str() == self.kind)
            .unwrap_or(ErrorKind::Provider);
        let mut e = PluginError::new(kind, self.message.as_str());
        if let Some(h) = &self.hint {
            e = e.with_hint(h.as_str());
        }
        if let Some(c) = &self.provider_code {
            e = e.with_provider_code(c.as_str());
        }
        e
    }
}

const KINDS: [ErrorKind; 8] = [
    ErrorKind::InvalidInput,
    ErrorKind::Network,
    ErrorKind::AuthorizationRefused,
    ErrorKind::Provider,
    ErrorKind::Cancelled,
    ErrorKind::TimedOut,
    ErrorKind::Unsupported,
    ErrorKind::Internal,
];

/// The refresh facts of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshFacts {
    /// When the last refresh was tried.
    pub last_refresh_at: Option<i64>,
    /// When a refresh last succeeded.
    pub last_refresh_ok_at: Option<i64>,
    /// Why the last refresh failed; `None` when it succeeded or none was tried.
    pub last_failure: Option<StoredFailure>,
    /// When the refresh token last rotated.
    pub rotated_at: Option<i64>,
}

impl RefreshFacts {
    /// The facts in `settings`.
    pub fn read(settings: &Settings) -> Self {
        let time = |key: &str| settings.get(key).and_then(|v| v.parse::<i64>().ok());
        RefreshFacts {
            last_refresh_at: time(LAST_REFRESH_AT),
            last_refresh_ok_at: time(LAST_REFRESH_OK_AT),
            last_failure: settings
                .get(LAST_REFRESH_ERROR)
                .and_then(|v| serde_json::from_str(v).ok()),
            rotated_at: time(REFRESH_TOKEN_ROTATED_AT),
        }
    }

    /// Writes the facts into `settings`, leaving every other key as it is.
    pub fn write(&self, settings: &mut Settings) {
        let mut time = |key: &str, v: Option<i64>| match v {
            Some(v) => {
                settings.insert(key.to_owned(), v.to_string());
            }
            None => {
                settings.remove(key);
            }
        };
        time(LAST_REFRESH_AT, self.last_refresh_at);
        time(LAST_REFRESH_OK_AT, self.last_refresh_ok_at);
        time(REFRESH_TOKEN_ROTATED_AT, self.rotated_at);
        match &self.last_failure {
            Some(f) => {
                let json = serde_json::to_string(f).expect("strings always serialize");
                settings.insert(LAST_REFRESH_ERROR.to_owned(), json);
            }
            None => {
                settings.remove(LAST_REFRESH_ERROR);
            }
        }
    }

    /// The failure that keeps the account from working until it is signed in again.
    pub fn needs_sign_in(&self) -> Option<&StoredFailure> {
        self.last_failure.as_ref().filter(|f| f.needs_sign_in)
    }

    /// A refresh succeeded at `now`; `rotated` when a new refresh token came with it.
    pub fn succeeded(&mut self, now: i64, rotated: bool) {
        self.last_refresh_at = Some(now);
        self.last_refresh_ok_at = Some(now);
        self.last_failure = None;
        if rotated {
            self.rotated_at = Some(now);
        }
    }

    /// A refresh failed at `now`.
    pub fn failed(&mut self, now: i64, failure: StoredFailure) {
        self.last_refresh_at = Some(now);
        self.last_failure = Some(failure);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_through_settings_and_leave_other_keys() {
        let mut settings = Settings::from([("client_id".to_owned(), "c".to_owned())]);
        let mut facts = RefreshFacts::default();
        facts.succeeded(100, true);
        let e = PluginError::new(ErrorKind::AuthorizationRefused, "Revoked.")
            .with_hint("Sign in again.")
            .with_provider_code("AADSTS50173");
        facts.failed(200, StoredFailure::new(&e, "Revoked.", true));
        facts.write(&mut settings);
        assert_eq!(settings["client_id"], "c");
        let back = RefreshFacts::read(&settings);
        assert_eq!(back, facts);
        assert_eq!(back.last_refresh_ok_at, Some(100));
        let again = back.needs_sign_in().unwrap().to_error();
        assert_eq!(again.kind(), ErrorKind::AuthorizationRefused);
        assert_eq!(again.provider_code(), Some("AADSTS50173"));
        assert_eq!(again.hint(), Some("Sign in again."));

        let mut ok = back.clone();
        ok.succeeded(300, false);
        ok.write(&mut settings);
        assert!(!settings.contains_key(LAST_REFRESH_ERROR));
        assert_eq!(RefreshFacts::read(&settings).rotated_at, Some(100));
    }
}

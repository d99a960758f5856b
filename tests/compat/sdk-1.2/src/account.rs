//! A saved account at work (added in 1.1): access tokens for the host, and the
//! account's health.
//!
//! These are the plain types an author and a host use; `abi` carries them across the
//! boundary in stable form.

// abi_stable's StableAbi derive for non-exhaustive enums puts trait impls inside
// a const block, which this lint flags; the code is abi_stable's, not ours.
#![allow(non_local_definitions)]

use abi_stable::StableAbi;

use crate::{error::PluginError, verify::AccessToken};

/// What the host asks for when it wants an access token for a saved account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenRequest {
    /// The permissions wanted; empty means the ones saved with the account.
    pub scopes: Vec<String>,
    /// Refresh even when the cached token is still good (keep-alive, or after the
    /// resource refused the cached one).
    pub force_refresh: bool,
}

impl TokenRequest {
    /// A token for the scopes saved with the account, from cache when it is fresh.
    pub fn saved_scopes() -> Self {
        Self::default()
    }

    /// A token for `scopes` (a subset of the saved ones).
    pub fn for_scopes<S: Into<String>>(scopes: impl IntoIterator<Item = S>) -> Self {
        TokenRequest {
            scopes: scopes.into_iter().map(Into::into).collect(),
            force_refresh: false,
        }
    }

    /// The same request, refreshing even when the cache holds a fresh token.
    pub fn forced(mut self) -> Self {
        self.force_refresh = true;
        self
    }
}

/// Where an access token came from.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u64; 1], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum TokenSource {
    /// A cached token with enough life left; no request was made.
    Cache,
    /// Just obtained from the provider with the stored refresh token.
    Refreshed,
}

impl TokenSource {
    /// The name used on command lines and in JSON (`cache`, `refreshed`).
    pub fn name(self) -> &'static str {
        match self {
            TokenSource::Cache => "cache",
            TokenSource::Refreshed => "refreshed",
        }
    }
}

/// An access token with where it came from; `Debug` never shows the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenGrant {
    /// The token, its expiry and the permissions it carries.
    pub token: AccessToken,
    /// Cache hit or fresh refresh.
    pub source: TokenSource,
}

/// How a saved account stands, in one word a host can colour.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[sabi(kind(WithNonExhaustive(size = [u64; 1], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum HealthState {
    /// Works, and nothing lapses soon.
    Healthy,
    /// Works today, but something lapses soon (the refresh token from disuse, the
    /// client secret): the reason says what and when.
    ExpiringSoon,
    /// Cannot be used unattended until someone signs in again (Re-verify).
    NeedsSignIn,
    /// The app's own credential — its client secret or certificate — has expired:
    /// someone must create a new one where the app is registered before it signs in
    /// again; the reason says which and since when. Added after 1.1: a host built
    /// before it shows it as [`HealthState::ExpiringSoon`], with the plugin's reason.
    CredentialExpired,
}

impl HealthState {
    /// The name used on command lines and in JSON (`healthy`, `expiring_soon`,
    /// `needs_sign_in`, `credential_expired`).
    pub fn name(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::ExpiringSoon => "expiring_soon",
            HealthState::NeedsSignIn => "needs_sign_in",
            HealthState::CredentialExpired => "credential_expired",
        }
    }
}

/// The health of one saved account: its state, why, and the facts behind it.
///
/// Times are Unix seconds; `None` means not known (or never happened).
#[derive(Clone, Debug, PartialEq)]
pub struct AccountHealth {
    /// Healthy, expiring soon, or needs sign-in again.
    pub state: HealthState,
    /// Why the account is in this state, in one plain sentence (empty when healthy).
    pub reason: String,
    /// What to do about it.
    pub fix: Option<String>,
    /// When the saved values were last verified by a sign-in.
    pub verified_at: Option<i64>,
    /// Until when the cached access token is good.
    pub access_token_expires_at: Option<i64>,
    /// When the last refresh was tried.
    pub last_refresh_at: Option<i64>,
    /// Why the last refresh failed; `None` when it worked or none was tried.
    pub last_refresh_error: Option<PluginError>,
    /// When the provider last handed out a new refresh token.
    pub refresh_token_rotated_at: Option<i64>,
    /// When the refresh token lapses if the account is not used until then.
    pub lapses_at: Option<i64>,
    /// When the client secret expires, if the user said so.
    pub secret_expires_at: Option<i64>,
}

impl AccountHealth {
    /// A health report in `state` with no facts yet.
    pub fn new(state: HealthState) -> Self {
        AccountHealth {
            state,
            reason: String::new(),
            fix: None,
            verified_at: None,
            access_token_expires_at: None,
            last_refresh_at: None,
            last_refresh_error: None,
            refresh_token_rotated_at: None,
            lapses_at: None,
            secret_expires_at: None,
        }
    }

    /// The same report with its reason and fix.
    pub fn because(mut self, reason: impl Into<String>, fix: impl Into<String>) -> Self {
        self.reason = reason.into();
        self.fix = Some(fix.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_they_are_built() {
        assert_eq!(TokenRequest::saved_scopes().scopes, Vec::<String>::new());
        let r = TokenRequest::for_scopes(["Mail.Send"]).forced();
        assert_eq!(r.scopes, vec!["Mail.Send".to_string()]);
        assert!(r.force_refresh);
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(HealthState::NeedsSignIn.name(), "needs_sign_in");
        assert_eq!(TokenSource::Cache.name(), "cache");
        let h = AccountHealth::new(HealthState::ExpiringSoon).because("r", "f");
        assert_eq!((h.reason.as_str(), h.fix.as_deref()), ("r", Some("f")));
    }
}

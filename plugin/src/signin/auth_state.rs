//! The `state` of a browser sign-in: random, single use, and expiring with the attempt.
//!
//! It ties the browser's answer to the sign-in this window started (CSRF protection,
//! RFC 6749 §10.12): an address whose `state` differs belongs to another attempt. Once
//! one answer has been taken the state is spent, so the same address (or any other)
//! cannot be used twice.

use std::time::Duration;

use tokio::time::Instant;

use crate::secret::Secret;

/// Random bytes in a state (base64url-encoded, 43 characters): guessing is hopeless.
const STATE_BYTES: usize = 32;

/// A sign-in attempt's `state`; `Debug` never shows its value.
#[derive(Debug)]
pub struct AuthState {
    value: Secret,
    deadline: Instant,
    spent: bool,
}

impl AuthState {
    /// A fresh random state that expires after `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        Self::with_value(crate::random::url_safe::<STATE_BYTES>(), lifetime)
    }

    /// A state with a known value (for tests of what checks it).
    pub fn with_value(value: impl Into<String>, lifetime: Duration) -> Self {
        AuthState {
            value: Secret::new(value),
            deadline: Instant::now() + lifetime,
            spent: false,
        }
    }

    /// The value, for the one place that sends it (the authorization address).
    pub fn value(&self) -> &Secret {
        &self.value
    }

    /// Whether `candidate` is this state (compared in constant time).
    pub fn matches(&self, candidate: &str) -> bool {
        let ours = self.value.expose().as_bytes();
        let theirs = candidate.as_bytes();
        ours.len() == theirs.len()
            && ours
                .iter()
                .zip(theirs)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }

    /// When the attempt stops being accepted.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the attempt has expired.
    pub fn is_expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Whether an answer was already taken.
    pub fn is_spent(&self) -> bool {
        self.spent
    }

    /// Marks the state used: no later answer is accepted.
    pub fn spend(&mut self) {
        self.spent = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_random_long_and_redacted() {
        let a = AuthState::new(Duration::from_secs(600));
        let b = AuthState::new(Duration::from_secs(600));
        assert_ne!(a.value().expose(), b.value().expose());
        assert_eq!(a.value().expose().len(), 43);
        assert!(!format!("{a:?}").contains(a.value().expose()));
    }

    #[test]
    fn matching_is_exact() {
        let s = AuthState::with_value("abc", Duration::from_secs(1));
        assert!(s.matches("abc"));
        for other in ["", "ab", "abd", "abcd", "ABC"] {
            assert!(!s.matches(other), "{other}");
        }
    }

    #[test]
    fn single_use_and_expiry() {
        let mut s = AuthState::with_value("abc", Duration::from_secs(600));
        assert!(!s.is_spent() && !s.is_expired());
        s.spend();
        assert!(s.is_spent());
        assert!(AuthState::with_value("x", Duration::ZERO).is_expired());
    }
}

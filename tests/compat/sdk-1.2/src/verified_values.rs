//! The save-only-what-was-verified rule (added in 1.1): keeps the values of the last
//! successful verification, so `save` can refuse anything else.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::{error::PluginError, form::FormValues};

/// The values of the last successful verification, with whatever the plugin keeps
/// beside them (`T`: tokens, who signed in). Clones share one slot.
pub struct VerifiedValues<T> {
    slot: Arc<Mutex<Option<(FormValues, T)>>>,
}

impl<T> Clone for VerifiedValues<T> {
    fn clone(&self) -> Self {
        VerifiedValues {
            slot: self.slot.clone(),
        }
    }
}

impl<T> Default for VerifiedValues<T> {
    fn default() -> Self {
        VerifiedValues {
            slot: Arc::new(Mutex::new(None)),
        }
    }
}

impl<T: Send + 'static> VerifiedValues<T> {
    /// Nothing verified yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Option<(FormValues, T)>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records `values` (and `kept`) as verified, replacing what was.
    pub fn record(&self, values: FormValues, kept: T) {
        *self.lock() = Some((values, kept));
    }

    /// A closure that records `values` when run: the `commit` of a
    /// [`crate::session::Success`], so nothing is recorded for a cancelled sign-in.
    pub fn recorder(&self, values: FormValues, kept: T) -> impl FnOnce() + Send + 'static {
        let this = self.clone();
        move || this.record(values, kept)
    }

    /// Forgets what was verified (a new verification started, or the form closed).
    pub fn clear(&self) {
        *self.lock() = None;
    }

    /// Whether exactly `values` were verified.
    pub fn matches(&self, values: &FormValues) -> bool {
        self.lock().as_ref().is_some_and(|(v, _)| v == values)
    }

    /// Takes what was kept for exactly `values`, refusing other values with an error
    /// that names the fields that changed since (never their values).
    pub fn take_for(&self, values: &FormValues) -> Result<T, PluginError> {
        let mut slot = self.lock();
        let Some((verified, _)) = slot.as_ref() else {
            return Err(
                PluginError::invalid_input("These values have not been verified yet.")
                    .with_hint("Verify the account first, then save."),
            );
        };
        let changed = changed_keys(verified, values);
        if !changed.is_empty() {
            return Err(PluginError::invalid_input(format!(
                "These values are not the ones that were verified: {} changed since.",
                changed.join(", ")
            ))
            .with_hint("Verify again with these values, then save.")
            .with_field(changed[0].clone()));
        }
        Ok(slot.take().expect("checked above").1)
    }
}

/// The keys whose values differ between `a` and `b`, in form order.
fn changed_keys(a: &FormValues, b: &FormValues) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for field in a.iter().chain(b.iter()) {
        let key = field.key();
        if a.get(key) != b.get(key) && !keys.iter().any(|k| k == key) {
            keys.push(key.to_owned());
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_verified_values_are_taken_and_only_once() {
        let verified = VerifiedValues::new();
        let values = FormValues::new()
            .with("account_name", "A")
            .with("client_id", "1");
        let e = verified.take_for(&values).unwrap_err();
        assert!(e.message().contains("not been verified"), "{e}");
        (verified.recorder(values.clone(), 7))();
        let edited = values.clone().with("client_id", "2").with("scopes", "x");
        let e = verified.take_for(&edited).unwrap_err();
        assert!(e.message().contains("client_id, scopes changed"), "{e}");
        assert!(!e.message().contains('2'), "values are never named: {e}");
        assert_eq!(e.field(), Some("client_id"));
        assert!(verified.matches(&values));
        assert_eq!(verified.take_for(&values).unwrap(), 7);
        assert!(verified.take_for(&values).is_err(), "taken once");
    }

    #[test]
    fn a_changed_secret_counts_as_a_change() {
        let verified = VerifiedValues::new();
        let mut values = FormValues::new().with("account_name", "A");
        values.set_secret("client_secret", "s1");
        verified.record(values.clone(), ());
        let mut other = values.clone();
        other.set_secret("client_secret", "s2");
        let e = verified.take_for(&other).unwrap_err();
        assert!(e.message().contains("client_secret") && !e.message().contains("s2"));
        verified.clear();
        assert!(!verified.matches(&values));
    }
}

//! Exchange Online application access policies (`New-ApplicationAccessPolicy -AccessRight
//! RestrictAccess`), kept per app: the mailboxes an app-only token may reach
//! ([`crate::bearer`] applies them to mailbox resources only).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Application access policies (`New-ApplicationAccessPolicy -AccessRight RestrictAccess`):
/// per app (client id, lower case), the mailboxes (addresses or UPNs, lower case) it may
/// reach. An app without a policy reaches every mailbox.
#[derive(Debug, Default)]
pub(crate) struct AccessPolicies {
    by_app: Mutex<HashMap<String, BTreeSet<String>>>,
}

impl AccessPolicies {
    /// Restrict `client_id` to `mailboxes`.
    pub fn restrict(&self, client_id: &str, mailboxes: &[String]) {
        let set = mailboxes.iter().map(|m| m.trim().to_lowercase()).collect();
        self.lock().insert(client_id.to_lowercase(), set);
    }

    /// Remove the policy of `client_id`, or every policy (`None`).
    pub fn clear(&self, client_id: Option<&str>) {
        match client_id {
            Some(id) => {
                self.lock().remove(&id.to_lowercase());
            }
            None => self.lock().clear(),
        }
    }

    /// Whether `client_id` may reach the mailbox known by any of `names`.
    pub fn allows(&self, client_id: &str, names: &[&str]) -> bool {
        match self.lock().get(&client_id.to_lowercase()) {
            None => true,
            Some(set) => names.iter().any(|n| set.contains(&n.to_lowercase())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeSet<String>>> {
        self.by_app.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_narrows_only_its_own_app() {
        let p = AccessPolicies::default();
        assert!(p.allows("A", &["x@contoso.com"]));
        p.restrict("a", &["X@Contoso.com".to_owned()]);
        assert!(p.allows("A", &["other", "x@contoso.com"]));
        assert!(!p.allows("a", &["y@contoso.com"]));
        assert!(p.allows("b", &["y@contoso.com"]));
        p.clear(Some("A"));
        assert!(p.allows("a", &["y@contoso.com"]));
    }
}

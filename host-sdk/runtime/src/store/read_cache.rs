//! What a [`Store`](super::Store) handle keeps of what it read: the list of accounts and
//! each account's settings and secrets as last read, valid while the store's [`Generation`] is the one they were
//! read at. Any committed change, by any process, moves the generation, and the first
//! read after that empties the cache; so a cached read is never older than the last
//! change a reader could have seen.
//!
//! Kept secrets are wiped from memory when dropped. `Debug` shows counts, never a value.

use std::{
    collections::HashMap,
    fmt,
    sync::{Mutex, MutexGuard},
};

use zeroize::Zeroizing;

use super::{AccountRef, Generation, Values};

/// Accounts kept before the cache starts again from empty: a bound on memory for hosts
/// that read many accounts once each.
const MOST_ACCOUNTS: usize = 20_000;

/// One account's reads: `None` where it was not read yet, `Some(None)` where the store
/// had nothing.
#[derive(Default)]
struct Account {
    settings: Option<Option<Values>>,
    secrets: HashMap<String, Option<Zeroizing<String>>>,
}

#[derive(Default)]
struct Kept {
    generation: Option<Generation>,
    /// Every account, as listed.
    listing: Option<Vec<AccountRef>>,
    /// Plugin → account → its reads.
    accounts: HashMap<String, HashMap<String, Account>>,
    count: usize,
}

impl Kept {
    /// Keeps reads at `generation` from now on: everything kept at another generation
    /// (or too much of it) is dropped.
    fn at(&mut self, generation: Generation) {
        if self.generation != Some(generation) || self.count >= MOST_ACCOUNTS {
            self.accounts.clear();
            self.listing = None;
            self.count = 0;
            self.generation = Some(generation);
        }
    }

    /// The reads of `plugin`'s `account` at `generation`; everything kept at another
    /// generation is dropped first.
    fn account(&mut self, generation: Generation, plugin: &str, account: &str) -> &mut Account {
        self.at(generation);
        let accounts = self.accounts.entry(plugin.to_owned()).or_default();
        if !accounts.contains_key(account) {
            self.count += 1;
        }
        accounts.entry(account.to_owned()).or_default()
    }

    fn find(&self, generation: Generation, plugin: &str, account: &str) -> Option<&Account> {
        if self.generation != Some(generation) {
            return None;
        }
        self.accounts.get(plugin)?.get(account)
    }
}

/// The reads kept by a store handle and its clones.
#[derive(Default)]
pub(crate) struct ReadCache {
    kept: Mutex<Kept>,
}

impl ReadCache {
    fn kept(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The settings of `account` as read at `generation`, if they were.
    pub fn settings(
        &self,
        generation: Generation,
        plugin: &str,
        account: &str,
    ) -> Option<Option<Values>> {
        self.kept()
            .find(generation, plugin, account)?
            .settings
            .clone()
    }

    /// Keeps `settings` as read at `generation`.
    pub fn keep_settings(
        &self,
        generation: Generation,
        plugin: &str,
        account: &str,
        settings: &Option<Values>,
    ) {
        self.kept().account(generation, plugin, account).settings = Some(settings.clone());
    }

    /// Whether settings of `account` are kept (at whatever generation): only then is
    /// a generation check worth a query of its own.
    pub fn holds_settings(&self, plugin: &str, account: &str) -> bool {
        let kept = self.kept();
        kept.accounts
            .get(plugin)
            .and_then(|a| a.get(account))
            .is_some_and(|a| a.settings.is_some())
    }

    /// Whether the secret `name` of `account` is kept (at whatever generation).
    pub fn holds_secret(&self, plugin: &str, account: &str, name: &str) -> bool {
        let kept = self.kept();
        kept.accounts
            .get(plugin)
            .and_then(|a| a.get(account))
            .is_some_and(|a| a.secrets.contains_key(name))
    }

    /// The secret `name` of `account` as read at `generation`, if it was.
    pub fn secret(
        &self,
        generation: Generation,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Option<Option<String>> {
        let kept = self.kept();
        let value = kept.find(generation, plugin, account)?.secrets.get(name)?;
        Some(value.as_deref().map(|v| v.as_str().to_owned()))
    }

    /// Keeps the secret `name` as read at `generation`.
    pub fn keep_secret(
        &self,
        generation: Generation,
        plugin: &str,
        account: &str,
        name: &str,
        value: &Option<String>,
    ) {
        self.kept()
            .account(generation, plugin, account)
            .secrets
            .insert(name.to_owned(), value.clone().map(Zeroizing::new));
    }

    /// Every account as listed at `generation`, if it was.
    pub fn listing(&self, generation: Generation) -> Option<Vec<AccountRef>> {
        let kept = self.kept();
        if kept.generation != Some(generation) {
            return None;
        }
        kept.listing.clone()
    }

    /// Keeps `listing` as listed at `generation`.
    pub fn keep_listing(&self, generation: Generation, listing: &[AccountRef]) {
        let mut kept = self.kept();
        kept.at(generation);
        kept.listing = Some(listing.to_vec());
    }

    /// Drops everything kept (after this handle changed the store).
    pub fn forget(&self) {
        let mut kept = self.kept();
        kept.listing = None;
        kept.accounts.clear();
        kept.count = 0;
        kept.generation = None;
    }
}

impl fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadCache")
            .field("accounts", &self.kept().count)
            .finish()
    }
}

/// What every backend with a generation must show (run by each backend's tests): `a`
/// and `b` are two handles on one store, as two processes have them. Whatever `b`
/// changes, `a`'s next read sees; and `a`'s own change too.
#[cfg(test)]
pub(crate) fn check_reads_follow_every_change(a: &super::Store, b: &super::Store) {
    let settings = |v: &str| -> Values { [("k".to_owned(), v.to_owned())].into() };
    a.write_account(
        "p",
        "A",
        &settings("1"),
        &[("rt".to_owned(), "rt-1".to_owned())].into(),
        None,
    )
    .unwrap();
    let before = a
        .generation()
        .unwrap()
        .expect("the backend has a generation");
    assert_eq!(a.generation().unwrap(), Some(before), "reads move nothing");
    for _ in 0..2 {
        assert_eq!(a.read_settings("p", "A").unwrap(), Some(settings("1")));
        assert_eq!(
            a.read_secret("p", "A", "rt").unwrap().as_deref(),
            Some("rt-1")
        );
    }
    assert_eq!(a.generation().unwrap(), Some(before));

    b.write_secret("p", "A", "rt", "rt-2").unwrap();
    assert_ne!(
        a.generation().unwrap(),
        Some(before),
        "another handle's change moves it"
    );
    assert_eq!(
        a.read_secret("p", "A", "rt").unwrap().as_deref(),
        Some("rt-2")
    );
    b.write_settings("p", "A", &settings("2")).unwrap();
    assert_eq!(a.read_settings("p", "A").unwrap(), Some(settings("2")));
    a.write_secret("p", "A", "rt", "rt-3").unwrap();
    assert_eq!(
        a.read_secret("p", "A", "rt").unwrap().as_deref(),
        Some("rt-3")
    );
    assert_eq!(
        b.read_secret("p", "A", "rt").unwrap().as_deref(),
        Some("rt-3")
    );
    let names = |s: &super::Store| -> Vec<String> {
        s.all_accounts()
            .unwrap()
            .into_iter()
            .map(|r| r.account)
            .collect()
    };
    assert_eq!(names(a), ["A"]);
    assert_eq!(names(a), ["A"], "listed again from what was kept");
    b.write_account("p", "B", &settings("b"), &Values::new(), None)
        .unwrap();
    assert_eq!(
        names(a),
        ["A", "B"],
        "another handle's new account is listed"
    );
    b.remove_account("p", "A").unwrap();
    assert_eq!(a.read_settings("p", "A").unwrap(), None);
    assert_eq!(a.read_secret("p", "A", "rt").unwrap(), None);
    assert_eq!(names(a), ["B"], "and its removal");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(n: u64) -> Generation {
        Generation::new([n, 0])
    }

    #[test]
    fn reads_are_served_only_at_the_generation_they_were_made() {
        let cache = ReadCache::default();
        let values: Values = [("k".to_owned(), "v".to_owned())].into();
        cache.keep_settings(at(1), "p", "A", &Some(values.clone()));
        cache.keep_secret(at(1), "p", "A", "rt", &Some("rt-secret".into()));
        cache.keep_secret(at(1), "p", "A", "none", &None);
        assert_eq!(cache.settings(at(1), "p", "A"), Some(Some(values)));
        assert_eq!(
            cache.secret(at(1), "p", "A", "rt"),
            Some(Some("rt-secret".into()))
        );
        assert_eq!(cache.secret(at(1), "p", "A", "none"), Some(None));
        assert_eq!(cache.secret(at(1), "p", "A", "unread"), None);
        assert_eq!(cache.settings(at(1), "q", "A"), None, "per plugin");
        assert_eq!(cache.settings(at(2), "p", "A"), None, "another generation");
        cache.keep_settings(at(2), "p", "B", &None);
        assert_eq!(
            cache.secret(at(1), "p", "A", "rt"),
            None,
            "a newer generation dropped the older reads"
        );
        assert_eq!(cache.settings(at(2), "p", "B"), Some(None));
        cache.forget();
        assert_eq!(cache.settings(at(2), "p", "B"), None);
    }

    #[test]
    fn debug_shows_a_count_and_no_secret() {
        let cache = ReadCache::default();
        cache.keep_secret(at(1), "p", "A", "rt", &Some("rt-very-secret".into()));
        let shown = format!("{cache:?}");
        assert!(
            shown.contains("accounts: 1") && !shown.contains("rt-very"),
            "{shown}"
        );
    }

    #[test]
    fn memory_stays_bounded() {
        let cache = ReadCache::default();
        for i in 0..=MOST_ACCOUNTS {
            cache.keep_settings(at(1), "p", &i.to_string(), &None);
        }
        assert!(cache.kept().count <= MOST_ACCOUNTS);
        assert_eq!(
            cache.settings(at(1), "p", &MOST_ACCOUNTS.to_string()),
            Some(None)
        );
    }
}

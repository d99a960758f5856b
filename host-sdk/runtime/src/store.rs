//! The account store: where every plugin's saved accounts live — plain settings and
//! secrets, changed in transactions — and the named locks that every process on the
//! store shares (one refresh per account at a time).
//!
//! [`AccountStore`] is the contract a backend fulfils; [`Store`] is the cheap, cloneable
//! handle the rest of the runtime uses. Backends:
//! - [`sqlite`]: one SQLite database in the store folder, secrets sealed at rest (the
//!   default for a folder path);
//! - [`postgres`]: a PostgreSQL database several servers share (`postgres://…`).
//!
//! The JSON store of earlier versions (two JSON files in the folder) is no backend any
//! more: a folder holding one is read once ([`json_store`]) and imported into SQLite on
//! first open, its files kept read-only as a backup.
//!
//! The key that seals secrets is kept in a key file or in the freedesktop Secret
//! Service ([`secret_service`]); [`key_file`] says which a new store gets, and a store
//! records which sealed it.

mod error;
mod group_commit;
pub mod json_store;
pub mod key_file;
mod lock_holder;
mod named_lock;
pub mod postgres;
mod read_cache;
mod seal;
mod sealing;
pub mod secret_service;
pub mod sqlite;
mod trust;

use std::{collections::BTreeMap, fmt, path::PathBuf, sync::Arc, time::Duration};

use serde::Serialize;

pub use error::StoreError;
pub use key_file::{KeyOptions, KeySource, KeyStore};
pub use lock_holder::LockHolder;
pub use named_lock::NamedLock;
pub use postgres::PostgresStore;
use read_cache::ReadCache;
pub use secret_service::SecretServiceError;
pub use sqlite::import::ImportReport;
pub use sqlite::{Rotation, SqliteStore};

/// Plain values of one account, by name.
pub type Values = BTreeMap<String, String>;

/// Everything a store holds, secrets opened: plugin → account → values. `Debug` shows
/// how many accounts there are, never a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Contents {
    /// Settings by plugin and account.
    pub settings: BTreeMap<String, BTreeMap<String, Values>>,
    /// Secrets by plugin and account.
    pub secrets: BTreeMap<String, BTreeMap<String, Values>>,
}

impl Contents {
    /// Keeps one opened secret of an account.
    pub fn put_secret(&mut self, plugin: String, account: String, name: String, value: String) {
        self.secrets
            .entry(plugin)
            .or_default()
            .entry(account)
            .or_default()
            .insert(name, value);
    }
}

impl fmt::Debug for Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |m: &BTreeMap<String, BTreeMap<String, Values>>| -> usize {
            m.values().map(BTreeMap::len).sum()
        };
        f.debug_struct("Contents")
            .field("accounts_with_settings", &count(&self.settings))
            .field("accounts_with_secrets", &count(&self.secrets))
            .finish()
    }
}

/// What opening a store did that a person should be told, once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OpenReport {
    /// A JSON store found in the folder was imported.
    pub imported: Option<ImportReport>,
    /// The host created this key file to seal the store's secrets.
    pub key_created: Option<PathBuf>,
    /// The host created the store's key in the Secret Service, as this item.
    pub key_stored: Option<KeySource>,
    /// What a person should know about how the store was reached (a password file
    /// ignored because others may read it).
    pub warnings: Vec<String>,
}

impl OpenReport {
    /// One line per thing to tell.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(path) = &self.key_created {
            lines.push(format!(
                "Created the store key {} (owner-only) to seal saved secrets; keep a copy of it apart from the store: without it they cannot be opened.",
                path.display()
            ));
        }
        if let Some(KeySource::SecretService { store_id, .. }) = &self.key_stored {
            lines.push(format!(
                "Created the store key in the Secret Service ({}) to seal saved secrets; keep a copy of it apart from the store (`secret-tool lookup application {} store {store_id} slot current`): without it they cannot be opened.",
                self.key_stored.as_ref().map(ToString::to_string).unwrap_or_default(),
                secret_service::APPLICATION,
            ));
        }
        if let Some(report) = &self.imported {
            lines.push(report.to_string());
        }
        lines.extend(self.warnings.iter().cloned());
        lines
    }
}

/// An account as listed: plugin id and account name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRef {
    /// The plugin that owns it.
    pub plugin: String,
    /// The account name.
    pub account: String,
}

/// One change to one plugin's accounts, applied as a single transaction: every reader,
/// and every crash, sees all of it or none of it. As JSON (for hosts that keep accounts
/// themselves), `change` names the variant in snake case. `Debug` shows no value.
#[derive(Clone, Copy, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change<'a> {
    /// Replace the settings of an account.
    Settings {
        /// The account.
        account: &'a str,
        /// Its new settings.
        values: &'a Values,
    },
    /// Delete the settings of an account (its secrets stay).
    RemoveSettings {
        /// The account.
        account: &'a str,
    },
    /// Store one secret of an account.
    Secret {
        /// The account.
        account: &'a str,
        /// The secret's name.
        name: &'a str,
        /// Its value.
        value: &'a str,
    },
    /// Delete every secret of an account (its settings stay).
    RemoveSecrets {
        /// The account.
        account: &'a str,
    },
    /// `account` gets exactly `settings` and `secrets`; `replaces` (a rename's old name),
    /// when given, is removed with all its secrets.
    Account {
        /// The account.
        account: &'a str,
        /// Its settings.
        settings: &'a Values,
        /// Its secrets (empty: none).
        secrets: &'a Values,
        /// The account it replaces, for a rename.
        replaces: Option<&'a str>,
    },
    /// Delete an account's settings and secrets.
    RemoveAccount {
        /// The account.
        account: &'a str,
    },
}

impl Change<'_> {
    /// The variant's name, as in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Change::Settings { .. } => "settings",
            Change::RemoveSettings { .. } => "remove_settings",
            Change::Secret { .. } => "secret",
            Change::RemoveSecrets { .. } => "remove_secrets",
            Change::Account { .. } => "account",
            Change::RemoveAccount { .. } => "remove_account",
        }
    }

    /// The account it changes.
    pub fn account(&self) -> &str {
        match self {
            Change::Settings { account, .. }
            | Change::RemoveSettings { account }
            | Change::Secret { account, .. }
            | Change::RemoveSecrets { account }
            | Change::Account { account, .. }
            | Change::RemoveAccount { account } => account,
        }
    }
}

impl fmt::Debug for Change<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Change")
            .field("change", &self.name())
            .field("account", &self.account())
            .finish_non_exhaustive()
    }
}

/// A point in a store's history: it moves with every change committed to the store, by
/// any process, so two reads at one generation read the same store. Compared only for
/// equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Generation([u64; 2]);

impl Generation {
    /// A generation made of a backend's own counters.
    pub fn new(parts: [u64; 2]) -> Self {
        Generation(parts)
    }

    /// The generation whose number ([`Generation::as_u64`]) is `number`: one taken
    /// across a boundary (a runner's host sent it).
    pub fn from_u64(number: u64) -> Self {
        Generation([0, number])
    }

    /// The generation as one number, as plugins get it (interface 1.2's
    /// `store_generation`): the parts mixed so that a change of either (by the small
    /// steps commits make) always changes the number.
    pub fn as_u64(self) -> u64 {
        // An odd constant (2^64 / golden ratio): `a·K + b` repeats only after a step
        // in `a` of 2^64, or a step in `b` that cancels one of `a` times K.
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        self.0[0].wrapping_mul(K).wrapping_add(self.0[1])
    }
}

/// Where accounts live, as a person is told (`accounts`, the health view): never a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreInfo {
    /// The backend's name: `sqlite`, `postgres`, or `host` (the store a runner's host keeps).
    pub backend: &'static str,
    /// Where: a folder or file path, or a server address without its password.
    pub location: String,
    /// Whether secrets are sealed (encrypted) at rest.
    pub sealed: bool,
    /// Where the key that seals them comes from (never the key).
    pub key_source: KeySource,
}

/// A held named lock; dropping it releases the lock, and so does its holder's death.
pub struct StoreLock {
    name: String,
    _held: Box<dyn Send + Sync>,
}

impl StoreLock {
    /// A lock held as long as `held` lives.
    pub fn new(name: impl Into<String>, held: impl Send + Sync + 'static) -> Self {
        StoreLock {
            name: name.into(),
            _held: Box::new(held),
        }
    }

    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreLock")
            .field("name", &self.name)
            .finish()
    }
}

/// What every backend does. Implementations are shared between threads; each method
/// is one transaction of its own.
pub trait AccountStore: Send + Sync + fmt::Debug {
    /// Where accounts live, for people.
    fn info(&self) -> StoreInfo;
    /// Reads everything once: a damaged store, or one written by a newer version, is
    /// found here, before anything else is done with it.
    fn check(&self) -> Result<(), StoreError>;
    /// The saved accounts (those with settings) of `plugin`, or of every plugin; sorted
    /// by plugin, then name.
    fn accounts(&self, plugin: Option<&str>) -> Result<Vec<AccountRef>, StoreError>;
    /// The settings of one account.
    fn read_settings(&self, plugin: &str, account: &str) -> Result<Option<Values>, StoreError>;
    /// One secret of one account.
    fn read_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError>;
    /// [`AccountStore::read_settings`] with the store's [`Generation`] as of the read
    /// (taken before it, or in the same snapshot: the value is never older than the
    /// generation says). The default asks twice; a backend that can answer both at once
    /// (one query, one lock) does.
    fn read_settings_at(
        &self,
        plugin: &str,
        account: &str,
    ) -> Result<(Option<Generation>, Option<Values>), StoreError> {
        let generation = self.generation()?;
        Ok((generation, self.read_settings(plugin, account)?))
    }
    /// [`AccountStore::read_secret`] with the store's [`Generation`] as of the read (see
    /// [`AccountStore::read_settings_at`]).
    fn read_secret_at(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<(Option<Generation>, Option<String>), StoreError> {
        let generation = self.generation()?;
        Ok((generation, self.read_secret(plugin, account, name)?))
    }
    /// Applies one change to `plugin`'s accounts as one transaction.
    fn apply(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError>;
    /// Takes the named lock `name`, shared by every process on this store, waiting at
    /// most `wait`.
    fn lock(&self, name: &str, wait: Duration) -> Result<StoreLock, StoreError>;
    /// The store's [`Generation`] now, when the backend can tell it cheaply; `None` (the
    /// default) when it cannot, and then nothing read from it is kept by [`Store`].
    fn generation(&self) -> Result<Option<Generation>, StoreError> {
        Ok(None)
    }
    /// Whether asking the [`Generation`] costs as much as a read: a server round trip
    /// either way. Then [`Store`] reads through (one round trip) instead of checking
    /// what it kept first (one, and a second whenever another process changed
    /// anything since). False (the default) when the generation is asked in memory.
    fn generation_costs_a_read(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// One account's settings and one secret, a generation another process may move,
    /// and a count of the backend's calls.
    #[derive(Debug)]
    struct Counted {
        generation: AtomicU64,
        costly_generation: bool,
        generations_asked: AtomicU64,
        reads: AtomicU64,
    }

    impl Counted {
        fn new(costly_generation: bool) -> Counted {
            Counted {
                generation: AtomicU64::new(1),
                costly_generation,
                generations_asked: AtomicU64::new(0),
                reads: AtomicU64::new(0),
            }
        }

        fn at(&self) -> Option<Generation> {
            Some(Generation::from_u64(self.generation.load(Ordering::SeqCst)))
        }
    }

    impl AccountStore for Arc<Counted> {
        fn info(&self) -> StoreInfo {
            StoreInfo {
                backend: "counted",
                location: String::new(),
                sealed: false,
                key_source: KeySource::None,
            }
        }
        fn check(&self) -> Result<(), StoreError> {
            Ok(())
        }
        fn accounts(&self, _: Option<&str>) -> Result<Vec<AccountRef>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
        fn read_settings(&self, _: &str, _: &str) -> Result<Option<Values>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(Some([("k".to_owned(), "v".to_owned())].into()))
        }
        fn read_secret(&self, _: &str, _: &str, _: &str) -> Result<Option<String>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(Some("s".to_owned()))
        }
        fn read_settings_at(
            &self,
            plugin: &str,
            account: &str,
        ) -> Result<(Option<Generation>, Option<Values>), StoreError> {
            Ok((self.at(), self.read_settings(plugin, account)?))
        }
        fn read_secret_at(
            &self,
            plugin: &str,
            account: &str,
            name: &str,
        ) -> Result<(Option<Generation>, Option<String>), StoreError> {
            Ok((self.at(), self.read_secret(plugin, account, name)?))
        }
        fn apply(&self, _: &str, _: Change<'_>) -> Result<(), StoreError> {
            self.generation.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
        fn lock(&self, name: &str, _: Duration) -> Result<StoreLock, StoreError> {
            Ok(StoreLock::new(name, ()))
        }
        fn generation(&self) -> Result<Option<Generation>, StoreError> {
            self.generations_asked.fetch_add(1, Ordering::SeqCst);
            Ok(self.at())
        }
        fn generation_costs_a_read(&self) -> bool {
            self.costly_generation
        }
    }

    /// Reads of settings, a secret and the listing, twice on an unchanged store and
    /// once after another process's change: the backend's (generations, reads).
    fn calls_for_reads(costly_generation: bool) -> [(u64, u64); 3] {
        let backend = Arc::new(Counted::new(costly_generation));
        let store = Store::over(backend.clone());
        let mut calls = [(0, 0); 3];
        let mut before = (0, 0);
        for (round, counted) in calls.iter_mut().enumerate() {
            if round == 2 {
                backend.generation.fetch_add(1, Ordering::SeqCst);
            }
            assert_eq!(store.read_settings("p", "A").unwrap().unwrap()["k"], "v");
            assert_eq!(
                store.read_secret("p", "A", "rt").unwrap().as_deref(),
                Some("s")
            );
            assert!(store.all_accounts().unwrap().is_empty());
            let now = (
                backend.generations_asked.load(Ordering::SeqCst),
                backend.reads.load(Ordering::SeqCst),
            );
            *counted = (now.0 - before.0, now.1 - before.1);
            before = now;
        }
        calls
    }

    #[test]
    fn a_generation_asked_in_memory_saves_reads_and_one_that_costs_a_read_is_not_asked() {
        // Asked in memory: the first reads are kept, an unchanged store serves them
        // again after one check each; after a change, the first check drops all that
        // was kept, so the secret is read without one.
        assert_eq!(calls_for_reads(false), [(1, 3), (3, 0), (2, 3)]);
        // A round trip either way: every read goes to the backend once, and the
        // generation is never asked on its own.
        assert_eq!(calls_for_reads(true), [(0, 3), (0, 3), (0, 3)]);
    }

    #[test]
    fn contents_show_no_value_in_debug() {
        let mut contents = Contents::default();
        contents.put_secret(
            "p".into(),
            "A".into(),
            "refresh_token".into(),
            "rt-very-secret".into(),
        );
        let shown = format!("{contents:?}");
        assert!(
            shown.contains("accounts_with_secrets: 1") && !shown.contains("rt-very-secret"),
            "{shown}"
        );
    }

    #[test]
    fn a_change_shows_no_secret_in_debug_and_names_itself_in_json() {
        let secrets: Values = [("refresh_token".to_owned(), "rt-very-secret".to_owned())].into();
        let change = Change::Account {
            account: "Reports",
            settings: &Values::new(),
            secrets: &secrets,
            replaces: None,
        };
        let shown = format!("{change:?}");
        assert!(
            shown.contains("Reports") && !shown.contains("rt-very-secret"),
            "{shown}"
        );
        let secret = Change::Secret {
            account: "A",
            name: "n",
            value: "v-secret",
        };
        assert!(!format!("{secret:?}").contains("v-secret"));
        let json = serde_json::to_value(change).unwrap();
        assert_eq!(json["change"], "account");
        assert_eq!(json["secrets"]["refresh_token"], "rt-very-secret");
        assert_eq!(json["replaces"], serde_json::Value::Null);
    }
}

/// The account store as the runtime uses it: a cheap, cloneable handle on a backend.
///
/// A handle and its clones keep what they read while the backend's [`Generation`] stays
/// the same, so reading an unchanged account again costs one generation check; a change
/// made by any process is seen by the next read. Where that check costs as much as the
/// read ([`AccountStore::generation_costs_a_read`]), nothing is kept: every read goes
/// to the backend.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Arc<dyn AccountStore>,
    opened: OpenReport,
    reads: Arc<ReadCache>,
}

impl Store {
    /// The folder used when no store is named (`--store`, `ATRS_STORE`).
    pub fn default_dir() -> PathBuf {
        dirs::config_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("atrs-test-host")
    }

    /// Opens the store in the folder `dir` (created owner-only when missing): the
    /// default backend, SQLite, its key found as the environment says
    /// ([`KeyOptions::from_env`]).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Store, StoreError> {
        Store::open_with(dir, &KeyOptions::from_env())
    }

    /// Opens the store in the folder `dir` with its key found as `options` say.
    pub fn open_with(dir: impl Into<PathBuf>, options: &KeyOptions) -> Result<Store, StoreError> {
        let backend = SqliteStore::open(dir, options)?;
        let opened = backend.opened().clone();
        Ok(Store::with_report(backend, opened))
    }

    /// Opens the store at `location`: a `postgres://` URL, else a folder (see
    /// [`Store::open_with`]).
    pub fn open_location(location: &str, options: &KeyOptions) -> Result<Store, StoreError> {
        if !postgres::is_url(location) {
            return Store::open_with(location, options);
        }
        let backend = PostgresStore::open(location, options)?;
        let opened = backend.opened().clone();
        Ok(Store::with_report(backend, opened))
    }

    /// A handle on any backend.
    pub fn over(backend: impl AccountStore + 'static) -> Store {
        Store::with_report(backend, OpenReport::default())
    }

    fn with_report(backend: impl AccountStore + 'static, opened: OpenReport) -> Store {
        Store {
            backend: Arc::new(backend),
            opened,
            reads: Arc::default(),
        }
    }

    /// What opening this store did that a person should be told once (an import, a
    /// key file created).
    pub fn opened(&self) -> &OpenReport {
        &self.opened
    }

    /// Where accounts live, for people.
    pub fn info(&self) -> StoreInfo {
        self.backend.info()
    }

    /// See [`AccountStore::check`].
    pub fn check(&self) -> Result<(), StoreError> {
        self.backend.check()
    }

    /// Account names of `plugin` with saved settings, sorted.
    pub fn list(&self, plugin: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .backend
            .accounts(Some(plugin))?
            .into_iter()
            .map(|a| a.account)
            .collect())
    }

    /// Every saved account of every plugin.
    pub fn all_accounts(&self) -> Result<Vec<AccountRef>, StoreError> {
        // As for settings: the generation first, so a change in between is never missed.
        if !self.keeps_reads() {
            return self.backend.accounts(None);
        }
        let Some(generation) = self.backend.generation()? else {
            return self.backend.accounts(None);
        };
        if let Some(kept) = self.reads.listing(generation) {
            return Ok(kept);
        }
        let listed = self.backend.accounts(None)?;
        self.reads.keep_listing(generation, &listed);
        Ok(listed)
    }

    /// The settings of one account.
    pub fn read_settings(&self, plugin: &str, account: &str) -> Result<Option<Values>, StoreError> {
        // Something kept: a generation check says whether it still holds. Else the
        // read comes with its generation (taken before it or with it: a change
        // committed in between makes the next check miss, never serves an older read),
        // one query on a store a round trip away instead of two.
        if self.keeps_reads() && self.reads.holds_settings(plugin, account) {
            let Some(generation) = self.backend.generation()? else {
                return self.backend.read_settings(plugin, account);
            };
            if let Some(kept) = self.reads.settings(generation, plugin, account) {
                return Ok(kept);
            }
        }
        let (generation, read) = self.backend.read_settings_at(plugin, account)?;
        if let Some(generation) = generation.filter(|_| self.keeps_reads()) {
            self.reads.keep_settings(generation, plugin, account, &read);
        }
        Ok(read)
    }

    /// One secret of one account.
    pub fn read_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        // As for settings.
        if self.keeps_reads() && self.reads.holds_secret(plugin, account, name) {
            let Some(generation) = self.backend.generation()? else {
                return self.backend.read_secret(plugin, account, name);
            };
            if let Some(kept) = self.reads.secret(generation, plugin, account, name) {
                return Ok(kept);
            }
        }
        let (generation, read) = self.backend.read_secret_at(plugin, account, name)?;
        if let Some(generation) = generation.filter(|_| self.keeps_reads()) {
            self.reads
                .keep_secret(generation, plugin, account, name, &read);
        }
        Ok(read)
    }

    /// Whether reads are kept and checked against the generation: not where asking it
    /// costs a read of its own ([`AccountStore::generation_costs_a_read`]).
    fn keeps_reads(&self) -> bool {
        !self.backend.generation_costs_a_read()
    }

    /// The store's generation now ([`AccountStore::generation`]).
    pub fn generation(&self) -> Result<Option<Generation>, StoreError> {
        self.backend.generation()
    }

    /// Applies one change as one transaction.
    pub fn apply(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError> {
        let applied = self.backend.apply(plugin, change);
        self.reads.forget();
        applied
    }

    /// Replaces the settings of one account.
    pub fn write_settings(
        &self,
        plugin: &str,
        account: &str,
        values: &Values,
    ) -> Result<(), StoreError> {
        self.apply(plugin, Change::Settings { account, values })
    }

    /// Deletes the settings of one account.
    pub fn remove_settings(&self, plugin: &str, account: &str) -> Result<(), StoreError> {
        self.apply(plugin, Change::RemoveSettings { account })
    }

    /// Stores one secret of one account.
    pub fn write_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.apply(
            plugin,
            Change::Secret {
                account,
                name,
                value,
            },
        )
    }

    /// Deletes every secret of one account.
    pub fn remove_secrets(&self, plugin: &str, account: &str) -> Result<(), StoreError> {
        self.apply(plugin, Change::RemoveSecrets { account })
    }

    /// See [`Change::Account`].
    pub fn write_account(
        &self,
        plugin: &str,
        account: &str,
        settings: &Values,
        secrets: &Values,
        replaces: Option<&str>,
    ) -> Result<(), StoreError> {
        self.apply(
            plugin,
            Change::Account {
                account,
                settings,
                secrets,
                replaces,
            },
        )
    }

    /// Removes an account's settings and secrets in one transaction.
    pub fn remove_account(&self, plugin: &str, account: &str) -> Result<(), StoreError> {
        self.apply(plugin, Change::RemoveAccount { account })
    }

    /// See [`AccountStore::lock`].
    pub fn lock_named(&self, name: &str, wait: Duration) -> Result<StoreLock, StoreError> {
        self.backend.lock(name, wait)
    }
}

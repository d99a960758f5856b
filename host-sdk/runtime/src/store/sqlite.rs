//! The SQLite backend, the default: one database file (`accounts.db`) in the store
//! folder, in WAL mode, so readers never wait for a writer and never see half a change.
//! Each [`Change`] is applied whole or not at all (settings and secrets of an account
//! together); changes that arrive while a commit is under way share the next transaction
//! (a group commit), each in a savepoint of its own;
//! a writer waits for another at most [`BUSY_WAIT`]. Secrets are sealed
//! (XChaCha20-Poly1305, bound to their plugin, account and name) under the store key
//! unless plain text was explicitly allowed.
//! Named locks are local OS locks under `locks/`, taken with a deadline.
//!
//! Opening a folder that holds the earlier JSON store (`settings.json`, `secrets.json`)
//! imports it, whole, in the transaction that creates the database; see
//! [`import`].

pub mod import;
pub(crate) mod schema;
mod wal_index;

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use zeroize::Zeroizing;

use self::wal_index::SinceHeader;
use super::{
    group_commit::{GroupCommit, Queued},
    key_file::{self, KeyOptions, KeySource},
    lock_holder::{self, Span, SQLITE_WAL_WRITER},
    named_lock,
    seal::StoreKey,
    sealing::{
        existing_key, hex, new_store_id, new_store_key, open_secret, rotation_to_secret_service,
        seal_secret, unhex, IN_SECRET_SERVICE, KEY_CHECK, PLAIN, SEALED,
    },
    secret_service::{self, Slot},
    trust::{self, Role},
    AccountRef, AccountStore, Change, Contents, Generation, OpenReport, StoreError, StoreInfo,
    StoreLock, Values,
};

/// The database file inside the store folder.
pub const DB_FILE: &str = "accounts.db";
/// The longest a transaction waits for another process's to end.
pub const BUSY_WAIT: Duration = Duration::from_secs(10);
/// The connection and the key it seals with, changed together by a rotation.
struct State {
    conn: Connection,
    key: Option<StoreKey>,
    key_source: KeySource,
    /// Transactions this connection committed: SQLite's `data_version` counts only
    /// other connections' commits.
    commits: u64,
    /// The last `data_version`, with the WAL-index header it was read under: while the
    /// header is the same nothing was committed, and it is not asked again.
    data_version: SinceHeader<u64>,
}

/// An account store in one SQLite database in a folder.
pub struct SqliteStore {
    dir: PathBuf,
    path: PathBuf,
    store_id: String,
    options: KeyOptions,
    state: Mutex<State>,
    opened: OpenReport,
    busy_wait: Duration,
    writers: GroupCommit,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What a key rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Secrets sealed again under the new key.
    pub secrets: usize,
    /// Where the new key is.
    pub key_source: KeySource,
}

impl SqliteStore {
    /// Opens (creating when missing, owner-only) the store in the folder `dir`, with
    /// its key found as `options` say. A folder or file that others may change, a
    /// database written by a newer version, a missing or wrong key, are refused
    /// before anything is changed.
    pub fn open(dir: impl Into<PathBuf>, options: &KeyOptions) -> Result<SqliteStore, StoreError> {
        let given = dir.into();
        let dir = std::path::absolute(&given).unwrap_or(given);
        trust::check(&dir, Role::Folder)?;
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(|source| io("create", &dir, &dir, source))?;
            set_mode(&dir, 0o700, &dir)?;
        }
        let path = dir.join(DB_FILE);
        for file in [
            path.clone(),
            with_suffix(&path, "-wal"),
            with_suffix(&path, "-shm"),
        ] {
            trust::check(&file, Role::File)?;
        }
        if !path.exists() {
            create_owner_only(&path, &dir)?;
        }
        if let Some(key) = &options.key_file {
            key_file::outside_store(key, &dir)?;
        }
        let db = |e| db_error(&path, e, BUSY_WAIT);
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        conn.busy_timeout(BUSY_WAIT).map_err(db)?;
        // Until the database is in WAL mode, two openers can meet where SQLite answers
        // "busy" at once rather than wait (waiting could deadlock): those steps are
        // tried again until the same bound.
        let deadline = Instant::now() + BUSY_WAIT;
        retry_while_busy(deadline, || conn.pragma_update(None, "journal_mode", "WAL"))
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(db)?;

        let mut opened = OpenReport::default();
        let found = retry_while_busy(deadline, || schema::version(&conn)).map_err(db)?;
        refuse_newer(&path, found)?;
        if found < schema::CURRENT {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let from = schema::version(&tx).map_err(db)?;
            refuse_newer(&path, from)?;
            if from < schema::CURRENT {
                schema::migrate(&tx, from).map_err(db)?;
                if from == 0 {
                    let store_id = new_store_id();
                    set_meta(&tx, "store_id", &store_id).map_err(db)?;
                    let key = if options.plaintext {
                        set_meta(&tx, "sealing", PLAIN).map_err(db)?;
                        None
                    } else {
                        let (key, source, created) =
                            new_store_key(options, &store_id, &path.display().to_string(), false)?;
                        set_meta(&tx, "sealing", SEALED).map_err(db)?;
                        if let KeySource::SecretService { .. } = source {
                            set_meta(&tx, "key_store", IN_SECRET_SERVICE).map_err(db)?;
                            opened.key_stored = Some(source.clone());
                        }
                        let check = key.seal(&[&store_id], KEY_CHECK);
                        tx.execute(
                            "INSERT INTO meta (name, value) VALUES ('key_check', ?1)",
                            [hex(&check)],
                        )
                        .map_err(db)?;
                        opened.key_created = created;
                        Some((key, source))
                    };
                    opened.imported =
                        import::from_folder(&tx, &dir, key.as_ref().map(|(k, _)| k), &path)?;
                }
            }
            tx.commit().map_err(db)?;
            if let Some(report) = &opened.imported {
                import::keep_as_backup(report);
            }
        }
        let store_id = meta(&conn, "store_id")
            .map_err(db)?
            .ok_or_else(|| corrupt(&path, "it has no store id"))?;
        let (key, key_source) = match meta(&conn, "sealing").map_err(db)?.as_deref() {
            Some(SEALED) => {
                let check = meta(&conn, "key_check")
                    .map_err(db)?
                    .and_then(|h| unhex(&h))
                    .ok_or_else(|| corrupt(&path, "its key check is missing"))?;
                let in_secret_service =
                    meta(&conn, "key_store").map_err(db)?.as_deref() == Some(IN_SECRET_SERVICE);
                let (key, source) =
                    existing_key(options, &store_id, &check, &dir, in_secret_service)?;
                (Some(key), source)
            }
            Some(PLAIN) if options.plaintext => (None, KeySource::None),
            Some(PLAIN) => return Err(StoreError::PlainText { path }),
            _ => return Err(corrupt(&path, "its sealing is not one this version knows")),
        };
        Ok(SqliteStore {
            dir,
            path,
            store_id,
            options: options.clone(),
            state: Mutex::new(State {
                conn,
                key,
                key_source,
                commits: 0,
                data_version: SinceHeader::default(),
            }),
            opened,
            busy_wait: BUSY_WAIT,
            writers: GroupCommit::default(),
        })
    }

    /// Sets how long a transaction waits for another process's (default
    /// [`BUSY_WAIT`]).
    pub fn set_busy_wait(&mut self, wait: Duration) -> Result<(), StoreError> {
        self.busy_wait = wait;
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        state
            .conn
            .busy_timeout(wait)
            .map_err(|e| db_error(&self.path, e, wait))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What opening did that a person should be told once.
    pub fn opened(&self) -> &OpenReport {
        &self.opened
    }

    /// Everything the store holds, secrets opened: for tests and exports.
    pub fn contents(&self) -> Result<Contents, StoreError> {
        let state = self.state();
        let db = |e| db_error(&self.path, e, self.busy_wait);
        let mut contents = Contents::default();
        let mut rows = state
            .conn
            .prepare("SELECT plugin, account, settings FROM accounts")
            .map_err(db)?;
        let settings = rows
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(db)?;
        for row in settings {
            let (plugin, account, text) = row.map_err(db)?;
            let values = self.parse_settings(&text)?;
            contents
                .settings
                .entry(plugin)
                .or_default()
                .insert(account, values);
        }
        let mut rows = state
            .conn
            .prepare("SELECT plugin, account, name, value FROM secrets")
            .map_err(db)?;
        let secrets = rows
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(db)?;
        for row in secrets {
            let (plugin, account, name, value) = row.map_err(db)?;
            let opened = open_secret(state.key.as_ref(), &plugin, &account, &name, &value)?;
            contents.put_secret(plugin, account, name, opened);
        }
        Ok(contents)
    }

    /// Seals every secret again under a new random key, in one transaction, and puts
    /// the new key in place (the named key file, or a host key file of this store's
    /// own). A plain-text store is sealed by it. A crash between the two steps is
    /// finished by the next open (the new key waits next to the old as `*.next`).
    pub fn rotate_key(&self) -> Result<Rotation, StoreError> {
        let mut state = self.state();
        let to_secret_service = rotation_to_secret_service(&self.options, &state.key_source)?;
        let bus = self.options.secret_service_bus.as_deref();
        let (new_key, bytes) = StoreKey::generate();
        // Where the new key waits until the store is sealed with it, and where it goes.
        let (target, pending_file) = if to_secret_service {
            let label = secret_service::label(&self.path.display().to_string());
            secret_service::save(bus, &self.store_id, Slot::Next, &label, &bytes)?;
            let target = KeySource::SecretService {
                label,
                store_id: self.store_id.clone(),
            };
            (target, None)
        } else {
            let target = self.options.rotation_target(&self.store_id)?;
            let target_path = target
                .path()
                .expect("a rotation writes a key file")
                .to_owned();
            key_file::write_pending(&target_path, &bytes)?;
            (target, Some(target_path))
        };
        let db = |e| db_error(&self.path, e, self.busy_wait);
        let old = state.key.take();
        let result = (|| {
            let tx = state
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let rows: Vec<(String, String, String, Vec<u8>)> = {
                let mut stmt = tx
                    .prepare("SELECT plugin, account, name, value FROM secrets")
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?;
                rows
            };
            for (plugin, account, name, value) in &rows {
                let plain = open_secret(old.as_ref(), plugin, account, name, value)?;
                let plain = Zeroizing::new(plain);
                let sealed = new_key.seal(&[plugin, account, name], plain.as_bytes());
                tx.execute(
                    "UPDATE secrets SET value = ?4 WHERE plugin = ?1 AND account = ?2 AND name = ?3",
                    params![plugin, account, name, sealed],
                )
                .map_err(db)?;
            }
            set_meta(&tx, "sealing", SEALED).map_err(db)?;
            set_meta(
                &tx,
                "key_check",
                &hex(&new_key.seal(&[&self.store_id], KEY_CHECK)),
            )
            .map_err(db)?;
            if to_secret_service {
                set_meta(&tx, "key_store", IN_SECRET_SERVICE).map_err(db)?;
            } else {
                tx.execute("DELETE FROM meta WHERE name = 'key_store'", [])
                    .map_err(db)?;
            }
            tx.commit().map_err(db)?;
            Ok(rows.len())
        })();
        state.commits += 1;
        match result {
            Ok(secrets) => {
                match (&pending_file, &target) {
                    (Some(path), _) => {
                        key_file::commit_pending(path)?;
                        if let KeySource::SecretService { .. } = state.key_source {
                            // The old key opens nothing any more.
                            let _ = secret_service::delete(bus, &self.store_id, Slot::Current);
                        }
                    }
                    (None, KeySource::SecretService { label, .. }) => {
                        // Until both are done the next open finishes them (the `next`
                        // item proves itself against the key check).
                        secret_service::save(bus, &self.store_id, Slot::Current, label, &bytes)?;
                        secret_service::delete(bus, &self.store_id, Slot::Next)?;
                    }
                    (None, _) => {}
                }
                state.key = Some(new_key);
                state.key_source = target.clone();
                Ok(Rotation {
                    secrets,
                    key_source: target,
                })
            }
            Err(e) => {
                state.key = old;
                match &pending_file {
                    Some(path) => {
                        let _ = fs::remove_file(key_file::pending(path));
                    }
                    None => {
                        let _ = secret_service::delete(bus, &self.store_id, Slot::Next);
                    }
                }
                Err(e)
            }
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn parse_settings(&self, text: &str) -> Result<Values, StoreError> {
        serde_json::from_str(text).map_err(|_| {
            corrupt(
                &self.path,
                "an account's settings are not a map of names to text values",
            )
        })
    }

    /// Applies `change` in the next group commit ([`GroupCommit`]).
    fn write(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError> {
        self.writers
            .apply(plugin, change, &self.path, |batch| self.commit_batch(batch))
    }

    /// Commits `batch` in one transaction, each change inside a savepoint of its own so
    /// one that fails is undone alone. When the transaction itself cannot begin or
    /// commit, each change is tried again in a transaction of its own, so each gets its
    /// own outcome.
    fn commit_batch(&self, batch: &[Queued]) -> Vec<Result<(), StoreError>> {
        let db = |e| db_error(&self.path, e, self.busy_wait);
        let together = (|| {
            let mut state = self.state();
            let State { conn, key, .. } = &mut *state;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut outcomes = Vec::with_capacity(batch.len());
            for (_, plugin, change) in batch {
                tx.execute_batch("SAVEPOINT change")?;
                match apply_change(&tx, key.as_ref(), plugin, change.as_change()) {
                    Ok(()) => tx.execute_batch("RELEASE change")?,
                    Err(e) => {
                        tx.execute_batch("ROLLBACK TO change; RELEASE change")?;
                        outcomes.push(Err(e));
                        continue;
                    }
                }
                outcomes.push(Ok(()));
            }
            tx.commit()?;
            state.commits += 1;
            Ok::<_, rusqlite::Error>(outcomes)
        })();
        match together {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|outcome| outcome.map_err(db))
                .collect(),
            Err(_) => batch
                .iter()
                .map(|(_, plugin, change)| self.write_one(plugin, change.as_change()))
                .collect(),
        }
    }

    /// Applies `change` in a transaction of its own.
    fn write_one(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError> {
        let mut state = self.state();
        let State { conn, key, .. } = &mut *state;
        let db = |e| db_error(&self.path, e, self.busy_wait);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        apply_change(&tx, key.as_ref(), plugin, change).map_err(db)?;
        tx.commit().map_err(db)?;
        state.commits += 1;
        Ok(())
    }
}

/// Makes `change` to `plugin`'s accounts inside `tx`.
fn apply_change(
    tx: &rusqlite::Transaction<'_>,
    key: Option<&StoreKey>,
    plugin: &str,
    change: Change<'_>,
) -> rusqlite::Result<()> {
    let put_settings = |account: &str, values: &Values| {
        let text = serde_json::to_string(values).expect("a map of strings always serializes");
        tx.execute(
            "INSERT INTO accounts (plugin, account, settings) VALUES (?1, ?2, ?3)
             ON CONFLICT (plugin, account) DO UPDATE SET settings = excluded.settings",
            params![plugin, account, text],
        )
        .map(drop)
    };
    let put_secret = |account: &str, name: &str, value: &str| {
        tx.execute(
            "INSERT INTO secrets (plugin, account, name, value) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (plugin, account, name) DO UPDATE SET value = excluded.value",
            params![
                plugin,
                account,
                name,
                seal_secret(key, plugin, account, name, value)
            ],
        )
        .map(drop)
    };
    let remove_settings = |account: &str| {
        tx.execute(
            "DELETE FROM accounts WHERE plugin = ?1 AND account = ?2",
            params![plugin, account],
        )
        .map(drop)
    };
    let remove_secrets = |account: &str| {
        tx.execute(
            "DELETE FROM secrets WHERE plugin = ?1 AND account = ?2",
            params![plugin, account],
        )
        .map(drop)
    };
    match change {
        Change::Settings { account, values } => put_settings(account, values),
        Change::RemoveSettings { account } => remove_settings(account),
        Change::Secret {
            account,
            name,
            value,
        } => put_secret(account, name, value),
        Change::RemoveSecrets { account } => remove_secrets(account),
        Change::Account {
            account,
            settings,
            secrets,
            replaces,
        } => {
            if let Some(old) = replaces.filter(|old| *old != account) {
                remove_settings(old)?;
                remove_secrets(old)?;
            }
            put_settings(account, settings)?;
            remove_secrets(account)?;
            for (name, value) in secrets {
                put_secret(account, name, value)?;
            }
            Ok(())
        }
        Change::RemoveAccount { account } => {
            remove_settings(account).and_then(|_| remove_secrets(account))
        }
    }
}

impl AccountStore for SqliteStore {
    fn info(&self) -> StoreInfo {
        let state = self.state();
        StoreInfo {
            backend: "sqlite",
            location: self.path.display().to_string(),
            sealed: state.key.is_some(),
            key_source: state.key_source.clone(),
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        let state = self.state();
        let db = |e| db_error(&self.path, e, self.busy_wait);
        refuse_newer(&self.path, schema::version(&state.conn).map_err(db)?)?;
        state
            .conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get::<_, i64>(0))
            .map_err(db)?;
        Ok(())
    }

    fn accounts(&self, plugin: Option<&str>) -> Result<Vec<AccountRef>, StoreError> {
        let state = self.state();
        let db = |e| db_error(&self.path, e, self.busy_wait);
        let mut stmt = state
            .conn
            .prepare_cached(
                "SELECT plugin, account FROM accounts WHERE ?1 IS NULL OR plugin = ?1 ORDER BY plugin, account",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([plugin], |r| {
                Ok(AccountRef {
                    plugin: r.get(0)?,
                    account: r.get(1)?,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn read_settings(&self, plugin: &str, account: &str) -> Result<Option<Values>, StoreError> {
        self.settings_in(&self.state(), plugin, account)
    }

    fn read_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        self.secret_in(&self.state(), plugin, account, name)
    }

    /// The generation and the read under one hold of the connection.
    fn read_settings_at(
        &self,
        plugin: &str,
        account: &str,
    ) -> Result<(Option<Generation>, Option<Values>), StoreError> {
        let mut state = self.state();
        let generation = self.generation_in(&mut state)?;
        Ok((Some(generation), self.settings_in(&state, plugin, account)?))
    }

    /// The generation and the read under one hold of the connection.
    fn read_secret_at(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<(Option<Generation>, Option<String>), StoreError> {
        let mut state = self.state();
        let generation = self.generation_in(&mut state)?;
        Ok((
            Some(generation),
            self.secret_in(&state, plugin, account, name)?,
        ))
    }

    fn apply(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError> {
        self.write(plugin, change)
    }

    fn generation(&self) -> Result<Option<Generation>, StoreError> {
        self.generation_in(&mut self.state()).map(Some)
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<StoreLock, StoreError> {
        let held = named_lock::acquire(&self.dir, name, wait)?;
        Ok(StoreLock::new(name, held))
    }
}

impl SqliteStore {
    fn settings_in(
        &self,
        state: &State,
        plugin: &str,
        account: &str,
    ) -> Result<Option<Values>, StoreError> {
        let text: Option<String> = state
            .conn
            .prepare_cached("SELECT settings FROM accounts WHERE plugin = ?1 AND account = ?2")
            .and_then(|mut s| s.query_row([plugin, account], |r| r.get(0)).optional())
            .map_err(|e| db_error(&self.path, e, self.busy_wait))?;
        text.map(|t| self.parse_settings(&t)).transpose()
    }

    fn secret_in(
        &self,
        state: &State,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let value: Option<Vec<u8>> = state
            .conn
            .prepare_cached(
                "SELECT value FROM secrets WHERE plugin = ?1 AND account = ?2 AND name = ?3",
            )
            .and_then(|mut s| {
                s.query_row([plugin, account, name], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| db_error(&self.path, e, self.busy_wait))?;
        value
            .map(|v| open_secret(state.key.as_ref(), plugin, account, name, &v))
            .transpose()
    }

    /// `PRAGMA data_version` (changed by every other connection's commit, in any
    /// process) with this connection's own commits. While the WAL-index header is as
    /// it was when `data_version` was last read, nothing was committed since and that
    /// answer stands ([`wal_index`]).
    fn generation_in(&self, state: &mut State) -> Result<Generation, StoreError> {
        let header = wal_index::header(&state.conn);
        let others = match state.data_version.get(header) {
            Some(others) => others,
            None => {
                let others: i64 = state
                    .conn
                    .prepare_cached("PRAGMA data_version")
                    .and_then(|mut s| s.query_row([], |r| r.get(0)))
                    .map_err(|e| db_error(&self.path, e, self.busy_wait))?;
                state.data_version.keep(header, others as u64);
                others as u64
            }
        };
        Ok(Generation::new([others, state.commits]))
    }
}

/// Runs `op` again while SQLite answers "busy" without having waited, until `deadline`.
fn retry_while_busy<T>(
    deadline: Instant,
    mut op: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let mut pause = Duration::from_millis(1);
    loop {
        match op() {
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn refuse_newer(path: &Path, version: u64) -> Result<(), StoreError> {
    if version > schema::CURRENT {
        return Err(StoreError::Newer {
            path: path.to_owned(),
            version,
            supported: schema::CURRENT,
        });
    }
    Ok(())
}

fn meta(conn: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
}

fn set_meta(conn: &Connection, name: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [name, value],
    )
    .map(drop)
}

fn corrupt(path: &Path, detail: &str) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        detail: detail.to_owned(),
    }
}

/// The engine's error as the store's: busy, damaged, or anything else by its words
/// (which name tables and columns, never a value: every value is a bound parameter).
pub(crate) fn db_error(path: &Path, e: rusqlite::Error, waited: Duration) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            path: path.to_owned(),
            waited,
            held_by: lock_holder::holder_of(&with_suffix(path, "-shm"), SQLITE_WAL_WRITER)
                .or_else(|| lock_holder::holder_of(path, Span::Any)),
        },
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            corrupt(path, "it is not an intact SQLite database")
        }
        _ => StoreError::Database {
            path: path.to_owned(),
            detail: e.to_string(),
        },
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn io(action: &'static str, path: &Path, folder: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        action,
        path: path.to_owned(),
        folder: folder.to_owned(),
        source,
    }
}

/// Creates the (empty) database file owner-only before the engine opens it; the
/// engine gives its journal files the same mode.
fn create_owner_only(path: &Path, dir: &Path) -> Result<(), StoreError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map(drop)
        .map_err(|source| io("create", path, dir, source))
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32, folder: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|source| io("protect", path, folder, source))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32, _folder: &Path) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests;

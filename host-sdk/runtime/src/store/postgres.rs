//! The PostgreSQL backend, for several servers sharing accounts (`postgres://…`): the
//! same layout as SQLite in three tables (`atrs_meta`, `atrs_accounts`,
//! `atrs_secrets`) and the store's generation in a fourth (`atrs_generation`, counters
//! every change adds to), one transaction per change, secrets sealed the same way
//! (every node must name the same key file, `ATRS_STORE_KEY_FILE`). Named locks are
//! session advisory locks held on one connection of their own (`lock_session`), so
//! the server releases them the moment their holder's connection dies (a node killed);
//! taken with a deadline. Everything else runs on a few connections shared by the
//! handle's threads (`pool`: the URL's `pool_size`, default 4); a single statement that
//! finds all of them taken goes on one more, which every thread shares at once
//! (`pipeline`). A lost connection (the server restarted) is made again on the next
//! call; while the server is down every call ends in [`StoreError::Unreachable`], never
//! a half-written account.

use std::{
    sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::Duration,
};

use postgres::{types::ToSql, Client, Row, Statement, Transaction};

use connector::{Connector, LOCK_TIMEOUT_MS};
use lock_session::LockSession;
use pipeline::Pipeline;
use pool::Pool;
use prepared::Prepared;
use zeroize::Zeroizing;

use super::{
    key_file::{self, KeyOptions, KeySource},
    seal::StoreKey,
    sealing::{
        existing_key, hex, new_store_id, new_store_key, open_secret, seal_secret, unhex, KEY_CHECK,
        PLAIN, SEALED,
    },
    AccountRef, AccountStore, Change, Contents, Generation, OpenReport, Rotation, StoreError,
    StoreInfo, StoreLock, Values,
};

/// The layout this version writes and reads (`atrs_meta.schema_version`).
pub const SCHEMA_VERSION: u64 = 2;
/// Rows of the store's generation counter: each change adds one to the row of its
/// account, so concurrent writers of different accounts rarely wait for each other.
const GENERATION_SHARDS: i32 = 64;
/// The advisory lock that serialises migrations.
const MIGRATION_LOCK: i64 = 0x6174_7273_5f6d_6967;

/// Each step takes the layout from its index to the next.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE atrs_accounts (
         plugin TEXT NOT NULL,
         account TEXT NOT NULL,
         settings TEXT NOT NULL,
         PRIMARY KEY (plugin, account)
     );
     CREATE TABLE atrs_secrets (
         plugin TEXT NOT NULL,
         account TEXT NOT NULL,
         name TEXT NOT NULL,
         value BYTEA NOT NULL,
         PRIMARY KEY (plugin, account, name)
     );",
    // Layout 2: the store's generation, the sum of these counters (GENERATION_SHARDS
    // rows); every change adds one to its account's row.
    "CREATE TABLE atrs_generation (shard INT PRIMARY KEY, n BIGINT NOT NULL);
     INSERT INTO atrs_generation SELECT shard, 0 FROM generate_series(0, 63) AS shard;
    ",
];

/// The store key and where it came from: read by every operation, replaced by a
/// rotation (which waits for the operations under way, and they for it).
struct Keys {
    key: Option<StoreKey>,
    key_source: KeySource,
}

/// An account store in a PostgreSQL database.
pub struct PostgresStore {
    connector: Arc<Connector>,
    location: String,
    store_id: String,
    options: KeyOptions,
    keys: RwLock<Keys>,
    pool: Pool,
    /// The connection shared at once when every pooled one is taken.
    pipeline: Pipeline,
    opened: OpenReport,
    locks: Arc<LockSession>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// Whether `location` names a PostgreSQL store rather than a folder.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

impl PostgresStore {
    /// Connects to the store at `url`, creating or migrating its tables, and finds its
    /// key as `options` say. A layout newer than this version's is refused.
    pub fn open(url: &str, options: &KeyOptions) -> Result<PostgresStore, StoreError> {
        let (connector, warnings) = Connector::new(url)?;
        let connector = Arc::new(connector);
        let mut store = PostgresStore {
            locks: LockSession::new(connector.clone()),
            location: connector.location().to_owned(),
            pool: Pool::new(connector.pool_size()),
            pipeline: Pipeline::default(),
            connector,
            store_id: String::new(),
            options: options.clone(),
            keys: RwLock::new(Keys {
                key: None,
                key_source: KeySource::None,
            }),
            opened: OpenReport::default(),
        };
        store.opened.warnings.extend(warnings);
        let mut client = store.connect()?;
        let (store_id, sealing, check, created) = store.migrate(&mut client, options)?;
        let (key, key_source) = match sealing.as_str() {
            SEALED => {
                let check = check
                    .and_then(|h| unhex(&h))
                    .ok_or_else(|| store.corrupt("its key check is missing"))?;
                let (key, source) = existing_key(
                    options,
                    &store_id,
                    &check,
                    std::path::Path::new(&store.location),
                    false,
                )?;
                (Some(key), source)
            }
            PLAIN if options.plaintext => (None, KeySource::None),
            PLAIN => {
                return Err(StoreError::PlainText {
                    path: store.location.clone().into(),
                })
            }
            _ => return Err(store.corrupt("its sealing is not one this version knows")),
        };
        store.opened.key_created = created;
        store.store_id = store_id;
        *store.keys.get_mut().unwrap_or_else(|p| p.into_inner()) = Keys { key, key_source };
        store.pool.adopt(client);
        Ok(store)
    }

    /// What opening did that a person should be told once.
    pub fn opened(&self) -> &OpenReport {
        &self.opened
    }

    /// Everything the store holds, secrets opened: for tests and exports.
    pub fn contents(&self) -> Result<Contents, StoreError> {
        self.run(|client, key| {
            let db = |e| self.db_error(e);
            let mut contents = Contents::default();
            for row in client
                .query("SELECT plugin, account, settings FROM atrs_accounts", &[])
                .map_err(db)?
            {
                let text: String = row.get(2);
                contents
                    .settings
                    .entry(row.get(0))
                    .or_default()
                    .insert(row.get(1), self.parse_settings(&text)?);
            }
            for row in client
                .query("SELECT plugin, account, name, value FROM atrs_secrets", &[])
                .map_err(db)?
            {
                let (plugin, account, name): (String, String, String) =
                    (row.get(0), row.get(1), row.get(2));
                let value: Vec<u8> = row.get(3);
                let opened = open_secret(key, &plugin, &account, &name, &value)?;
                contents.put_secret(plugin, account, name, opened);
            }
            Ok(contents)
        })
    }

    /// Seals every secret again under a new random key, in one transaction, and puts
    /// the new key in place (as [`super::SqliteStore::rotate_key`] does). Every node
    /// must then be given the new key file; a node still running with the old key fails
    /// to open secrets until it is restarted with the new one.
    pub fn rotate_key(&self) -> Result<Rotation, StoreError> {
        let target = self.options.rotation_target(&self.store_id)?;
        let target_path = target
            .path()
            .expect("a rotation writes a key file")
            .to_owned();
        let (new_key, bytes) = StoreKey::generate();
        key_file::write_pending(&target_path, &bytes)?;
        drop(bytes);
        let mut keys = self.keys_mut();
        let Keys { key, key_source } = &mut *keys;
        let result = (|| {
            let mut conn = self.pool.take(&self.connector)?;
            let db = |e| self.db_error(e);
            let mut tx = conn.client.transaction().map_err(db)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .map_err(db)?;
            let rows = tx
                .query(
                    "SELECT plugin, account, name, value FROM atrs_secrets FOR UPDATE",
                    &[],
                )
                .map_err(db)?;
            for row in &rows {
                let (plugin, account, name): (String, String, String) =
                    (row.get(0), row.get(1), row.get(2));
                let value: Vec<u8> = row.get(3);
                let plain =
                    Zeroizing::new(open_secret(key.as_ref(), &plugin, &account, &name, &value)?);
                let sealed = new_key.seal(&[&plugin, &account, &name], plain.as_bytes());
                tx.execute(
                    "UPDATE atrs_secrets SET value = $4 WHERE plugin = $1 AND account = $2 AND name = $3",
                    &[&plugin, &account, &name, &sealed],
                )
                .map_err(db)?;
            }
            set_meta(&mut tx, "sealing", SEALED).map_err(db)?;
            set_meta(
                &mut tx,
                "key_check",
                &hex(&new_key.seal(&[&self.store_id], KEY_CHECK)),
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(rows.len())
        })();
        match result {
            Ok(secrets) => {
                key_file::commit_pending(&target_path)?;
                *key = Some(new_key);
                *key_source = target.clone();
                Ok(Rotation {
                    secrets,
                    key_source: target,
                })
            }
            Err(e) => {
                let _ = std::fs::remove_file(key_file::pending(&target_path));
                Err(e)
            }
        }
    }

    fn connect(&self) -> Result<Client, StoreError> {
        self.connector.connect()
    }

    /// Creates or migrates the tables (one opener at a time, under an advisory lock)
    /// and, for a new store, its id, sealing and key check. Gives the store id, its
    /// sealing, its key check and the key file created, if any.
    #[allow(clippy::type_complexity)]
    fn migrate(
        &self,
        client: &mut Client,
        options: &KeyOptions,
    ) -> Result<(String, String, Option<String>, Option<std::path::PathBuf>), StoreError> {
        let db = |e| self.db_error(e);
        let mut tx = client.transaction().map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(db)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS atrs_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )
        .map_err(db)?;
        let found: u64 = get_meta(&mut tx, "schema_version")
            .map_err(db)?
            .map(|v| v.parse().unwrap_or(u64::MAX))
            .unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::Newer {
                path: self.location.clone().into(),
                version: found,
                supported: SCHEMA_VERSION,
            });
        }
        let mut created = None;
        if found < SCHEMA_VERSION {
            for step in MIGRATIONS.iter().skip(found as usize) {
                tx.batch_execute(step).map_err(db)?;
            }
            set_meta(&mut tx, "schema_version", &SCHEMA_VERSION.to_string()).map_err(db)?;
            if found == 0 {
                let store_id = new_store_id();
                set_meta(&mut tx, "store_id", &store_id).map_err(db)?;
                if options.plaintext {
                    set_meta(&mut tx, "sealing", PLAIN).map_err(db)?;
                } else {
                    let (key, _, made) = new_store_key(options, &store_id, &self.location, true)?;
                    set_meta(&mut tx, "sealing", SEALED).map_err(db)?;
                    set_meta(
                        &mut tx,
                        "key_check",
                        &hex(&key.seal(&[&store_id], KEY_CHECK)),
                    )
                    .map_err(db)?;
                    created = made;
                }
            }
        }
        let store_id = get_meta(&mut tx, "store_id")
            .map_err(db)?
            .ok_or_else(|| self.corrupt("it has no store id"))?;
        let sealing = get_meta(&mut tx, "sealing")
            .map_err(db)?
            .ok_or_else(|| self.corrupt("it has no sealing"))?;
        let check = get_meta(&mut tx, "key_check").map_err(db)?;
        tx.commit().map_err(db)?;
        Ok((store_id, sealing, check, created))
    }

    fn keys(&self) -> RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn keys_mut(&self) -> RwLockWriteGuard<'_, Keys> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `op` on a connection of the pool (made again when lost); an operation cut
    /// off by a lost connection is run once more on a new one (every operation is one
    /// transaction whose change is idempotent, so a commit whose acknowledgement was
    /// lost is applied again to the same result).
    fn run<T>(
        &self,
        mut op: impl FnMut(&mut Client, Option<&StoreKey>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.run_prepared(|client, key, _| op(client, key))
    }

    /// [`PostgresStore::run`], `op` also given the statements prepared on the
    /// connection ([`Prepared`]).
    fn run_prepared<T>(
        &self,
        mut op: impl FnMut(&mut Client, Option<&StoreKey>, &mut Prepared) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let keys = self.keys();
        for attempt in 0..2 {
            let mut conn = self.pool.take(&self.connector)?;
            let pool::Conn { client, prepared } = &mut *conn;
            match op(client, keys.key.as_ref(), prepared) {
                // Given back closed, it goes, and the idle ones with it.
                Err(_) if attempt == 0 && client.is_closed() => {}
                other => return other,
            }
        }
        unreachable!("the second attempt returns")
    }

    /// Runs `sql`, whose first column is the store's generation counter sum, as one
    /// prepared query: the generation and what `value` reads from the same row, as of
    /// one snapshot.
    fn read_at_generation<T>(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
        value: impl Fn(&Row, Option<&StoreKey>) -> Result<T, StoreError>,
    ) -> Result<(Option<Generation>, T), StoreError> {
        let keys = self.keys();
        let row = self.one_row(sql, params)?;
        Ok((
            Some(generation_of(row.get(0))),
            value(&row, keys.key.as_ref())?,
        ))
    }

    /// Runs the one statement `sql` (prepared once per connection) and gives its rows:
    /// on an idle pooled connection when there is one, else on the shared [`Pipeline`],
    /// behind the statements already sent there, instead of waiting for a pooled one.
    /// A statement cut off by a lost connection is sent once more on a new one (each
    /// is a transaction of its own whose change is idempotent).
    fn rows(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        for attempt in 0..2 {
            let (rows, lost) = match self.pool.try_take(&self.connector)? {
                Some(mut conn) => {
                    let pool::Conn { client, prepared } = &mut *conn;
                    let rows = prepared
                        .get(client, sql)
                        .and_then(|statement| client.query(&statement, params));
                    let lost = client.is_closed();
                    (rows, lost)
                }
                None => {
                    let sent = self.pipeline.query(&self.connector, sql, params)?;
                    (sent.rows, sent.lost)
                }
            };
            match rows {
                Err(_) if attempt == 0 && lost => {}
                other => return other.map_err(|e| self.db_error(e)),
            }
        }
        unreachable!("the second attempt returns")
    }

    /// The one row a statement that always gives one (a `SELECT` without `FROM`) gave.
    fn one_row(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        self.rows(sql, params)?
            .into_iter()
            .next()
            .ok_or_else(|| self.corrupt("a query that always answers a row answered none"))
    }

    fn db_error(&self, e: postgres::Error) -> StoreError {
        if e.is_closed() || e.as_db_error().is_none() && e.code().is_none() {
            return StoreError::Unreachable {
                location: self.location.clone(),
                detail: first_line(&e),
            };
        }
        if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) {
            return StoreError::Busy {
                path: self.location.clone().into(),
                waited: Duration::from_millis(LOCK_TIMEOUT_MS),
                held_by: None,
            };
        }
        StoreError::Database {
            path: self.location.clone().into(),
            detail: e
                .as_db_error()
                .map(|d| d.message().to_owned())
                .unwrap_or_else(|| first_line(&e)),
        }
    }

    fn corrupt(&self, detail: &str) -> StoreError {
        StoreError::Corrupt {
            path: self.location.clone().into(),
            detail: detail.to_owned(),
        }
    }

    fn parse_settings(&self, text: &str) -> Result<Values, StoreError> {
        serde_json::from_str(text).map_err(|_| {
            self.corrupt("an account's settings are not a map of names to text values")
        })
    }

    /// `account` gets exactly `settings` and `secrets` (a token refresh's write) in one
    /// statement, so one round trip: a statement is a transaction of its own, all of it
    /// or none of it. The end is the same as [`PostgresStore::write`]'s: secrets not
    /// named are deleted, the named ones stored; the generation moves.
    fn put_account(
        &self,
        plugin: &str,
        account: &str,
        (settings, secrets): (&Values, &Values),
        shard: i32,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(settings).expect("a map of strings always serializes");
        let names: Vec<&str> = secrets.keys().map(String::as_str).collect();
        let keys = self.keys();
        let sealed: Vec<Vec<u8>> = secrets
            .iter()
            .map(|(name, value)| seal_secret(keys.key.as_ref(), plugin, account, name, value))
            .collect();
        self.rows(
            "WITH settings AS (
                         INSERT INTO atrs_accounts (plugin, account, settings) VALUES ($1, $2, $3)
                         ON CONFLICT (plugin, account) DO UPDATE SET settings = excluded.settings
                     ), gone AS (
                         DELETE FROM atrs_secrets
                         WHERE plugin = $1 AND account = $2 AND name <> ALL($4::TEXT[])
                     ), stored AS (
                         INSERT INTO atrs_secrets (plugin, account, name, value)
                         SELECT $1, $2, t.name, t.value
                         FROM unnest($4::TEXT[], $5::BYTEA[]) AS t(name, value)
                         ON CONFLICT (plugin, account, name) DO UPDATE SET value = excluded.value
                     ), moved AS (
                         UPDATE atrs_generation SET n = n + 1 WHERE shard = $6
                     )
                     SELECT 1",
            &[&plugin, &account, &text, &names, &sealed, &shard],
        )
        .map(drop)
    }

    /// Makes `change` inside `tx` with the statements `st` (prepared on its connection).
    fn write(
        tx: &mut Transaction<'_>,
        st: &WriteStatements,
        key: Option<&StoreKey>,
        plugin: &str,
        change: Change<'_>,
    ) -> Result<(), postgres::Error> {
        let put_settings = |tx: &mut Transaction<'_>, account: &str, values: &Values| {
            let text = serde_json::to_string(values).expect("a map of strings always serializes");
            tx.execute(&st.put_settings, &[&plugin, &account, &text])
                .map(drop)
        };
        let put_secret = |tx: &mut Transaction<'_>, account: &str, name: &str, value: &str| {
            let sealed = seal_secret(key, plugin, account, name, value);
            tx.execute(&st.put_secret, &[&plugin, &account, &name, &sealed])
                .map(drop)
        };
        let remove = |tx: &mut Transaction<'_>, statement: &Statement, account: &str| {
            tx.execute(statement, &[&plugin, &account]).map(drop)
        };
        match change {
            Change::Settings { account, values } => put_settings(tx, account, values),
            Change::RemoveSettings { account } => remove(tx, &st.remove_settings, account),
            Change::Secret {
                account,
                name,
                value,
            } => put_secret(tx, account, name, value),
            Change::RemoveSecrets { account } => remove(tx, &st.remove_secrets, account),
            Change::Account {
                account,
                settings,
                secrets,
                replaces,
            } => {
                if let Some(old) = replaces.filter(|old| *old != account) {
                    remove(tx, &st.remove_settings, old)?;
                    remove(tx, &st.remove_secrets, old)?;
                }
                put_settings(tx, account, settings)?;
                remove(tx, &st.remove_secrets, account)?;
                for (name, value) in secrets {
                    put_secret(tx, account, name, value)?;
                }
                Ok(())
            }
            Change::RemoveAccount { account } => {
                remove(tx, &st.remove_settings, account)?;
                remove(tx, &st.remove_secrets, account)
            }
        }
    }
}

/// The statements a change uses, prepared on its connection before its transaction
/// begins (so a transaction that fails never holds a half-prepared set).
struct WriteStatements {
    put_settings: Statement,
    put_secret: Statement,
    remove_settings: Statement,
    remove_secrets: Statement,
    add_generation: Statement,
}

impl WriteStatements {
    fn prepare(client: &mut Client, prepared: &mut Prepared) -> Result<Self, postgres::Error> {
        Ok(WriteStatements {
            put_settings: prepared.get(
                client,
                "INSERT INTO atrs_accounts (plugin, account, settings) VALUES ($1, $2, $3)
                 ON CONFLICT (plugin, account) DO UPDATE SET settings = excluded.settings",
            )?,
            put_secret: prepared.get(
                client,
                "INSERT INTO atrs_secrets (plugin, account, name, value) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (plugin, account, name) DO UPDATE SET value = excluded.value",
            )?,
            remove_settings: prepared.get(
                client,
                "DELETE FROM atrs_accounts WHERE plugin = $1 AND account = $2",
            )?,
            remove_secrets: prepared.get(
                client,
                "DELETE FROM atrs_secrets WHERE plugin = $1 AND account = $2",
            )?,
            add_generation: prepared.get(
                client,
                "UPDATE atrs_generation SET n = n + 1 WHERE shard = $1",
            )?,
        })
    }
}

impl AccountStore for PostgresStore {
    fn info(&self) -> StoreInfo {
        let keys = self.keys();
        StoreInfo {
            backend: "postgres",
            location: self.location.clone(),
            sealed: keys.key.is_some(),
            key_source: keys.key_source.clone(),
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        self.run(|client, _| {
            let version: Option<String> = client
                .query_opt(
                    "SELECT value FROM atrs_meta WHERE name = 'schema_version'",
                    &[],
                )
                .map_err(|e| self.db_error(e))?
                .map(|r| r.get(0));
            let version = version.and_then(|v| v.parse().ok()).unwrap_or(0);
            if version > SCHEMA_VERSION {
                return Err(StoreError::Newer {
                    path: self.location.clone().into(),
                    version,
                    supported: SCHEMA_VERSION,
                });
            }
            Ok(())
        })
    }

    fn accounts(&self, plugin: Option<&str>) -> Result<Vec<AccountRef>, StoreError> {
        let rows = self.rows(
            "SELECT plugin, account FROM atrs_accounts
             WHERE $1::TEXT IS NULL OR plugin = $1
             ORDER BY plugin COLLATE \"C\", account COLLATE \"C\"",
            &[&plugin],
        )?;
        Ok(rows
            .iter()
            .map(|r| AccountRef {
                plugin: r.get(0),
                account: r.get(1),
            })
            .collect())
    }

    fn read_settings(&self, plugin: &str, account: &str) -> Result<Option<Values>, StoreError> {
        let text: Option<String> = self
            .rows(
                "SELECT settings FROM atrs_accounts WHERE plugin = $1 AND account = $2",
                &[&plugin, &account],
            )?
            .first()
            .map(|r| r.get(0));
        text.map(|t| self.parse_settings(&t)).transpose()
    }

    fn read_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let keys = self.keys();
        let value: Option<Vec<u8>> = self
            .rows(
                "SELECT value FROM atrs_secrets WHERE plugin = $1 AND account = $2 AND name = $3",
                &[&plugin, &account, &name],
            )?
            .first()
            .map(|r| r.get(0));
        value
            .map(|v| open_secret(keys.key.as_ref(), plugin, account, name, &v))
            .transpose()
    }

    /// One query, one snapshot: the generation and the settings as of the same moment.
    fn read_settings_at(
        &self,
        plugin: &str,
        account: &str,
    ) -> Result<(Option<Generation>, Option<Values>), StoreError> {
        self.read_at_generation(
            "SELECT (SELECT sum(n)::BIGINT FROM atrs_generation),
                    (SELECT settings FROM atrs_accounts WHERE plugin = $1 AND account = $2)",
            &[&plugin, &account],
            |row, _| {
                let text: Option<String> = row.get(1);
                text.map(|t| self.parse_settings(&t)).transpose()
            },
        )
    }

    /// One query, one snapshot: the generation and the secret as of the same moment.
    fn read_secret_at(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<(Option<Generation>, Option<String>), StoreError> {
        self.read_at_generation(
            "SELECT (SELECT sum(n)::BIGINT FROM atrs_generation),
                    (SELECT value FROM atrs_secrets WHERE plugin = $1 AND account = $2 AND name = $3)",
            &[&plugin, &account, &name],
            |row, key| {
                let value: Option<Vec<u8>> = row.get(1);
                value
                    .map(|v| open_secret(key, plugin, account, name, &v))
                    .transpose()
            },
        )
    }

    fn apply(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError> {
        let shard = generation_shard(plugin, change.account());
        if let Change::Account {
            account,
            settings,
            secrets,
            replaces: None,
        } = change
        {
            return self.put_account(plugin, account, (settings, secrets), shard);
        }
        self.run_prepared(|client, key, prepared| {
            let db = |e| self.db_error(e);
            let statements = WriteStatements::prepare(client, prepared).map_err(db)?;
            let mut tx = client.transaction().map_err(db)?;
            Self::write(&mut tx, &statements, key, plugin, change).map_err(db)?;
            tx.execute(&statements.add_generation, &[&shard])
                .map_err(db)?;
            tx.commit().map_err(db)
        })
    }

    /// The sum of the generation counters: one round trip, the query prepared once
    /// per connection.
    fn generation(&self) -> Result<Option<Generation>, StoreError> {
        let row = self.one_row("SELECT sum(n)::BIGINT FROM atrs_generation", &[])?;
        Ok(Some(generation_of(row.get(0))))
    }

    /// Both are a round trip to the server.
    fn generation_costs_a_read(&self) -> bool {
        true
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<StoreLock, StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::LockName);
        }
        self.locks.lock(name, wait)
    }
}

/// The generation whose counters sum to `sum` (`None`: no rows).
fn generation_of(sum: Option<i64>) -> Generation {
    Generation::new([sum.unwrap_or(0) as u64, 0])
}

/// The generation counter row a change of `plugin`'s `account` adds to.
fn generation_shard(plugin: &str, account: &str) -> i32 {
    // FNV-1a: stable across builds and processes, unlike the standard library's hasher.
    let hash = plugin
        .bytes()
        .chain([0])
        .chain(account.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    (hash % GENERATION_SHARDS as u64) as i32
}

fn get_meta(tx: &mut Transaction<'_>, name: &str) -> Result<Option<String>, postgres::Error> {
    Ok(tx
        .query_opt("SELECT value FROM atrs_meta WHERE name = $1", &[&name])?
        .map(|r| r.get(0)))
}

fn set_meta(tx: &mut Transaction<'_>, name: &str, value: &str) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO atrs_meta (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &[&name, &value],
    )
    .map(drop)
}

/// The first line of an error, which names the cause and never a parameter's value.
fn first_line(e: &postgres::Error) -> String {
    let text = match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    };
    text.lines().next().unwrap_or("").to_owned()
}

mod connector;
mod lock_session;
mod pgpass;
mod pipeline;
mod pool;
mod prepared;
pub mod throwaway;
mod tls;
mod url_params;

#[cfg(test)]
mod tests;

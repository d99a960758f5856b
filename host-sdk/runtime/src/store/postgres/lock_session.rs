//! The named locks of one [`PostgresStore`](super::PostgresStore): session advisory
//! locks, all held on one connection of their own, so the server releases every one of
//! them the moment the process dies (its connection with it), and a thousand accounts
//! renewing at once need one connection, not a thousand. Every thread sends its tries
//! and releases on it at once ([`Pipeline`]), so none waits for another's round trip.
//!
//! An advisory lock is re-entrant within its session, so the server alone cannot keep
//! this process's own threads apart: a name held here is first reserved in
//! [`LockSession`]'s own table, and a second taker in this process waits for that.
//!
//! A wait that runs out names the holder: this process, or the connection the server
//! says holds the lock (its `application_name`, where from, since when, and its server
//! process), found in `pg_locks` and `pg_stat_activity`.

use std::{
    collections::HashSet,
    sync::{Arc, Condvar, Mutex},
    time::{Duration, Instant},
};

use super::{connector::Connector, pipeline::Pipeline};
use crate::locked::locked;
use crate::store::{
    lock_holder::{self, LockHolder},
    StoreError, StoreLock,
};

/// How long one try for a lock another process holds waits before the next.
const RETRY: Duration = Duration::from_millis(20);

/// The connection holding the advisory lock of the name `$1` in this database: a
/// session lock on a `bigint` key is listed with its high half as `classid`, its low
/// half as `objid`, and `objsubid` 1.
const HOLDER: &str = "
SELECT a.pid, a.application_name, host(a.client_addr), a.client_port,
       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((l.classid::int8 << 32) | l.objid::int8) = hashtextextended($1, 0)
LIMIT 1";

/// Takes a lock if free: true when taken.
const TRY_LOCK: &str = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))";
/// Lets a lock go.
const UNLOCK: &str = "SELECT pg_advisory_unlock(hashtextextended($1, 0))";

/// The lock connection and the names held on it.
pub(super) struct LockSession {
    connector: Arc<Connector>,
    connection: Pipeline,
    held: Mutex<HashSet<String>>,
    released: Condvar,
}

impl LockSession {
    /// Locks on the server `connector` reaches.
    pub fn new(connector: Arc<Connector>) -> Arc<LockSession> {
        Arc::new(LockSession {
            connector,
            connection: Pipeline::default(),
            held: Mutex::new(HashSet::new()),
            released: Condvar::new(),
        })
    }

    /// Takes `name`, waiting at most `wait` for this process's other holders and then
    /// for other processes'.
    pub fn lock(self: &Arc<Self>, name: &str, wait: Duration) -> Result<StoreLock, StoreError> {
        let deadline = Instant::now() + wait;
        let busy = |held_by| StoreError::LockBusy {
            name: name.to_owned(),
            waited: wait,
            held_by,
        };
        let mut held = locked(&self.held);
        while held.contains(name) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(busy(Some(lock_holder::this_process())));
            }
            held = self
                .released
                .wait_timeout(held, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        held.insert(name.to_owned());
        drop(held);
        let mut reserved = Reserved {
            session: self.clone(),
            name: name.to_owned(),
            on_server: false,
        };
        loop {
            if self.try_lock(name)? {
                reserved.on_server = true;
                return Ok(StoreLock::new(name, reserved));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(busy(self.holder(name)));
            }
            std::thread::sleep(left.min(RETRY));
        }
    }

    /// One try on the server, connecting first when there is no live connection.
    fn try_lock(&self, name: &str) -> Result<bool, StoreError> {
        let rows = self
            .connection
            .query(&self.connector, TRY_LOCK, &[&name])?
            .rows
            .map_err(|e| self.connector.unreachable(&super::first_line(&e)))?;
        rows.first().map(|row| row.get(0)).ok_or_else(|| {
            self.connector
                .unreachable("the server answered no row to a lock")
        })
    }

    /// The connection the server says holds `name`, if it says (a holder that let go
    /// meanwhile, or a server that cannot be asked, names nobody).
    fn holder(&self, name: &str) -> Option<LockHolder> {
        let rows = self.connection.query_if_connected(HOLDER, &[&name])?.ok()?;
        let row = rows.first()?;
        let pid: i32 = row.get(0);
        let application: Option<String> = row.get(1);
        let address: Option<String> = row.get(2);
        let port: Option<i32> = row.get(3);
        let since: Option<String> = row.get(4);
        let from = match (address, port) {
            (Some(address), Some(port)) if port > 0 => format!("from {address} port {port}"),
            (Some(address), _) => format!("from {address}"),
            // No address: a Unix socket, or a holder whose details the server keeps from
            // users without pg_read_all_stats.
            (None, Some(-1)) => "through the server's local socket".to_owned(),
            (None, _) => "from an address the server does not show this user".to_owned(),
        };
        Some(LockHolder {
            pid: u32::try_from(pid).ok()?,
            command: application.filter(|a| !a.is_empty()),
            connection: Some(match since {
                Some(since) => format!("{from} since {since} UTC"),
                None => from,
            }),
        })
    }

    /// Gives `name` back to the server (a lost connection already did) and to this
    /// process's next taker.
    fn release(&self, name: &str, on_server: bool) {
        if on_server {
            // Not on a new connection: the old one's locks went with it.
            let _ = self.connection.query_if_connected(UNLOCK, &[&name]);
        }
        locked(&self.held).remove(name);
        self.released.notify_all();
    }
}

/// A name reserved in this process (and, once `on_server`, held on the server); given
/// back to both when dropped.
struct Reserved {
    session: Arc<LockSession>,
    name: String,
    on_server: bool,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.session.release(&self.name, self.on_server);
    }
}

//! The named locks of one [`PostgresStore`](super::PostgresStore): session advisory
//! locks, all held on one connection of their own, so the server releases every one of
//! them the moment the process dies (its connection with it), and a thousand accounts
//! renewing at once need one connection, not a thousand.
//!
//! An advisory lock is re-entrant within its session, so the server alone cannot keep
//! this process's own threads apart: a name held here is first reserved in
//! [`LockSession`]'s own table, and a second taker in this process waits for that.

use std::{
    collections::HashSet,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use postgres::Client;

use super::connector::Connector;
use crate::store::{StoreError, StoreLock};

/// How long one try for a lock another process holds waits before the next.
const RETRY: Duration = Duration::from_millis(20);

/// The lock connection and the names held on it.
pub(super) struct LockSession {
    connector: Arc<Connector>,
    client: Mutex<Option<Client>>,
    held: Mutex<HashSet<String>>,
    released: Condvar,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LockSession {
    /// Locks on the server `connector` reaches.
    pub fn new(connector: Arc<Connector>) -> Arc<LockSession> {
        Arc::new(LockSession {
            connector,
            client: Mutex::new(None),
            held: Mutex::new(HashSet::new()),
            released: Condvar::new(),
        })
    }

    /// Takes `name`, waiting at most `wait` for this process's other holders and then
    /// for other processes'.
    pub fn lock(self: &Arc<Self>, name: &str, wait: Duration) -> Result<StoreLock, StoreError> {
        let deadline = Instant::now() + wait;
        let busy = || StoreError::LockBusy {
            name: name.to_owned(),
            waited: wait,
            held_by: None,
        };
        let mut held = locked(&self.held);
        while held.contains(name) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(busy());
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
                return Err(busy());
            }
            std::thread::sleep(left.min(RETRY));
        }
    }

    /// One try on the server, connecting first when there is no live connection.
    fn try_lock(&self, name: &str) -> Result<bool, StoreError> {
        let mut client = locked(&self.client);
        if client.as_ref().is_none_or(Client::is_closed) {
            *client = Some(self.connector.connect()?);
        }
        let conn = client.as_mut().expect("connected just now");
        conn.query_one(
            "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
            &[&name],
        )
        .map(|row| row.get(0))
        .map_err(|e| StoreError::Unreachable {
            location: self.connector.location().to_owned(),
            detail: super::first_line(&e),
        })
    }

    /// Gives `name` back to the server (a lost connection already did) and to this
    /// process's next taker.
    fn release(&self, name: &str, on_server: bool) {
        if on_server {
            if let Some(conn) = locked(&self.client).as_mut() {
                let _ = conn.execute(
                    "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                    &[&name],
                );
            }
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

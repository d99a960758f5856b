//! The store's connections: at most `size` of them (the URL's `pool_size`, else
//! [`DEFAULT_SIZE`]), made when first needed, so threads of one host run their queries
//! side by side instead of one after another. Each connection keeps the statements
//! prepared on it ([`Prepared`]). A connection found lost (the server restarted) is dropped with every
//! idle one (they went with it), and the next taker connects again.

use std::{
    ops::{Deref, DerefMut},
    sync::{Condvar, Mutex, MutexGuard},
};

use postgres::Client;

use super::{connector::Connector, prepared::Prepared};
use crate::store::StoreError;

/// Connections a store keeps when its URL does not say.
pub(super) const DEFAULT_SIZE: usize = 4;
/// The most a URL may ask for (a server takes 100 connections by default, shared by
/// every node).
pub(super) const MAX_SIZE: usize = 64;

/// One connection and what is prepared on it.
pub(super) struct Conn {
    pub client: Client,
    /// The statements prepared on `client`.
    pub prepared: Prepared,
}

struct Slots {
    idle: Vec<Conn>,
    /// Connections made and not dropped: idle, taken, or being made.
    open: usize,
}

/// What the pool has for a taker now: a connection, or (every one taken) the pool's
/// state, still held, to wait on.
type Now<'a> = Result<Taken<'a>, MutexGuard<'a, Slots>>;

/// The connections of one store.
pub(super) struct Pool {
    size: usize,
    slots: Mutex<Slots>,
    returned: Condvar,
}

/// A connection taken from the pool, given back when dropped (a panic included).
pub(super) struct Taken<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Deref for Taken<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("held until dropped")
    }
}

impl DerefMut for Taken<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("held until dropped")
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn);
        }
    }
}

impl Pool {
    /// A pool of at most `size` connections, none made yet.
    pub fn new(size: usize) -> Pool {
        Pool {
            size: size.max(1),
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    /// Keeps `client`, made before the pool was, as one of its connections.
    pub fn adopt(&self, client: Client) {
        self.slots().open += 1;
        self.give_back(Conn {
            client,
            prepared: Prepared::default(),
        });
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection, else a new one while fewer than `size` are open, else the
    /// next one given back (waiting, as threads waited for the one connection before).
    pub fn take(&self, connector: &Connector) -> Result<Taken<'_>, StoreError> {
        let mut slots = self.slots();
        loop {
            match self.take_now(slots, connector)? {
                Ok(taken) => return Ok(taken),
                Err(full) => {
                    slots = self.returned.wait(full).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }

    /// As [`Pool::take`], but none when every connection is taken: never waits.
    pub fn try_take(&self, connector: &Connector) -> Result<Option<Taken<'_>>, StoreError> {
        Ok(self.take_now(self.slots(), connector)?.ok())
    }

    /// An idle connection, else a new one while fewer than `size` are open, else the
    /// pool's state back, still held, to wait on.
    fn take_now<'a>(
        &'a self,
        mut slots: MutexGuard<'a, Slots>,
        connector: &Connector,
    ) -> Result<Now<'a>, StoreError> {
        while let Some(conn) = slots.idle.pop() {
            if !conn.client.is_closed() {
                return Ok(Ok(Taken {
                    pool: self,
                    conn: Some(conn),
                }));
            }
            slots.open -= 1;
        }
        if slots.open < self.size {
            slots.open += 1;
            drop(slots);
            return self.made(connector).map(Ok);
        }
        Ok(Err(slots))
    }

    /// A new connection, its slot already counted as open (given back when it fails).
    fn made(&self, connector: &Connector) -> Result<Taken<'_>, StoreError> {
        match connector.connect() {
            Ok(client) => Ok(Taken {
                pool: self,
                conn: Some(Conn {
                    client,
                    prepared: Prepared::default(),
                }),
            }),
            Err(e) => {
                self.slots().open -= 1;
                self.returned.notify_one();
                Err(e)
            }
        }
    }

    /// Gives `conn` back: kept if it still works, else dropped with every idle
    /// connection (a lost connection means the server restarted or the network
    /// broke, and the idle ones went with it).
    fn give_back(&self, conn: Conn) {
        let mut slots = self.slots();
        let mut lost = Vec::new();
        if conn.client.is_closed() {
            lost = std::mem::take(&mut slots.idle);
            slots.open -= 1 + lost.len();
            lost.push(conn);
        } else {
            slots.idle.push(conn);
        }
        drop(slots);
        // One connection back is one waiter's turn: waking every waiter (a thousand
        // threads asking at once) only to put all but one back to sleep cost more than
        // the queries. Slots freed by a loss may serve several, so all of them wake.
        if lost.is_empty() {
            self.returned.notify_one();
        } else {
            self.returned.notify_all();
        }
        // Closing a connection talks to the server: not while others wait for the pool.
        drop(lost);
    }

    /// How many connections are open (for tests and reports).
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.slots().open
    }
}

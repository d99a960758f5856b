//! A connection every thread of a store sends statements on at once: each is sent
//! straight away, behind the others already sent, and the server answers them in order
//! (the protocol's pipelining, which `tokio-postgres` does when several requests are in
//! flight). The store sends on one a statement that finds each pooled connection taken,
//! instead of waiting for a pooled one to come back, so a thousand threads asking at
//! once share one connection's round trips rather than queueing for four, and a server
//! far away is kept busy by one connection (the README gives the figures); its named
//! locks are all taken and let go on another.
//!
//! The connection is driven by a thread of its own (`atrs-store-pipeline`), made when a
//! statement first needs it; a lost connection (the server restarted) is made again by
//! the next statement. Each statement is prepared on it once.

use std::{
    collections::HashMap,
    future::Future,
    pin::pin,
    sync::{mpsc, Arc, Mutex},
    task::{Context, Poll, Wake, Waker},
    thread::{self, Thread},
};

use postgres::{types::ToSql, Row, Statement};

use super::connector::Connector;
use crate::locked::locked;
use crate::store::StoreError;

/// The shared connection, made when first used.
#[derive(Default)]
pub(super) struct Pipeline {
    live: Mutex<Option<Arc<Live>>>,
}

/// A connection and the statements prepared on it.
struct Live {
    client: tokio_postgres::Client,
    prepared: Mutex<HashMap<&'static str, Statement>>,
}

/// What a statement sent on the pipeline gave.
pub(super) struct Sent {
    /// Its rows, or why there are none.
    pub rows: Result<Vec<Row>, postgres::Error>,
    /// Whether the connection was found lost: the statement may be sent again.
    pub lost: bool,
}

impl Pipeline {
    /// Sends `sql` with `params` (prepared first when this connection has not seen it)
    /// and waits for its rows. The connection is made first when there is none, or
    /// when the last one was lost.
    pub fn query(
        &self,
        connector: &Connector,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Sent, StoreError> {
        let live = self.live(connector)?;
        let rows = live.send(sql, params);
        // A lost connection is made again by the next statement ([`Pipeline::live`]).
        let lost = rows.is_err() && live.client.is_closed();
        Ok(Sent { rows, lost })
    }

    /// Sends `sql` with `params` on the connection there is, if it is live: none when
    /// there is none, or it was lost (nothing is connected for it).
    pub fn query_if_connected(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Option<Result<Vec<Row>, postgres::Error>> {
        let live = locked(&self.live)
            .as_ref()
            .filter(|l| !l.client.is_closed())?
            .clone();
        Some(live.send(sql, params))
    }

    /// The live connection, made when there is none or it was lost.
    fn live(&self, connector: &Connector) -> Result<Arc<Live>, StoreError> {
        let mut current = locked(&self.live);
        if let Some(live) = current.as_ref().filter(|l| !l.client.is_closed()) {
            return Ok(live.clone());
        }
        let live = Arc::new(Live {
            client: connect(connector)?,
            prepared: Mutex::default(),
        });
        *current = Some(live.clone());
        Ok(live)
    }
}

impl Live {
    /// Sends `sql` with `params` (prepared first when this connection has not seen it)
    /// and waits for its rows.
    fn send(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        block_on(async {
            let statement = self.statement(sql).await?;
            self.client.query(&statement, params).await
        })
    }

    /// `sql` prepared on this connection (once; two threads preparing it at the same
    /// moment both get a working statement, and one is kept).
    async fn statement(&self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = locked(&self.prepared).get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        locked(&self.prepared).insert(sql, statement.clone());
        Ok(statement)
    }
}

/// A new connection, its I/O driven by a thread of its own until the connection ends
/// (the store dropped the client, or the server went away).
fn connect(connector: &Connector) -> Result<tokio_postgres::Client, StoreError> {
    let (made, outcome) = mpsc::sync_channel(1);
    let config = connector.async_config();
    let tls = connector.tls();
    thread::Builder::new()
        .name("atrs-store-pipeline".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = made.send(Err(Made::NoRuntime(e.to_string())));
                    return;
                }
            };
            runtime.block_on(async move {
                match config.connect(tls).await {
                    Ok((client, connection)) => {
                        let _ = made.send(Ok(client));
                        // Ends with an error only when the connection broke; the next
                        // statement finds it closed and connects again.
                        let _ = connection.await;
                    }
                    Err(e) => {
                        let _ = made.send(Err(Made::Refused(e)));
                    }
                }
            });
        })
        .map_err(|e| connector.unreachable(&format!("no thread for its connection ({e})")))?;
    match outcome.recv() {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(Made::Refused(e))) => Err(connector.connect_error(&e)),
        Ok(Err(Made::NoRuntime(e))) => Err(connector.unreachable(&e)),
        Err(_) => Err(connector.unreachable("its connection's thread ended")),
    }
}

/// Why the connection's thread has no connection to give.
enum Made {
    /// The server, TLS or the login refused it.
    Refused(postgres::Error),
    /// No I/O driver could be made.
    NoRuntime(String),
}

/// Wakes the thread that waits for a statement's answer.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` on this thread to its end, sleeping while it waits. Its I/O is the
/// connection thread's: this side only sends requests and takes answers over channels.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_waits_for_a_wake_from_another_thread() {
        let (tx, rx) = futures_channel_like();
        let waker_thread = thread::spawn(move || tx.send(42).unwrap());
        assert_eq!(block_on(rx), 42);
        waker_thread.join().unwrap();
    }

    /// A one-shot answer given from another thread, as the connection gives rows.
    fn futures_channel_like() -> (tokio::sync::oneshot::Sender<u32>, impl Future<Output = u32>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (tx, async move { rx.await.unwrap() })
    }
}

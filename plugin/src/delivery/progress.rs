//! What a running delivery shares with the host's thread: bytes sent of total, a status
//! line, the final state, and the cancel signal every wait and request races against.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use atrs_host_sdk::DeliveryState;
use tokio::sync::watch;

/// The cancel signal: set once by the host, seen by every await in the delivery.
#[derive(Clone, Debug)]
pub struct Cancel {
    rx: watch::Receiver<bool>,
}

/// The side that raises [`Cancel`].
#[derive(Debug)]
pub struct CancelSwitch {
    tx: watch::Sender<bool>,
}

/// A fresh, unraised cancel signal.
pub fn cancel_pair() -> (CancelSwitch, Cancel) {
    let (tx, rx) = watch::channel(false);
    (CancelSwitch { tx }, Cancel { rx })
}

impl CancelSwitch {
    /// Raise the signal (idempotent).
    pub fn raise(&self) {
        let _ = self.tx.send(true);
    }
}

impl Cancel {
    /// Whether the host cancelled.
    pub fn is_raised(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the host cancels (never, if it does not).
    pub async fn raised(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Waits `d`, or less when cancelled; `true` when cancelled.
    pub async fn sleep(&self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => self.is_raised(),
            _ = self.raised() => true,
        }
    }
}

/// Where a delivery stands, shared between its task and the host's polls.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<(Mutex<DeliveryState>, Condvar)>,
}

impl Progress {
    /// Running, with nothing sent of `total`.
    pub fn new(message: &str, total: u64) -> Self {
        Progress {
            inner: Arc::new((
                Mutex::new(DeliveryState::Running {
                    message: message.to_owned(),
                    bytes_sent: 0,
                    bytes_total: total,
                }),
                Condvar::new(),
            )),
        }
    }

    fn state(&self) -> MutexGuard<'_, DeliveryState> {
        self.inner.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, f: impl FnOnce(&mut DeliveryState)) {
        let mut s = self.state();
        if !s.is_terminal() {
            f(&mut s);
            self.inner.1.notify_all();
        }
    }

    /// A new status line, keeping the byte counts.
    pub fn say(&self, line: &str) {
        self.set(|s| {
            if let DeliveryState::Running { message, .. } = s {
                *message = line.to_owned();
            }
        })
    }

    /// `sent` content bytes are through (never goes backwards).
    pub fn sent(&self, sent: u64) {
        self.set(|s| {
            if let DeliveryState::Running { bytes_sent, .. } = s {
                *bytes_sent = (*bytes_sent).max(sent);
            }
        })
    }

    /// The delivery ended (later calls change nothing).
    pub fn finish(&self, end: DeliveryState) {
        self.set(|s| *s = end)
    }

    /// The state after waiting up to `timeout` for a change.
    pub fn poll(&self, timeout: Duration) -> DeliveryState {
        let now = Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or(now + Duration::from_secs(3600));
        let mut s = self.state();
        let before = s.clone();
        while !s.is_terminal() && *s == before {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = self
                .inner
                .1
                .wait_timeout(s, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::PluginError;

    #[test]
    fn poll_wakes_on_change_and_the_end_is_final() {
        let p = Progress::new("Starting", 10);
        let q = p.clone();
        let t = std::thread::spawn(move || q.sent(4));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match p.poll(Duration::from_millis(200)) {
                DeliveryState::Running { bytes_sent: 4, .. } => break,
                _ if Instant::now() > deadline => panic!("no progress seen"),
                _ => {}
            }
        }
        t.join().unwrap();
        p.sent(2);
        assert!(matches!(
            p.poll(Duration::ZERO),
            DeliveryState::Running { bytes_sent: 4, .. }
        ));
        p.finish(DeliveryState::Failed(PluginError::cancelled("x")));
        p.sent(9);
        assert!(p.poll(Duration::ZERO).is_terminal());
    }

    #[test]
    fn a_cancel_interrupts_a_sleep() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (switch, cancel) = cancel_pair();
        switch.raise();
        let started = Instant::now();
        assert!(rt.block_on(cancel.sleep(Duration::from_secs(30))));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}

//! The delivery machinery (added in 1.2), mirroring [`crate::session`]: an author
//! writes a delivery as straight-line code and the SDK answers the host's poll and
//! cancel.
//!
//! The work reports progress through a [`Progress`] (`running`), waits with
//! [`Progress::pause`] and hands [`Progress::cancel_token`] to its threads and
//! requests; it returns a [`DeliveryReceipt`] or an error. A cancel waits up to
//! [`CANCEL_WAIT`] for the work to return — it should clean up first (delete a
//! draft, cancel an upload session) — and the delivery ends as the work ended: done
//! if it finished before noticing, cancelled otherwise.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use crate::{
    cancel::CancelToken,
    delivery::{DeliveryJob, DeliveryReceipt, DeliveryState},
    error::PluginError,
    host::Host,
    session::CANCEL_WAIT,
};

struct Inner {
    state: DeliveryState,
    /// Bumped on every change.
    version: u64,
    /// The version the host last saw.
    reported: u64,
    /// The work has returned (or its thread is gone).
    work_ended: bool,
}

struct Core {
    host: Host,
    cancel: CancelToken,
    inner: Mutex<Inner>,
    changed: Condvar,
}

impl Core {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, inner: MutexGuard<'a, Inner>, left: Duration) -> MutexGuard<'a, Inner> {
        self.changed
            .wait_timeout(inner, left)
            .unwrap_or_else(|p| p.into_inner())
            .0
    }

    /// Replaces a running state; nothing once the delivery has ended.
    fn set(&self, state: DeliveryState) {
        let mut inner = self.lock();
        if !inner.state.is_terminal() {
            inner.state = state;
            inner.version += 1;
            self.changed.notify_all();
        }
    }

    /// Ends the delivery with the work's result: an error after a cancel reads as
    /// cancelled, whatever broke (a socket shut down on cancel fails the request).
    fn finish(&self, result: Result<DeliveryReceipt, PluginError>) {
        let state = match result {
            Ok(receipt) => DeliveryState::Done(receipt),
            Err(_) if self.cancel.is_cancelled() => DeliveryState::Failed(cancelled()),
            Err(e) => DeliveryState::Failed(e),
        };
        let mut inner = self.lock();
        if !inner.state.is_terminal() {
            inner.state = state;
            inner.version += 1;
        }
        inner.work_ended = true;
        self.changed.notify_all();
    }

    fn cancel(&self) {
        self.cancel.cancel();
        let deadline = Instant::now() + CANCEL_WAIT;
        let mut inner = self.lock();
        while !inner.work_ended {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if !inner.state.is_terminal() {
                    inner.state = DeliveryState::Failed(did_not_stop());
                    inner.version += 1;
                    self.changed.notify_all();
                }
                drop(inner);
                self.host
                    .warn("The cancelled delivery did not stop in time.");
                return;
            }
            inner = self.wait(inner, left);
        }
    }
}

fn cancelled() -> PluginError {
    PluginError::cancelled("The delivery was cancelled; nothing was left half-delivered.")
        .with_hint("Deliver again to retry.")
}

fn did_not_stop() -> PluginError {
    PluginError::cancelled(format!(
        "The delivery was cancelled, but it did not stop within {} s.",
        CANCEL_WAIT.as_secs()
    ))
    .with_hint("Check the destination for a partial delivery, then deliver again.")
}

fn work_panicked() -> PluginError {
    PluginError::internal("The plugin failed unexpectedly while delivering.")
        .with_hint("This is a bug in the plugin; report it to its vendor. Deliver again to retry.")
}

/// What delivery work uses to report progress and notice a cancel; clone it into
/// the work's threads.
#[derive(Clone)]
pub struct Progress {
    core: Arc<Core>,
}

impl Progress {
    /// Still going: `message` for a status line, `bytes_sent` of `bytes_total`
    /// content bytes through (0 of 0 when there is nothing to count).
    pub fn running(&self, message: impl Into<String>, bytes_sent: u64, bytes_total: u64) {
        self.core.set(DeliveryState::Running {
            message: message.into(),
            bytes_sent,
            bytes_total,
        });
    }

    /// Whether the host cancelled; check it between steps.
    pub fn is_cancelled(&self) -> bool {
        self.core.cancel.is_cancelled()
    }

    /// Waits `duration` (a retry's back-off), or less: `Err(cancelled)` at once on
    /// cancel.
    pub fn pause(&self, duration: Duration) -> Result<(), PluginError> {
        self.core.cancel.pause(duration)
    }

    /// Runs `hook` on cancel (at once if already cancelled).
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) {
        self.core.cancel.on_cancel(hook);
    }

    /// The cancel signal, for the work's threads and requests.
    pub fn cancel_token(&self) -> CancelToken {
        self.core.cancel.clone()
    }
}

/// A running delivery: implements [`DeliveryJob`] for the host. Dropping it cancels
/// the work.
pub struct Delivery {
    core: Arc<Core>,
}

impl Delivery {
    /// Runs the blocking `work` on a thread of its own, showing `first_message` until
    /// it reports. A panic in the work ends the delivery with an internal error.
    pub fn spawn(
        host: Host,
        first_message: &str,
        work: impl FnOnce(&Progress) -> Result<DeliveryReceipt, PluginError> + Send + 'static,
    ) -> Result<Delivery, PluginError> {
        let core = Arc::new(Core {
            host,
            cancel: CancelToken::new(),
            inner: Mutex::new(Inner {
                state: DeliveryState::Running {
                    message: first_message.to_owned(),
                    bytes_sent: 0,
                    bytes_total: 0,
                },
                version: 1,
                reported: 0,
                work_ended: false,
            }),
            changed: Condvar::new(),
        });
        let progress = Progress { core: core.clone() };
        std::thread::Builder::new()
            .name("delivery".into())
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(|| work(&progress)))
                    .unwrap_or_else(|_| Err(work_panicked()));
                progress.core.finish(result);
            })
            .map_err(|e| {
                PluginError::internal(format!("Could not start the delivery: {e}.")).with_hint(
                    "The system is short of resources; close other programs and deliver again.",
                )
            })?;
        Ok(Delivery { core })
    }
}

impl DeliveryJob for Delivery {
    fn poll(&self, timeout: Duration) -> DeliveryState {
        let deadline = Instant::now().checked_add(timeout);
        let mut inner = self.core.lock();
        while inner.version == inner.reported && !inner.state.is_terminal() {
            let left = deadline.map_or(Duration::ZERO, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                break;
            }
            inner = self.core.wait(inner, left);
        }
        inner.reported = inner.version;
        inner.state.clone()
    }

    fn cancel(&self) {
        self.core.cancel();
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        // A delivery the host lets go of must not keep sending behind its back.
        if !self.core.lock().work_ended {
            self.core.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::{testing::MemoryHost, DeliveryKind, ErrorKind};

    fn receipt() -> DeliveryReceipt {
        DeliveryReceipt {
            kind: DeliveryKind::Push,
            id: "1".into(),
            web_url: None,
            summary: "Sent".into(),
            bytes: 3,
            details: Vec::new(),
        }
    }

    fn until_terminal(job: &Delivery) -> DeliveryState {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let state = job.poll(Duration::from_millis(200));
            if state.is_terminal() || Instant::now() > deadline {
                return state;
            }
        }
    }

    #[test]
    fn work_reports_progress_and_ends_with_its_receipt() {
        let job = Delivery::spawn(MemoryHost::new().handle(), "Starting…", |p| {
            p.running("Sending", 1, 3);
            Ok(receipt())
        })
        .unwrap();
        match until_terminal(&job) {
            DeliveryState::Done(r) => assert_eq!(r.bytes, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cancel_ends_a_blocked_request_through_its_hook_and_waits_for_the_work() {
        let cleaned = Arc::new(AtomicBool::new(false));
        let c = cleaned.clone();
        let job = Delivery::spawn(MemoryHost::new().handle(), "Starting…", move |p| {
            // A blocking "request" that only a hook can end, like a socket shut down.
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            p.on_cancel(move || drop(tx));
            p.running("Sending", 0, 10);
            let _ = rx.recv_timeout(Duration::from_secs(3600));
            c.store(true, Ordering::SeqCst);
            Err(PluginError::internal("connection reset"))
        })
        .unwrap();
        assert!(matches!(
            job.poll(Duration::from_secs(10)),
            DeliveryState::Running { .. }
        ));
        let started = Instant::now();
        job.cancel();
        assert!(started.elapsed() < CANCEL_WAIT, "{:?}", started.elapsed());
        assert!(
            cleaned.load(Ordering::SeqCst),
            "cancel returned before the work did"
        );
        match job.poll(Duration::ZERO) {
            DeliveryState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_panic_in_the_work_is_an_internal_error() {
        let job =
            Delivery::spawn(MemoryHost::new().handle(), "Starting…", |_| panic!("bug")).unwrap();
        match until_terminal(&job) {
            DeliveryState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Internal),
            other => panic!("{other:?}"),
        }
    }
}

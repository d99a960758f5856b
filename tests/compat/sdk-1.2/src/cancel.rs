//! A cancel signal a flow shares with its worker threads and its requests (added in
//! 1.2): the host's cancel — of a verification, of a delivery, or `close` of the
//! integration — sets it once, wakes every waiter and runs every hook.
//!
//! # A blocking HTTP client that stops on cancel
//!
//! A blocking request does not notice a flag. Two ways make it end within
//! [`crate::session::CANCEL_WAIT`]:
//!
//! 1. Give every request a timeout below that bound (connect, read and write) and
//!    check [`CancelToken::is_cancelled`] between requests and between retries; wait
//!    between them with [`CancelToken::pause`], never `thread::sleep`.
//! 2. Or shut the connection down on cancel: keep a clone of the socket
//!    (`TcpStream::try_clone`) and register `on_cancel(move || { let _ =
//!    stream.shutdown(Shutdown::Both); })` before sending — the blocked read or write
//!    then fails at once, and the flow returns.
//!
//! An async client: run the request on your runtime and abort its task in an
//! [`CancelToken::on_cancel`] hook.

use std::{
    fmt,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use crate::error::PluginError;

/// The cancel signal: clone it into every thread and request of one flow.
#[derive(Clone, Default)]
pub struct CancelToken {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    cancelled: bool,
    hooks: Vec<Hook>,
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CancelToken {
    /// A token nobody has cancelled yet.
    pub fn new() -> Self {
        CancelToken::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancels: wakes every [`CancelToken::pause`] and runs every hook, once; later
    /// calls change nothing.
    pub fn cancel(&self) {
        let hooks = {
            let mut state = self.state();
            if state.cancelled {
                return;
            }
            state.cancelled = true;
            self.shared.changed.notify_all();
            std::mem::take(&mut state.hooks)
        };
        for hook in hooks {
            hook();
        }
    }

    /// Whether it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.state().cancelled
    }

    /// `Err(cancelled)` once cancelled: `token.check()?` between steps.
    pub fn check(&self) -> Result<(), PluginError> {
        match self.is_cancelled() {
            true => Err(cancelled()),
            false => Ok(()),
        }
    }

    /// Waits `duration`, or less: `Err(cancelled)` at once on cancel.
    pub fn pause(&self, duration: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now().checked_add(duration);
        let mut state = self.state();
        loop {
            if state.cancelled {
                return Err(cancelled());
            }
            let left = deadline.map_or(Duration::MAX, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return Ok(());
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Runs `hook` on cancel (at once, on this thread, if already cancelled): shut a
    /// socket down, abort an async task.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) {
        let mut state = self.state();
        if state.cancelled {
            drop(state);
            hook();
        } else {
            state.hooks.push(Box::new(hook));
        }
    }
}

/// The error a cancelled step returns.
pub(crate) fn cancelled() -> PluginError {
    PluginError::cancelled("Cancelled.").with_hint("Start it again to retry.")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ErrorKind;

    #[test]
    fn cancel_wakes_a_pause_on_another_thread_and_runs_each_hook_once() {
        let token = CancelToken::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        token.on_cancel(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let waiter = {
            let token = token.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                (token.pause(Duration::from_secs(3600)), started.elapsed())
            })
        };
        // The waiter may not have started waiting yet: the cancel must wake it
        // either way.
        token.cancel();
        token.cancel();
        let (paused, took) = waiter.join().unwrap();
        assert_eq!(paused.unwrap_err().kind(), ErrorKind::Cancelled);
        assert!(took < Duration::from_secs(60), "{took:?}");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(token.check().is_err());
        // A hook registered late runs at once.
        let r = runs.clone();
        token.on_cancel(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn an_uncancelled_pause_waits_its_time_and_says_ok() {
        let token = CancelToken::new();
        assert!(token.pause(Duration::from_millis(5)).is_ok());
        assert!(token.check().is_ok());
        assert!(format!("{token:?}").contains("cancelled: false"));
    }
}

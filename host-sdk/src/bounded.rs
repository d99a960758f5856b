//! Calls into a plugin that the host gives up on after a deadline.
//!
//! A plugin that blocks — a deadlock, an endless loop, a request without a timeout —
//! must not freeze the host. With a call timeout set, each call runs on a worker thread
//! (kept between calls, see [`crate::workers`]) and the host waits for its answer
//! until the deadline; then the host gets a `timed_out` error and the worker is
//! abandoned with the call still running. Until that call returns, the object counts
//! as stuck: later calls fail at once and name the stuck call, instead of piling up
//! more blocked threads. Calls made at the same time (a `cancel` from one thread while
//! a `poll` waits on another) each get a worker, so neither waits for the other.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use crate::{
    answer, call_failure,
    error::{ErrorKind, PluginError},
    workers::{self, Job},
};

/// How long the host waits for a plugin call unless told otherwise.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The process-wide default in milliseconds; 0 means "wait forever".
static DEFAULT_MILLIS: AtomicU64 = AtomicU64::new(DEFAULT_CALL_TIMEOUT.as_millis() as u64);

/// Sets how long calls on plugin objects created from now on may take (`None`: no limit,
/// and calls run on the caller's thread).
pub fn set_default_call_timeout(timeout: Option<Duration>) {
    let millis = timeout.map_or(0, |t| {
        u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1)
    });
    DEFAULT_MILLIS.store(millis, Ordering::Relaxed);
}

/// The limit [`set_default_call_timeout`] set ([`DEFAULT_CALL_TIMEOUT`] unless changed).
pub fn default_call_timeout() -> Option<Duration> {
    match DEFAULT_MILLIS.load(Ordering::Relaxed) {
        0 => None,
        millis => Some(Duration::from_millis(millis)),
    }
}

/// A plugin object (or a plugin function) whose calls are bounded by a timeout.
pub(crate) struct Bounded<T: Send + Sync + 'static> {
    /// Always present; taken only by `drop`.
    shared: Option<Arc<Shared<T>>>,
    timeout: Option<Duration>,
}

struct Shared<T> {
    object: T,
    calls: Mutex<Calls>,
}

/// The bookkeeping of calls that run on worker threads.
#[derive(Default)]
struct Calls {
    next_id: u64,
    /// Calls the host stopped waiting for, by id and name, still running.
    abandoned: Vec<(u64, &'static str)>,
}

impl<T: Send + Sync + 'static> Bounded<T> {
    /// Bounds the calls on `object` by the current default timeout.
    pub(crate) fn new(object: T) -> Self {
        Bounded {
            shared: Some(Arc::new(Shared {
                object,
                calls: Mutex::new(Calls::default()),
            })),
            timeout: default_call_timeout(),
        }
    }

    fn shared(&self) -> &Arc<Shared<T>> {
        self.shared.as_ref().expect("present until drop")
    }

    fn stuck_call_of(&self, shared: &Shared<T>) -> Option<&'static str> {
        shared.calls().abandoned.first().map(|(_, name)| *name)
    }

    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The name of a call the host gave up on that is still running, if any.
    pub(crate) fn stuck_call(&self) -> Option<&'static str> {
        self.stuck_call_of(self.shared())
    }

    /// Runs `f` on the object, waiting at most the timeout plus `extra` (the time the
    /// call itself is asked to wait, as for `poll`).
    pub(crate) fn call<R: Send + 'static>(
        &self,
        name: &'static str,
        extra: Duration,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, PluginError> {
        self.call_unless(true, name, extra, f)
    }

    /// Like [`Bounded::call`], but tried even while an earlier call is stuck (for
    /// `cancel`, which may be what unblocks it).
    pub(crate) fn call_even_if_stuck<R: Send + 'static>(
        &self,
        name: &'static str,
        extra: Duration,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, PluginError> {
        self.call_unless(false, name, extra, f)
    }

    /// Runs `f` within the timeout; refused at once when `refuse_if_stuck` and an
    /// earlier call is stuck. The check and the call's id take the bookkeeping lock
    /// once.
    fn call_unless<R: Send + 'static>(
        &self,
        refuse_if_stuck: bool,
        name: &'static str,
        extra: Duration,
        f: impl FnOnce(&T) -> Result<R, PluginError> + Send + 'static,
    ) -> Result<R, PluginError> {
        let Some(timeout) = self.timeout else {
            if let Some(stuck) = self.stuck_call().filter(|_| refuse_if_stuck) {
                return Err(still_busy(name, stuck));
            }
            return f(&self.shared().object).map_err(call_failure::from_plugin);
        };
        let id = {
            let mut calls = self.shared().calls();
            if let Some((_, stuck)) = calls.abandoned.first().filter(|_| refuse_if_stuck) {
                return Err(still_busy(name, stuck));
            }
            calls.next_id += 1;
            calls.next_id
        };
        let (tx, rx) = answer::pair();
        let shared = Arc::clone(self.shared());
        let job: Job = Box::new(move |release| {
            let result = f(&shared.object).map_err(call_failure::from_plugin);
            release();
            // Answer under the lock, so the host either sees the answer or has
            // already marked the call abandoned, never neither.
            let mut calls = shared.calls();
            tx.send(result);
            calls.abandoned.retain(|(abandoned, _)| *abandoned != id);
        });
        if let Err(e) = workers::run(job) {
            return Err(no_thread(name, &e));
        }
        let limit = timeout.saturating_add(extra);
        match workers::wait_for(&rx, limit) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(call_failure::mark_failed(
                PluginError::internal(format!("The call to `{name}` ended without an answer.")),
                name,
            )),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let mut calls = self.shared().calls();
                if let Ok(result) = rx.try_take() {
                    return result;
                }
                calls.abandoned.push((id, name));
                Err(timed_out(name, limit))
            }
        }
    }
}

/// Runs the one-off call `f` (no object to keep track of) within the default timeout.
pub(crate) fn call_once<R: Send + 'static>(
    name: &'static str,
    f: impl FnOnce() -> Result<R, PluginError> + Send + 'static,
) -> Result<R, PluginError> {
    Bounded::new(()).call(name, Duration::ZERO, move |_| f())
}

impl<T> Shared<T> {
    fn calls(&self) -> MutexGuard<'_, Calls> {
        // The lock only guards bookkeeping; a panic while holding it cannot leave it
        // half-changed, so a poisoned lock is still good.
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T: Send + Sync + 'static> Drop for Bounded<T> {
    /// Drops the object (running the plugin's destructor) within the timeout; when an
    /// earlier call is stuck, the object goes when that call finally returns.
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let Some(timeout) = self.timeout else {
            return;
        };
        if !std::mem::needs_drop::<T>() || self.stuck_call_of(&shared).is_some() {
            return;
        }
        let (tx, rx) = answer::pair::<()>();
        // Our reference moves to a worker: when it is the last, the worker runs the
        // plugin's destructor and the host waits for that no longer than the timeout.
        let job: Job = Box::new(move |release| {
            drop(shared);
            release();
            tx.send(());
        });
        if workers::run(job).is_ok() {
            let _ = workers::wait_for(&rx, timeout);
        }
    }
}

fn no_thread(call: &str, e: &std::io::Error) -> PluginError {
    let error = PluginError::internal(format!(
        "The host could not start a thread to call `{call}` ({e})."
    ))
    .with_hint("The system may be out of threads or memory; close other programs and try again.");
    call_failure::mark_failed(error, call)
}

fn still_busy(call: &str, stuck: &str) -> PluginError {
    let error = PluginError::new(
        ErrorKind::TimedOut,
        format!("The plugin cannot take `{call}`: it is still inside `{stuck}`, which did not return in time."),
    )
    .with_hint("The plugin is stuck; close it and open it again, or restart the host. Report this to the plugin's vendor.");
    call_failure::mark_stuck(error, call, stuck)
}

fn timed_out(call: &str, limit: Duration) -> PluginError {
    let error = PluginError::new(
        ErrorKind::TimedOut,
        format!(
            "The plugin did not answer `{call}` within {}.",
            seconds(limit)
        ),
    )
    .with_hint(
        "The plugin may be stuck; report this to its vendor. The host carries on without it.",
    );
    call_failure::mark_timed_out(error, call, limit)
}

/// A duration as people read it (`1.5 s`, `30 s`).
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_failure::CallFailure;
    use std::{thread, time::Instant};

    fn bounded<T: Send + Sync + 'static>(object: T, timeout: Duration) -> Bounded<T> {
        let mut b = Bounded::new(object);
        b.set_timeout(Some(timeout));
        b
    }

    #[test]
    fn answers_within_the_timeout_pass_through() {
        let b = bounded(5_u32, Duration::from_secs(5));
        assert_eq!(b.call("get", Duration::ZERO, |n| Ok(*n + 1)).unwrap(), 6);
        let e = b
            .call::<()>("fail", Duration::ZERO, |_| {
                Err(PluginError::unsupported("no"))
            })
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn the_plugins_own_timeout_is_told_apart_from_the_hosts() {
        for timeout in [None, Some(Duration::from_secs(5))] {
            let mut b = Bounded::new(());
            b.set_timeout(timeout);
            let e = b
                .call::<()>("poll", Duration::ZERO, |_| {
                    // What a plugin sends: its own timeout, dressed up as the host's.
                    Err(PluginError::new(ErrorKind::TimedOut, "The code expired.")
                        .with_detail("host_gave_up", "timed_out")
                        .with_detail("call", "poll"))
                })
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::TimedOut);
            assert_eq!(CallFailure::of(&e), CallFailure::Plugin, "{timeout:?}");
        }
    }

    #[test]
    fn a_blocked_call_times_out_and_later_calls_fail_fast_until_it_returns() {
        let (release, wait) = mpsc::channel::<()>();
        let wait = Mutex::new(wait);
        let b = bounded(wait, Duration::from_millis(100));
        let started = Instant::now();
        let e = b
            .call("validate", Duration::ZERO, |wait| {
                let _ = wait.lock().unwrap().recv();
                Ok(())
            })
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert!(e.message().contains("`validate` within 0.1 s"), "{e}");
        assert_eq!(
            CallFailure::of(&e),
            CallFailure::HostTimedOut {
                call: "validate".into(),
                limit: Duration::from_millis(100)
            }
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(b.stuck_call(), Some("validate"));
        let busy = b.call("describe", Duration::ZERO, |_| Ok(())).unwrap_err();
        assert!(busy.message().contains("still inside `validate`"), "{busy}");
        assert_eq!(
            CallFailure::of(&busy),
            CallFailure::Stuck {
                call: "describe".into(),
                stuck_in: "validate".into()
            }
        );
        release.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while b.stuck_call().is_some() && Instant::now() < deadline {
            thread::yield_now();
        }
        assert_eq!(
            b.stuck_call(),
            None,
            "the stuck call returned, so the object is free"
        );
        assert!(b.call("describe", Duration::ZERO, |_| Ok(())).is_ok());
    }

    #[test]
    fn cancel_runs_while_a_poll_waits_on_another_thread() {
        // `poll` waits until `cancel` has run: were cancel queued behind the poll,
        // the poll would time out instead.
        let (cancelled, wait) = mpsc::channel::<()>();
        let b = Arc::new(bounded(
            (Mutex::new(cancelled), Mutex::new(wait)),
            Duration::from_secs(10),
        ));
        let poller = {
            let b = Arc::clone(&b);
            thread::spawn(move || {
                b.call("poll", Duration::ZERO, |(_, wait)| {
                    wait.lock()
                        .unwrap()
                        .recv_timeout(Duration::from_secs(10))
                        .map_err(|_| PluginError::internal("cancel never ran"))
                })
            })
        };
        b.call_even_if_stuck("cancel", Duration::ZERO, |(cancelled, _)| {
            let _ = cancelled.lock().unwrap().send(());
            Ok(())
        })
        .unwrap();
        assert!(poller.join().unwrap().is_ok(), "the poll saw the cancel");
    }

    #[test]
    fn the_objects_destructor_runs_when_the_handle_goes() {
        struct Flag(mpsc::Sender<()>);
        impl Drop for Flag {
            fn drop(&mut self) {
                let _ = self.0.send(());
            }
        }
        let (tx, dropped) = mpsc::channel();
        let b = bounded(Flag(tx), Duration::from_secs(5));
        b.call("touch", Duration::ZERO, |_| Ok(())).unwrap();
        drop(b);
        assert!(dropped.recv_timeout(Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn without_a_timeout_calls_run_on_the_callers_thread() {
        let mut b = Bounded::new(());
        b.set_timeout(None);
        let caller = thread::current().id();
        let ran_on = b
            .call("x", Duration::ZERO, |_| Ok(thread::current().id()))
            .unwrap();
        assert_eq!(ran_on, caller);
    }

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(30)), "30 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }
}

//! The verification session the host drives: a sign-in flow running on the plugin's
//! runtime, whose latest state the host polls, and which cancel stops at once.
//!
//! Shared by every sign-in method: a flow is an async function that reports states
//! through a [`Reporter`] and ends with a [`Success`] or an error. The session makes
//! the ending atomic: a success is committed (its `commit` runs and the state becomes
//! `Verified`) only if the session was not cancelled first, and a cancel after the
//! end changes nothing.

use std::{
    future::Future,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use atrs_host_sdk::{
    Host, LogLevel, PluginError, SessionState, VerificationSession, VerifiedAccount,
};
use tokio::task::AbortHandle;

use crate::runtime::Runtime;

/// How long `cancel` waits for the flow's task to be gone; in practice microseconds,
/// since the task is dropped at its next await point.
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// The end of a successful flow: what to show, and what to keep.
pub struct Success {
    /// Who signed in and what was granted.
    pub account: VerifiedAccount,
    /// Stores the verified state (runs at most once, only if not cancelled).
    pub commit: Box<dyn FnOnce() + Send>,
}

/// The state shared by the host-facing session, the flow, and the integration.
struct Core {
    host: Host,
    inner: Mutex<Inner>,
    changed: Condvar,
    abort: Mutex<Option<AbortHandle>>,
}

struct Inner {
    state: SessionState,
    /// Bumped on every change.
    version: u64,
    /// The version the host last saw.
    reported: u64,
    /// The flow's task is gone (finished, aborted or panicked).
    task_ended: bool,
}

impl Core {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces a non-terminal state; returns false once the session has ended.
    fn set(&self, state: SessionState) -> bool {
        let mut inner = self.lock();
        if inner.state.is_terminal() {
            return false;
        }
        inner.state = state;
        inner.version += 1;
        self.changed.notify_all();
        true
    }

    fn finish(&self, result: Result<Success, PluginError>) {
        let (level, line) = {
            let mut inner = self.lock();
            if inner.state.is_terminal() {
                return;
            }
            // The commit runs under the lock, so a concurrent cancel either comes
            // first (and nothing is committed) or finds the session ended.
            let (state, log) = match result {
                Ok(success) => {
                    (success.commit)();
                    let line = format!(
                        "Verification succeeded: signed in as {}.",
                        success.account.user_principal_name
                    );
                    (
                        SessionState::verified(success.account),
                        (LogLevel::Info, line),
                    )
                }
                Err(e) => {
                    let line = describe_failure(&e);
                    (SessionState::failed(e), (LogLevel::Warn, line))
                }
            };
            inner.state = state;
            inner.version += 1;
            self.changed.notify_all();
            log
        };
        self.host.log(level, &line);
    }

    fn task_ended(&self) {
        self.lock().task_ended = true;
        self.changed.notify_all();
    }

    fn cancel(&self) {
        let cancelled = self.set(SessionState::failed(
            PluginError::cancelled("Verification was cancelled.")
                .with_hint("Click Verify to start again."),
        ));
        if cancelled {
            self.host.info("Verification cancelled.");
        }
        let abort = self.abort.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = abort {
            handle.abort();
        }
        // `abort` only schedules the drop; wait until the task is really gone, so
        // that no request can start after this returns.
        let deadline = Instant::now() + CANCEL_WAIT;
        let mut inner = self.lock();
        while !inner.task_ended {
            let now = Instant::now();
            if now >= deadline {
                self.host
                    .warn("The cancelled sign-in task did not stop in time.");
                break;
            }
            inner = self
                .changed
                .wait_timeout(inner, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// A log line for a failed verification: kind, message and provider ids, no secrets.
fn describe_failure(e: &PluginError) -> String {
    let mut line = format!("Verification ended ({}): {}", e.kind(), e.message());
    if let Some(code) = e.provider_code() {
        line.push_str(&format!(" [{code}]"));
    }
    if let Some(id) = e.trace_id() {
        line.push_str(&format!(" trace {id}"));
    }
    if let Some(id) = e.correlation_id() {
        line.push_str(&format!(" correlation {id}"));
    }
    line
}

/// Marks the task as ended when the flow's future is dropped, however that happens.
struct EndGuard(Arc<Core>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.task_ended();
    }
}

/// What a flow uses to tell the host where it stands.
#[derive(Clone)]
pub struct Reporter {
    core: Arc<Core>,
}

impl Reporter {
    /// The plugin is busy: `message` is shown on a status line.
    pub fn working(&self, message: impl Into<String>) {
        self.core.set(SessionState::Working {
            message: message.into().into(),
        });
    }

    /// Shows `state` (a code to enter, a page to open …); terminal states are for the session.
    pub fn show(&self, state: SessionState) {
        debug_assert!(!state.is_terminal(), "flows end by returning");
        self.core.set(state);
    }
}

/// The integration's handle on a running session: it can cancel it.
#[derive(Clone)]
pub struct Control {
    core: Arc<Core>,
}

impl Control {
    /// Cancels the session (no-op once it has ended).
    pub fn cancel(&self) {
        self.core.cancel();
    }
}

/// Takes text the user pasted, for flows that accept it (the browser sign-in).
pub type Submitter = Box<dyn Fn(&str) -> Result<(), PluginError> + Send + Sync>;

/// A running verification; implements [`VerificationSession`] for the host.
pub struct Session {
    core: Arc<Core>,
    /// Where pasted text goes; without one, `submit` says the flow takes none.
    submitter: Option<Submitter>,
    /// Keeps the runtime alive while the host holds the session.
    _runtime: Runtime,
}

impl Session {
    /// Starts `flow` on `runtime`, showing `first` until the flow reports.
    pub fn start<F, Fut>(
        runtime: &Runtime,
        host: Host,
        first: SessionState,
        flow: F,
    ) -> Result<(Session, Control), PluginError>
    where
        F: FnOnce(Reporter) -> Fut,
        Fut: Future<Output = Result<Success, PluginError>> + Send + 'static,
    {
        let handle = runtime.handle()?;
        let core = Arc::new(Core {
            host,
            inner: Mutex::new(Inner {
                state: first,
                version: 1,
                reported: 0,
                task_ended: false,
            }),
            changed: Condvar::new(),
            abort: Mutex::new(None),
        });
        let future = flow(Reporter { core: core.clone() });
        let task_core = core.clone();
        // Made outside the task so that it also fires when the task is dropped unpolled.
        let ended = EndGuard(core.clone());
        let task = handle.spawn(async move {
            let _ended = ended;
            let result = future.await;
            task_core.finish(result);
        });
        *core.abort.lock().unwrap_or_else(|p| p.into_inner()) = Some(task.abort_handle());
        let watcher = core.clone();
        handle.spawn(async move {
            if let Err(e) = task.await {
                if e.is_panic() {
                    watcher.finish(Err(PluginError::internal(
                        "The Office 365 plugin failed unexpectedly while verifying.",
                    )
                    .with_hint(
                        "This is a bug in the plugin; report it. Click Verify to try again.",
                    )));
                }
            }
        });
        Ok((
            Session {
                core: core.clone(),
                submitter: None,
                _runtime: runtime.clone(),
            },
            Control { core },
        ))
    }

    /// Lets the session take pasted text: `submit` hands it to `submitter`.
    pub fn accepting(mut self, submitter: Submitter) -> Self {
        self.submitter = Some(submitter);
        self
    }
}

impl VerificationSession for Session {
    fn poll(&self, timeout: Duration) -> SessionState {
        let deadline = Instant::now().checked_add(timeout);
        let mut inner = self.core.lock();
        while inner.version == inner.reported && !inner.state.is_terminal() {
            let now = Instant::now();
            let Some(left) = deadline.and_then(|d| d.checked_duration_since(now)) else {
                break;
            };
            if left.is_zero() {
                break;
            }
            inner = self
                .core
                .changed
                .wait_timeout(inner, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        inner.reported = inner.version;
        inner.state.clone()
    }

    fn submit(&self, pasted: &str) -> Result<(), PluginError> {
        match &self.submitter {
            Some(submit) => submit(pasted),
            None => Err(PluginError::unsupported(
                "This verification does not take pasted text.",
            )
            .with_hint("Follow the instructions shown; only Verify ▾ With Browser asks for the final browser address.")),
        }
    }

    fn cancel(&self) {
        self.core.cancel();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A session the host lets go of must not keep signing in behind its back.
        self.core.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::{testing::MemoryHost, ErrorKind};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn account() -> VerifiedAccount {
        VerifiedAccount {
            account_name: "A".into(),
            user_principal_name: "u@x.test".into(),
            display_name: "U".into(),
            user_id: None.into(),
            tenant_id: "t".into(),
            granted_scopes: Default::default(),
            missing_scopes: Default::default(),
        }
    }

    fn working() -> SessionState {
        SessionState::Working {
            message: "starting".into(),
        }
    }

    #[test]
    fn poll_returns_each_change_once_then_waits_only_up_to_the_timeout() {
        let rt = Runtime::new();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let (session, _) =
            Session::start(&rt, MemoryHost::new().handle(), working(), |r| async move {
                r.working("step two");
                let _ = release_rx.await;
                Err(PluginError::unsupported("done"))
            })
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let SessionState::Working { message } = session.poll(Duration::from_millis(50)) {
                if message.as_str() == "step two" {
                    break;
                }
            }
            assert!(Instant::now() < deadline);
        }
        let started = Instant::now();
        let again = session.poll(Duration::from_millis(30));
        assert!(matches!(again, SessionState::Working { .. }));
        assert!(started.elapsed() < Duration::from_secs(2));
        release_tx.send(()).unwrap();
        let end = session.poll(Duration::from_secs(5));
        assert!(matches!(end, SessionState::Failed(e) if e.kind() == ErrorKind::Unsupported));
    }

    #[test]
    fn cancel_stops_the_flow_before_it_returns_and_success_is_not_committed() {
        let rt = Runtime::new();
        let commits = Arc::new(AtomicUsize::new(0));
        let c = commits.clone();
        let (session, _) = Session::start(
            &rt,
            MemoryHost::new().handle(),
            working(),
            move |_| async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(Success {
                    account: account(),
                    commit: Box::new(move || {
                        c.fetch_add(1, Ordering::SeqCst);
                    }),
                })
            },
        )
        .unwrap();
        session.cancel();
        assert!(
            session.core.lock().task_ended,
            "the task is gone once cancel returns"
        );
        match session.poll(Duration::ZERO) {
            SessionState::Failed(e) => {
                assert_eq!(e.kind(), ErrorKind::Cancelled);
                assert!(e.hint().is_some());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(commits.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_success_is_committed_once_and_a_later_cancel_changes_nothing() {
        let rt = Runtime::new();
        let commits = Arc::new(AtomicUsize::new(0));
        let c = commits.clone();
        let (session, control) = Session::start(
            &rt,
            MemoryHost::new().handle(),
            working(),
            move |_| async move {
                Ok(Success {
                    account: account(),
                    commit: Box::new(move || {
                        c.fetch_add(1, Ordering::SeqCst);
                    }),
                })
            },
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !session.poll(Duration::from_millis(50)).is_terminal() {
            assert!(Instant::now() < deadline);
        }
        control.cancel();
        assert!(matches!(
            session.poll(Duration::ZERO),
            SessionState::Verified(_)
        ));
        assert_eq!(commits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_flow_ends_in_an_internal_error() {
        let rt = Runtime::new();
        let (session, _) =
            Session::start(&rt, MemoryHost::new().handle(), working(), |_| async move {
                if Instant::now().elapsed() < Duration::from_secs(60) {
                    panic!("boom with a secret");
                }
                Err(PluginError::unsupported("unreachable"))
            })
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let SessionState::Failed(e) = session.poll(Duration::from_millis(50)) {
                assert_eq!(e.kind(), ErrorKind::Internal);
                assert!(!e.message().contains("secret"));
                break;
            }
            assert!(Instant::now() < deadline);
        }
    }

    #[test]
    fn dropping_the_session_cancels_it() {
        let rt = Runtime::new();
        let (session, control) =
            Session::start(&rt, MemoryHost::new().handle(), working(), |_| async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(PluginError::unsupported("unreachable"))
            })
            .unwrap();
        drop(session);
        assert!(control.core.lock().task_ended);
        assert!(
            matches!(&control.core.lock().state, SessionState::Failed(e) if e.kind() == ErrorKind::Cancelled)
        );
    }
}

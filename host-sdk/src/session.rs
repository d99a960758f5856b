//! The verification session machinery (added in 1.1), so an author writes a sign-in
//! as straight-line code and the SDK answers the host's poll, submit and cancel.
//!
//! A flow reports where it stands through a [`Reporter`] (`working`, `show_code`,
//! `open_browser`), waits with [`Reporter::pause`] or [`Reporter::wait_for_paste`]
//! (both end at once on cancel), and returns a [`Success`] or an error. The session
//! makes the end atomic: a success's `commit` runs, and the state becomes `Verified`,
//! only if the session was not cancelled first; a cancel after the end changes
//! nothing. [`Session::spawn`] runs a blocking flow on a thread of its own; flows on
//! an async runtime use [`Session::new`] and call [`Reporter::finish`] themselves.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use crate::{
    cancel::CancelToken,
    error::PluginError,
    host::Host,
    log_level::LogLevel,
    plugin::VerificationSession,
    verify::{SessionState, VerifiedAccount},
};

/// How long [`VerificationSession::cancel`] on a [`Session`] (and so the host's
/// cancel, and dropping the session) waits for the flow to notice and return: a flow
/// must end within this after a cancel — `pause` and `wait_for_paste` end at once;
/// a blocking request needs a timeout below it, or an
/// [`on_cancel`](Reporter::on_cancel) hook that shuts its connection. Conformance
/// checks allow the same bound.
pub const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// The end of a successful flow: who signed in, and what to keep.
pub struct Success {
    /// Who signed in and what was granted.
    pub account: VerifiedAccount,
    /// Stores the verified state; runs at most once, and only if not cancelled.
    pub commit: Box<dyn FnOnce() + Send>,
}

impl Success {
    /// A success that runs `commit` when it is accepted.
    pub fn new(account: VerifiedAccount, commit: impl FnOnce() + Send + 'static) -> Self {
        Success {
            account,
            commit: Box::new(commit),
        }
    }
}

/// Checks pasted text before it is accepted; its error goes back to the host.
type PasteCheck = Arc<dyn Fn(&str) -> Result<(), PluginError> + Send + Sync>;

struct Inner {
    state: SessionState,
    /// Bumped on every change.
    version: u64,
    /// The version the host last saw.
    reported: u64,
    cancelled: bool,
    /// The session had ended when the last cancel arrived.
    ended_before_cancel: bool,
    /// The flow has returned (or was dropped); `None` while nobody runs one.
    flow_ended: Option<bool>,
    paste_check: Option<PasteCheck>,
    accepted_paste: Option<String>,
    on_cancel: Vec<Box<dyn FnOnce() + Send>>,
}

struct Core {
    host: Host,
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

    /// Replaces a non-terminal state; false once the session has ended.
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

    fn cancel(&self) {
        // One critical section: a flow finishing at the same moment either ended the
        // session before this (and the cancel changes nothing, as recorded) or finds it
        // ended as cancelled and commits nothing.
        let (hooks, ended_now) = {
            let mut inner = self.lock();
            inner.cancelled = true;
            inner.ended_before_cancel = inner.state.is_terminal();
            let ended_now = !inner.state.is_terminal();
            if ended_now {
                inner.state = SessionState::failed(cancelled());
                inner.version += 1;
            }
            self.changed.notify_all();
            (std::mem::take(&mut inner.on_cancel), ended_now)
        };
        if ended_now {
            self.host.info("Verification cancelled.");
        }
        for hook in hooks {
            hook();
        }
        // Wait until the flow is really gone, so that no request starts after this.
        let deadline = Instant::now() + CANCEL_WAIT;
        let mut inner = self.lock();
        while inner.flow_ended == Some(false) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(inner);
                self.host
                    .warn("The cancelled sign-in did not stop in time.");
                return;
            }
            inner = self.wait(inner, left);
        }
    }

    fn flow_ended(&self) {
        self.lock().flow_ended = Some(true);
        self.changed.notify_all();
    }
}

fn cancelled() -> PluginError {
    PluginError::cancelled("Verification was cancelled.").with_hint("Verify again to start over.")
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

/// What a flow uses to tell the host where it stands, and to wait.
#[derive(Clone)]
pub struct Reporter {
    core: Arc<Core>,
}

impl Reporter {
    /// The plugin is busy: `message` is shown on a status line.
    pub fn working(&self, message: impl Into<String>) {
        self.core.set(SessionState::working(message));
    }

    /// The user must enter `user_code` at `verification_uri` before `expires_at`
    /// (Unix seconds); `message` is the provider's own instructions.
    pub fn show_code(
        &self,
        user_code: &str,
        verification_uri: &str,
        message: &str,
        expires_at: i64,
    ) {
        self.core.set(SessionState::ShowCode {
            user_code: user_code.into(),
            verification_uri: verification_uri.into(),
            message: message.into(),
            expires_at,
        });
    }

    /// The user must sign in at `url`, then paste the final address — unless
    /// `listening` names the loopback address that catches the redirect by itself.
    pub fn open_browser(&self, url: &str, message: &str, expires_at: i64, listening: Option<&str>) {
        self.core.set(SessionState::OpenBrowser {
            url: url.into(),
            message: message.into(),
            expires_at,
            listening: listening.map(Into::into).into(),
        });
    }

    /// Shows any non-terminal state (flows end by returning, not through this).
    pub fn show(&self, state: SessionState) {
        debug_assert!(!state.is_terminal(), "flows end by returning");
        self.core.set(state);
    }

    /// Whether the host cancelled; a flow checks it between steps.
    pub fn is_cancelled(&self) -> bool {
        self.core.lock().cancelled
    }

    /// Waits `duration` (a polling interval), or less: `Err(cancelled)` at once when
    /// the host cancels.
    pub fn pause(&self, duration: Duration) -> Result<(), PluginError> {
        let deadline = Instant::now() + duration;
        let mut inner = self.core.lock();
        loop {
            if inner.cancelled {
                return Err(cancelled());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            inner = self.core.wait(inner, left);
        }
    }

    /// From now on, text the host submits is checked by `check` on the host's
    /// thread: a refusal goes back to the host as the error of its `submit`, an
    /// accepted text waits for [`Reporter::wait_for_paste`] (or the check itself acts
    /// on it, for flows that do not block).
    pub fn accept_pastes(
        &self,
        check: impl Fn(&str) -> Result<(), PluginError> + Send + Sync + 'static,
    ) {
        self.core.lock().paste_check = Some(Arc::new(check));
    }

    /// Waits up to `limit` for pasted text that the check of
    /// [`Reporter::accept_pastes`] accepted (every text, without one). Ends at once
    /// with `cancelled` when the host cancels, and with `timed_out` after `limit`.
    pub fn wait_for_paste(&self, limit: Duration) -> Result<String, PluginError> {
        let deadline = Instant::now() + limit;
        let mut inner = self.core.lock();
        if inner.paste_check.is_none() {
            inner.paste_check = Some(Arc::new(|_| Ok(())));
        }
        loop {
            if inner.cancelled {
                return Err(cancelled());
            }
            if let Some(text) = inner.accepted_paste.take() {
                return Ok(text);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PluginError::new(
                    crate::ErrorKind::TimedOut,
                    "Nothing was pasted in time.",
                )
                .with_hint("Verify again, and paste the final browser address sooner."));
            }
            inner = self.core.wait(inner, left);
        }
    }

    /// Runs `hook` when the host cancels (at once if it already has): for a flow on
    /// an async runtime, abort its task there.
    pub fn on_cancel(&self, hook: impl FnOnce() + Send + 'static) {
        let mut inner = self.core.lock();
        if inner.cancelled {
            drop(inner);
            hook();
        } else {
            inner.on_cancel.push(Box::new(hook));
        }
    }

    /// Added in 1.2: a [`CancelToken`] cancelled when this session is — hand it to
    /// the flow's worker threads and requests (see [`crate::cancel`] for a blocking
    /// HTTP client).
    pub fn cancel_token(&self) -> CancelToken {
        let token = CancelToken::new();
        let linked = token.clone();
        self.on_cancel(move || linked.cancel());
        token
    }

    /// Ends the session with the flow's result (for flows not started by
    /// [`Session::spawn`]); a second call, or one after a cancel, changes nothing.
    pub fn finish(&self, result: Result<Success, PluginError>) {
        self.core.finish(result);
    }

    /// Returns a guard for a flow running elsewhere (an async task): `cancel` waits
    /// until the guard is dropped, so no request starts after it returns.
    pub fn flow_guard(&self) -> FlowGuard {
        self.core.lock().flow_ended = Some(false);
        FlowGuard {
            core: self.core.clone(),
        }
    }
}

/// Marks the flow as gone when dropped, however that happens (see
/// [`Reporter::flow_guard`]).
pub struct FlowGuard {
    core: Arc<Core>,
}

impl Drop for FlowGuard {
    fn drop(&mut self) {
        self.core.flow_ended();
    }
}

/// A running verification: implements [`VerificationSession`] for the host.
/// Dropping it cancels the flow.
pub struct Session {
    core: Arc<Core>,
}

impl Session {
    /// A session showing `first`, and the reporter its flow uses.
    pub fn new(host: Host, first: SessionState) -> (Session, Reporter) {
        let core = Arc::new(Core {
            host,
            inner: Mutex::new(Inner {
                state: first,
                version: 1,
                reported: 0,
                cancelled: false,
                ended_before_cancel: false,
                flow_ended: None,
                paste_check: None,
                accepted_paste: None,
                on_cancel: Vec::new(),
            }),
            changed: Condvar::new(),
        });
        let reporter = Reporter { core: core.clone() };
        (Session { core }, reporter)
    }

    /// Runs the blocking `flow` on a thread of its own, showing `first_message` until
    /// it reports. A panic in the flow ends the session with an internal error.
    ///
    /// The host's cancel (and dropping the session) waits up to [`CANCEL_WAIT`] for
    /// the flow to return: `pause` and `wait_for_paste` end at once, and
    /// [`Reporter::cancel_token`] carries the cancel to the flow's threads and
    /// requests (see [`crate::cancel`] for a blocking HTTP client).
    pub fn spawn(
        host: Host,
        first_message: &str,
        flow: impl FnOnce(&Reporter) -> Result<Success, PluginError> + Send + 'static,
    ) -> Result<Session, PluginError> {
        let (session, reporter) = Session::new(host, SessionState::working(first_message));
        let guard = reporter.flow_guard();
        std::thread::Builder::new()
            .name("verification".into())
            .spawn(move || {
                let _guard = guard;
                let result = catch_unwind(AssertUnwindSafe(|| flow(&reporter)))
                    .unwrap_or_else(|_| Err(flow_panicked()));
                reporter.finish(result);
            })
            .map_err(|e| {
                PluginError::internal(format!("Could not start the sign-in: {e}.")).with_hint(
                    "The system is short of resources; close other programs and verify again.",
                )
            })?;
        Ok(session)
    }
}

fn flow_panicked() -> PluginError {
    PluginError::internal("The plugin failed unexpectedly while verifying.")
        .with_hint("This is a bug in the plugin; report it to its vendor. Verify again to retry.")
}

impl VerificationSession for Session {
    fn poll(&self, timeout: Duration) -> SessionState {
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

    fn submit(&self, pasted: &str) -> Result<(), PluginError> {
        let check = self.core.lock().paste_check.clone();
        let Some(check) = check else {
            return Err(PluginError::unsupported(
                "This verification does not take pasted text now.",
            )
            .with_hint(
                "Follow the instructions shown; only a browser sign-in asks for the final address.",
            ));
        };
        // Checked outside the lock: a check may take its time, and may report.
        check(pasted)?;
        let mut inner = self.core.lock();
        inner.accepted_paste = Some(pasted.to_owned());
        self.core.changed.notify_all();
        Ok(())
    }

    fn cancel(&self) {
        self.core.cancel();
    }

    fn ended_before_cancel(&self) -> bool {
        self.core.lock().ended_before_cancel
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::{testing::MemoryHost, ErrorKind};

    fn account() -> VerifiedAccount {
        VerifiedAccount::new("A", "u@example.test", "U", "tenant")
    }

    fn until_terminal(session: &Session) -> SessionState {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let state = session.poll(Duration::from_millis(50));
            if state.is_terminal() {
                return state;
            }
            assert!(Instant::now() < deadline, "still {state:?}");
        }
    }

    #[test]
    fn a_straight_line_flow_reports_each_step_and_commits_once() {
        let commits = Arc::new(AtomicUsize::new(0));
        let c = commits.clone();
        let session = Session::spawn(MemoryHost::new().handle(), "Starting…", move |r| {
            r.show_code(
                "ABCD-1234",
                "https://example.test/device",
                "Enter the code.",
                0,
            );
            r.pause(Duration::from_millis(1))?;
            r.working("Confirming the account…");
            Ok(Success::new(account(), move || {
                c.fetch_add(1, Ordering::SeqCst);
            }))
        })
        .unwrap();
        let mut seen_code = false;
        let end = loop {
            match session.poll(Duration::from_millis(200)) {
                SessionState::ShowCode { user_code, .. } => {
                    seen_code |= user_code.as_str() == "ABCD-1234"
                }
                s if s.is_terminal() => break s,
                _ => {}
            }
        };
        assert!(matches!(end, SessionState::Verified(_)), "{end:?}");
        assert!(seen_code || commits.load(Ordering::SeqCst) == 1);
        assert!(!session.ended_before_cancel(), "no cancel yet");
        session.cancel();
        assert!(matches!(
            session.poll(Duration::ZERO),
            SessionState::Verified(_)
        ));
        assert!(session.ended_before_cancel(), "the cancel came too late");
        assert_eq!(commits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_cancel_racing_the_end_either_came_too_late_or_kept_anything_from_being_committed() {
        let (mut late, mut early) = (0, 0);
        for _ in 0..300 {
            let commits = Arc::new(AtomicUsize::new(0));
            let c = commits.clone();
            let session = Session::spawn(MemoryHost::new().handle(), "Starting…", move |_| {
                Ok(Success::new(account(), move || {
                    c.fetch_add(1, Ordering::SeqCst);
                }))
            })
            .unwrap();
            session.cancel();
            match session.poll(Duration::ZERO) {
                SessionState::Verified(_) => {
                    assert!(session.ended_before_cancel(), "verified after the cancel");
                    assert_eq!(commits.load(Ordering::SeqCst), 1);
                    late += 1;
                }
                SessionState::Failed(e) => {
                    assert_eq!(e.kind(), ErrorKind::Cancelled);
                    assert!(!session.ended_before_cancel());
                    assert_eq!(
                        commits.load(Ordering::SeqCst),
                        0,
                        "committed after the cancel"
                    );
                    early += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(late + early, 300);
    }

    #[test]
    fn cancel_ends_a_waiting_flow_at_once_and_nothing_is_committed() {
        let commits = Arc::new(AtomicUsize::new(0));
        let c = commits.clone();
        let session = Session::spawn(MemoryHost::new().handle(), "Starting…", move |r| {
            r.pause(Duration::from_secs(3600))?;
            Ok(Success::new(account(), move || {
                c.fetch_add(1, Ordering::SeqCst);
            }))
        })
        .unwrap();
        let started = Instant::now();
        session.cancel();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(!session.ended_before_cancel(), "the cancel ended it");
        match session.poll(Duration::ZERO) {
            SessionState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
            other => panic!("{other:?}"),
        }
        assert_eq!(commits.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_paste_is_checked_on_submit_and_handed_to_the_waiting_flow() {
        let session = Session::spawn(MemoryHost::new().handle(), "Starting…", |r| {
            r.accept_pastes(|text| {
                if text.contains("code=") {
                    Ok(())
                } else {
                    Err(PluginError::invalid_input("That address holds no code."))
                }
            });
            r.open_browser("https://example.test/authorize", "Sign in.", 0, None);
            let pasted = r.wait_for_paste(Duration::from_secs(10))?;
            assert_eq!(pasted, "http://localhost/?code=abc");
            Ok(Success::new(account(), || {}))
        })
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !matches!(
            session.poll(Duration::from_millis(50)),
            SessionState::OpenBrowser { .. }
        ) {
            assert!(Instant::now() < deadline);
        }
        let refused = session.submit("http://localhost/").unwrap_err();
        assert!(refused.message().contains("no code"), "{refused}");
        session.submit("http://localhost/?code=abc").unwrap();
        assert!(matches!(
            until_terminal(&session),
            SessionState::Verified(_)
        ));
    }

    #[test]
    fn a_flow_that_takes_no_paste_says_so_and_a_panic_becomes_an_internal_error() {
        let session = Session::spawn(MemoryHost::new().handle(), "Starting…", |r| {
            r.pause(Duration::from_millis(20))?;
            panic!("boom with a secret")
        })
        .unwrap();
        let e = session.submit("x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        match until_terminal(&session) {
            SessionState::Failed(e) => {
                assert_eq!(e.kind(), ErrorKind::Internal);
                assert!(!format!("{e:?}").contains("secret"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn on_cancel_hooks_run_once_and_dropping_the_session_cancels_it() {
        let (session, reporter) =
            Session::new(MemoryHost::new().handle(), SessionState::working("x"));
        let hooks = Arc::new(AtomicUsize::new(0));
        let h = hooks.clone();
        reporter.on_cancel(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        drop(session);
        assert!(reporter.is_cancelled());
        assert_eq!(hooks.load(Ordering::SeqCst), 1);
        let h = hooks.clone();
        reporter.on_cancel(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(hooks.load(Ordering::SeqCst), 2, "a late hook runs at once");
        assert_eq!(
            reporter
                .wait_for_paste(Duration::from_secs(5))
                .unwrap_err()
                .kind(),
            ErrorKind::Cancelled
        );
    }
}

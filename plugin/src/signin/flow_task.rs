//! A sign-in flow as a task on the plugin's runtime, inside the SDK's verification
//! session ([`atrs_host_sdk::session`]): the SDK answers the host's poll, submit and
//! cancel and commits a success exactly once; this module spawns the flow, aborts it
//! when the host cancels, and ends the session when the task panics or is aborted.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use crate::runtime::Runtime;
use atrs_host_sdk::{
    session::{FlowGuard, Reporter, Session, Success},
    Host, PluginError, SessionState, VerificationSession,
};

/// A session whose flow runs on the plugin's runtime; keeps the runtime alive while the
/// host holds the session, and cancels the session when the host lets go of it.
pub struct FlowSession {
    session: Arc<Session>,
    _runtime: Runtime,
}

impl Drop for FlowSession {
    fn drop(&mut self) {
        // A session the host lets go of must not keep signing in behind its back.
        self.session.cancel();
    }
}

/// The integration's handle on a running session: it can cancel it.
pub struct FlowControl {
    session: Arc<Session>,
}

impl FlowControl {
    /// Cancels the session and waits until its flow is gone (no-op once it has ended).
    pub fn cancel(&self) {
        self.session.cancel();
    }
}

impl VerificationSession for FlowSession {
    fn poll(&self, timeout: Duration) -> SessionState {
        self.session.poll(timeout)
    }

    fn submit(&self, pasted: &str) -> Result<(), PluginError> {
        self.session.submit(pasted)
    }

    fn cancel(&self) {
        self.session.cancel();
    }
}

/// Starts `flow` on `runtime`, showing `first` until it reports. `setup` runs before
/// the session is handed out (for example to accept pastes from the start).
pub fn start<F, Fut>(
    runtime: &Runtime,
    host: Host,
    first: &str,
    setup: impl FnOnce(&Reporter),
    flow: F,
) -> Result<(FlowSession, FlowControl), PluginError>
where
    F: FnOnce(Reporter) -> Fut,
    Fut: Future<Output = Result<Success, PluginError>> + Send + 'static,
{
    let handle = runtime.handle()?;
    let (session, reporter) = Session::new(host, SessionState::working(first));
    setup(&reporter);
    let future = flow(reporter.clone());
    let finisher = reporter.clone();
    let task = handle.spawn(Guarded {
        future: Box::pin(async move { finisher.finish(future.await) }),
        _guard: reporter.flow_guard(),
    });
    let abort = task.abort_handle();
    reporter.on_cancel(move || abort.abort());
    handle.spawn(async move {
        if let Err(e) = task.await {
            if e.is_panic() {
                reporter.finish(Err(PluginError::internal(
                    "The Office 365 plugin failed unexpectedly while verifying.",
                )
                .with_hint(
                    "This is a bug in the plugin; report it. Choose Verify to try again.",
                )));
            }
        }
    });
    let session = Arc::new(session);
    Ok((
        FlowSession {
            session: session.clone(),
            _runtime: runtime.clone(),
        },
        FlowControl { session },
    ))
}

/// The flow's future, then its guard: fields drop in order, so a cancel waiting for the
/// guard returns only once the flow is gone, polled or not.
struct Guarded<F> {
    future: Pin<Box<F>>,
    _guard: FlowGuard,
}

impl<F: Future> Future for Guarded<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.future.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        },
        time::Instant,
    };

    use atrs_host_sdk::{testing::MemoryHost, ErrorKind, VerifiedAccount};

    use super::*;

    fn account() -> VerifiedAccount {
        VerifiedAccount::new("A", "u@x.test", "U", "t")
    }

    fn ended(session: &FlowSession) -> SessionState {
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
    fn poll_returns_each_change_once_then_waits_only_up_to_the_timeout() {
        let rt = Runtime::new();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let (session, _) = start(
            &rt,
            MemoryHost::new().handle(),
            "starting",
            |_| {},
            |r| async move {
                r.working("step two");
                let _ = release_rx.await;
                Err(PluginError::unsupported("done"))
            },
        )
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
        let dropped = Arc::new(AtomicUsize::new(0));
        let flag = Flag(dropped.clone());
        let (session, _) = start(
            &rt,
            MemoryHost::new().handle(),
            "starting",
            |_| {},
            move |_| async move {
                let _dropped = flag;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(Success::new(account(), move || {
                    c.fetch_add(1, Ordering::SeqCst);
                }))
            },
        )
        .unwrap();
        session.cancel();
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
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

    /// Counts its drop: the flow's future is gone.
    struct Flag(Arc<AtomicUsize>);

    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_success_is_committed_once_and_a_later_cancel_changes_nothing() {
        let rt = Runtime::new();
        let commits = Arc::new(AtomicUsize::new(0));
        let c = commits.clone();
        let (session, control) = start(
            &rt,
            MemoryHost::new().handle(),
            "starting",
            |_| {},
            move |_| async move {
                Ok(Success::new(account(), move || {
                    c.fetch_add(1, Ordering::SeqCst);
                }))
            },
        )
        .unwrap();
        assert!(matches!(ended(&session), SessionState::Verified(_)));
        control.cancel();
        assert!(matches!(
            session.poll(Duration::ZERO),
            SessionState::Verified(_)
        ));
        assert_eq!(commits.load(Ordering::SeqCst), 1);
    }

    /// A flow that never ends by itself; `dropped` counts when its state goes.
    fn endless(rt: &Runtime, dropped: &Arc<AtomicUsize>) -> (FlowSession, FlowControl) {
        let flag = Flag(dropped.clone());
        start(
            rt,
            MemoryHost::new().handle(),
            "starting",
            |_| {},
            move |_| async move {
                let _dropped = flag;
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(PluginError::unsupported("unreachable"))
            },
        )
        .unwrap()
    }

    #[test]
    fn the_control_cancels_and_waits_for_the_flow() {
        let rt = Runtime::new();
        let dropped = Arc::new(AtomicUsize::new(0));
        let (session, control) = endless(&rt, &dropped);
        control.cancel();
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
        assert!(
            matches!(session.poll(Duration::ZERO), SessionState::Failed(e) if e.kind() == ErrorKind::Cancelled)
        );
    }

    #[test]
    fn a_panicking_flow_ends_in_an_internal_error() {
        let rt = Runtime::new();
        let (session, _) = start(
            &rt,
            MemoryHost::new().handle(),
            "starting",
            |_| {},
            |_| async move {
                if Instant::now().elapsed() < Duration::from_secs(60) {
                    panic!("boom with a secret");
                }
                Err(PluginError::unsupported("unreachable"))
            },
        )
        .unwrap();
        match ended(&session) {
            SessionState::Failed(e) => {
                assert_eq!(e.kind(), ErrorKind::Internal);
                assert!(!e.message().contains("secret"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dropping_the_session_cancels_it() {
        let rt = Runtime::new();
        let dropped = Arc::new(AtomicUsize::new(0));
        let (session, _) = endless(&rt, &dropped);
        drop(session);
        assert_eq!(dropped.load(Ordering::SeqCst), 1);
    }
}

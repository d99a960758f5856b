//! Drives a verification session to its end, for every way the test host shows one:
//! polls the plugin, notices each new state, submits pasted addresses, cancels, and
//! keeps the deadline. What a person sees is the view's business ([`SessionView`]):
//! the menu draws one, `add` prints another.

use std::time::{Duration, Instant};

use atrs_host_sdk::{PluginError, SessionState, VerifiedAccount};

use crate::hosted::HostedSession;

/// How long one poll may block before the driver asks the view for input again.
pub const POLL: Duration = Duration::from_millis(200);

/// What the person did since the last poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Nothing.
    Nothing,
    /// Pasted the final browser address.
    Paste(String),
    /// Asked to cancel: the session is cancelled and the driver waits for it to end.
    Cancel,
    /// Gave up (for example, the pasted input ended): the session is cancelled and the
    /// driver returns at once.
    Abandon,
}

/// How a driven session ended.
#[derive(Debug, Clone)]
pub enum Ended {
    /// Signed in and confirmed.
    Verified(Box<VerifiedAccount>),
    /// Declined, expired, cancelled or failed, as the plugin said.
    Failed(PluginError),
    /// The view gave up ([`SessionView::interrupted`] or [`Input::Abandon`]); the view
    /// knows why.
    Abandoned,
    /// The deadline passed first.
    TimedOut,
}

/// The session, as a view may act on it while showing a state.
pub struct Control<'a>(&'a HostedSession);

impl Control<'_> {
    /// Submits a pasted final browser address.
    pub fn submit(&self, text: &str) -> Result<(), PluginError> {
        self.0.submit(text)
    }

    /// Asks the plugin to cancel; the session then ends as [`Ended::Failed`].
    pub fn cancel(&self) {
        self.0.cancel()
    }
}

/// One way of showing a session to a person.
pub trait SessionView {
    /// Whether the person interrupted (Ctrl-C): checked first, before the deadline.
    fn interrupted(&mut self) -> bool {
        false
    }
    /// What the person did since the last poll; called before each poll, after the
    /// deadline check.
    fn input(&mut self) -> Input;
    /// The answer to a pasted address.
    fn pasted(&mut self, result: Result<(), PluginError>);
    /// The session moved to `state` (every state, the last one included).
    fn changed(&mut self, state: &SessionState, session: &Control<'_>);
    /// A poll brought nothing new.
    fn unchanged(&mut self);
}

/// Drives `session` until it ends, the view abandons it, or `deadline` passes.
pub fn drive(
    session: &HostedSession,
    deadline: Option<Instant>,
    view: &mut dyn SessionView,
) -> Ended {
    let control = Control(session);
    let mut last: Option<SessionState> = None;
    loop {
        if view.interrupted() {
            session.cancel();
            return Ended::Abandoned;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            session.cancel();
            return Ended::TimedOut;
        }
        match view.input() {
            Input::Nothing => {}
            Input::Paste(text) => view.pasted(session.submit(&text)),
            Input::Cancel => session.cancel(),
            Input::Abandon => {
                session.cancel();
                return Ended::Abandoned;
            }
        }
        let state = session.poll(POLL);
        if last.as_ref() == Some(&state) {
            view.unchanged();
            continue;
        }
        view.changed(&state, &control);
        match state {
            SessionState::Verified(account) => {
                return Ended::Verified(Box::new((*account).clone()))
            }
            SessionState::Failed(e) => return Ended::Failed((*e).clone()),
            _ => last = Some(state),
        }
    }
}

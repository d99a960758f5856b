//! Where a browser sign-in's answer arrives: pasted by the user or caught by the
//! loopback listener, checked once against the running attempt, then handed to the flow.
//!
//! Both ways share one [`Inbox`], so the attempt's single-use state is spent by
//! whichever answer comes first, and the other way then refuses with "already used".

use std::sync::{Arc, Mutex, MutexGuard};

use atrs_host_sdk::PluginError;
use tokio::sync::oneshot;

use crate::{
    authority::redirect::RedirectUri,
    signin::auth_state::AuthState,
    signin::paste::{self, AuthorizationResponse, Expect, IssuerRule, PasteRejection, Via},
};

/// The answer box of one browser sign-in.
#[derive(Default)]
pub struct Inbox {
    slot: Mutex<Slot>,
}

#[derive(Default)]
enum Slot {
    /// The sign-in address is not shown yet.
    #[default]
    Preparing,
    /// Waiting for the browser's answer.
    Open(Open),
}

struct Open {
    redirect: RedirectUri,
    state: AuthState,
    issuer: IssuerRule,
    /// Whether a paste can carry the answer (not with `form_post`).
    pastable: bool,
    /// Taken with the first accepted answer.
    flow: Option<oneshot::Sender<AuthorizationResponse>>,
}

/// An accepted answer not yet handed to the flow (the listener answers the browser first).
pub struct Delivery {
    answer: AuthorizationResponse,
    flow: oneshot::Sender<AuthorizationResponse>,
}

impl Delivery {
    /// What was accepted.
    pub fn answer(&self) -> &AuthorizationResponse {
        &self.answer
    }

    /// Hands the answer to the flow; false when the flow has already ended.
    pub fn deliver(self) -> bool {
        self.flow.send(self.answer).is_ok()
    }
}

impl Inbox {
    /// An inbox whose attempt is still being prepared.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts taking answers for the attempt with `redirect`, `state` and `issuer`; the
    /// flow receives the first accepted one. Pastes are refused unless `pastable`.
    pub fn open(
        &self,
        redirect: RedirectUri,
        state: AuthState,
        issuer: IssuerRule,
        pastable: bool,
    ) -> oneshot::Receiver<AuthorizationResponse> {
        let (tx, rx) = oneshot::channel();
        *self.lock() = Slot::Open(Open {
            redirect,
            state,
            issuer,
            pastable,
            flow: Some(tx),
        });
        rx
    }

    /// Checks `text` (a pasted address, or the address the listener was asked for) and,
    /// when it is this attempt's answer, spends the state and returns it for delivery.
    pub fn take(&self, text: &str, via: Via) -> Result<Delivery, PluginError> {
        let mut slot = self.lock();
        let Slot::Open(open) = &mut *slot else {
            return Err(not_ready());
        };
        if via == Via::Paste && !open.pastable {
            return Err(not_pastable());
        }
        if open.state.is_expired() && !open.state.is_spent() {
            return Err(PasteRejection::Expired.to_plugin_error(&open.redirect));
        }
        let expect = Expect {
            redirect: &open.redirect,
            state: &open.state,
            issuer: &open.issuer,
            via,
        };
        let answer = paste::parse(text, &expect).map_err(|r| r.to_plugin_error(&open.redirect))?;
        let Some(flow) = open.flow.take().filter(|tx| !tx.is_closed()) else {
            return Err(ended());
        };
        open.state.spend();
        Ok(Delivery { answer, flow })
    }

    /// Takes pasted text and hands it to the flow at once.
    pub fn submit(&self, text: &str) -> Result<(), PluginError> {
        if self.take(text, Via::Paste)?.deliver() {
            Ok(())
        } else {
            Err(ended())
        }
    }
}

fn not_ready() -> PluginError {
    PluginError::invalid_input("The sign-in address is not ready yet.").with_hint(
        "Wait until the sign-in address is shown, sign in there, then paste the address the browser ends on.",
    )
}

fn not_pastable() -> PluginError {
    PluginError::invalid_input(
        "This sign-in comes back by form post to ATRS's loopback listener, so there is no address to paste.",
    )
    .with_hint("Finish signing in in a browser on this computer: it hands the sign-in to ATRS by itself. To sign in from another computer and paste, set Browser answer to query (Advanced) and choose Verify ▾ With Browser again.")
}

fn ended() -> PluginError {
    PluginError::invalid_input(
        "This sign-in has already ended, so the pasted address was not used.",
    )
    .with_hint("Choose Verify ▾ With Browser to start a new sign-in.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const STATE: &str = "the-state-value-0123456789";
    const CODE: &str = "0.AXoAcode-value-0123456789abcdef";

    fn address() -> String {
        format!("http://localhost:4000/?code={CODE}&state={STATE}")
    }

    pub(crate) fn any_issuer() -> IssuerRule {
        IssuerRule {
            issuer: crate::authority::issuer::Issuer::of_discovery(
                Some("http://127.0.0.1:4000/contoso.com/v2.0"),
                &url::Url::parse("http://127.0.0.1:4000").unwrap(),
                &crate::config::Tenant::Domain("contoso.com".into()),
                "h",
            )
            .unwrap(),
            required: false,
        }
    }

    fn opened_as(
        lifetime: Duration,
        pastable: bool,
    ) -> (Arc<Inbox>, oneshot::Receiver<AuthorizationResponse>) {
        let inbox = Inbox::new();
        let rx = inbox.open(
            RedirectUri::loopback(4000),
            AuthState::with_value(STATE, lifetime),
            any_issuer(),
            pastable,
        );
        (inbox, rx)
    }

    fn opened(lifetime: Duration) -> (Arc<Inbox>, oneshot::Receiver<AuthorizationResponse>) {
        opened_as(lifetime, true)
    }

    #[test]
    fn a_form_post_attempt_takes_no_paste_but_the_listener_s_answer() {
        let (inbox, mut rx) = opened_as(Duration::from_secs(600), false);
        let e = inbox.submit(&address()).unwrap_err();
        assert!(e.message().contains("no address to paste"), "{e}");
        assert!(e.hint().unwrap().contains("Browser answer to query"));
        assert!(inbox.take(&address(), Via::Listener).unwrap().deliver());
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn nothing_is_taken_before_the_address_is_shown() {
        let e = Inbox::new().submit(&address()).unwrap_err();
        assert!(e.message().contains("not ready"), "{e}");
    }

    #[test]
    fn the_first_answer_wins_and_later_ones_are_already_used() {
        let (inbox, mut rx) = opened(Duration::from_secs(600));
        inbox.submit(&address()).unwrap();
        match rx.try_recv() {
            Ok(AuthorizationResponse::Code(c)) => assert_eq!(c.expose(), CODE),
            _ => panic!("the flow got the code"),
        }
        for again in [address(), CODE.to_owned()] {
            let e = inbox.submit(&again).unwrap_err();
            assert!(e.message().contains("already received"), "{e}");
        }
    }

    #[test]
    fn a_refusal_leaves_the_attempt_open() {
        let (inbox, mut rx) = opened(Duration::from_secs(600));
        let e = inbox
            .submit(&address().replace(STATE, "other"))
            .unwrap_err();
        assert!(e.message().contains("different sign-in attempt"), "{e}");
        inbox.submit(&address()).unwrap();
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn an_ended_flow_or_an_expired_attempt_takes_nothing() {
        let (inbox, rx) = opened(Duration::from_secs(600));
        drop(rx);
        let e = inbox.submit(&address()).unwrap_err();
        assert!(e.message().contains("already ended"), "{e}");
        let (inbox, _rx) = opened(Duration::ZERO);
        let e = inbox.submit(&address()).unwrap_err();
        assert_eq!(e.kind(), atrs_host_sdk::ErrorKind::TimedOut);
    }
}

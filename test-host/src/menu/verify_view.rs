//! Drives a verification session for a person: shows what to do (the code large, the
//! address, a countdown and a spinner), takes keys (O opens the browser, Esc or
//! Ctrl-C cancels), and reports how it ended.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use atrs_host_runtime::hosted::HostedSession;
use atrs_host_sdk::{PluginError, SessionState, VerifiedAccount, VerifyMethod};

use super::prompter::{Key, Prompter};
use crate::{
    live_line::SPINNER,
    present::{plugin_error_lines, verified_lines},
    session_driver::{self, Control, Ended, Input, SessionView},
};

/// How a verification ended.
#[derive(Debug, Clone)]
pub enum SessionEnd {
    /// Signed in and confirmed.
    Verified(Box<VerifiedAccount>),
    /// Declined, expired, cancelled, or failed.
    Failed(PluginError),
}

/// Shows each new state of `session` until it ends.
pub fn drive_session(
    p: &mut dyn Prompter,
    session: &HostedSession,
    method: &VerifyMethod,
) -> SessionEnd {
    p.begin_wait();
    let mut view = MenuView {
        p: &mut *p,
        session,
        method,
        waiting: Waiting {
            what: "Working".into(),
            ..Waiting::default()
        },
        tick: 0,
    };
    let end = match session_driver::drive(session, None, &mut view) {
        Ended::Verified(account) => SessionEnd::Verified(account),
        Ended::Failed(e) => SessionEnd::Failed(e),
        // The menu sets no deadline and never abandons: Esc cancels, and the plugin
        // answers with its own Failed state.
        Ended::Abandoned | Ended::TimedOut => {
            SessionEnd::Failed(PluginError::cancelled("Verification cancelled."))
        }
    };
    p.end_wait();
    end
}

/// What the person is currently asked to do, for the status line and the O key.
#[derive(Default)]
struct Waiting {
    url: Option<String>,
    expires_at: Option<i64>,
    what: String,
}

/// The menu's view of a session: keys between polls, a status line while nothing changes.
struct MenuView<'p> {
    p: &'p mut dyn Prompter,
    session: &'p HostedSession,
    method: &'p VerifyMethod,
    waiting: Waiting,
    tick: usize,
}

impl SessionView for MenuView<'_> {
    fn input(&mut self) -> Input {
        match self.p.key() {
            Some(Key::Cancel) => Input::Cancel,
            Some(Key::Open) => {
                open(self.p, self.waiting.url.as_deref());
                Input::Nothing
            }
            None => Input::Nothing,
        }
    }

    fn pasted(&mut self, result: Result<(), PluginError>) {
        if let Err(e) = result {
            self.p.say_all(&plugin_error_lines(&e));
        }
    }

    fn unchanged(&mut self) {
        self.tick += 1;
        let line = status_line(&self.waiting, self.tick, self.p.can_open_browser());
        self.p.status(&line);
    }

    fn changed(&mut self, state: &SessionState, session: &Control<'_>) {
        let p = &mut *self.p;
        match state {
            SessionState::Working { message } => {
                p.say(&format!("… {message}"));
                self.waiting.what = message.to_string();
            }
            SessionState::ShowCode {
                user_code,
                verification_uri,
                message,
                expires_at,
            } => {
                p.say("");
                for line in big_code(user_code) {
                    p.say(&line);
                }
                p.say(&format!(
                    "  Open {verification_uri} and enter the code above."
                ));
                p.say(&format!("  {message}"));
                if let Some(keys) = key_help(p) {
                    p.say(&format!("  {keys}"));
                }
                self.waiting = Waiting {
                    url: Some(verification_uri.to_string()),
                    expires_at: Some(*expires_at),
                    what: "Waiting for you to sign in".into(),
                };
            }
            SessionState::OpenBrowser {
                url,
                message,
                expires_at,
                listening,
            } => {
                self.waiting = Waiting {
                    url: Some(url.to_string()),
                    expires_at: Some(*expires_at),
                    what: "Waiting for the browser sign-in".into(),
                };
                // The paste question ends by itself once the session moves on (the
                // loopback listener caught the browser's answer).
                let handle = self.session;
                let mut moved_on = || {
                    !matches!(
                        handle.poll(Duration::ZERO),
                        SessionState::OpenBrowser { .. }
                    )
                };
                browser_step(
                    p,
                    session,
                    &mut moved_on,
                    url,
                    message,
                    listening.as_ref().map(|l| l.as_str()).into_option(),
                );
            }
            SessionState::Verified(account) => p.say_all(&verified_lines(account, self.method)),
            SessionState::Failed(e) => p.say_all(&plugin_error_lines(e)),
            _ => p.say("… working"),
        }
    }
}

fn open(p: &mut dyn Prompter, url: Option<&str>) {
    let Some(url) = url else { return };
    match p.open_url(url) {
        Ok(()) => p.say(&format!("  Opened {url} in your browser.")),
        Err(e) => p.say(&format!("  {e} Open {url} yourself.")),
    }
}

/// The browser step: offer to open the address, then take the pasted final address
/// until `moved_on()` says the session went on without it (loopback caught the answer);
/// Enter alone keeps waiting.
fn browser_step(
    p: &mut dyn Prompter,
    session: &Control<'_>,
    moved_on: &mut dyn FnMut() -> bool,
    url: &str,
    message: &str,
    listening: Option<&str>,
) {
    p.say("Sign in with your browser at:");
    p.say(&format!("  {url}"));
    p.say(&format!("  {message}"));
    p.end_wait();
    if p.can_open_browser() {
        match p.confirm("Open it in your browser now?", true) {
            Ok(true) => open(p, Some(url)),
            Ok(false) => {}
            // Esc goes back: this sign-in is cancelled, and the form is shown again.
            Err(_) => {
                session.cancel();
                p.begin_wait();
                return;
            }
        }
    }
    if let Some(l) = listening {
        p.say(&format!(
            "  Listening on {l}: when the browser finishes, this window continues by itself."
        ));
    }
    loop {
        let prompt = if listening.is_some() {
            "Paste the final browser address (or just wait)"
        } else {
            "Paste the final browser address"
        };
        match p.input_until(prompt, moved_on) {
            Ok(None) => break,
            Ok(Some(text)) if text.trim().is_empty() && listening.is_some() => break,
            Ok(Some(text)) if text.trim().is_empty() => continue,
            Ok(Some(text)) => match session.submit(&text) {
                Ok(()) => break,
                Err(e) => p.say_all(&plugin_error_lines(&e)),
            },
            Err(_) => {
                session.cancel();
                break;
            }
        }
    }
    p.begin_wait();
}

/// The keys the waiting view reads, as a sentence; `None` where nothing reads keys.
fn key_help(p: &dyn Prompter) -> Option<&'static str> {
    match (p.reads_keys(), p.can_open_browser()) {
        (false, _) => None,
        (true, true) => Some("Press O to open the page in your browser, Esc to cancel."),
        (true, false) => Some("Press Esc to cancel."),
    }
}

fn status_line(waiting: &Waiting, tick: usize, can_open: bool) -> String {
    let spinner = SPINNER[tick % SPINNER.len()];
    let left = waiting.expires_at.map(|at| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(at);
        let secs = (at - now).max(0);
        format!(" · {}:{:02} left", secs / 60, secs % 60)
    });
    // Most important first: a narrow terminal moves the last parts to a row below
    // (`live_line::status_rows`).
    let keys = if waiting.url.is_some() && can_open {
        " · Esc: cancel · O: open browser"
    } else {
        " · Esc: cancel"
    };
    format!(
        "{spinner} {}…{}{keys}",
        waiting.what,
        left.unwrap_or_default()
    )
}

/// The user code, letter-spaced in a box, so it reads at a glance.
fn big_code(code: &str) -> Vec<String> {
    let spaced: String = code
        .chars()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let width = spaced.chars().count() + 6;
    vec![
        format!("  ┌{}┐", "─".repeat(width)),
        format!("  │   {spaced}   │"),
        format!("  └{}┘", "─".repeat(width)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_boxed_and_spaced() {
        let lines = big_code("AB12");
        assert_eq!(lines[1], "  │   A B 1 2   │");
        assert_eq!(lines[0].chars().count(), lines[1].chars().count());
    }

    #[test]
    fn the_status_line_counts_down_and_names_the_keys() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let w = Waiting {
            url: Some("u".into()),
            expires_at: Some(now + 125),
            what: "Waiting".into(),
        };
        let line = status_line(&w, 1, true);
        assert!(!status_line(&w, 1, false).contains("O: open"));
        // On a narrow row the countdown and Esc stay beside the label, the O key goes
        // below; nothing is cut.
        let rows = crate::live_line::status_rows(&line, 40);
        assert!(rows[0].ends_with("left · Esc: cancel"), "{rows:?}");
        assert_eq!(rows[1], "O: open browser", "{rows:?}");
        assert!(
            line.contains("2:0") && line.contains(" left · Esc: cancel · O: open browser"),
            "{line}"
        );
    }
}

//! Drives a verification session for a person: shows what to do (the code large, the
//! address, a countdown and a spinner), takes keys (O opens the browser, Esc or
//! Ctrl-C cancels), and reports how it ended.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use atrs_host_sdk::{loader::SessionHandle, PluginError, SessionState, VerifiedAccount};

use super::prompter::{Key, Prompter};
use crate::{
    live_line::SPINNER,
    present::{plugin_error_lines, verified_lines},
};

/// How a verification ended.
#[derive(Debug, Clone)]
pub enum SessionEnd {
    /// Signed in and confirmed.
    Verified(Box<VerifiedAccount>),
    /// Declined, expired, cancelled, or failed.
    Failed(PluginError),
}

/// How long one poll may block the menu.
const POLL: Duration = Duration::from_millis(200);

/// Shows each new state of `session` until it ends.
pub fn drive_session(p: &mut dyn Prompter, session: &SessionHandle) -> SessionEnd {
    p.begin_wait();
    let end = wait(p, session);
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

fn wait(p: &mut dyn Prompter, session: &SessionHandle) -> SessionEnd {
    let mut last: Option<SessionState> = None;
    let mut waiting = Waiting {
        what: "Working".into(),
        ..Waiting::default()
    };
    let mut tick = 0usize;
    loop {
        match p.key() {
            Some(Key::Cancel) => session.cancel(),
            Some(Key::Open) => open(p, waiting.url.as_deref()),
            None => {}
        }
        let state = session.poll(POLL);
        if last.as_ref() == Some(&state) {
            tick += 1;
            p.status(&status_line(&waiting, tick, p.can_open_browser()));
            continue;
        }
        match &state {
            SessionState::Working { message } => {
                p.say(&format!("… {message}"));
                waiting.what = message.to_string();
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
                waiting = Waiting {
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
                waiting = Waiting {
                    url: Some(url.to_string()),
                    expires_at: Some(*expires_at),
                    what: "Waiting for the browser sign-in".into(),
                };
                browser_step(
                    p,
                    session,
                    url,
                    message,
                    listening.as_ref().map(|l| l.as_str()).into_option(),
                );
            }
            SessionState::Verified(account) => {
                p.say_all(&verified_lines(account));
                return SessionEnd::Verified(Box::new((**account).clone()));
            }
            SessionState::Failed(e) => {
                p.say_all(&plugin_error_lines(e));
                return SessionEnd::Failed((**e).clone());
            }
            _ => p.say("… working"),
        }
        last = Some(state);
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
/// (Enter alone keeps waiting, which is all that is needed when loopback catches it).
fn browser_step(
    p: &mut dyn Prompter,
    session: &SessionHandle,
    url: &str,
    message: &str,
    listening: Option<&str>,
) {
    p.say("Sign in with your browser at:");
    p.say(&format!("  {url}"));
    p.say(&format!("  {message}"));
    p.end_wait();
    if p.can_open_browser() && p.confirm("Open it in your browser now?", true) == Ok(true) {
        open(p, Some(url));
    }
    if let Some(l) = listening {
        p.say(&format!(
            "  Listening on {l}: when the browser finishes, this window continues by itself."
        ));
    }
    loop {
        let prompt = if listening.is_some() {
            "Paste the final browser address (or press Enter to wait for the browser)"
        } else {
            "Paste the final browser address"
        };
        match p.input(prompt, "") {
            Ok(text) if text.trim().is_empty() && listening.is_some() => break,
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => match session.submit(&text) {
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
    // Most important first: a narrow terminal cuts the end of the line.
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
        // At 60 columns the cut keeps the countdown and Esc.
        let cut = crate::present::fit(&line, 59);
        assert!(cut.contains("left · Esc: cancel"), "{cut}");
        assert!(
            line.contains("2:0") && line.contains(" left · Esc: cancel · O: open browser"),
            "{line}"
        );
    }
}

//! Drives a verification session for a person: shows what to do, waits, reports.

use std::time::Duration;

use atrs_host_sdk::{loader::SessionHandle, PluginError, SessionState, VerifiedAccount};

use super::prompter::Prompter;

/// How a verification ended.
#[derive(Debug, Clone)]
pub enum SessionEnd {
    /// Signed in and confirmed.
    Verified(Box<VerifiedAccount>),
    /// Declined, expired, cancelled, or failed.
    Failed(PluginError),
}

/// How long one poll may block the menu.
const POLL: Duration = Duration::from_millis(250);

/// Shows each new state of `session` until it ends.
pub fn drive_session(p: &mut dyn Prompter, session: &SessionHandle) -> SessionEnd {
    let mut last: Option<SessionState> = None;
    loop {
        let state = session.poll(POLL);
        if last.as_ref() == Some(&state) {
            continue;
        }
        match &state {
            SessionState::Working { message } => p.say(&format!("… {message}")),
            SessionState::ShowCode {
                user_code,
                verification_uri,
                message,
                ..
            } => {
                p.say("");
                p.say(&format!("    Code:  {user_code}"));
                p.say(&format!("    Open:  {verification_uri}"));
                p.say(&format!("    {message}"));
                p.say("");
            }
            SessionState::OpenBrowser {
                url,
                message,
                listening,
                ..
            } => {
                p.say(&format!(
                    "Open this address in a browser and sign in:\n    {url}"
                ));
                p.say(message);
                if let Some(l) = listening.as_ref().into_option() {
                    p.say(&format!(
                        "(listening on {l}: the browser's final redirect is caught by itself)"
                    ));
                }
                match p.input(
                    "Paste the final browser address (or press Enter to keep waiting)",
                    "",
                ) {
                    Ok(text) if !text.trim().is_empty() => {
                        if let Err(e) = session.submit(&text) {
                            show(p, &e);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => session.cancel(),
                }
            }
            SessionState::Verified(account) => {
                summarize(p, account);
                return SessionEnd::Verified(Box::new((**account).clone()));
            }
            SessionState::Failed(e) => {
                show(p, e);
                return SessionEnd::Failed((**e).clone());
            }
            _ => p.say("… working"),
        }
        last = Some(state);
    }
}

fn show(p: &mut dyn Prompter, e: &PluginError) {
    p.say(&format!("✗ {}", e.message()));
    if let Some(h) = e.hint() {
        p.say(&format!("  fix: {h}"));
    }
    if let Some(code) = e.provider_code() {
        p.say(&format!("  ({code})"));
    }
}

fn summarize(p: &mut dyn Prompter, account: &VerifiedAccount) {
    p.say(&format!(
        "✓ Verified: signed in as {} ({}) in tenant {}.",
        account.display_name, account.user_principal_name, account.tenant_id
    ));
    for missing in account.missing_scopes.iter() {
        p.say(&format!(
            "  ! Permission {} was not granted: {}",
            missing.scope, missing.hint
        ));
    }
}

//! `atrs-test-host add <plugin-id> --set ... --verify device|browser`: the Add → Verify
//! → Save & Close flow, scripted.

use std::{
    io::BufRead,
    sync::mpsc,
    time::{Duration, Instant},
};

use atrs_host_sdk::{
    loader::SessionHandle, PluginError, SessionState, VerifiedAccount, VerifyMethod,
};
use serde_json::{json, Value};

use crate::{
    context::Context,
    error::CommandError,
    exit::Exit,
    form_input::{values_from_pairs, with_defaults},
    interrupt::Interrupt,
    output::Output,
    present::{plugin_error_lines, verified_lines},
};

/// What `add` was asked to do.
#[derive(Debug, Clone)]
pub struct AddRequest {
    /// The plugin id.
    pub plugin: String,
    /// `KEY=VALUE` pairs.
    pub set: Vec<String>,
    /// How to verify.
    pub method: VerifyMethod,
    /// A pasted final browser address (`-` reads it from stdin).
    pub paste: Option<String>,
    /// Verify only; do not save.
    pub no_save: bool,
    /// Give up after this long.
    pub timeout: Duration,
}

/// How long one poll may block before the command checks its deadline and Ctrl-C.
const POLL: Duration = Duration::from_millis(200);

/// Runs the flow; the result line carries who signed in and whether it was saved.
pub fn run(ctx: &Context, request: &AddRequest) -> Result<(), CommandError> {
    let catalog = ctx.catalog()?;
    let plugin = catalog.find(&request.plugin)?;
    let mut integration = ctx.open(plugin)?;
    let form = integration.describe()?;
    let values = with_defaults(values_from_pairs(&request.set, &form)?, &form);
    let errors = integration.validate(&values)?;
    if !errors.is_empty() {
        return Err(CommandError::invalid_form(errors));
    }
    let session = integration.start_verification(&values, request.method.clone())?;
    let account = wait_for_outcome(ctx.output, &session, request)?;
    let saved = if request.no_save {
        false
    } else {
        integration.save(&values)?;
        true
    };
    report(ctx.output, &account, saved);
    Ok(())
}

fn wait_for_outcome(
    out: Output,
    session: &SessionHandle,
    request: &AddRequest,
) -> Result<VerifiedAccount, CommandError> {
    let interrupt = Interrupt::install();
    let deadline = Instant::now() + request.timeout;
    let mut pasted: Option<mpsc::Receiver<String>> = None;
    let mut last: Option<SessionState> = None;
    loop {
        if interrupt.is_set() {
            session.cancel();
            return Err(CommandError::new(
                Exit::CancelledOrTimedOut,
                "Verification cancelled (Ctrl-C).",
            )
            .with_hint("Run the command again to verify."));
        }
        if Instant::now() >= deadline {
            session.cancel();
            return Err(CommandError::new(
                Exit::CancelledOrTimedOut,
                format!(
                    "Verification did not finish within {} s.",
                    request.timeout.as_secs()
                ),
            )
            .with_hint("Sign in sooner, or give more time with --timeout SECONDS."));
        }
        if let Some(text) = pasted.as_ref().and_then(|rx| rx.try_recv().ok()) {
            if let Err(e) = session.submit(&text) {
                show_paste_refusal(out, &e);
            }
        }
        let state = session.poll(POLL);
        if last.as_ref() == Some(&state) {
            continue;
        }
        match &state {
            SessionState::Verified(account) => return Ok((**account).clone()),
            SessionState::Failed(e) => return Err((**e).clone().into()),
            SessionState::OpenBrowser { .. } if pasted.is_none() => {
                show_state(out, &state);
                pasted = Some(paste_source(request.paste.as_deref()));
            }
            _ => show_state(out, &state),
        }
        last = Some(state);
    }
}

/// Where pasted addresses come from: the `--paste` value, or stdin lines.
fn paste_source(paste: Option<&str>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    match paste {
        Some(text) if text != "-" => {
            let _ = tx.send(text.to_owned());
        }
        _ => {
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if !line.trim().is_empty() && tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
    }
    rx
}

fn show_paste_refusal(out: Output, e: &PluginError) {
    for line in plugin_error_lines(e) {
        out.note(line);
    }
    out.event(
        "paste_refused",
        json!({"message": e.message(), "hint": e.hint(), "provider_code": e.provider_code()}),
    );
}

fn show_state(out: Output, state: &SessionState) {
    match state {
        SessionState::Working { message } => {
            out.say(format!("… {message}"));
            out.event("progress", json!({"message": message.as_str()}));
        }
        SessionState::ShowCode {
            user_code,
            verification_uri,
            message,
            expires_at,
        } => {
            out.say(format!(
                "To sign in, open {verification_uri} and enter the code {user_code}"
            ));
            out.say(format!("  {message}"));
            out.say(format!(
                "  (the code expires at {})",
                format_unix(*expires_at)
            ));
            out.event(
                "action",
                json!({
                    "action": "enter_code",
                    "user_code": user_code.as_str(),
                    "verification_uri": verification_uri.as_str(),
                    "message": message.as_str(),
                    "expires_at": expires_at,
                }),
            );
        }
        SessionState::OpenBrowser {
            url,
            message,
            expires_at,
            listening,
        } => {
            out.say(format!(
                "Open this address in a browser and sign in:\n  {url}"
            ));
            out.say(format!("  {message}"));
            let listening = listening.as_ref().map(|l| l.as_str()).into_option();
            if let Some(l) = listening {
                out.say(format!("  (listening on {l}; paste the final address here if the browser cannot reach it)"));
            } else {
                out.say("  Then paste the final browser address here.");
            }
            out.event(
                "action",
                json!({
                    "action": "open_browser",
                    "url": url.as_str(),
                    "message": message.as_str(),
                    "expires_at": expires_at,
                    "listening": listening,
                }),
            );
        }
        _ => out.event("progress", json!({"message": "working"})),
    }
}

fn report(out: Output, account: &VerifiedAccount, saved: bool) {
    for line in verified_lines(account) {
        out.say(line);
    }
    out.say(if saved {
        "✓ Saved."
    } else {
        "Not saved (--no-save)."
    });
    out.result("add", result_json(account, saved));
}

/// The result line of a successful `add`.
pub fn result_json(account: &VerifiedAccount, saved: bool) -> Value {
    let strings = |v: &abi_stable::std_types::RVec<abi_stable::std_types::RString>| -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    };
    json!({
        "account_name": account.account_name.as_str(),
        "user_principal_name": account.user_principal_name.as_str(),
        "display_name": account.display_name.as_str(),
        "tenant_id": account.tenant_id.as_str(),
        "granted_scopes": strings(&account.granted_scopes),
        "missing_scopes": account.missing_scopes.iter().map(|m| json!({"scope": m.scope.as_str(), "hint": m.hint.as_str()})).collect::<Vec<_>>(),
        "saved": saved,
    })
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_unix(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for the whole i64 day range we meet.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_format_as_utc() {
        assert_eq!(format_unix(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix(1_795_000_000), "2026-11-18 11:06:40 UTC");
        assert_eq!(format_unix(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}

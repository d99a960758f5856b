//! `atrs-test-host add <plugin-id> --set ... --verify device|browser`: the Add → Verify
//! → Save & Close flow, scripted.

use std::{
    io::BufRead,
    sync::mpsc,
    time::{Duration, Instant},
};

use atrs_host_runtime::hosted::{HostedPlugin, HostedSession};
use atrs_host_sdk::{FormField, PluginError, SessionState, VerifiedAccount, VerifyMethod};
use serde_json::{json, Value};

use crate::{
    commands::owner::same_name,
    context::Context,
    error::CommandError,
    exit::Exit,
    form_input::{account_name, values_from_pairs, with_defaults},
    interrupt::Interrupt,
    live_line::Spinner,
    output::Output,
    present::{command_line_hint, error_lines, local_time, verified_lines},
    secret_input::read_secrets,
    session_driver::{self, Control, Ended, Input, SessionView},
};

/// What `add` was asked to do.
#[derive(Debug, Clone)]
pub struct AddRequest {
    /// The plugin id.
    pub plugin: String,
    /// `KEY=VALUE` pairs.
    pub set: Vec<String>,
    /// Secret fields whose values come from stdin (one line each, in order), or from a
    /// hidden prompt on a terminal: never from the command line.
    pub set_secret: Vec<String>,
    /// How to verify; `None`: the first way the plugin offers.
    pub method: Option<VerifyMethod>,
    /// A pasted final browser address (`-` reads it from stdin).
    pub paste: Option<String>,
    /// Verify only; do not save.
    pub no_save: bool,
    /// Replace a saved account of the same name.
    pub replace: bool,
    /// Give up after this long.
    pub timeout: Duration,
}

/// Runs the flow; the result line carries who signed in and whether it was saved.
pub fn run(ctx: &Context, request: &AddRequest) -> Result<(), CommandError> {
    let catalog = ctx.catalog()?;
    let plugin = catalog.find(&request.plugin)?;
    let mut integration = ctx.open(plugin)?;
    let method = offered_method(&integration, request.method.as_ref(), &request.plugin)?;
    let form = integration.describe()?;
    let mut values = values_from_pairs(&request.set, &form)?;
    read_secrets(&request.set_secret, &form, &mut values)?;
    let values = with_defaults(values, &form);
    let errors = integration.validate(&values)?;
    if !errors.is_empty() {
        return Err(CommandError::invalid_form(errors));
    }
    let saved = ctx.store()?.list(&request.plugin)?;
    if let Some(name) = account_name(&values) {
        refuse_overwrite(request, &saved, name)?;
    }
    let on_command_line = |e: PluginError| command_line_error(e, &form);
    let session = integration
        .start_verification(&values, method.clone())
        .map_err(on_command_line)?;
    let account = wait_for_outcome(ctx.output, &session, request, &form)?;
    let saved = if request.no_save {
        false
    } else {
        // The name check and the save as one step: another process adding the same
        // name meanwhile waits here, then finds this one saved.
        let store = ctx.store()?;
        let _one_at_a_time =
            store.lock_named(&format!("host-add {}", request.plugin), SAVE_LOCK_WAIT)?;
        refuse_overwrite(
            request,
            &store.list(&request.plugin)?,
            &account.account_name,
        )?;
        integration.save(&values).map_err(on_command_line)?;
        true
    };
    report(ctx.output, &account, &method, saved);
    Ok(())
}

/// The method to verify with: `asked` if the plugin offers it (a browser sign-in
/// with the loopback the command line asked for), else a usage error naming what it
/// offers; without `asked`, the plugin's first.
fn offered_method(
    integration: &HostedPlugin,
    asked: Option<&VerifyMethod>,
    plugin: &str,
) -> Result<VerifyMethod, CommandError> {
    let offered = integration.verify_methods();
    let Some(asked) = asked else {
        return Ok(offered[0].clone());
    };
    if offered.iter().any(|m| m.name() == asked.name()) {
        return Ok(asked.clone());
    }
    let names: Vec<&str> = offered.iter().map(|m| m.name()).collect();
    Err(CommandError::usage(format!(
        "The plugin \"{plugin}\" does not verify with --verify {}.",
        asked.name()
    ))
    .with_hint(format!(
        "Use --verify {} (what it offers), or leave --verify out to use its first.",
        names.join(" or --verify ")
    )))
}

/// How long a save waits for another process saving an account of the same plugin.
const SAVE_LOCK_WAIT: Duration = Duration::from_secs(30);

/// Exit 2 when `name` is saved already and `--replace` was not given (nor `--no-save`).
fn refuse_overwrite(
    request: &AddRequest,
    saved: &[String],
    name: &str,
) -> Result<(), CommandError> {
    let Some(taken) = saved.iter().find(|s| same_name(s, name)) else {
        return Ok(());
    };
    if request.no_save || (request.replace && taken.as_str() == name.trim()) {
        return Ok(());
    }
    let as_saved = if taken.as_str() == name.trim() {
        String::new()
    } else {
        format!(" (as \"{taken}\"; names are the same whatever their case)")
    };
    Err(CommandError::usage(format!(
        "An account named \"{name}\" is already saved for {}{as_saved}.",
        request.plugin
    ))
    .with_hint(if as_saved.is_empty() {
        "Give it another name with --set account_name=NAME, or add --replace to replace the saved one.".to_owned()
    } else {
        format!("Give it another name with --set account_name=NAME, or replace the saved one with --set account_name=\"{taken}\" --replace.")
    }))
}

/// A plugin error with its hint in command-line words.
fn command_line_error(e: PluginError, form: &[FormField]) -> CommandError {
    let mut error = CommandError::from(e);
    error.hint = error.hint.map(|h| command_line_hint(&h, form));
    error
}

/// Where the browser step stands, for ending at the right moment with the right words.
#[derive(Default)]
struct Progress {
    /// A code or address was shown: the person had something to do.
    asked: bool,
    /// The loopback listener catches the redirect, so pasting is optional.
    listening: bool,
    /// A pasted address was refused.
    refused: bool,
    /// A pasted address was taken.
    taken: bool,
    /// What the plugin said it was doing last.
    working: Option<String>,
}

fn wait_for_outcome(
    out: Output,
    session: &HostedSession,
    request: &AddRequest,
    form: &[FormField],
) -> Result<VerifiedAccount, CommandError> {
    let started = Instant::now();
    let mut view = CommandView {
        out,
        form,
        paste: request.paste.as_deref(),
        interrupt: Interrupt::install(),
        pasted: None,
        progress: Progress::default(),
        spinner: Spinner::on_terminal(),
        started,
        gave_up: None,
    };
    // A timeout too long to add to the clock is no timeout.
    let deadline = started.checked_add(request.timeout);
    let ended = session_driver::drive(session, deadline, &mut view);
    view.spinner.clear();
    match ended {
        Ended::Verified(account) => Ok(*account),
        Ended::Failed(e) => Err(command_line_error(e, form)),
        Ended::TimedOut => Err(timed_out(request.timeout, &view.progress)),
        Ended::Abandoned => Err(view.gave_up.unwrap_or_else(cancelled_by_ctrl_c)),
    }
}

fn cancelled_by_ctrl_c() -> CommandError {
    CommandError::new(
        Exit::CancelledOrTimedOut,
        "Verification cancelled (Ctrl-C).",
    )
    .with_hint("Run the command again to verify.")
}

/// The command line's view of a session: printed lines and JSON events, pasted
/// addresses from `--paste` or stdin, Ctrl-C, a spinner while nothing changes.
struct CommandView<'a> {
    out: Output,
    form: &'a [FormField],
    paste: Option<&'a str>,
    interrupt: Interrupt,
    pasted: Option<mpsc::Receiver<Pasted>>,
    progress: Progress,
    spinner: Spinner,
    started: Instant,
    /// Why the view abandoned the session, when not for Ctrl-C.
    gave_up: Option<CommandError>,
}

impl SessionView for CommandView<'_> {
    fn interrupted(&mut self) -> bool {
        self.interrupt.is_set()
    }

    fn input(&mut self) -> Input {
        match self.pasted.as_ref().and_then(|rx| rx.try_recv().ok()) {
            Some(Pasted::Line(text)) => Input::Paste(text),
            Some(Pasted::End) => {
                self.pasted = None;
                match input_ended(&self.progress) {
                    Some(e) => {
                        self.gave_up = Some(e);
                        Input::Abandon
                    }
                    None => Input::Nothing,
                }
            }
            None => Input::Nothing,
        }
    }

    fn pasted(&mut self, result: Result<(), PluginError>) {
        match result {
            Ok(()) => self.progress.taken = true,
            Err(e) => {
                self.spinner.clear();
                self.progress.refused = true;
                show_paste_refusal(self.out, &e, self.form);
            }
        }
    }

    fn unchanged(&mut self) {
        if !self.progress.asked {
            let what = self.progress.working.as_deref().unwrap_or("Working");
            self.spinner.show(what, self.started);
        }
    }

    fn changed(&mut self, state: &SessionState, _session: &Control<'_>) {
        self.spinner.clear();
        match state {
            SessionState::Verified(_) | SessionState::Failed(_) => {}
            SessionState::OpenBrowser { listening, .. } => {
                self.progress.asked = true;
                self.progress.listening = listening.is_some();
                show_state(self.out, state);
                if self.pasted.is_none() && !self.progress.taken {
                    self.pasted = Some(paste_source(self.paste));
                }
            }
            SessionState::ShowCode { .. } => {
                self.progress.asked = true;
                show_state(self.out, state);
            }
            SessionState::Working { message } => {
                self.progress.working = Some(message.to_string());
                show_state(self.out, state);
            }
            _ => show_state(self.out, state),
        }
    }
}

/// How the wait ends when no more addresses can be pasted, if it must.
fn input_ended(progress: &Progress) -> Option<CommandError> {
    if progress.taken || progress.listening {
        return None;
    }
    Some(if progress.refused {
        CommandError::usage("The pasted address was refused, and no other followed before the input ended.")
            .with_hint("Paste the address the browser shows once the sign-in has finished (see the fix above), or run the command again with --loopback.")
    } else {
        CommandError::new(
            Exit::CancelledOrTimedOut,
            "Standard input ended before the final browser address was pasted.",
        )
        .with_hint("Give the address with --paste ADDRESS or on standard input, or run the command again with --loopback to catch it.")
    })
}

/// The timeout, in words that fit what had happened by then.
fn timed_out(timeout: Duration, progress: &Progress) -> CommandError {
    let secs = timeout.as_secs();
    if progress.asked {
        return CommandError::new(
            Exit::CancelledOrTimedOut,
            format!("Verification did not finish within {secs} s."),
        )
        .with_hint("Sign in sooner, or give more time with --timeout SECONDS.");
    }
    let doing = progress
        .working
        .as_deref()
        .map(|w| format!(" (last step: {})", w.trim_end_matches(['.', '…'])))
        .unwrap_or_default();
    CommandError::new(
        Exit::CancelledOrTimedOut,
        format!("The sign-in did not start within {secs} s: the identity platform did not answer in time{doing}."),
    )
    .with_hint("Check the network and the authority address (-v shows each step), or give more time with --timeout SECONDS.")
}

/// A pasted address, or the end of the input.
enum Pasted {
    Line(String),
    End,
}

/// Where pasted addresses come from: the `--paste` value, or stdin lines.
fn paste_source(paste: Option<&str>) -> mpsc::Receiver<Pasted> {
    let (tx, rx) = mpsc::channel();
    match paste {
        Some(text) if text != "-" => {
            let _ = tx.send(Pasted::Line(text.to_owned()));
            let _ = tx.send(Pasted::End);
        }
        _ => {
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if !line.trim().is_empty() && tx.send(Pasted::Line(line)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Pasted::End);
            });
        }
    }
    rx
}

fn show_paste_refusal(out: Output, e: &PluginError, form: &[FormField]) {
    let hint = e.hint().map(|h| command_line_hint(h, form));
    for line in error_lines(e.message(), hint.as_deref(), e.provider_code()) {
        out.note(line);
    }
    out.event(
        "paste_refused",
        json!({"message": e.message(), "hint": hint, "provider_code": e.provider_code()}),
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
            // The plugin's own words, unless they only say the same again.
            if !message.contains(user_code.as_str()) {
                out.say(format!("  {message}"));
            }
            out.say(format!(
                "  (the code expires at {})",
                local_time(*expires_at)
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

fn report(out: Output, account: &VerifiedAccount, method: &VerifyMethod, saved: bool) {
    for line in verified_lines(account, method) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_input_ends_the_wait_unless_the_browser_can_still_come_back() {
        let refused = Progress {
            asked: true,
            refused: true,
            ..Progress::default()
        };
        assert_eq!(input_ended(&refused).unwrap().exit.code(), 2);
        let nothing = Progress {
            asked: true,
            ..Progress::default()
        };
        assert_eq!(input_ended(&nothing).unwrap().exit.code(), 4);
        let listening = Progress {
            listening: true,
            refused: true,
            ..Progress::default()
        };
        assert!(input_ended(&listening).is_none());
        let taken = Progress {
            taken: true,
            ..Progress::default()
        };
        assert!(input_ended(&taken).is_none());
    }

    #[test]
    fn a_timeout_before_any_code_does_not_ask_to_sign_in_sooner() {
        let early = Progress {
            working: Some("Looking up the tenant…".into()),
            ..Progress::default()
        };
        let e = timed_out(Duration::from_secs(20), &early);
        assert!(
            e.message.contains("did not start within 20 s"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("Looking up the tenant)"),
            "{}",
            e.message
        );
        assert!(!e.hint.unwrap().contains("Sign in sooner"));
        let late = Progress {
            asked: true,
            ..Progress::default()
        };
        assert!(timed_out(Duration::from_secs(20), &late)
            .hint
            .unwrap()
            .contains("Sign in sooner"));
    }
}

//! Checks of a verification's and an instance's life: a verification starts and stops
//! promptly when cancelled, and close (then drop) leaves nothing running.

use std::time::{Duration, Instant};

use atrs_host_sdk::{
    loader::{IntegrationHandle, SessionHandle},
    session::CANCEL_WAIT,
    ErrorKind, FormField, FormValues, PluginError, SessionState, VerifyMethod,
};

use super::{give_values, Check, Missing, Probe};

const START_TITLE: &str = "a verification starts and is cancelled promptly";
const CLOSE_TITLE: &str = "close releases everything";

/// How long cancel, close and drop may take: the SDK's own bound
/// ([`CANCEL_WAIT`]: a cancel waits that long for the flow to return), so a plugin
/// built on `Session::spawn` passes exactly when it keeps the SDK's promise.
const PROMPT: Duration = CANCEL_WAIT;
/// How long a session may take to report its end after cancel or close returned.
const SETTLE: Duration = Duration::from_secs(3);
/// How long threads may take to end after the instance is dropped.
const THREADS_SETTLE: Duration = CANCEL_WAIT;

/// Why a check stopped early: the plugin failed it, or it could not run.
enum Stop {
    /// The plugin failed: why, and how to fix it.
    Fail(String, String),
    /// Real values are needed and were not given (or did not validate).
    NotRun(Missing),
}

impl From<(String, String)> for Stop {
    fn from((why, fix): (String, String)) -> Self {
        Stop::Fail(why, fix)
    }
}

/// Starts a verification with real values that validate, cancels it, and expects the
/// session to end as cancelled within a few seconds. Without real values (see
/// [`Probe::live_values`]) it does not run, and says which values to give.
pub fn start_and_cancel(probe: &Probe<'_>, fields: &[FormField]) -> Check {
    match try_start_and_cancel(probe, fields) {
        Ok(detail) => Check::pass("start_cancel", START_TITLE, detail),
        Err(Stop::Fail(why, fix)) => Check::fail("start_cancel", START_TITLE, why, fix),
        Err(Stop::NotRun(missing)) => Check::skipped("start_cancel", START_TITLE, missing),
    }
}

fn try_start_and_cancel(probe: &Probe<'_>, fields: &[FormField]) -> Result<String, Stop> {
    let mut integration = probe.open().map_err(open_failed)?;
    let values = valid_values(probe, &integration, fields)?;
    let started = Instant::now();
    let (method, session) = start(&mut integration, &values)?;
    let start_took = started.elapsed();
    let first = session.poll(Duration::ZERO);
    if first.is_terminal() {
        return Ok(format!(
            "{method}: ended at once ({}), nothing to cancel",
            state_name(&first)
        ));
    }
    let cancelled = Instant::now();
    session.cancel();
    let cancel_took = cancelled.elapsed();
    if cancel_took > PROMPT {
        return Err(Stop::Fail(
            format!("cancel took {} ms", cancel_took.as_millis()),
            "Make `cancel` only signal the work to stop and return at once; never wait for a request there.".into(),
        ));
    }
    match wait_for_end(&session, SETTLE) {
        Some(SessionState::Failed(e)) if e.kind() == ErrorKind::Cancelled => Ok(format!(
            "{method}: started in {} ms, ended as cancelled {} ms after cancel",
            start_took.as_millis(),
            cancelled.elapsed().as_millis()
        )),
        // It ended between the first poll and the cancel, and says so (1.2): the
        // cancel had nothing to stop, which is right.
        Some(other) if session.ended_before_cancel() => Ok(format!(
            "{method}: ended as {} before the cancel arrived, nothing to cancel",
            state_name(&other)
        )),
        Some(other) => Err(Stop::Fail(
            format!("after cancel the session ended as {} instead of cancelled", state_name(&other)),
            "After `cancel`, make `poll` report SessionState::Failed with ErrorKind::Cancelled.".into(),
        )),
        None => Err(Stop::Fail(
            format!(
                "{} s after cancel the session still reports {}",
                SETTLE.as_secs(),
                state_name(&session.poll(Duration::ZERO))
            ),
            "Make `cancel` stop the verification (abort its requests and timers) and `poll` then report SessionState::Failed with ErrorKind::Cancelled.".into(),
        )),
    }
}

/// Opens, starts a verification, closes and drops: close and drop must be prompt, the
/// verification must end, and (where threads can be counted) every thread the plugin
/// started must end too.
pub fn close(probe: &Probe<'_>, fields: &[FormField]) -> Check {
    // One warm-up round first, so pools a plugin starts once per process are in the
    // baseline and only what each instance leaves behind counts.
    if let Err(why) = open_use_close(probe, fields) {
        return Check::fail("close", CLOSE_TITLE, why, CLOSE_FIX);
    }
    let baseline = thread_count();
    let detail = match open_use_close(probe, fields) {
        Ok(detail) => detail,
        Err(why) => return Check::fail("close", CLOSE_TITLE, why, CLOSE_FIX),
    };
    let Some(baseline) = baseline else {
        return Check::pass(
            "close",
            CLOSE_TITLE,
            format!("{detail} (threads not counted on this system)"),
        );
    };
    let deadline = Instant::now() + THREADS_SETTLE;
    let mut now = thread_count().unwrap_or(baseline);
    while now > baseline && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        now = thread_count().unwrap_or(baseline);
    }
    if now > baseline {
        return Check::fail(
            "close",
            CLOSE_TITLE,
            format!(
                "{} thread(s) started by the instance still run {} s after close and drop",
                now - baseline,
                THREADS_SETTLE.as_secs()
            ),
            CLOSE_FIX,
        );
    }
    Check::pass(
        "close",
        CLOSE_TITLE,
        format!("{detail}; no thread left behind"),
    )
}

const CLOSE_FIX: &str = "In `close`, cancel running verifications and stop timers; in Drop, shut down the threads or runtime the instance started without waiting on requests.";

fn open_use_close(probe: &Probe<'_>, fields: &[FormField]) -> Result<String, String> {
    let mut integration = probe.open().map_err(|e| e.message().to_owned())?;
    // Only real values: a verification reaches whatever they point at.
    let (session, not_tried) = match probe.live_values(fields) {
        Ok(values) => match start(&mut integration, &values) {
            Ok((_, session)) => (Some(session), None),
            Err((why, _)) => (None, Some(format!("no verification was running ({why})"))),
        },
        Err(missing) => (
            None,
            Some(format!(
                "not tried during a verification (give {})",
                give_values(&missing.needs)
            )),
        ),
    };
    if let Some(session) = &session {
        let _ = session.poll(Duration::ZERO);
    }
    let closing = Instant::now();
    integration
        .close()
        .map_err(|e| format!("close failed: {}", e.message()))?;
    let close_took = closing.elapsed();
    if close_took > PROMPT {
        return Err(format!("close took {} ms", close_took.as_millis()));
    }
    let mut detail = format!("close took {} ms", close_took.as_millis());
    if let Some(session) = session {
        match wait_for_end(&session, SETTLE) {
            Some(SessionState::Failed(e)) if e.details().any(|(k, _)| k == "call") => {
                return Err(format!("after close, {}", e.message()))
            }
            Some(end) => detail += &format!(", the verification ended ({})", state_name(&end)),
            None => {
                return Err(format!(
                    "the verification started before close still reports {} {} s later",
                    state_name(&session.poll(Duration::ZERO)),
                    SETTLE.as_secs()
                ))
            }
        }
    }
    if let Some(not_tried) = not_tried {
        detail += &format!(", {not_tried}");
    }
    let dropping = Instant::now();
    drop(integration);
    if dropping.elapsed() > PROMPT {
        return Err(format!(
            "dropping the instance took {} ms",
            dropping.elapsed().as_millis()
        ));
    }
    Ok(detail)
}

/// Real values that validate; else, as a check that did not run, which to give.
fn valid_values(
    probe: &Probe<'_>,
    integration: &IntegrationHandle,
    fields: &[FormField],
) -> Result<FormValues, Stop> {
    let values = probe.live_values(fields).map_err(Stop::NotRun)?;
    let errors = integration.validate(&values).map_err(|e| {
        Stop::Fail(
            format!("validate failed: {}", e.message()),
            "Make `validate` answer; it must not fail or panic.".to_owned(),
        )
    })?;
    if errors.is_empty() {
        return Ok(values);
    }
    Err(Stop::NotRun(rejected(&errors)))
}

/// Values that did not validate, as what to give instead.
fn rejected(errors: &[atrs_host_sdk::FieldError]) -> Missing {
    let listed: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.field(), e.message()))
        .collect();
    let mut needs: Vec<String> = Vec::new();
    for e in errors {
        if !needs.iter().any(|k| k == e.field()) {
            needs.push(e.field().to_owned());
        }
    }
    Missing {
        why: format!(
            "it starts a verification, and the values it has do not validate ({})",
            listed.join("; ")
        ),
        needs,
    }
}

/// The verification methods the plugin offers, in its order, named for messages; a
/// browser sign-in without a loopback listener (the checks paste nothing and open no
/// port).
pub fn offered_methods(integration: &IntegrationHandle) -> Vec<(&'static str, VerifyMethod)> {
    integration
        .verify_methods()
        .into_iter()
        .map(|method| match method {
            VerifyMethod::Browser { .. } => ("browser", VerifyMethod::Browser { loopback: false }),
            VerifyMethod::DeviceCode => ("device code", method),
            VerifyMethod::Direct => ("direct", method),
            other => (other.name(), other),
        })
        .collect()
}

/// Starts a verification by the first method the plugin offers, or the next if that
/// one says it is unsupported.
pub fn start(
    integration: &mut IntegrationHandle,
    values: &FormValues,
) -> Result<(&'static str, SessionHandle), (String, String)> {
    let mut last: Option<PluginError> = None;
    for (name, method) in offered_methods(integration) {
        match integration.start_verification(values, method) {
            Ok(session) => return Ok((name, session)),
            Err(e) if e.kind() == ErrorKind::Unsupported => last = Some(e),
            Err(e) => {
                return Err((
                    format!("starting a verification by {name} failed: {}", e.message()),
                    "Make `start_verification` return a session for values that validate; report sign-in problems through the session's Failed state.".into(),
                ))
            }
        }
    }
    Err((
        format!(
            "no verification method it offers is supported ({})",
            last.map(|e| e.message().to_owned()).unwrap_or_default()
        ),
        "Support in `start_verification` each method `verify_methods` lists.".into(),
    ))
}

/// Polls until the session ends or `within` passes.
fn wait_for_end(session: &SessionHandle, within: Duration) -> Option<SessionState> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let state = session.poll(left.min(Duration::from_millis(100)));
        if state.is_terminal() {
            return Some(state);
        }
        if left.is_zero() {
            return None;
        }
    }
}

/// A short name of a state, for messages.
pub fn state_name(state: &SessionState) -> String {
    match state {
        SessionState::Working { .. } => "working".into(),
        SessionState::ShowCode { .. } => "showing a code".into(),
        SessionState::OpenBrowser { .. } => "waiting for the browser".into(),
        SessionState::Verified(_) => "verified".into(),
        SessionState::Failed(e) => format!("failed ({}: {})", e.kind(), e.message()),
        _ => "an unknown state".into(),
    }
}

fn open_failed(e: PluginError) -> Stop {
    Stop::Fail(
        format!("opening an instance failed: {}", e.message()),
        "Make `Integration::new` succeed; it must not panic or block.".into(),
    )
}

/// The threads of this process, where the system tells (Linux).
fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::FieldError;

    #[test]
    fn values_that_do_not_validate_name_each_field_to_give_once() {
        let missing = rejected(&[
            FieldError::new(
                "tenant_id",
                "Tenant ID is neither a GUID nor a domain name.",
            ),
            FieldError::new("client_id", "Client ID is not a GUID."),
            FieldError::new("tenant_id", "Tenant ID is too long."),
        ]);
        assert_eq!(missing.needs, ["tenant_id", "client_id"]);
        assert!(
            missing.why.starts_with(
                "it starts a verification, and the values it has do not validate (tenant_id: Tenant ID is neither"
            ),
            "{}",
            missing.why
        );
        assert_eq!(
            give_values(&missing.needs),
            "--set tenant_id=VALUE --set client_id=VALUE"
        );
    }
}

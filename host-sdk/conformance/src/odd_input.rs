//! Checks that no call panics or blocks on empty or absurd input: every call answers,
//! with success or a typed error.

use std::time::Duration;

use atrs_host_sdk::{
    loader::{CallFailure, IntegrationHandle, SessionHandle},
    FormField, FormValues, PluginError, SessionState,
};

use super::{give_values, lifecycle, Check, Probe};

const TITLE: &str = "no call panics or blocks on empty or absurd input";

/// What the calls were given, and what went wrong.
struct Findings {
    calls: usize,
    problems: Vec<String>,
}

impl Findings {
    /// Notes `call` (described as `what`) if it panicked or did not return in time.
    fn record<T>(&mut self, what: &str, result: Result<T, PluginError>) {
        self.calls += 1;
        let Err(e) = result else { return };
        if e.is_panic() {
            self.problems.push(format!("{what} panicked"));
        } else if matches!(
            CallFailure::of(&e),
            CallFailure::HostTimedOut { .. } | CallFailure::Stuck { .. }
        ) {
            self.problems.push(format!("{what} did not return in time"));
        }
    }
}

/// Drives every call with odd values and odd account names.
pub fn no_panics(probe: &Probe<'_>, fields: &[FormField]) -> Check {
    let mut findings = Findings {
        calls: 0,
        problems: Vec::new(),
    };
    let huge = "x".repeat(100_000);
    let weird = "\0\u{202e}\u{1F600}'\"<>&%00\r\n\t";
    let value_sets = [
        ("no values", FormValues::new()),
        ("every field empty", every_field(fields, "")),
        (
            "every field 100 000 characters long",
            every_field(fields, &huge),
        ),
        (
            "control characters in every field",
            every_field(fields, weird),
        ),
        (
            "only unknown keys",
            FormValues::new().with("no_such_field", "x").with("", "y"),
        ),
    ];
    let mut integration = match probe.open() {
        Ok(i) => i,
        Err(e) => return Check::fail("odd_input", TITLE, e.message(), "Make `new` succeed."),
    };
    for (label, values) in &value_sets {
        findings.record(
            &format!("validate with {label}"),
            integration.validate(values),
        );
        reopen_if_stuck(probe, &mut integration);
        for (method_name, method) in super::lifecycle::offered_methods(&integration) {
            let started = integration.start_verification(values, method);
            if let Ok(session) = &started {
                session.cancel();
            }
            findings.record(
                &format!("start_verification ({method_name}) with {label}"),
                started,
            );
            reopen_if_stuck(probe, &mut integration);
        }
        findings.record(&format!("save with {label}"), integration.save(values));
        reopen_if_stuck(probe, &mut integration);
    }
    let names = [
        ("an empty account name", String::new()),
        ("a 100 000-character account name", huge.clone()),
        ("a path as account name", "../../etc/passwd".to_owned()),
        ("control characters as account name", weird.to_owned()),
    ];
    for (label, name) in &names {
        findings.record(
            &format!("load_account with {label}"),
            integration.load_account(name),
        );
        reopen_if_stuck(probe, &mut integration);
        findings.record(
            &format!("remove_account with {label}"),
            integration.remove_account(name),
        );
        reopen_if_stuck(probe, &mut integration);
        findings.record(
            &format!("access_token with {label}"),
            integration.access_token(name),
        );
        reopen_if_stuck(probe, &mut integration);
    }
    // Odd pasted text needs a running verification, and that real values (a
    // verification reaches whatever they point at).
    let submits = match probe.live_values(fields) {
        Ok(values) => match lifecycle::start(&mut integration, &values) {
            Ok((_, session)) => {
                odd_submits(&mut findings, &session, &huge, weird);
                None
            }
            Err((why, _)) => Some(format!("pasted text not tried: {why}")),
        },
        Err(missing) => Some(format!(
            "pasted text not tried (it needs a running verification: give {})",
            give_values(&missing.needs)
        )),
    };
    findings.record("close", integration.close());
    if findings.problems.is_empty() {
        let mut detail = format!("{} calls answered", findings.calls);
        if let Some(submits) = submits {
            detail += &format!("; {submits}");
        }
        return Check::pass("odd_input", TITLE, detail);
    }
    Check::fail(
        "odd_input",
        TITLE,
        findings.problems.join("; "),
        "Check inputs and return PluginError::invalid_input (with the field) instead of panicking (unwrap, indexing, assert); never wait without a timeout inside a call.",
    )
}

/// Pastes empty, huge and control-character text into a running verification, then
/// cancels it.
fn odd_submits(findings: &mut Findings, session: &SessionHandle, huge: &str, weird: &str) {
    for (label, text) in [
        ("empty", ""),
        ("100 000 characters", huge),
        ("control characters", weird),
    ] {
        findings.record(&format!("submit of {label} text"), session.submit(text));
    }
    let state = session.poll(Duration::ZERO);
    findings.record(
        "poll after odd submits",
        match state {
            SessionState::Failed(e) => Err((*e).clone()),
            _ => Ok(()),
        },
    );
    session.cancel();
}

fn every_field(fields: &[FormField], value: &str) -> FormValues {
    let mut values = FormValues::new();
    for field in fields {
        values.set(field.key.as_str(), value);
    }
    values
}

/// After a call that did not return, later calls on that instance fail at once; a new
/// instance keeps the remaining calls meaningful.
fn reopen_if_stuck(probe: &Probe<'_>, integration: &mut IntegrationHandle) {
    if integration.stuck_call().is_some() {
        if let Ok(fresh) = probe.open() {
            *integration = fresh;
        }
    }
}

//! `atrs-test-host check <library>`: conformance checks for plugin authors, check by
//! check, with why and how to fix each failure.
//!
//! Exit codes: 0 when every check passes; 1 when any fails (the plugin is at fault);
//! 2 when the command line is wrong (no such file, a malformed `--set`).

use std::{path::Path, process::ExitCode, time::Duration};

use serde_json::{json, Value};

use atrs_conformance::{self as conformance, Options, Outcome, Report};

use crate::{context::Context, error::CommandError, exit::Exit, output::Output};

/// How long one call may take during a check unless `--call-timeout` says otherwise:
/// short, because every call a host makes from its UI thread should be quick.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks `library`; `set` holds `KEY=VALUE` pairs for the values of the verification.
pub fn run(ctx: &Context, library: &Path, set: &[String], call_timeout: Duration) -> ExitCode {
    let out = ctx.output;
    let options = match options(library, set, call_timeout) {
        Ok(options) => options,
        Err(e) => {
            out.failure("check", &e);
            return e.exit.into();
        }
    };
    out.note(format!(
        "Checking {} (host interface {}, calls time out after {} s)…",
        library.display(),
        atrs_host_sdk::INTERFACE_VERSION,
        call_timeout.as_secs_f64()
    ));
    let report = conformance::run(&options);
    show(out, &report);
    result(out, &report);
    if report.failed() == 0 {
        Exit::Success.into()
    } else {
        Exit::Failure.into()
    }
}

fn options(
    library: &Path,
    set: &[String],
    call_timeout: Duration,
) -> Result<Options, CommandError> {
    if library.is_dir() {
        return Err(CommandError::usage(format!(
            "{} is a folder, not a plugin library.",
            library.display()
        ))
        .with_hint("Give the path of the library file inside it, for example target/release/libmy_plugin.so."));
    }
    if !library.is_file() {
        return Err(
            CommandError::usage(format!("There is no file {}.", library.display())).with_hint(
                "Give the path of the plugin library, for example target/release/libmy_plugin.so.",
            ),
        );
    }
    let mut values = Vec::new();
    for pair in set {
        match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                values.push((key.trim().to_owned(), value.to_owned()))
            }
            _ => {
                return Err(CommandError::usage("`--set` needs KEY=VALUE.").with_hint(
                    "Write --set KEY=VALUE, for example --set tenant_id=contoso.onmicrosoft.com.",
                ))
            }
        }
    }
    Ok(Options {
        library: library.to_owned(),
        values,
        call_timeout,
    })
}

fn show(out: Output, report: &Report) {
    for check in &report.checks {
        match &check.outcome {
            Outcome::Pass(detail) => out.say(format!("✓ {:<52} {detail}", check.title)),
            Outcome::Fail { why, fix } => {
                out.say(format!("✗ {}", check.title));
                out.say(format!("    why: {why}"));
                out.say(format!("    fix: {fix}"));
            }
        }
    }
    let total = report.checks.len();
    match report.failed() {
        0 => out.say(format!("All {total} checks passed.")),
        failed => out.say(format!("{failed} of {total} checks failed.")),
    }
}

fn result(out: Output, report: &Report) {
    let checks: Vec<Value> = report.checks.iter().map(|c| c.to_json()).collect();
    let plugin = report.manifest.as_ref().map(|m| {
        json!({"id": m.id.as_str(), "version": m.plugin_version.as_str(), "sdk_version": m.sdk_version.as_str()})
    });
    let failed = report.failed();
    let mut fields = json!({
        "library": report.library,
        "host_sdk_version": atrs_host_sdk::INTERFACE_VERSION,
        "plugin": plugin,
        "passed": report.checks.len() - failed,
        "failed": failed,
        "checks": checks,
    });
    if failed == 0 {
        out.result("check", fields);
        return;
    }
    fields["ok"] = json!(false);
    fields["command"] = json!("check");
    fields["error"] = json!({
        "message": format!("{failed} of {} checks failed.", report.checks.len()),
        "hint": "Fix what each failed check says, then run the check again.",
        "exit_code": Exit::Failure.code(),
    });
    out.event("result", fields);
}

//! `atrs-test-host check <library>`: conformance checks for plugin authors, check by
//! check, with why and how to fix each failure.
//!
//! A check that needs real values (one that starts a verification, which reaches
//! whatever the values point at) does not run without them and says which to give
//! with `--set KEY=VALUE`; the check never makes them up.
//!
//! Exit codes: 0 when no check fails (checks that did not run do not count, unless
//! `--strict`); 1 when any fails (the plugin is at fault), or under `--strict` when any
//! did not run; 2 when the command line is wrong (no such file, a malformed `--set`).

use std::{path::Path, process::ExitCode, time::Duration};

use serde_json::{json, Value};

use atrs_conformance::{self as conformance, give_values, Options, Outcome, Report};

use crate::{context::Context, error::CommandError, exit::Exit, output::Output};

/// How long one call may take during a check unless `--call-timeout` says otherwise:
/// short, because every call a host makes from its UI thread should be quick.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What `check` was asked for on the command line.
#[derive(Debug, Clone, Copy)]
pub struct CheckArgs<'a> {
    /// The library to check.
    pub library: &'a Path,
    /// `KEY=VALUE` pairs for the values of the verification.
    pub set: &'a [String],
    /// How long one call may take.
    pub call_timeout: Duration,
    /// Whether a check that did not run counts as failed (`--strict`, for CI).
    pub strict: bool,
}

/// Checks `args.library`.
pub fn run(ctx: &Context, args: &CheckArgs<'_>) -> ExitCode {
    let CheckArgs {
        library,
        set,
        call_timeout,
        strict,
    } = *args;
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
    show(out, &report, strict);
    result(out, &report, strict);
    if report.ok(strict) {
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

fn show(out: Output, report: &Report, strict: bool) {
    for check in &report.checks {
        match &check.outcome {
            Outcome::Pass(detail) => out.say(format!("✓ {:<52} {detail}", check.title)),
            Outcome::Fail { why, fix } => {
                out.say(format!("✗ {}", check.title));
                out.say(format!("    why: {why}"));
                out.say(format!("    fix: {fix}"));
            }
            Outcome::NotRun { why, needs } => {
                let mark = if strict { "✗" } else { "–" };
                out.say(format!(
                    "{mark} {:<52} not run — give {}",
                    check.title,
                    give_values(needs)
                ));
                out.say(format!("    why: {why}"));
            }
        }
    }
    out.say(summary(report, strict));
}

/// The last line: how many passed, failed and did not run, and what to give.
fn summary(report: &Report, strict: bool) -> String {
    let total = report.checks.len();
    let (failed, not_run) = (report.failed(), report.not_run());
    let skipped = match not_run {
        0 => String::new(),
        1 => format!("1 did not run (give {})", give_values(&report.needs())),
        n => format!("{n} did not run (give {})", give_values(&report.needs())),
    };
    let strictly = if strict && not_run > 0 {
        "; --strict counts those that did not run as failed"
    } else {
        ""
    };
    match (failed, not_run) {
        (0, 0) => format!("All {total} checks passed."),
        (0, _) => format!(
            "{} of {total} checks passed, none failed; {skipped}{strictly}.",
            report.passed()
        ),
        (_, 0) => format!("{failed} of {total} checks failed."),
        (_, _) => format!("{failed} of {total} checks failed; {skipped}{strictly}."),
    }
}

fn result(out: Output, report: &Report, strict: bool) {
    let checks: Vec<Value> = report.checks.iter().map(|c| c.to_json()).collect();
    let plugin = report.manifest.as_ref().map(|m| {
        json!({"id": m.id.as_str(), "version": m.plugin_version.as_str(), "sdk_version": m.sdk_version.as_str()})
    });
    let (failed, not_run) = (report.failed(), report.not_run());
    let mut fields = json!({
        "library": report.library,
        "host_sdk_version": atrs_host_sdk::INTERFACE_VERSION,
        "plugin": plugin,
        "passed": report.passed(),
        "failed": failed,
        "not_run": not_run,
        "strict": strict,
        "checks": checks,
    });
    if not_run > 0 {
        fields["give"] = json!(give_values(&report.needs()));
    }
    if report.ok(strict) {
        out.result("check", fields);
        return;
    }
    let total = report.checks.len();
    let (message, hint) = match failed {
        0 => (
            format!("{not_run} of {total} checks did not run, and --strict counts them as failed."),
            format!(
                "Give the values they need ({}), for example a local test server's, or leave out --strict.",
                give_values(&report.needs())
            ),
        ),
        _ => (
            format!("{failed} of {total} checks failed."),
            "Fix what each failed check says, then run the check again.".to_owned(),
        ),
    };
    fields["ok"] = json!(false);
    fields["command"] = json!("check");
    fields["error"] = json!({
        "message": message,
        "hint": hint,
        "exit_code": Exit::Failure.code(),
    });
    out.event("result", fields);
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_conformance::Check;

    fn report(outcomes: Vec<Outcome>) -> Report {
        Report {
            library: "/t/libx.so".into(),
            manifest: None,
            checks: outcomes
                .into_iter()
                .map(|outcome| Check {
                    id: "id",
                    title: "a check",
                    outcome,
                })
                .collect(),
        }
    }

    fn not_run() -> Outcome {
        Outcome::NotRun {
            why: "it needs real values".into(),
            needs: vec!["client_id".into(), "tenant_id".into()],
        }
    }

    fn fail() -> Outcome {
        Outcome::Fail {
            why: "broken".into(),
            fix: "mend it".into(),
        }
    }

    #[test]
    fn the_summary_says_what_did_not_run_and_what_to_give() {
        let pass = || Outcome::Pass("seen".into());
        assert_eq!(
            summary(&report(vec![pass(), pass()]), false),
            "All 2 checks passed."
        );
        let unrun = report(vec![pass(), not_run()]);
        assert_eq!(
            summary(&unrun, false),
            "1 of 2 checks passed, none failed; 1 did not run (give --set client_id=VALUE --set tenant_id=VALUE)."
        );
        assert!(
            summary(&unrun, true).ends_with("; --strict counts those that did not run as failed.")
        );
        assert_eq!(
            summary(&report(vec![fail(), pass()]), false),
            "1 of 2 checks failed."
        );
        assert!(summary(&report(vec![fail(), not_run(), not_run()]), false)
            .starts_with("1 of 3 checks failed; 2 did not run (give --set client_id=VALUE"));
    }

    #[test]
    fn only_failures_or_a_strict_run_fail_the_command() {
        let unrun = report(vec![Outcome::Pass("seen".into()), not_run()]);
        assert!(unrun.ok(false));
        assert!(!unrun.ok(true));
        assert!(!report(vec![fail()]).ok(false));
    }
}

//! The conformance run as a request (`check`): the checks behind `atrs-test-host check`
//! ([`atrs_conformance`]) for any front end — a host that vets a vendor's plugin update
//! before it enables it. Isolated, the run happens in a runner of its own, so a library
//! that crashes ends the request, not the host.

use std::time::Duration;

use atrs_conformance::{Options, Report};
use serde_json::{json, Value};

use crate::protocol::request;

/// The bound on each call into the library when the request names none (as `check`).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The bound on each call into the library `r` asks for.
pub fn call_timeout(r: &request::Check) -> Duration {
    r.call_timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_CALL_TIMEOUT)
}

/// The conformance kit's options for `r`.
pub fn options(r: &request::Check) -> Options {
    Options {
        library: r.library.clone(),
        values: r.values.clone().into_iter().collect(),
        call_timeout: call_timeout(r),
    }
}

/// The longest a whole run may take: every check's calls at their bound, and then
/// some. (A run in a runner that outlives it is stopped, as a stuck plugin is.)
pub fn run_bound(r: &request::Check) -> Duration {
    call_timeout(r) * 24 + Duration::from_secs(10)
}

/// Runs the checks in this process.
pub fn run(r: &request::Check) -> Value {
    report_json(&atrs_conformance::run(&options(r)), r.strict)
}

/// The `check` answer: the library, its plugin's id (when it loaded), every check, the
/// counts, and whether it `conforms` (nothing failed and, when `strict`, everything
/// ran).
pub fn report_json(report: &Report, strict: bool) -> Value {
    let mut answer = json!({
        "library": report.library,
        "checks": report.checks.iter().map(|c| c.to_json()).collect::<Vec<_>>(),
        "passed": report.passed(),
        "failed": report.failed(),
        "not_run": report.not_run(),
        "conforms": report.ok(strict),
    });
    if let Some(manifest) = &report.manifest {
        answer["plugin"] = json!(manifest.id.as_str());
    }
    answer
}

//! A hostile Graph as a script: the input is a sequence of answers (a status byte, a length
//! byte, that many body bytes), fed in turn through `graph::answer` and then the upload
//! session's checks, the way an upload reads them: a success moves on to the range it names
//! (which must be after what was acknowledged), a transient failure resumes from the next
//! answer's ranges. Whatever the script, the upload only ever moves forward, stays inside
//! the file and ends within the script (no loop without progress), and every failure becomes
//! an error a person can read.
#![no_main]

use atrs_office365::delivery::delivery_error::{DeliveryError, Step};
use atrs_office365::delivery::graph::{answer, CallIds};
use atrs_office365::delivery::upload_check::{next_after_fragment, resume_from};
use libfuzzer_sys::fuzz_target;
use oauth2::http::{HeaderMap, StatusCode};

const STATUSES: [u16; 10] = [200, 201, 202, 404, 416, 429, 500, 503, 504, 507];
/// A 10 MiB file in 5 MiB fragments, as a drive upload session sends it.
const TOTAL: u64 = 10 * 1024 * 1024;
const FRAGMENT: u64 = 5 * 1024 * 1024;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let mut records = Vec::new();
    while let [status, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        records.push((STATUSES[usize::from(*status) % STATUSES.len()], &tail[..n]));
        rest = &tail[n..];
    }
    let headers = HeaderMap::new();
    let sent = CallIds::default();
    let mut next = 0u64;
    let mut script = records.into_iter();
    while let Some((status, body)) = script.next() {
        let end = (next + FRAGMENT).min(TOTAL);
        let status = StatusCode::from_u16(status).unwrap();
        match answer(status, &headers, body, "upload.example", &sent) {
            Ok(_) if end == TOTAL => return,
            Ok(reply) => match next_after_fragment(&reply.body, end, TOTAL) {
                Ok(n) => {
                    assert!(n >= end && n > next && n < TOTAL, "{next} → {n}");
                    next = n;
                }
                Err(violation) => {
                    let _ = violation.to_string();
                    return;
                }
            },
            Err(failure) if failure.is_transient() || failure.status() == Some(416) => {
                // The resume point comes from the next answer in the script.
                let Some((_, body)) = script.next() else {
                    return;
                };
                let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
                    return;
                };
                match resume_from(&value, next, TOTAL) {
                    Ok(n) => {
                        assert!(n >= next && n < TOTAL, "{next} → {n}");
                        next = n;
                    }
                    Err(violation) => {
                        let _ = violation.to_string();
                        return;
                    }
                }
            }
            Err(failure) => {
                let shown = DeliveryError::graph(Step::Draft, failure).to_plugin_error();
                assert!(!shown.message().is_empty());
                return;
            }
        }
    }
});

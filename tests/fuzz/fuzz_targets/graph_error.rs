//! Microsoft Graph's answers (`graph::answer`): the first byte picks the status, the
//! rest is the body (served as HTML when the first byte says so); a failure is turned into the delivery error the user sees.
#![no_main]

use atrs_office365::{
    delivery::delivery_error::{DeliveryError, Step},
    delivery::graph::{answer, CallIds},
};
use libfuzzer_sys::fuzz_target;
use oauth2::http::{HeaderMap, HeaderValue, StatusCode};

const STATUSES: [u16; 9] = [200, 201, 400, 401, 403, 404, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = StatusCode::from_u16(STATUSES[usize::from(first) % STATUSES.len()]).unwrap();
    let mut headers = HeaderMap::new();
    if first & 0x80 != 0 {
        headers.insert("retry-after", HeaderValue::from_static("7"));
    }
    let sent = CallIds::default();
    if first & 0x40 != 0 {
        headers.insert("content-type", HeaderValue::from_static("text/html"));
    }
    if let Err(failure) = answer(status, &headers, body, "graph.microsoft.com", &sent) {
        let _ = failure.is_transient();
        let _ = DeliveryError::graph(Step::Draft, failure)
            .to_plugin_error()
            .to_string();
    }
});

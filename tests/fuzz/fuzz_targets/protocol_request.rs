//! The host runtime's request reader — what a C or .NET host, or a pipe, hands the
//! runtime: any text is either a request or a typed error with a message and a fix,
//! never a panic.
#![no_main]

use atrs_host_runtime::protocol::request::{parse, read};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (_, raw) = parse(text);
    if let Err(e) = raw.and_then(read) {
        let error = e.to_json();
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(error["hint"].as_str().is_some_and(|h| !h.is_empty()));
        assert_eq!(error["origin"], "host");
    }
});

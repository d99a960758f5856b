//! Form validation (`config::AccountConfig::parse`): every line of the input is a
//! `key=value` pair of the account form (keys may repeat, be unknown or empty).
#![no_main]

use atrs_host_sdk::FormValues;
use atrs_office365::config::AccountConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut values = FormValues::new();
    for line in text.split('\n') {
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        values.set(key, value);
    }
    match AccountConfig::parse(&values) {
        Ok(config) => {
            let _ = config.authority();
        }
        Err(errors) => {
            for e in errors {
                let _ = format!("{e:?}");
            }
        }
    }
});

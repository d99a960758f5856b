//! The discovery document (`discovery::endpoints_from`): the first byte picks the HTTP
//! status, the rest is the body, checked for the global cloud and for a loopback mock.
#![no_main]

use std::sync::LazyLock;

use atrs_host_sdk::FormValues;
use atrs_office365::{
    authority::discovery::endpoints_from, config::AccountConfig, net::http::HttpResponse,
};
use libfuzzer_sys::fuzz_target;

static CONFIGS: LazyLock<Vec<(AccountConfig, &'static str)>> = LazyLock::new(|| {
    let values = |authority: &str| {
        let mut v = FormValues::new();
        v.set("account_name", "Work");
        v.set("client_id", "6731de76-14a6-49ae-97bc-6eba6914391e");
        v.set("tenant_id", "contoso.onmicrosoft.com");
        v.set("authority", authority);
        AccountConfig::parse(&v).expect("a valid form")
    };
    vec![
        (values(""), "login.microsoftonline.com"),
        (values("http://127.0.0.1:8123"), "127.0.0.1:8123"),
    ]
});

const STATUSES: [u16; 6] = [200, 400, 401, 404, 500, 503];

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(first) % STATUSES.len()];
    let response: HttpResponse = oauth2::http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .expect("a response");
    for (config, host) in CONFIGS.iter() {
        if let Err(e) = endpoints_from(&response, config, host) {
            let _ = e.to_string();
        }
    }
});

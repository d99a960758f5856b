//! The loopback listener's reading of a browser's request: the request line, then the
//! target as the address the browser came back to, checked as the listener checks it.
#![no_main]

use std::{sync::LazyLock, time::Duration};

use atrs_office365::{
    authority::issuer::Issuer,
    authority::redirect::RedirectUri,
    config::Tenant,
    signin::auth_state::AuthState,
    signin::loopback::request_line,
    signin::paste::{parse, Expect, IssuerRule, Via},
};
use libfuzzer_sys::fuzz_target;

static ATTEMPT: LazyLock<(RedirectUri, AuthState, IssuerRule)> = LazyLock::new(|| {
    let issuer = Issuer::of_discovery(
        Some("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"),
        &url::Url::parse("https://login.microsoftonline.com").unwrap(),
        &Tenant::Domain("contoso.com".into()),
        "login.microsoftonline.com",
    )
    .unwrap();
    (
        RedirectUri::loopback(8400),
        AuthState::with_value("Xq3-state-value_0123456789", Duration::from_secs(600)),
        IssuerRule {
            issuer,
            required: false,
        },
    )
});

fuzz_target!(|data: &[u8]| {
    let Some((_method, target)) = request_line(data) else {
        return;
    };
    let (redirect, state, issuer) = &*ATTEMPT;
    let Ok(address) = redirect.url().join(target) else {
        return;
    };
    if redirect.matches(&address) {
        let expect = Expect {
            redirect,
            state,
            issuer,
            via: Via::Listener,
        };
        let _ = parse(address.as_str(), &expect);
    }
});

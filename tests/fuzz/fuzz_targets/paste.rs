//! The pasted final address of a browser sign-in (`paste::parse`), as pasted and as
//! the loopback listener receives it, against a loopback and a native redirect URI.
#![no_main]

use std::{sync::LazyLock, time::Duration};

use atrs_office365::{
    authority::issuer::Issuer,
    authority::redirect::RedirectUri,
    config::Tenant,
    signin::auth_state::AuthState,
    signin::paste::{parse, Expect, IssuerRule, Via},
};
use libfuzzer_sys::fuzz_target;

struct Attempt {
    redirects: [RedirectUri; 2],
    state: AuthState,
    rules: [IssuerRule; 2],
}

static ATTEMPT: LazyLock<Attempt> = LazyLock::new(|| {
    let issuer = Issuer::of_discovery(
        Some("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"),
        &url::Url::parse("https://login.microsoftonline.com").unwrap(),
        &Tenant::Domain("contoso.com".into()),
        "login.microsoftonline.com",
    )
    .unwrap();
    Attempt {
        redirects: [
            RedirectUri::loopback(8400),
            RedirectUri::for_paste("https://login.microsoftonline.com"),
        ],
        state: AuthState::with_value("Xq3-state-value_0123456789", Duration::from_secs(600)),
        rules: [
            IssuerRule {
                issuer: issuer.clone(),
                required: false,
            },
            IssuerRule {
                issuer,
                required: true,
            },
        ],
    }
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let attempt = &*ATTEMPT;
    for redirect in &attempt.redirects {
        for issuer in &attempt.rules {
            for via in [Via::Paste, Via::Listener] {
                let expect = Expect {
                    redirect,
                    state: &attempt.state,
                    issuer,
                    via,
                };
                if let Err(refusal) = parse(text, &expect) {
                    let _ = refusal.to_plugin_error(redirect).to_string();
                }
            }
        }
    }
});

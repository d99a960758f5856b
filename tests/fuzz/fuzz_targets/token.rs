//! Token answers and OAuth error answers from the token endpoint: read as `oauth2`
//! reads them into our token and provider-error types, then turned into what the user
//! is shown.
#![no_main]

use atrs_office365::{
    authority::aadsts::{Flow, ProviderError},
    authority::token::{EntraTokenResponse, Tokens},
    net::http::parse_json,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(answer) = serde_json::from_slice::<EntraTokenResponse>(data) {
        let tokens = Tokens::from(answer);
        let _ = format!("{tokens:?}");
    }
    if let Ok(error) = serde_json::from_slice::<ProviderError>(data) {
        let _ = error.to_plugin_error().to_string();
        let _ = error.to_plugin_error_in(Flow::Device).to_string();
        let _ = error.to_plugin_error_in(Flow::Browser).to_string();
    }
    let response = oauth2::http::Response::builder()
        .status(400)
        .body(data.to_vec())
        .expect("a response");
    if let Err(e) = parse_json::<serde_json::Value>(&response, "login.microsoftonline.com") {
        let _ = e.to_plugin_error().to_string();
    }
});

//! Helpers shared by the integration tests: a fast server, a client that does not follow
//! redirects, and checks for Entra's error shape.
#![allow(dead_code)]

use std::time::Duration;

use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The device code grant type.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Scopes the demo asks for.
pub const SCOPES: &str = "openid profile offline_access User.Read Mail.Send";

/// Settings that make the auto-mode user act at once and polling immediate.
pub fn fast() -> MockConfig {
    MockConfig {
        auto_approve_delay: Duration::ZERO,
        device_interval_secs: 0,
        ..MockConfig::default()
    }
}

/// A running server with [`fast`] settings.
pub async fn start() -> MockIdp {
    MockIdp::start(fast()).await.expect("mock starts")
}

/// An HTTP client that never follows redirects and gives up after 10 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

/// A status, headers and parsed JSON body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// `Content-Type`.
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// Read a response as JSON (Null when the body is not JSON).
pub async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// POST a form.
pub async fn post_form(url: &str, form: &[(&str, &str)]) -> Reply {
    reply(client().post(url).form(form).send().await.expect("request")).await
}

/// GET a URL.
pub async fn get(url: &str) -> Reply {
    reply(client().get(url).send().await.expect("request")).await
}

/// `{base}/{tenant}/oauth2/v2.0/{what}`.
pub fn oauth(idp: &MockIdp, tenant: &str, what: &str) -> String {
    format!("{}/{tenant}/oauth2/v2.0/{what}", idp.base_url())
}

/// Check Entra's error body, content type and cache headers, and the AADSTS code.
pub fn assert_entra(r: &Reply, status: u16, error: &str, code: Option<u32>) {
    assert_eq!(r.status.as_u16(), status, "{:#}", r.body);
    assert_eq!(r.content_type(), "application/json; charset=utf-8");
    assert_eq!(r.headers["cache-control"], "no-store, no-cache");
    assert_eq!(r.body["error"], error, "{:#}", r.body);
    let desc = r.body["error_description"]
        .as_str()
        .expect("error_description");
    for part in ["\r\nTrace ID: ", "\r\nCorrelation ID: ", "\r\nTimestamp: "] {
        assert!(desc.contains(part), "{desc}");
    }
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(r.body[field].is_string(), "{field} missing: {:#}", r.body);
    }
    match code {
        Some(c) => {
            assert!(desc.starts_with(&format!("AADSTS{c}: ")), "{desc}");
            assert_eq!(r.body["error_codes"], serde_json::json!([c]));
        }
        None => assert_eq!(r.body["error_codes"], serde_json::json!([])),
    }
}

/// Start a device flow for `client_id` at `tenant`; returns the devicecode response.
pub async fn device_start(idp: &MockIdp, tenant: &str, client_id: &str) -> Value {
    let r = post_form(
        &oauth(idp, tenant, "devicecode"),
        &[("client_id", client_id), ("scope", SCOPES)],
    )
    .await;
    assert_eq!(r.status, 200, "{:#}", r.body);
    r.body
}

/// One device-code poll.
pub async fn device_poll(idp: &MockIdp, tenant: &str, client_id: &str, device_code: &str) -> Reply {
    post_form(
        &oauth(idp, tenant, "token"),
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", client_id),
            ("device_code", device_code),
        ],
    )
    .await
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!("verifier-{}", "x".repeat(50));
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// An /authorize URL for `client_id` with the given extra parameters.
pub fn authorize_url(
    idp: &MockIdp,
    tenant: &str,
    client_id: &str,
    params: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&oauth(idp, tenant, "authorize")).expect("url");
    url.query_pairs_mut().append_pair("client_id", client_id);
    for (k, v) in params {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// The usual desktop authorize request with PKCE S256 and state `st`.
pub fn desktop_authorize(idp: &MockIdp, redirect: &str, challenge: &str) -> String {
    authorize_url(
        idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        &[
            ("response_type", "code"),
            ("redirect_uri", redirect),
            ("scope", SCOPES),
            ("state", "st"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ],
    )
}

/// GET `url` and return the `Location` of its 302 as a URL.
pub async fn redirect_of(url: &str) -> url::Url {
    let r = client().get(url).send().await.expect("request");
    assert_eq!(
        r.status(),
        StatusCode::FOUND,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let loc = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    url::Url::parse(&loc).expect("location is a URL")
}

/// A query parameter of `url`.
pub fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Run the desktop browser flow to a code at `redirect` (auto mode).
pub async fn desktop_code(idp: &MockIdp, redirect: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let loc = redirect_of(&desktop_authorize(idp, redirect, &challenge)).await;
    assert_eq!(query(&loc, "state").as_deref(), Some("st"));
    (query(&loc, "code").expect("code"), verifier)
}

/// Redeem a desktop code.
pub async fn redeem_desktop(idp: &MockIdp, code: &str, redirect: &str, verifier: &str) -> Reply {
    post_form(
        &oauth(idp, "organizations", "token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// The `/login/{txn}` id in a sign-in page.
pub fn login_txn(html: &str) -> String {
    let start = html.find("action=\"/login/").expect("sign-in form") + "action=\"/login/".len();
    html[start..].split('"').next().expect("txn").to_owned()
}

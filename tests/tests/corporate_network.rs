//! Corporate networks, end to end through the real host binary and plugin library: a
//! `CONNECT` proxy on loopback named by `HTTPS_PROXY` (with and without a demand for
//! credentials, and bypassed by `NO_PROXY`), and an HTTPS origin behind it whose
//! certificate comes from a private authority, as a TLS-inspecting proxy's does —
//! refused until that authority's file is named in `SSL_CERT_FILE`. The plugin is
//! pointed at `https://login.example.test`, a name only the proxy can reach.

use std::process::Output;

use atrs_e2e::{
    add_office365_args, json_result, office365_library, plugins_dir,
    proxy::{Admission, ConnectProxy, TlsOrigin},
    run_host,
};
use serde_json::Value;

const AUTHORITY: &str = "https://login.example.test";
const HOST: &str = "login.example.test";
const TENANT: &str = "contoso.onmicrosoft.com";
const DISCOVERY: &str = "GET /contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration HTTP/1.1 (host login.example.test)";

/// The answer the origin gives every request: Entra's for an unknown tenant, which
/// the plugin can only show if it read it through the tunnel ("The tenant was not
/// found.", exit code 2, on the Tenant ID field).
fn origin() -> TlsOrigin {
    TlsOrigin::start(
        &[HOST],
        400,
        r#"{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'contoso.onmicrosoft.com' not found."}"#,
    )
}

/// `add office365 … --verify device` against [`AUTHORITY`] with `env` (every proxy
/// variable set in both cases, so none is inherited).
fn add(env: &[(&str, &str)]) -> (Output, Value) {
    let plugins = plugins_dir(&[office365_library()]);
    let store = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--plugins-dir".to_owned(),
        plugins.path().to_str().unwrap().to_owned(),
        "--store".to_owned(),
        store.path().to_str().unwrap().to_owned(),
        "--json".to_owned(),
        "-vv".to_owned(),
    ];
    args.extend(add_office365_args(
        "work",
        "6731de76-14a6-49ae-97bc-6eba6914391e",
        TENANT,
        None,
        AUTHORITY,
        "device",
    ));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let value = |name: &str| {
        env.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| *v)
    };
    let mut all: Vec<(&str, &str)> = Vec::new();
    for name in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"] {
        all.push((name, value(name)));
    }
    for name in ["https_proxy", "http_proxy", "all_proxy", "no_proxy"] {
        all.push((name, value(name)));
    }
    all.extend(env.iter().filter(|(k, _)| *k == "SSL_CERT_FILE"));
    let output = run_host(&args, &all);
    let result = json_result(&output);
    eprintln!(
        "exit {:?}: {}\n  hint: {}",
        output.status.code(),
        result["error"]["message"],
        result["error"]["hint"]
    );
    (output, result)
}

fn assert_the_origins_answer_was_shown(result: &Value) {
    assert_eq!(
        result["error"]["message"], "The tenant was not found.",
        "{result}"
    );
    assert_eq!(result["error"]["field"], "tenant_id");
}

#[test]
fn a_proxy_that_wants_credentials_is_its_own_error_with_a_fix() {
    let origin = origin();
    let proxy = ConnectProxy::start(
        origin.addr(),
        Admission::Basic {
            user: "alice".into(),
            password: "corp-pass".into(),
        },
    );
    let (output, result) = add(&[("HTTPS_PROXY", &proxy.url())]);
    assert_eq!(output.status.code(), Some(5), "a network failure");
    assert_eq!(result["error"]["kind"], "network");
    assert_eq!(
        result["error"]["message"],
        format!("The proxy between this computer and {HOST} asks for a user name and password (HTTP 407 Proxy Authentication Required).")
    );
    assert!(result["error"]["hint"]
        .as_str()
        .unwrap()
        .contains("HTTPS_PROXY=http://USER:PASSWORD@PROXY:PORT"));
    assert_eq!(
        proxy.requests(),
        [format!("CONNECT {HOST}:443 -> 407")],
        "the plugin went through the proxy"
    );
    assert!(origin.requests().is_empty());

    // The fix the hint gives works: credentials in the proxy address.
    let (output, result) = add(&[
        ("HTTPS_PROXY", &proxy.url_with("alice", "corp-pass")),
        ("SSL_CERT_FILE", origin.ca_file().to_str().unwrap()),
    ]);
    assert_the_origins_answer_was_shown(&result);
    assert_eq!(origin.requests(), [DISCOVERY]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(!text.contains("corp-pass"), "the proxy password stays out");
}

#[test]
fn a_certificate_from_an_unknown_authority_is_refused_naming_the_host_until_its_ca_is_trusted() {
    let origin = origin();
    let proxy = ConnectProxy::start(origin.addr(), Admission::Open);
    let (output, result) = add(&[("HTTPS_PROXY", &proxy.url())]);
    assert_eq!(output.status.code(), Some(5), "a network failure");
    assert_eq!(result["error"]["kind"], "network");
    assert_eq!(
        result["error"]["message"],
        format!(
            "The certificate {HOST} presented was not issued by an authority this computer trusts."
        )
    );
    let hint = result["error"]["hint"].as_str().unwrap();
    assert!(
        hint.contains("Extra trusted certificates") && hint.contains("SSL_CERT_FILE"),
        "{hint}"
    );
    assert_eq!(proxy.requests(), [format!("CONNECT {HOST}:443 -> tunnel")]);
    assert!(
        origin.requests().is_empty(),
        "no request after a refused certificate"
    );

    // Trusting the private authority: the request reaches the origin through the
    // tunnel and its answer (an unknown tenant) is what the user sees.
    let (output, result) = add(&[
        ("HTTPS_PROXY", &proxy.url()),
        ("SSL_CERT_FILE", origin.ca_file().to_str().unwrap()),
    ]);
    assert_eq!(output.status.code(), Some(2), "{result}");
    assert_the_origins_answer_was_shown(&result);
    assert_eq!(origin.requests(), [DISCOVERY]);
}

#[test]
fn a_certificate_for_another_name_is_refused_as_such() {
    let origin = TlsOrigin::start(&["intranet.example.test"], 200, "{}");
    let proxy = ConnectProxy::start(origin.addr(), Admission::Open);
    let (output, result) = add(&[
        ("HTTPS_PROXY", &proxy.url()),
        ("SSL_CERT_FILE", origin.ca_file().to_str().unwrap()),
    ]);
    assert_eq!(output.status.code(), Some(5));
    assert_eq!(
        result["error"]["message"],
        format!("The certificate {HOST} presented was issued for another name.")
    );
}

#[test]
fn no_proxy_sends_the_host_around_the_proxy() {
    let origin = origin();
    let proxy = ConnectProxy::start(origin.addr(), Admission::Open);
    let (output, result) = add(&[("HTTPS_PROXY", &proxy.url()), ("NO_PROXY", HOST)]);
    // Without the proxy the name does not resolve: the plugin connects directly and fails.
    assert_eq!(output.status.code(), Some(5));
    assert_eq!(
        result["error"]["message"],
        format!("Could not connect to {HOST}.")
    );
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

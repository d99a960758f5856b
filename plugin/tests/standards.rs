//! Sign-in that holds against any standards-compliant server (issue 11), in process:
//! the Office 365 plugin through its `Integration` API against the mock identity
//! platform playing a server that differs from Entra, or a forged or broken one. Each
//! test fails without the rule it names.
//!
//! Nothing here sleeps to wait: every wait polls with a deadline.

use std::time::{Duration, Instant};

use atrs_host_sdk::{
    testing::MemoryHost, ErrorKind, FormValues, Integration, PluginError, SessionState,
    VerificationSession, VerifiedAccount, VerifyMethod,
};
use atrs_mock_idp::{defaults, Endpoint, MockConfig, MockIdp};
use atrs_office365::{authority::aadsts, fields, Office365};
use serde_json::json;
use url::Url;

const DEADLINE: Duration = Duration::from_secs(30);

fn idp_with(config: MockConfig) -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..config
    })
    .expect("the mock identity platform starts")
}

fn entra_like() -> MockIdp {
    idp_with(MockConfig::default())
}

fn form(idp: &MockIdp) -> FormValues {
    FormValues::new()
        .with(fields::ACCOUNT_NAME, "Reports mailbox")
        .with(fields::CLIENT_ID, defaults::DESKTOP_CLIENT_ID)
        .with(fields::TENANT_ID, defaults::TENANT_ID)
        .with(fields::AUTHORITY, idp.base_url())
}

fn plugin() -> (MemoryHost, Office365) {
    let memory = MemoryHost::new();
    let plugin = Office365::new(memory.handle()).expect("the plugin starts");
    (memory, plugin)
}

fn start(
    plugin: &mut Office365,
    form: &FormValues,
    method: VerifyMethod,
) -> Box<dyn VerificationSession> {
    plugin
        .start_verification(form, method)
        .expect("verification starts")
}

fn browser(loopback: bool) -> VerifyMethod {
    VerifyMethod::Browser { loopback }
}

/// The sign-in address and the listener's, once shown.
struct Shown {
    url: String,
    message: String,
    listening: Option<String>,
}

impl Shown {
    fn param(&self, name: &str) -> Option<String> {
        param_of(&self.url, name)
    }

    fn port(&self) -> u16 {
        Url::parse(self.listening.as_deref().expect("listening"))
            .unwrap()
            .port()
            .unwrap()
    }
}

fn shown(session: &dyn VerificationSession) -> Shown {
    let started = Instant::now();
    loop {
        match session.poll(Duration::from_millis(100)) {
            SessionState::OpenBrowser {
                url,
                message,
                listening,
                ..
            } => {
                return Shown {
                    url: url.to_string(),
                    message: message.to_string(),
                    listening: listening.into_option().map(|l| l.to_string()),
                }
            }
            state if state.is_terminal() => panic!("ended before the address was shown: {state:?}"),
            _ => assert!(started.elapsed() < DEADLINE, "no sign-in address"),
        }
    }
}

fn end(session: &dyn VerificationSession) -> SessionState {
    let started = Instant::now();
    loop {
        let state = session.poll(Duration::from_millis(100));
        if state.is_terminal() {
            return state;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the session did not end: {state:?}"
        );
    }
}

fn verified(state: SessionState) -> VerifiedAccount {
    match state {
        SessionState::Verified(a) => (*a).clone(),
        other => panic!("expected Verified, got {other:?}"),
    }
}

fn failed(state: SessionState) -> PluginError {
    match state {
        SessionState::Failed(e) => (*e).clone(),
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn param_of(address: &str, name: &str) -> Option<String> {
    Url::parse(address)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn with_param(address: &str, name: &str, value: Option<&str>) -> String {
    let mut url = Url::parse(address).unwrap();
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some(v) = value {
        pairs.push((name.to_owned(), v.to_owned()));
    }
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

/// A browser that does not follow redirects.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new() -> Self {
        Browser {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    fn send(&self, request: reqwest::RequestBuilder) -> Page {
        self.rt.block_on(async {
            let r = request.send().await.expect("answered");
            Page {
                status: r.status().as_u16(),
                location: r
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .map(|v| v.to_str().unwrap().to_owned()),
                body: r.text().await.unwrap_or_default(),
            }
        })
    }

    fn get(&self, url: &str) -> Page {
        self.send(self.client.get(url))
    }

    /// Signs in at `url` (the mock approves at once): the address it redirects to.
    fn sign_in(&self, url: &str) -> String {
        let page = self.get(url);
        assert_eq!(page.status, 302, "the mock redirects: {}", page.body);
        page.location.expect("a Location")
    }

    /// `http://localhost:PORT/…` followed to the listener at `ip`.
    fn follow_to(&self, address: &str, ip: &str) -> Page {
        let mut url = Url::parse(address).unwrap();
        url.set_host(Some(ip)).unwrap();
        self.get(url.as_str())
    }
}

fn redemptions(idp: &MockIdp) -> u64 {
    idp.stats().grant_count("authorization_code")
}

#[test]
fn a_server_without_select_account_gets_no_prompt_and_the_browser_sign_in_works() {
    // Issue 11's report: an OpenID provider that does not support prompt=select_account
    // redirected back with error=invalid_request at once.
    let idp = idp_with(MockConfig {
        prompt_values_supported: vec!["none".into(), "login".into(), "consent".into()],
        ..MockConfig::default()
    });
    let b = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &form(&idp), browser(false));
    let open = shown(session.as_ref());
    assert_eq!(open.param("prompt"), None, "{}", open.url);
    assert!(open.param("nonce").is_some_and(|n| n.len() >= 43));
    assert_eq!(open.param("code_challenge_method").as_deref(), Some("S256"));
    let address = b.sign_in(&open.url);
    assert!(param_of(&address, "error").is_none(), "{address}");
    session.submit(&address).unwrap();
    verified(end(session.as_ref()));

    // One that lists select_account gets it.
    let entra_like = entra_like();
    let session = start(&mut plugin, &form(&entra_like), browser(false));
    assert_eq!(
        shown(session.as_ref()).param("prompt").as_deref(),
        Some("select_account")
    );
    session.cancel();
}

#[test]
fn a_server_without_pkce_s256_is_refused_before_any_sign_in() {
    let idp = entra_like();
    for (methods, says) in [
        (json!(["plain"]), "lists only plain"),
        (
            json!(null),
            "does not list code_challenge_methods_supported",
        ),
    ] {
        idp.override_discovery(json!({ "code_challenge_methods_supported": methods }));
        let (_memory, mut plugin) = plugin();
        let e = failed(end(start(&mut plugin, &form(&idp), browser(false)).as_ref()));
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e:?}");
        assert!(e.message().contains("does not offer PKCE with S256"), "{e}");
        assert!(e.message().contains(says), "{e}");
        assert!(e.hint().unwrap().contains("Verify (device code)"));
    }
    assert_eq!(idp.stats().count(Endpoint::Authorize), 0);
    // Device code needs no PKCE.
    let (_memory, mut plugin) = plugin();
    verified(end(start(
        &mut plugin,
        &form(&idp),
        VerifyMethod::DeviceCode,
    )
    .as_ref()));
}

#[test]
fn rfc_9207_a_forged_or_missing_iss_is_refused_and_the_true_one_accepted() {
    let idp = idp_with(MockConfig {
        authorization_response_iss: true,
        ..MockConfig::default()
    });
    let b = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &form(&idp), browser(false));
    let address = b.sign_in(&shown(session.as_ref()).url);
    let iss = param_of(&address, "iss").expect("the mock sends iss");
    assert_eq!(
        iss,
        format!("{}/{}/v2.0", idp.base_url(), defaults::TENANT_ID)
    );

    let forged = with_param(&address, "iss", Some("https://attacker.example/v2.0"));
    let e = session.submit(&forged).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.message()
            .contains("comes from https://attacker.example/v2.0"),
        "{e}"
    );
    assert!(e.message().contains("mix-up"), "{e}");
    let e = session
        .submit(&with_param(&address, "iss", None))
        .unwrap_err();
    assert!(e.message().contains("no iss"), "{e}");
    let e = session
        .submit(&param_of(&address, "code").unwrap())
        .unwrap_err();
    assert!(
        e.message().contains("no iss"),
        "a bare code cannot prove its issuer: {e}"
    );
    assert_eq!(redemptions(&idp), 0);
    session.submit(&address).unwrap();
    verified(end(session.as_ref()));
}

#[test]
fn id_tokens_with_a_wrong_nonce_aud_iss_or_exp_are_refused_saying_what_did_not_match() {
    let idp = entra_like();
    let b = Browser::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let cases = [
        (
            json!({"nonce": "a-nonce-from-another-sign-in"}),
            "another sign-in's nonce",
        ),
        (json!({"nonce": null}), "carries no nonce"),
        (
            json!({"aud": "11111111-2222-3333-4444-555555555555"}),
            "is for 11111111-2222-3333-4444-555555555555, not for this app's Client ID",
        ),
        (
            json!({"iss": "https://attacker.example/v2.0"}),
            "was issued by https://attacker.example/v2.0",
        ),
        // The seconds go on while the test runs: 7200 and a little more.
        (json!({"exp": now - 7200}), "expired 72"),
    ];
    for (claims, says) in cases {
        let idp = idp_with(MockConfig::default());
        idp.override_id_token(claims.clone());
        let (_memory, mut plugin) = plugin();
        let form = form(&idp);
        let session = start(&mut plugin, &form, browser(false));
        session
            .submit(&b.sign_in(&shown(session.as_ref()).url))
            .unwrap();
        let e = failed(end(session.as_ref()));
        assert_eq!(e.kind(), ErrorKind::Provider, "{claims}: {e:?}");
        assert!(e.message().contains(says), "{claims}: {e}");
        assert!(plugin.save(&form).is_err(), "{claims}: nothing verified");
    }
    // Device code has no nonce, but the other claims are checked there too.
    idp.override_id_token(json!({"aud": "someone-else"}));
    let (_memory, mut plugin) = plugin();
    let e = failed(end(start(
        &mut plugin,
        &form(&idp),
        VerifyMethod::DeviceCode,
    )
    .as_ref()));
    assert!(e.message().contains("is for someone-else"), "{e}");
}

#[test]
fn a_discovery_document_pointing_at_another_host_gets_no_code_or_secret() {
    type Members = fn(&MockIdp) -> serde_json::Value;
    let cases: [(Members, &str); 4] = [
        (
            |idp| json!({"token_endpoint": format!("http://127.0.0.2:{}/{}/oauth2/v2.0/token", idp.port(), defaults::TENANT_ID)}),
            "sends `token_endpoint` to 127.0.0.2",
        ),
        (
            |idp| json!({"issuer": format!("http://127.0.0.2:{}/{}/v2.0", idp.port(), defaults::TENANT_ID)}),
            "on another host than the authority",
        ),
        (
            |idp| json!({"issuer": format!("{}/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", idp.base_url())}),
            "which is not the tenant",
        ),
        (
            |_| json!({"msgraph_host": "127.0.0.2:1"}),
            "unusable Microsoft Graph host",
        ),
    ];
    for (members, says) in cases {
        let idp = idp_with(MockConfig::default());
        let members = members(&idp);
        idp.override_discovery(members.clone());
        for method in [VerifyMethod::DeviceCode, browser(false)] {
            let (_memory, mut plugin) = plugin();
            let form = form(&idp)
                .with(fields::CLIENT_ID, defaults::WEB_CLIENT_ID)
                .with(fields::CLIENT_SECRET, defaults::WEB_CLIENT_SECRET);
            let e = failed(end(start(&mut plugin, &form, method).as_ref()));
            assert_eq!(e.kind(), ErrorKind::Provider, "{members}: {e:?}");
            assert!(e.message().contains(says), "{members}: {e}");
            assert_eq!(e.field(), Some(fields::AUTHORITY), "{members}");
            assert!(e.hint().unwrap().contains("authority URL"), "{members}");
        }
        let stats = idp.stats();
        assert_eq!(
            stats.count(Endpoint::DeviceCode)
                + stats.count(Endpoint::Token)
                + stats.count(Endpoint::Authorize),
            0,
            "{members}: nothing past discovery"
        );
    }
}

#[test]
fn an_authority_with_a_path_is_refused_with_the_fix_before_any_request() {
    let idp = entra_like();
    let (_memory, mut plugin) = plugin();
    let with_path = form(&idp).with(fields::AUTHORITY, format!("{}/common", idp.base_url()));
    let problems = plugin.validate(&with_path);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field(), fields::AUTHORITY);
    assert!(
        problems[0].message().contains("has a path (`/common`)"),
        "{:?}",
        problems[0]
    );
    assert_eq!(
        problems[0].hint(),
        Some(format!("Enter {} and put common in the Tenant ID field: the tenant and the endpoints' paths are added by the sign-in itself.", idp.base_url()).as_str())
    );
    let e = plugin
        .start_verification(&with_path, VerifyMethod::DeviceCode)
        .err()
        .unwrap();
    assert_eq!(e.field(), Some(fields::AUTHORITY));
    assert_eq!(
        idp.stats().total(),
        0,
        "no broken discovery address was fetched"
    );
}

#[test]
fn scopes_of_two_resources_are_refused_at_validation_with_aadsts28000_s_reason() {
    let idp = entra_like();
    let (_memory, mut plugin) = plugin();
    let mixed = form(&idp).with(
        fields::SCOPES,
        "openid offline_access User.Read https://outlook.office.com/SMTP.Send",
    );
    let problems = plugin.validate(&mixed);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field(), fields::SCOPES);
    assert_eq!(
        problems[0].message(),
        "Scopes name more than one resource: Microsoft Graph and https://outlook.office.com."
    );
    assert!(problems[0].hint().unwrap().contains("AADSTS28000"));
    assert!(plugin
        .start_verification(&mixed, VerifyMethod::DeviceCode)
        .is_err());
    assert_eq!(idp.stats().total(), 0);
    // The provider's own AADSTS28000, should a mixed request reach it, says the same.
    let row = aadsts::lookup(28000).unwrap();
    assert_eq!(row.field, Some(fields::SCOPES));
    // Outlook's permissions alone verify (confirmed through userinfo: Graph refuses the token).
    let outlook = form(&idp).with(
        fields::SCOPES,
        "openid profile offline_access https://outlook.office.com/SMTP.Send",
    );
    let account = verified(end(
        start(&mut plugin, &outlook, VerifyMethod::DeviceCode).as_ref()
    ));
    assert_eq!(account.user_principal_name.as_str(), defaults::USER_UPN);
}

#[test]
fn a_cross_site_error_request_to_the_listener_is_ignored() {
    let idp = entra_like();
    let b = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &form(&idp), browser(true));
    let open = shown(session.as_ref());
    let port = open.port();
    // What an <img src="http://localhost:PORT/?error=access_denied"> on any web page sends.
    for forged in [
        format!("http://127.0.0.1:{port}/?error=access_denied&error_description=AADSTS65004%3A+no"),
        format!("http://127.0.0.1:{port}/?error=access_denied&state=guessed"),
    ] {
        let page = b.get(&forged);
        assert_eq!(page.status, 400, "{forged}: {}", page.body);
        assert!(
            matches!(
                session.poll(Duration::ZERO),
                SessionState::OpenBrowser { .. }
            ),
            "{forged}: the sign-in goes on"
        );
    }
    let address = b.sign_in(&open.url);
    assert_eq!(b.follow_to(&address, "127.0.0.1").status, 200);
    verified(end(session.as_ref()));
}

#[test]
fn the_listener_answers_on_ipv6_loopback_at_the_same_port() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("SKIPPED: this system has no IPv6 loopback");
        return;
    }
    let idp = entra_like();
    let b = Browser::new();
    let (memory, mut plugin) = plugin();
    let session = start(&mut plugin, &form(&idp), browser(true));
    let open = shown(session.as_ref());
    let address = b.sign_in(&open.url);
    let page = b.follow_to(&address, "[::1]");
    assert_eq!(page.status, 200, "{}", page.body);
    verified(end(session.as_ref()));
    assert!(memory
        .log_lines()
        .iter()
        .any(|(_, l)| l.contains("127.0.0.1 and [::1]")));
    assert!(
        std::net::TcpStream::connect(("::1", open.port())).is_err(),
        "closed on success"
    );
}

#[test]
fn form_post_carries_the_answer_to_the_listener_and_takes_no_paste() {
    let idp = entra_like();
    let b = Browser::new();
    let (memory, mut plugin) = plugin();
    let posted = form(&idp).with(fields::RESPONSE_MODE, "form_post");
    let session = start(&mut plugin, &posted, browser(true));
    let open = shown(session.as_ref());
    assert_eq!(open.param("response_mode").as_deref(), Some("form_post"));
    assert!(open.message.contains("nothing can be"), "{}", open.message);
    let page = b.get(&open.url);
    assert_eq!(
        page.status, 200,
        "the mock answers with a self-posting form"
    );
    assert!(page.body.contains("method=\"POST\""), "{}", page.body);
    let fields: Vec<(String, String)> = page
        .body
        .split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let attr = |name: &str| {
                let start = input.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                input[start..]
                    .split('"')
                    .next()
                    .unwrap()
                    .replace("&amp;", "&")
            };
            (attr("name"), attr("value"))
        })
        .collect();
    assert!(fields.iter().any(|(k, _)| k == "code"), "{fields:?}");
    let e = session
        .submit("http://localhost/?code=0.AXoAanything-at-all-0123456789&state=x")
        .unwrap_err();
    assert!(e.message().contains("no address to paste"), "{e}");
    let listener = format!("http://127.0.0.1:{}/", open.port());
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let as_get = b.get(&format!("{listener}?{query}"));
    assert_eq!(as_get.status, 405, "the code must not come in an address");
    let page = b.send(b.client.post(&listener).form(&fields));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("close this tab"));
    verified(end(session.as_ref()));
    assert!(memory
        .log_lines()
        .iter()
        .any(|(_, l)| l.contains("response_mode=form_post")));

    // Without the listener (paste only), query is used even when form_post is asked for.
    let session = start(&mut plugin, &posted, browser(false));
    assert_eq!(
        shown(session.as_ref()).param("response_mode").as_deref(),
        Some("query")
    );
    session.cancel();
}

#[test]
fn every_request_carries_a_client_request_id_and_a_failure_keeps_it() {
    let idp = entra_like();
    let b = Browser::new();
    let (_memory, mut plugin) = plugin();
    let wrong = form(&idp)
        .with(fields::CLIENT_ID, defaults::WEB_CLIENT_ID)
        .with(
            fields::CLIENT_SECRET,
            "Wr0ngQ~this-is-not-the-secret-value-0123456",
        );
    let session = start(&mut plugin, &wrong, browser(false));
    session
        .submit(&b.sign_in(&shown(session.as_ref()).url))
        .unwrap();
    let e = failed(end(session.as_ref()));
    assert_eq!(e.provider_code(), Some("AADSTS7000215"));
    assert!(
        e.trace_id().is_some() && e.correlation_id().is_some(),
        "{e:?}"
    );
    let kept = e
        .details()
        .find(|(k, _)| *k == "client_request_id")
        .map(|(_, v)| v.to_owned())
        .expect("the failed request's client-request-id");
    let requests = idp.stats().requests;
    let plugin_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.endpoint != Some(Endpoint::Authorize))
        .collect();
    assert!(
        plugin_requests
            .iter()
            .all(|r| r.client_request_id.is_some()),
        "{plugin_requests:?}"
    );
    let ids: std::collections::HashSet<_> = plugin_requests
        .iter()
        .map(|r| r.client_request_id.clone())
        .collect();
    assert_eq!(ids.len(), plugin_requests.len(), "a fresh id per request");
    let token = plugin_requests
        .iter()
        .rev()
        .find(|r| r.endpoint == Some(Endpoint::Token))
        .unwrap();
    assert_eq!(
        token.client_request_id.as_deref(),
        Some(kept.as_str()),
        "the error names the failed request"
    );
}

#[test]
fn https_with_the_mock_s_generated_ca_works_once_the_ca_file_is_given() {
    let idp = idp_with(MockConfig {
        tls: true,
        ..MockConfig::default()
    });
    assert!(idp.base_url().starts_with("https://"));
    let (_memory, mut plugin) = plugin();
    let e = failed(end(start(
        &mut plugin,
        &form(&idp),
        VerifyMethod::DeviceCode,
    )
    .as_ref()));
    assert_eq!(
        e.kind(),
        ErrorKind::Network,
        "an unknown CA is not trusted: {e:?}"
    );
    let ca = idp.ca_file().unwrap().to_str().unwrap().to_owned();
    let trusting = form(&idp).with(fields::CA_FILE, ca);
    let account = verified(end(
        start(&mut plugin, &trusting, VerifyMethod::DeviceCode).as_ref()
    ));
    assert_eq!(account.user_principal_name.as_str(), defaults::USER_UPN);
}

//! Browser verification (authorization code + PKCE) end to end, in process: the Office
//! 365 plugin driven through its `Integration` API against the mock identity platform
//! on 127.0.0.1. The "browser" is reqwest without redirect following: it fetches the
//! sign-in address, reads the `Location` the mock answers with, and either pastes it
//! (`submit`) or follows it to the loopback listener.
//!
//! Nothing here sleeps to wait: every wait polls with a deadline.

use std::{
    net::TcpStream,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use atrs_host_sdk::{
    testing::MemoryHost, ErrorKind, FormValues, Integration, PluginError, SessionState,
    VerificationSession, VerifiedAccount, VerifyMethod,
};
use atrs_mock_idp::{defaults, DeviceOutcome, Endpoint, MockConfig, MockIdp};
use atrs_office365::{
    authority::aadsts::{self, Flow},
    fields, Office365,
};
use url::Url;

/// Generous bound for a whole verification against the local mock.
const DEADLINE: Duration = Duration::from_secs(30);

fn idp() -> MockIdp {
    MockIdp::spawn(MockConfig::default()).expect("the mock identity platform starts")
}

fn values(idp: &MockIdp, client_id: &str) -> FormValues {
    FormValues::new()
        .with(fields::ACCOUNT_NAME, "Reports mailbox")
        .with(fields::CLIENT_ID, client_id)
        .with(fields::TENANT_ID, defaults::TENANT_ID)
        .with(fields::AUTHORITY, idp.base_url())
}

fn desktop(idp: &MockIdp) -> FormValues {
    values(idp, defaults::DESKTOP_CLIENT_ID)
}

fn web(idp: &MockIdp, secret: Option<&str>) -> FormValues {
    let form = values(idp, defaults::WEB_CLIENT_ID);
    match secret {
        Some(s) => form.with(fields::CLIENT_SECRET, s),
        None => form,
    }
}

fn plugin() -> (MemoryHost, Office365) {
    let memory = MemoryHost::new();
    let plugin = Office365::new(memory.handle()).expect("the plugin starts");
    (memory, plugin)
}

fn start(
    plugin: &mut Office365,
    form: &FormValues,
    loopback: bool,
) -> Box<dyn VerificationSession> {
    plugin
        .start_verification(form, VerifyMethod::Browser { loopback })
        .expect("verification starts")
}

/// What `OpenBrowser` showed.
#[derive(Debug)]
struct Shown {
    url: String,
    message: String,
    expires_at: i64,
    listening: Option<String>,
}

impl Shown {
    fn param(&self, name: &str) -> Option<String> {
        Url::parse(&self.url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    fn port(&self) -> u16 {
        Url::parse(self.listening.as_deref().expect("listening"))
            .unwrap()
            .port()
            .expect("a port")
    }
}

/// Polls until the session shows the sign-in address.
fn shown(session: &dyn VerificationSession) -> Shown {
    let started = Instant::now();
    loop {
        match session.poll(Duration::from_millis(100)) {
            SessionState::OpenBrowser {
                url,
                message,
                expires_at,
                listening,
            } => {
                return Shown {
                    url: url.to_string(),
                    message: message.to_string(),
                    expires_at,
                    listening: listening.into_option().map(|l| l.to_string()),
                }
            }
            state if state.is_terminal() => panic!("ended before the address was shown: {state:?}"),
            _ => assert!(
                started.elapsed() < DEADLINE,
                "no sign-in address within {DEADLINE:?}"
            ),
        }
    }
}

/// Polls until the session ends.
fn end(session: &dyn VerificationSession) -> SessionState {
    let started = Instant::now();
    loop {
        let state = session.poll(Duration::from_millis(100));
        if state.is_terminal() {
            return state;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the session did not end; last {state:?}"
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

/// A browser that does not follow redirects.
struct Browser {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// An answer the browser got.
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

    fn get(&self, url: &str) -> Page {
        self.rt.block_on(async {
            let r = self
                .client
                .get(url)
                .send()
                .await
                .expect("the request is answered");
            let status = r.status().as_u16();
            let location = r
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| v.to_str().unwrap().to_owned());
            Page {
                status,
                location,
                body: r.text().await.unwrap_or_default(),
            }
        })
    }

    /// Signs in at `url` (the mock approves at once) and returns the address it ends on.
    fn sign_in(&self, url: &str) -> String {
        let page = self.get(url);
        assert_eq!(page.status, 302, "the mock redirects: {}", page.body);
        page.location.expect("a Location")
    }

    /// Follows a `http://localhost:PORT/…` address to the listener on 127.0.0.1.
    fn follow(&self, address: &str) -> Page {
        let mut url = Url::parse(address).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        self.get(url.as_str())
    }
}

fn query_of(address: &str) -> String {
    Url::parse(address).unwrap().query().unwrap().to_owned()
}

fn param_of(address: &str, name: &str) -> String {
    Url::parse(address)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} in {address}"))
}

fn with_param(address: &str, name: &str, value: &str) -> String {
    let mut url = Url::parse(address).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn code_redemptions(idp: &MockIdp) -> u64 {
    idp.stats().grant_count("authorization_code")
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Whether something accepts connections on 127.0.0.1:`port`.
fn accepting(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_ok()
}

fn assert_refused(e: &PluginError, message_part: &str) {
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert!(e.message().contains(message_part), "{e:?}");
    assert!(e.hint().is_some_and(|h| !h.is_empty()), "{e:?}");
}

#[test]
fn pasting_the_full_address_verifies_and_saves() {
    let idp = idp();
    let browser = Browser::new();
    let (memory, mut plugin) = plugin();
    let form = desktop(&idp);
    let session = start(&mut plugin, &form, false);
    let shown = shown(session.as_ref());

    assert!(
        shown.url.starts_with(&format!(
            "{}/{}/oauth2/v2.0/authorize?",
            idp.base_url(),
            defaults::TENANT_ID
        )),
        "{}",
        shown.url
    );
    assert_eq!(shown.param("response_type").as_deref(), Some("code"));
    assert_eq!(
        shown.param("client_id").as_deref(),
        Some(defaults::DESKTOP_CLIENT_ID)
    );
    assert_eq!(
        shown.param("redirect_uri").as_deref(),
        Some("http://localhost/")
    );
    assert_eq!(shown.param("response_mode").as_deref(), Some("query"));
    assert_eq!(
        shown.param("code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(shown.param("code_challenge").map(|c| c.len()), Some(43));
    assert_eq!(shown.param("prompt").as_deref(), Some("select_account"));
    assert_eq!(shown.param("login_hint"), None);
    assert!(shown.param("state").is_some_and(|s| s.len() >= 43));
    assert_eq!(
        shown.param("scope").as_deref(),
        Some("openid profile offline_access User.Read Mail.Send")
    );
    assert_eq!(shown.listening, None);
    assert!(
        shown.message.contains("http://localhost/"),
        "{}",
        shown.message
    );
    assert!(shown.expires_at > unix_now() + 590 && shown.expires_at <= unix_now() + 601);
    assert!(
        memory.opened_urls().is_empty(),
        "the host decides to open it"
    );

    let address = browser.sign_in(&shown.url);
    assert!(address.starts_with("http://localhost/?code="), "{address}");
    session.submit(&address).expect("the address is taken");
    let account = verified(end(session.as_ref()));
    assert_eq!(account.user_principal_name.as_str(), defaults::USER_UPN);
    assert_eq!(account.display_name.as_str(), defaults::USER_DISPLAY_NAME);
    assert_eq!(account.tenant_id.as_str(), defaults::TENANT_ID);
    let missing: Vec<&str> = account
        .missing_scopes
        .iter()
        .map(|m| m.scope.as_str())
        .collect();
    assert_eq!(
        missing,
        ["Mail.ReadWrite", "Files.ReadWrite"],
        "only the deliveries the default permissions leave out"
    );
    assert_eq!(code_redemptions(&idp), 1);
    assert_eq!(
        idp.stats().count(Endpoint::Graph),
        1,
        "confirmed with Graph /me"
    );

    plugin.save(&form).expect("the verified values save");
    let settings = memory.settings_of("Reports mailbox").expect("saved");
    assert_eq!(
        settings.get("user_principal_name").map(String::as_str),
        Some(defaults::USER_UPN)
    );
    assert!(memory
        .secrets_of("Reports mailbox")
        .contains_key("refresh_token"));
    assert!(!memory
        .secrets_of("Reports mailbox")
        .contains_key("client_secret"));
}

#[test]
fn pasting_the_query_string_with_or_without_question_mark_verifies() {
    let idp = idp();
    let browser = Browser::new();
    for with_mark in [true, false] {
        let (_memory, mut plugin) = plugin();
        let session = start(&mut plugin, &desktop(&idp), false);
        let address = browser.sign_in(&shown(session.as_ref()).url);
        let query = query_of(&address);
        let pasted = if with_mark {
            format!("?{query}")
        } else {
            query
        };
        session.submit(&format!("  '{pasted}'\n")).expect("taken");
        verified(end(session.as_ref()));
    }
}

#[test]
fn pasting_the_bare_code_verifies() {
    let idp = idp();
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &desktop(&idp), false);
    let address = browser.sign_in(&shown(session.as_ref()).url);
    session.submit(&param_of(&address, "code")).expect("taken");
    verified(end(session.as_ref()));
}

#[test]
fn a_wrong_state_is_refused_and_the_right_address_still_works() {
    let idp = idp();
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &desktop(&idp), false);
    let address = browser.sign_in(&shown(session.as_ref()).url);

    let e = session
        .submit(&with_param(&address, "state", "another-attempts-state"))
        .unwrap_err();
    assert_refused(&e, "different sign-in attempt");
    let e = session
        .submit(&with_param(&address, "state", ""))
        .unwrap_err();
    assert_refused(&e, "different sign-in attempt");
    assert!(
        matches!(
            session.poll(Duration::ZERO),
            SessionState::OpenBrowser { .. }
        ),
        "a refusal leaves the sign-in open"
    );
    assert_eq!(code_redemptions(&idp), 0, "nothing was redeemed");

    session.submit(&address).expect("the right one is taken");
    verified(end(session.as_ref()));
}

#[test]
fn the_same_address_cannot_be_used_twice() {
    let idp = idp();
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &desktop(&idp), false);
    let address = browser.sign_in(&shown(session.as_ref()).url);
    session.submit(&address).expect("taken");
    let e = session.submit(&address).unwrap_err();
    assert_refused(&e, "already received");
    verified(end(session.as_ref()));
    let e = session.submit(&address).unwrap_err();
    assert_refused(&e, "already received");
    let e = session.submit(&param_of(&address, "code")).unwrap_err();
    assert_refused(&e, "already received");
    assert_eq!(code_redemptions(&idp), 1);
}

#[test]
fn a_code_already_redeemed_fails_with_aadsts54005() {
    let idp = idp();
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let first = start(&mut plugin, &desktop(&idp), false);
    let address = browser.sign_in(&shown(first.as_ref()).url);
    first.submit(&address).unwrap();
    verified(end(first.as_ref()));

    // A later attempt: the old address belongs to another attempt …
    let second = start(&mut plugin, &desktop(&idp), false);
    shown(second.as_ref());
    assert_refused(
        &second.submit(&address).unwrap_err(),
        "different sign-in attempt",
    );
    // … and its bare code (which carries no state) was spent at the provider.
    second.submit(&param_of(&address, "code")).expect("taken");
    let e = failed(end(second.as_ref()));
    let row = aadsts::lookup_in(Flow::Browser, 54005).unwrap();
    assert_eq!(e.message(), row.message);
    assert_eq!(e.hint(), Some(row.hint));
    assert_eq!(e.provider_code(), Some("AADSTS54005"));
    assert!(e.trace_id().is_some() && e.correlation_id().is_some());
}

#[test]
fn an_address_on_another_host_or_path_is_refused() {
    let idp = idp();
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &desktop(&idp), false);
    let shown = shown(session.as_ref());
    let address = browser.sign_in(&shown.url);
    let query = query_of(&address);
    for (wrong, found) in [
        (
            format!("http://localhost/callback?{query}"),
            "http://localhost/callback",
        ),
        (format!("https://localhost/?{query}"), "https://localhost/"),
        (format!("http://127.0.0.1/?{query}"), "http://127.0.0.1/"),
        (
            format!("https://evil.example/?{query}"),
            "https://evil.example/",
        ),
    ] {
        let e = session.submit(&wrong).unwrap_err();
        assert_refused(&e, "not to this sign-in's return address http://localhost/");
        assert!(e.message().contains(found), "{e:?}");
    }
    let e = session.submit(&shown.url).unwrap_err();
    assert_refused(&e, "sign-in page itself");
    let e = session
        .submit(&format!(
            "http://localhost/?state={}",
            param_of(&address, "state")
        ))
        .unwrap_err();
    assert_refused(&e, "no sign-in code");
    assert_refused(&session.submit("   ").unwrap_err(), "Nothing was pasted");
    assert_refused(
        &session.submit("thanks!").unwrap_err(),
        "neither a browser address",
    );
    assert_eq!(code_redemptions(&idp), 0);
    session.submit(&address).expect("the right one is taken");
    verified(end(session.as_ref()));
}

#[test]
fn a_declined_consent_redirect_ends_with_aadsts65004() {
    let idp = idp();
    idp.set_browser_outcome(DeviceOutcome::Decline);
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &desktop(&idp), false);
    let address = browser.sign_in(&shown(session.as_ref()).url);
    assert!(address.contains("error=access_denied"), "{address}");
    session
        .submit(&address)
        .expect("the error address is taken");
    let e = failed(end(session.as_ref()));
    assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
    assert_eq!(e.provider_code(), Some("AADSTS65004"));
    assert_eq!(e.message(), aadsts::lookup(65004).unwrap().message);
    assert!(
        e.trace_id().is_some(),
        "trace id kept from error_description"
    );
    assert!(e.correlation_id().is_some(), "correlation id kept");
    assert_eq!(code_redemptions(&idp), 0);
}

#[test]
fn a_web_app_with_its_secret_verifies() {
    let idp = idp();
    let browser = Browser::new();
    let (memory, mut plugin) = plugin();
    let form = web(&idp, Some(defaults::WEB_CLIENT_SECRET));
    let session = start(&mut plugin, &form, false);
    let address = browser.sign_in(&shown(session.as_ref()).url);
    session.submit(&address).unwrap();
    verified(end(session.as_ref()));
    plugin.save(&form).unwrap();
    assert_eq!(
        memory
            .secrets_of("Reports mailbox")
            .get("client_secret")
            .map(String::as_str),
        Some(defaults::WEB_CLIENT_SECRET)
    );
}

#[test]
fn a_certificate_app_verifies_with_a_client_assertion() {
    let idp = idp();
    let browser = Browser::new();
    let (memory, mut plugin) = plugin();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    std::fs::write(
        &pem,
        format!("{}{}", defaults::CERT_PEM, defaults::CERT_KEY_PEM),
    )
    .unwrap();
    let form = values(&idp, defaults::CERT_CLIENT_ID)
        .with(fields::CERTIFICATE_FILE, pem.to_str().unwrap());
    let session = start(&mut plugin, &form, false);
    let address = browser.sign_in(&shown(session.as_ref()).url);
    session.submit(&address).unwrap();
    verified(end(session.as_ref()));
    plugin.save(&form).unwrap();
    assert!(!memory
        .secrets_of("Reports mailbox")
        .contains_key("client_secret"));
    assert_eq!(code_redemptions(&idp), 1);
}

#[test]
fn a_pkcs12_certificate_app_verifies_with_a_client_assertion() {
    let idp = idp();
    let browser = Browser::new();
    let (memory, mut plugin) = plugin();
    let dir = tempfile::tempdir().unwrap();
    let pfx = dir.path().join("app.pfx");
    let password = "Pfx~browser-Pa55word";
    std::fs::write(
        &pfx,
        atrs_mock_idp::pkcs12_file::export(
            defaults::CERT_PEM,
            Some(defaults::CERT_KEY_PEM),
            password,
            atrs_mock_idp::pkcs12_file::Encryption::Aes256,
        ),
    )
    .unwrap();
    let mut form = values(&idp, defaults::CERT_CLIENT_ID)
        .with(fields::CERTIFICATE_FILE, pfx.to_str().unwrap());
    form.set_secret(fields::CERTIFICATE_PASSWORD, password);
    let session = start(&mut plugin, &form, false);
    let address = browser.sign_in(&shown(session.as_ref()).url);
    session.submit(&address).unwrap();
    verified(end(session.as_ref()));
    plugin.save(&form).unwrap();
    let secrets = memory.secrets_of("Reports mailbox");
    assert!(!secrets.contains_key("client_secret"));
    assert_eq!(
        secrets
            .get(fields::CERTIFICATE_PASSWORD)
            .map(String::as_str),
        Some(password)
    );
    assert_eq!(code_redemptions(&idp), 1);
    assert!(!format!("{:?}", memory.log_lines()).contains(password));
}

#[test]
fn public_client_flows_off_does_not_matter_to_a_desktop_redirect() {
    // Only device code needs "Allow public client flows"; the redirect's platform makes
    // the browser sign-in public.
    let idp = idp();
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(
        &mut plugin,
        &values(&idp, defaults::NO_PUBLIC_FLOWS_CLIENT_ID),
        false,
    );
    let address = browser.sign_in(&shown(session.as_ref()).url);
    session.submit(&address).unwrap();
    verified(end(session.as_ref()));
}

#[test]
fn each_secret_mistake_names_its_fix() {
    let idp = idp();
    let browser = Browser::new();
    let wrong_value = "Wr0ngQ~this-is-not-the-secret-value-0123456";
    let cases = [
        (
            "desktop app given a secret",
            desktop(&idp).with(fields::CLIENT_SECRET, wrong_value),
            700025,
            "Remove the secret",
        ),
        (
            "web app without its secret",
            web(&idp, None),
            7000218,
            "Enter the secret's Value",
        ),
        (
            "web app with a wrong secret value",
            web(&idp, Some(wrong_value)),
            7000215,
            "Use the secret's Value, not its Secret ID",
        ),
        (
            "web app with an expired secret",
            web(&idp, Some(defaults::WEB_CLIENT_EXPIRED_SECRET)),
            7000222,
            "Create a new secret",
        ),
    ];
    for (what, form, code, fix) in cases {
        let (_memory, mut plugin) = plugin();
        let session = start(&mut plugin, &form, false);
        let address = browser.sign_in(&shown(session.as_ref()).url);
        session.submit(&address).unwrap();
        let e = failed(end(session.as_ref()));
        let row = aadsts::lookup_in(Flow::Browser, code).unwrap();
        assert_eq!(e.message(), row.message, "{what}");
        assert_eq!(e.hint(), Some(row.hint), "{what}");
        assert!(row.hint.starts_with(fix), "{what}: {}", row.hint);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}");
        assert_eq!(e.field(), Some(fields::CLIENT_SECRET), "{what}");
        assert_eq!(
            e.provider_code(),
            Some(format!("AADSTS{code}").as_str()),
            "{what}"
        );
        assert!(
            e.trace_id().is_some() && e.correlation_id().is_some(),
            "{what}"
        );
        let text = format!("{e:?} {e}");
        for secret in [wrong_value, defaults::WEB_CLIENT_EXPIRED_SECRET] {
            assert!(!text.contains(secret), "{what}: {text}");
        }
    }
    // The secret's ID (a GUID) never reaches the provider: the form catches it.
    let (_memory, mut plugin) = plugin();
    let e = plugin
        .start_verification(
            &web(&idp, Some(defaults::WEB_CLIENT_SECRET_ID)),
            VerifyMethod::Browser { loopback: false },
        )
        .err()
        .expect("refused");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.field(), Some(fields::CLIENT_SECRET));
    assert!(e.message().contains("secret's ID"), "{e}");
}

#[test]
fn the_loopback_listener_catches_the_redirect_without_a_paste() {
    let idp = idp();
    let browser = Browser::new();
    let (memory, mut plugin) = plugin();
    let session = start(
        &mut plugin,
        &web(&idp, Some(defaults::WEB_CLIENT_SECRET)),
        true,
    );
    let shown = shown(session.as_ref());
    let listening = shown.listening.clone().expect("listening");
    let port = shown.port();
    assert_eq!(listening, format!("http://localhost:{port}/"));
    assert_eq!(
        shown.param("redirect_uri").as_deref(),
        Some(listening.as_str())
    );
    assert!(shown.message.contains(&listening), "{}", shown.message);

    let address = browser.sign_in(&shown.url);
    assert!(address.starts_with(&listening), "{address}");
    let favicon = browser.get(&format!("http://127.0.0.1:{port}/favicon.ico"));
    assert_eq!(favicon.status, 404);
    let wrong = browser.follow(&with_param(&address, "state", "not-this-one"));
    assert_eq!(wrong.status, 400);
    assert!(
        wrong.body.contains("different sign-in attempt"),
        "{}",
        wrong.body
    );
    let no_code = browser.get(&format!("http://127.0.0.1:{port}/"));
    assert_eq!(no_code.status, 400);
    assert!(
        matches!(
            session.poll(Duration::ZERO),
            SessionState::OpenBrowser { .. }
        ),
        "ignored requests leave the sign-in open"
    );

    let page = browser.follow(&address);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("close this tab"), "{}", page.body);
    assert!(!page.body.contains(&param_of(&address, "code")));
    verified(end(session.as_ref()));
    assert!(!accepting(port), "the listener closed on success");
    assert_eq!(code_redemptions(&idp), 1);
    assert!(memory
        .log_lines()
        .iter()
        .any(|(_, l)| l.contains("loopback listener caught")));
    let e = session.submit(&address).unwrap_err();
    assert_refused(&e, "already received");
}

#[test]
fn with_loopback_a_paste_still_works() {
    let idp = idp();
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &desktop(&idp), true);
    let shown = shown(session.as_ref());
    let port = shown.port();
    let address = browser.sign_in(&shown.url);
    session.submit(&address).expect("the paste is taken");
    verified(end(session.as_ref()));
    assert!(!accepting(port), "the listener closed");
    assert_eq!(code_redemptions(&idp), 1);
}

#[test]
fn the_loopback_listener_shows_an_error_redirect_and_ends_the_sign_in() {
    let idp = idp();
    idp.set_browser_outcome(DeviceOutcome::Decline);
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &desktop(&idp), true);
    let shown = shown(session.as_ref());
    let page = browser.follow(&browser.sign_in(&shown.url));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("permission prompt was declined"),
        "{}",
        page.body
    );
    assert!(page.body.contains("AADSTS65004"), "{}", page.body);
    let e = failed(end(session.as_ref()));
    assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
    assert_eq!(e.provider_code(), Some("AADSTS65004"));
    assert!(!accepting(shown.port()));
}

#[test]
fn cancel_closes_the_listener() {
    let idp = idp();
    idp.set_browser_outcome(DeviceOutcome::Ignore);
    let (_memory, mut plugin) = plugin();
    let session = start(&mut plugin, &desktop(&idp), true);
    let port = shown(session.as_ref()).port();
    assert!(accepting(port), "listening before the cancel");
    session.cancel();
    assert!(!accepting(port), "connecting after cancel fails");
    let e = failed(session.poll(Duration::ZERO));
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    let e = session
        .submit("http://localhost/?code=0.AXoAanything-at-all-0123456789&state=x")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[test]
fn a_new_verification_closes_the_previous_listener() {
    let idp = idp();
    let (_memory, mut plugin) = plugin();
    let first = start(&mut plugin, &desktop(&idp), true);
    let port = shown(first.as_ref()).port();
    let second = start(&mut plugin, &desktop(&idp), true);
    assert_eq!(
        failed(first.poll(Duration::ZERO)).kind(),
        ErrorKind::Cancelled
    );
    assert!(!accepting(port));
    assert_ne!(shown(second.as_ref()).port(), 0);
}

#[test]
fn verifying_a_saved_account_again_hints_its_user() {
    let idp = idp();
    let browser = Browser::new();
    let (_memory, mut plugin) = plugin();
    let form = desktop(&idp);
    let session = start(&mut plugin, &form, false);
    session
        .submit(&browser.sign_in(&shown(session.as_ref()).url))
        .unwrap();
    verified(end(session.as_ref()));
    plugin.save(&form).unwrap();

    let again = start(&mut plugin, &form, false);
    let shown = shown(again.as_ref());
    assert_eq!(
        shown.param("login_hint").as_deref(),
        Some(defaults::USER_UPN)
    );
    assert_eq!(shown.param("prompt"), None);
    again.cancel();
}

#[test]
fn secrets_never_reach_logs_or_errors() {
    let idp = idp();
    let browser = Browser::new();
    let (memory, mut plugin) = plugin();
    let form = web(&idp, Some(defaults::WEB_CLIENT_SECRET));
    let mut shown_text = Vec::new();

    let session = start(&mut plugin, &form, true);
    let open = shown(session.as_ref());
    let state = open.param("state").unwrap();
    let address = browser.sign_in(&open.url);
    let code = param_of(&address, "code");
    for wrong in [
        with_param(&address, "state", "x"),
        address.replace("localhost", "127.0.0.1"),
        "nonsense".to_owned(),
    ] {
        let e = session.submit(&wrong).unwrap_err();
        shown_text.push(format!("{e:?} {e}"));
    }
    shown_text.push(browser.follow(&address).body);
    let state_end = end(session.as_ref());
    verified(state_end.clone());
    shown_text.push(format!("{state_end:?}"));
    plugin.save(&form).unwrap();
    let refresh = memory.secrets_of("Reports mailbox")["refresh_token"].clone();

    let bad = web(&idp, Some("Wr0ngQ~this-is-not-the-secret-value-0123456"));
    let failing = start(&mut plugin, &bad, false);
    failing
        .submit(&browser.sign_in(&shown(failing.as_ref()).url))
        .unwrap();
    let e = failed(end(failing.as_ref()));
    shown_text.push(format!("{e:?} {e}"));
    shown_text.extend(e.details().map(|(k, v)| format!("{k}={v}")));

    shown_text.extend(memory.log_lines().into_iter().map(|(_, l)| l));
    let all = shown_text.join("\n");
    for secret in [
        state.as_str(),
        code.as_str(),
        defaults::WEB_CLIENT_SECRET,
        "Wr0ngQ~this-is-not-the-secret-value",
        refresh.as_str(),
        "eyJ",
    ] {
        assert!(
            !all.contains(secret),
            "a secret was shown ({secret}):\n{all}"
        );
    }
    let longest = all
        .split(|c: char| !(c.is_ascii_alphanumeric() || "-_.~".contains(c)))
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest < 40, "a token-like string was shown:\n{all}");
}

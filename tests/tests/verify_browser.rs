//! Verify with browser through the real host binary and plugin library, against the
//! mock identity platform: paste-back on stdin, refusals, provider errors, secrets,
//! and a real headless Chromium following the redirect to the loopback listener.

use std::{path::Path, process::Command, time::Duration};

use atrs_e2e::{
    add_office365_args, http_get_location, json_result, office365_library, plugins_dir, run_host,
    HostProcess,
};
use atrs_mock_idp::{defaults, DeviceOutcome, MockConfig, MockIdp};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

struct Setup {
    mock: MockIdp,
    plugins: tempfile::TempDir,
    store: tempfile::TempDir,
}

fn setup() -> Setup {
    Setup {
        mock: MockIdp::spawn(MockConfig::default()).expect("mock starts"),
        plugins: plugins_dir(&[office365_library()]),
        store: tempfile::tempdir().unwrap(),
    }
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

impl Setup {
    /// `add office365 --verify browser` with the given app, secret and extra flags.
    fn start(&self, client_id: &str, secret: Option<&str>, extra: &[&str]) -> HostProcess {
        let plugins = path(self.plugins.path());
        let store = path(self.store.path());
        let mut args: Vec<String> = vec![
            "--plugins-dir".into(),
            plugins,
            "--store".into(),
            store,
            "--json".into(),
        ];
        args.extend(add_office365_args(
            "Browser",
            client_id,
            defaults::TENANT_ID,
            secret,
            &self.mock.base_url(),
            "browser",
        ));
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut host = HostProcess::spawn(&args, &[]);
        if let Some(secret) = secret {
            host.write_line(secret);
        }
        host
    }
}

/// Plays the browser: follows the sign-in address to the redirect the mock answers with.
fn sign_in(action: &Value) -> String {
    assert_eq!(action["action"], "open_browser", "{action}");
    let (status, location) = http_get_location(action["url"].as_str().expect("url"));
    assert_eq!(status, 302, "the mock's sign-in redirects at once");
    location.expect("a Location header")
}

fn result_of(host: &HostProcess) -> Value {
    let last = host.seen.last().expect("a result line");
    let value: Value = serde_json::from_str(last).unwrap();
    assert_eq!(value["type"], "result", "{value}");
    value
}

#[test]
fn the_pasted_final_address_verifies_and_saves_after_a_refused_paste() {
    let s = setup();
    let mut host = s.start(defaults::DESKTOP_CLIENT_ID, None, &[]);
    let action = host.next_of_type("action", WAIT);
    let redirect = sign_in(&action);

    let forged = redirect.replace("state=", "state=forged");
    host.write_line(&forged);
    let refused = host.next_of_type("paste_refused", WAIT);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("state"),
        "{refused}"
    );

    host.write_line(&format!("  \"{redirect}\"  "));
    let result = host.next_of_type("result", WAIT);
    assert_eq!(host.wait(WAIT), Some(0), "{result}");
    assert_eq!(result["user_principal_name"], defaults::USER_UPN);
    assert_eq!(result["saved"], true);
    let accounts = run_host(
        &["--store", &path(s.store.path()), "--json", "accounts"],
        &[],
    );
    assert_eq!(json_result(&accounts)["accounts"][0]["account"], "Browser");
}

#[test]
fn just_the_query_string_is_enough() {
    let s = setup();
    let mut host = s.start(defaults::DESKTOP_CLIENT_ID, None, &["--no-save"]);
    let redirect = sign_in(&host.next_of_type("action", WAIT));
    let query = redirect.split_once('?').expect("a query").1.to_owned();
    host.write_line(&query);
    let result = host.next_of_type("result", WAIT);
    assert_eq!(host.wait(WAIT), Some(0), "{result}");
    assert_eq!(result["saved"], false);
}

#[test]
fn a_declined_sign_in_comes_back_as_refused_with_the_provider_code() {
    let s = setup();
    s.mock.set_browser_outcome(DeviceOutcome::Decline);
    let mut host = s.start(defaults::DESKTOP_CLIENT_ID, None, &[]);
    let redirect = sign_in(&host.next_of_type("action", WAIT));
    assert!(redirect.contains("error=access_denied"), "{redirect}");
    host.write_line(&redirect);
    let code = host.wait(WAIT);
    let result = result_of(&host);
    assert_eq!(code, Some(3), "{result}");
    assert_eq!(result["error"]["provider_code"], "AADSTS65004");
}

#[test]
fn a_web_app_verifies_with_its_secret_value_and_explains_a_secret_id() {
    let s = setup();
    let mut good = s.start(
        defaults::WEB_CLIENT_ID,
        Some(defaults::WEB_CLIENT_SECRET),
        &["--no-save"],
    );
    let redirect = sign_in(&good.next_of_type("action", WAIT));
    good.write_line(&redirect);
    assert_eq!(good.wait(WAIT), Some(0), "{:#?}", good.seen);

    // An expired secret is the provider's verdict on a form value: invalid input (exit
    // 2) naming the client_secret field, with the fix. (A secret's ID pasted as its
    // value is GUID-shaped and is caught by the form before any request.)
    let mut expired = s.start(
        defaults::WEB_CLIENT_ID,
        Some(defaults::WEB_CLIENT_EXPIRED_SECRET),
        &[],
    );
    let redirect = sign_in(&expired.next_of_type("action", WAIT));
    expired.write_line(&redirect);
    assert_eq!(expired.wait(WAIT), Some(2));
    let error = &result_of(&expired)["error"];
    assert_eq!(error["provider_code"], "AADSTS7000222");
    assert_eq!(error["field"], "client_secret");
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("new"),
        "{error}"
    );
    let output = expired.seen.join("\n");
    assert!(
        !output.contains(defaults::WEB_CLIENT_EXPIRED_SECRET),
        "the secret never reaches output"
    );
}

/// Chromium from Debian's package, as `.ci/run` installs it.
fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

#[test]
fn headless_chromium_follows_the_redirect_to_the_loopback_listener_with_no_paste() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Chromium: .ci/run installs it"
        );
        eprintln!(
            "SKIPPED: Chromium is not installed (apt-get install chromium); CI runs this test."
        );
        return;
    };
    let s = setup();
    let mut host = s.start(defaults::DESKTOP_CLIENT_ID, None, &["--loopback"]);
    let action = host.next_of_type("action", WAIT);
    assert_eq!(action["action"], "open_browser");
    let listening = action["listening"].as_str().expect("the loopback address");
    assert!(listening.starts_with("http://localhost:"), "{listening}");

    let profile = tempfile::tempdir().unwrap();
    let browser = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
            action["url"].as_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromium starts");

    let result = host.next_of_type("result", WAIT);
    assert_eq!(host.wait(WAIT), Some(0), "{result}");
    assert_eq!(result["user_principal_name"], defaults::USER_UPN);
    assert_eq!(result["saved"], true);
    let page = browser.wait_with_output().expect("chromium ends");
    let dom = String::from_utf8_lossy(&page.stdout);
    assert!(
        dom.to_lowercase().contains("close this"),
        "the listener answered the browser: {dom}"
    );
    let tokens = s.mock.stats().grant_count("authorization_code");
    assert_eq!(tokens, 1, "one code redemption, no paste needed");
}

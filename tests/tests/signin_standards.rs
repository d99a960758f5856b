//! Sign-in that holds against any standards-compliant server (issue 11), through the
//! real host binary and plugin library: form_post to the loopback listener driven by a
//! real headless Chromium, a server without `select_account`, HTTPS with a CA trusted
//! through `SSL_CERT_FILE`, RFC 9207 `iss`, a cross-site error request to the listener,
//! and the refusals at validation (an authority with a path, scopes of two resources,
//! a secret the token endpoint rejects).

use std::{path::Path, process::Command, time::Duration};

use atrs_e2e::{
    add_office365_args, http_get_location, json_result, office365_library, plugins_dir, run_host,
    run_host_with_input, HostProcess,
};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

struct Setup {
    mock: MockIdp,
    plugins: tempfile::TempDir,
    store: tempfile::TempDir,
}

fn setup(config: MockConfig) -> Setup {
    Setup {
        mock: MockIdp::spawn(MockConfig {
            device_interval_secs: 0,
            auto_approve_delay: Duration::ZERO,
            ..config
        })
        .expect("mock starts"),
        plugins: plugins_dir(&[office365_library()]),
        store: tempfile::tempdir().unwrap(),
    }
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

impl Setup {
    /// `--plugins-dir … --store … --json add office365 …` with `extra` after it.
    fn args(
        &self,
        client_id: &str,
        secret: Option<&str>,
        method: &str,
        extra: &[&str],
    ) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "--plugins-dir".into(),
            path(self.plugins.path()),
            "--store".into(),
            path(self.store.path()),
            "--json".into(),
        ];
        args.extend(add_office365_args(
            "Standards",
            client_id,
            defaults::TENANT_ID,
            secret,
            &self.mock.base_url(),
            method,
        ));
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn start(&self, method: &str, extra: &[&str], env: &[(&str, &str)]) -> HostProcess {
        let args = self.args(defaults::DESKTOP_CLIENT_ID, None, method, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        HostProcess::spawn(&args, env)
    }

    fn run(
        &self,
        client_id: &str,
        secret: Option<&str>,
        method: &str,
        extra: &[&str],
    ) -> std::process::Output {
        let args = self.args(client_id, secret, method, extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match secret {
            Some(secret) => run_host_with_input(&args, &[], &format!("{secret}\n")),
            None => run_host(&args, &[]),
        }
    }
}

fn param_of(address: &str, name: &str) -> Option<String> {
    url::Url::parse(address)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Chromium from Debian's package, as `.ci/run` installs it.
fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

#[test]
fn headless_chromium_posts_the_form_post_answer_to_the_loopback_listener() {
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
    // Chromium itself sometimes ends without printing any page on a loaded machine
    // (seen once in CI, with the sign-in complete). That is the browser's failure, not
    // the listener's — a listener that did not answer shows as Chromium's error page —
    // so only that case gets one more whole try.
    if let Err(crashed) = form_post_through(chromium) {
        eprintln!("Chromium printed no page ({crashed}); trying once more.");
        if let Err(crashed) = form_post_through(chromium) {
            panic!("Chromium printed no page, twice: {crashed}");
        }
    }
}

/// One whole sign-in with `chromium` posting the answer to the loopback listener; `Err`
/// (with Chromium's exit status and the end of its stderr) when Chromium printed no page.
fn form_post_through(chromium: &str) -> Result<(), String> {
    let s = setup(MockConfig::default());
    let mut host = s.start(
        "browser",
        &["--loopback", "--set", "response_mode=form_post"],
        &[],
    );
    let action = host.next_of_type("action", WAIT);
    let url = action["url"].as_str().expect("url").to_owned();
    assert_eq!(
        param_of(&url, "response_mode").as_deref(),
        Some("form_post"),
        "{url}"
    );
    let listening = action["listening"].as_str().expect("the loopback address");
    assert!(listening.starts_with("http://localhost:"), "{listening}");

    let profile = tempfile::tempdir().unwrap();
    let browser = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Lets the mock's self-submitting form post before the page is dumped.
            "--virtual-time-budget=20000",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
            &url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("chromium starts");

    let result = host.next_of_type("result", WAIT);
    assert_eq!(host.wait(WAIT), Some(0), "{result}");
    assert_eq!(result["user_principal_name"], defaults::USER_UPN);
    let page = browser.wait_with_output().expect("chromium ends");
    let dom = String::from_utf8_lossy(&page.stdout);
    if dom.trim().is_empty() {
        let stderr = String::from_utf8_lossy(&page.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(format!("{}; stderr ends: {:?}", page.status, tail));
    }
    assert!(
        dom.to_lowercase().contains("close this"),
        "the listener answered the post: {dom}"
    );
    assert!(
        !dom.contains("code="),
        "the code never reached an address: {dom}"
    );
    let stats = s.mock.stats();
    assert_eq!(stats.grant_count("authorization_code"), 1);
    Ok(())
}

/// The address the mock's sign-in page redirects to.
fn sign_in(action: &Value) -> String {
    assert_eq!(action["action"], "open_browser", "{action}");
    let (status, location) = http_get_location(action["url"].as_str().expect("url"));
    assert_eq!(status, 302, "the mock's sign-in redirects at once");
    location.expect("a Location header")
}

#[test]
fn a_server_without_select_account_signs_in_through_the_host() {
    let s = setup(MockConfig {
        prompt_values_supported: vec!["none".into(), "login".into(), "consent".into()],
        ..MockConfig::default()
    });
    let mut host = s.start("browser", &["--no-save"], &[]);
    let action = host.next_of_type("action", WAIT);
    assert_eq!(param_of(action["url"].as_str().unwrap(), "prompt"), None);
    let redirect = sign_in(&action);
    assert!(param_of(&redirect, "error").is_none(), "{redirect}");
    host.write_line(&redirect);
    let result = host.next_of_type("result", WAIT);
    assert_eq!(host.wait(WAIT), Some(0), "{result}");
}

#[test]
fn https_is_trusted_through_ssl_cert_file_and_refused_without_it() {
    let s = setup(MockConfig {
        tls: true,
        ..MockConfig::default()
    });
    let ca = path(s.mock.ca_file().expect("a CA file"));
    let mut trusted = s.start("device", &["--no-save"], &[("SSL_CERT_FILE", &ca)]);
    let result = trusted.next_of_type("result", WAIT);
    assert_eq!(trusted.wait(WAIT), Some(0), "{result}");
    assert_eq!(result["user_principal_name"], defaults::USER_UPN);

    let mut untrusted = s.start("device", &["--no-save"], &[]);
    let result = untrusted.next_of_type("result", WAIT);
    assert_eq!(
        untrusted.wait(WAIT),
        Some(5),
        "a network-class failure: {result}"
    );
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1"),
        "{result}"
    );
}

#[test]
fn a_forged_iss_is_refused_at_the_paste_and_the_true_address_then_verifies() {
    let s = setup(MockConfig {
        authorization_response_iss: true,
        ..MockConfig::default()
    });
    let mut host = s.start("browser", &["--no-save"], &[]);
    let redirect = sign_in(&host.next_of_type("action", WAIT));
    assert!(param_of(&redirect, "iss").is_some(), "{redirect}");
    let mut forged = url::Url::parse(&redirect).unwrap();
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "iss" {
                "https://attacker.example/v2.0".into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    host.write_line(forged.as_str());
    let refused = host.next_of_type("paste_refused", WAIT);
    assert!(
        refused["message"].as_str().unwrap().contains("mix-up"),
        "{refused}"
    );
    host.write_line(&redirect);
    let result = host.next_of_type("result", WAIT);
    assert_eq!(host.wait(WAIT), Some(0), "{result}");
}

#[test]
fn a_cross_site_error_request_to_the_listener_does_not_end_the_sign_in() {
    let s = setup(MockConfig::default());
    let mut host = s.start("browser", &["--loopback", "--no-save"], &[]);
    let action = host.next_of_type("action", WAIT);
    let listening = action["listening"]
        .as_str()
        .unwrap()
        .replace("localhost", "127.0.0.1");
    let (status, _) = http_get_location(&format!(
        "{listening}?error=access_denied&error_description=AADSTS65004%3A+forged"
    ));
    assert_eq!(status, 400, "ignored");
    let redirect = sign_in(&action).replace("localhost", "127.0.0.1");
    let (status, _) = http_get_location(&redirect);
    assert_eq!(status, 200);
    let result = host.next_of_type("result", WAIT);
    assert_eq!(host.wait(WAIT), Some(0), "{result}");
    assert_eq!(result["user_principal_name"], defaults::USER_UPN);
}

#[test]
fn validation_refuses_a_path_in_the_authority_and_scopes_of_two_resources() {
    let s = setup(MockConfig::default());
    let with_path = format!("authority={}/common", s.mock.base_url());
    let out = s.run(
        defaults::DESKTOP_CLIENT_ID,
        None,
        "device",
        &["--set", &with_path],
    );
    assert_eq!(out.status.code(), Some(2));
    let e = &json_result(&out)["error"]["field_errors"][0];
    assert_eq!(e["field"], "authority", "{e}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("put common in the Tenant ID field"),
        "{e}"
    );

    let mixed = "scopes=openid offline_access User.Read https://outlook.office.com/SMTP.Send";
    let out = s.run(
        defaults::DESKTOP_CLIENT_ID,
        None,
        "device",
        &["--set", mixed],
    );
    assert_eq!(out.status.code(), Some(2));
    let e = &json_result(&out)["error"]["field_errors"][0];
    assert_eq!(e["field"], "scopes", "{e}");
    assert!(e["hint"].as_str().unwrap().contains("AADSTS28000"), "{e}");
    assert_eq!(s.mock.stats().total(), 0, "nothing was sent anywhere");
}

#[test]
fn a_secret_the_token_endpoint_rejects_after_device_code_is_not_saved() {
    let s = setup(MockConfig::default());
    let out = s.run(
        defaults::DESKTOP_CLIENT_ID,
        Some("Wr0ngQ~this-is-not-the-secret-value-0123456"),
        "device",
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let e = &json_result(&out)["error"];
    assert_eq!(e["provider_code"], "AADSTS700025", "{e}");
    assert_eq!(e["field"], "client_secret");
    let accounts = run_host(
        &["--store", &path(s.store.path()), "--json", "accounts"],
        &[],
    );
    assert_eq!(json_result(&accounts)["accounts"], serde_json::json!([]));
}

//! Application accounts (nobody signs in) through the real host binary and plugin library,
//! against the mock over loopback: `add … --set sign_in=application --set-secret
//! client_secret --verify direct` verifies with client credentials and saves no refresh
//! token; `token` comes from the cache, and four `token` processes at once make one token
//! request; `send-test`, `send` and `upload` go out as the configured mailbox under
//! `/users/{mailbox}`; a mailbox an Exchange application access policy leaves out is
//! refused with its fix; a device-code verification of such an account is refused at once
//! with what to choose instead.

use std::time::Duration;

use atrs_e2e::sandbox::{Finished, Sandbox};
use atrs_mock_idp::defaults;
use atrs_test_host::store::{AccountStore, Change, SqliteStore};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const ACCOUNT: &str = "Scheduler";
const CLIENT_CREDENTIALS: &str = "client_credentials";

/// `add office365` for an application account acting for `mailbox`, verified `method`
/// (`None`: the plugin's first), the client secret on standard input.
fn add(sandbox: &Sandbox, mailbox: &str, method: Option<&str>, extra: &[&str]) -> Finished {
    let mut args: Vec<String> = ["add", "office365"].map(String::from).to_vec();
    for value in [
        format!("account_name={ACCOUNT}"),
        format!("client_id={}", defaults::APP_ONLY_CLIENT_ID),
        format!("tenant_id={}", defaults::TENANT_DOMAIN),
        format!("authority={}", sandbox.mock.base_url()),
        "sign_in=application".to_owned(),
        format!("mailbox={mailbox}"),
    ] {
        args.extend(["--set".to_owned(), value]);
    }
    args.extend(["--set-secret", "client_secret", "--timeout", "30"].map(String::from));
    if let Some(m) = method {
        args.extend(["--verify".to_owned(), m.to_owned()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut running = sandbox.spawn(&args);
    running.write_line(defaults::APP_ONLY_CLIENT_SECRET);
    running.close_stdin();
    running.finish(WAIT)
}

fn result(f: &Finished) -> Value {
    f.result()
        .unwrap_or_else(|| panic!("no result line:\n{}", f.transcript()))
}

fn grants(sandbox: &Sandbox) -> u64 {
    sandbox.mock.stats().grant_count(CLIENT_CREDENTIALS)
}

#[test]
fn an_application_account_is_added_directly_and_delivers_as_its_mailbox() {
    let sandbox = Sandbox::instant(&[]);

    // The plugin's first method is the device code: refused at once, naming --verify direct.
    let refused = add(&sandbox, defaults::USER_UPN, None, &[]);
    assert!(!refused.succeeded(), "{}", refused.transcript());
    let shown = refused.transcript();
    assert!(shown.contains("is an application account"), "{shown}");
    assert!(shown.contains("--verify direct"), "{shown}");
    assert_eq!(sandbox.mock.stats().total(), 0, "nothing asked of the mock");

    let added = add(&sandbox, defaults::USER_UPN, Some("direct"), &[]);
    assert!(added.succeeded(), "{}", added.transcript());
    println!("{}", added.transcript());
    let r = result(&added);
    assert_eq!(r["saved"], true, "{r}");
    assert!(
        added
            .transcript()
            .contains("✓ Verified: connected to Adele Vance"),
        "{}",
        added.transcript()
    );
    assert_eq!(r["missing_scopes"], serde_json::json!([]), "{r}");
    assert_eq!(grants(&sandbox), 1);
    assert_eq!(sandbox.mock.stats().grant_count("refresh_token"), 0);
    let store = sandbox.files();
    let secrets = &store.secrets["plugins"]["office365"][ACCOUNT];
    assert!(secrets.get("refresh_token").is_none(), "{secrets}");
    assert!(secrets.get("access_tokens").is_some(), "{secrets}");
    assert_eq!(
        store.settings["plugins"]["office365"][ACCOUNT]["sign_in"],
        "application"
    );

    // The token Verify got serves the host: no request.
    let token = sandbox.run(&["token", ACCOUNT], WAIT);
    assert!(token.succeeded(), "{}", token.transcript());
    assert_eq!(result(&token)["source"], "cache", "{}", token.transcript());
    assert_eq!(grants(&sandbox), 1);

    // Four processes at once with the cache emptied: one token request among them.
    let sealed = SqliteStore::open(sandbox.store(), &sandbox.key_options()).unwrap();
    sealed
        .apply(
            "office365",
            Change::Secret {
                account: ACCOUNT,
                name: "access_tokens",
                value: "",
            },
        )
        .unwrap();
    drop(sealed);
    let running: Vec<_> = (0..4)
        .map(|_| {
            let mut r = sandbox.spawn(&["token", ACCOUNT]);
            r.close_stdin();
            r
        })
        .collect();
    let sources: Vec<String> = running
        .into_iter()
        .map(|r| {
            let f = r.finish(WAIT);
            assert!(f.succeeded(), "{}", f.transcript());
            result(&f)["source"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(
        grants(&sandbox),
        2,
        "one token request for four processes: {sources:?}"
    );

    // Deliveries as the mailbox.
    let test = sandbox.run(&["send-test", ACCOUNT, "--to", "boss@fabrikam.com"], WAIT);
    assert!(test.succeeded(), "{}", test.transcript());
    let files = tempfile::tempdir().unwrap();
    let report = files.path().join("report.csv");
    std::fs::write(&report, "region,total\nnorth,12\n").unwrap();
    let send = sandbox.run(
        &[
            "send",
            ACCOUNT,
            "--to",
            "boss@fabrikam.com",
            "--subject",
            "Nightly",
            "--body",
            "Attached.",
            "--attach",
            report.to_str().unwrap(),
        ],
        WAIT,
    );
    assert!(send.succeeded(), "{}", send.transcript());
    let upload = sandbox.run(
        &[
            "upload",
            ACCOUNT,
            report.to_str().unwrap(),
            "--to-folder",
            "Reports/2026",
        ],
        WAIT,
    );
    assert!(upload.succeeded(), "{}", upload.transcript());
    let sent = sandbox.mock.sent_items();
    assert_eq!(sent.len(), 2);
    assert!(sent
        .iter()
        .all(|m| m.from.eq_ignore_ascii_case(defaults::USER_MAIL)));
    let items = sandbox.mock.drive_items();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].drive, format!("me:{}", defaults::USER_ID));
    let paths: Vec<String> = sandbox
        .mock
        .stats()
        .requests
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        !paths.iter().any(|p| p.starts_with("/v1.0/me")),
        "{paths:?}"
    );
    assert_eq!(grants(&sandbox), 2, "deliveries used the cached token");

    // A mailbox the access policy leaves out: refused, with the fix.
    sandbox
        .mock
        .restrict_app_mailboxes(defaults::APP_ONLY_CLIENT_ID, &[defaults::USER_MAIL]);
    let outside = sandbox.run(
        &[
            "send",
            ACCOUNT,
            "--from",
            defaults::NO_MAIL_USER_UPN,
            "--to",
            "boss@fabrikam.com",
            "--subject",
            "Nightly",
            "--body",
            "x",
        ],
        WAIT,
    );
    assert!(!outside.succeeded(), "{}", outside.transcript());
    let shown = outside.transcript();
    println!("{shown}");
    assert!(shown.contains("application access policy"), "{shown}");
    assert!(shown.contains("Test-ApplicationAccessPolicy"), "{shown}");
    assert_eq!(sandbox.mock.sent_items().len(), 2, "nothing more was sent");
    // Verify of an account acting for that mailbox is refused the same way.
    let again = add(
        &sandbox,
        defaults::NO_MAIL_USER_UPN,
        Some("direct"),
        &["--no-save"],
    );
    assert!(!again.succeeded(), "{}", again.transcript());
    assert!(
        again.transcript().contains("application access policy"),
        "{}",
        again.transcript()
    );
}

//! The secrets audit: every flow through the host binary at the most verbose log level
//! (`-vv`, plugin debug lines on stderr), then every byte the product wrote — each run's
//! stdout and stderr (its log and any panic message), and every byte of every file in the
//! store (the database, its write-ahead log, the lock files) — is searched for every
//! secret value, which the store keeps sealed: the client secret, the certificate's
//! private key and a PKCS#12 file's password, and each device code, authorization code, PKCE verifier, access token,
//! refresh token and pre-authenticated upload URL the mock issued or received (read from
//! the mock, so nothing is guessed). The flows: device code, browser with paste, browser
//! with loopback, a certificate account (client assertions) from a PEM file and from a
//! PKCS#12 file (its password searched for too), an application account
//! (client credentials: `add --verify direct`, `token --force`, `send-test`; its secret is
//! searched for too), save over a saved account,
//! `token`, `refresh`, `send`, `upload` (simple and with an upload session), `accounts`,
//! `remove`.
//!
//! A leak fails the test naming the kind of secret and where it was found, never the value.

use std::{path::Path, time::Duration};

use atrs_e2e::sandbox::{Finished, Sandbox};
use atrs_mock_idp::{defaults, pkcs12_file};
use atrs_test_host::store::{AccountStore, Change, KeyOptions, SqliteStore};

const WAIT: Duration = Duration::from_secs(60);

/// The PKCS#12 certificate file's export password, searched for like every secret.
const PFX_PASSWORD: &str = "Pfx~audit-Pa55word-7c1e";

/// Plays the browser: GETs `url`; the `Location` it redirects to.
fn follow(url: &str) -> String {
    let (status, location) = atrs_e2e::http_get_location(url);
    assert_eq!(status, 302, "the mock's sign-in redirects at once");
    location.expect("a Location header")
}

/// A named piece of output to search.
struct Place {
    name: String,
    text: String,
}

/// Every run's output, plus the store's files at the end.
#[derive(Default)]
struct Audit {
    places: Vec<Place>,
}

impl Audit {
    fn run(&mut self, what: &str, finished: Finished) -> Finished {
        assert!(
            finished.succeeded(),
            "{what} failed:\n{}",
            finished.transcript()
        );
        self.places.push(Place {
            name: format!("stdout of `{what}`"),
            text: finished.stdout.clone(),
        });
        self.places.push(Place {
            name: format!("stderr of `{what}` (log, messages, panics)"),
            text: finished.stderr.clone(),
        });
        finished
    }

    /// Every file under the store.
    fn store_files(&mut self, dir: &Path) {
        let mut stack = vec![dir.to_owned()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("store readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    self.places.push(Place {
                        name: format!("store file {}", path.display()),
                        text: String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default())
                            .into_owned(),
                    });
                }
            }
        }
    }

    /// The leaks of `values` (all of kind `kind`): "kind in place" for each.
    fn leaks(&self, kind: &str, values: &[String]) -> Vec<String> {
        let mut found = Vec::new();
        for place in &self.places {
            let n = values
                .iter()
                .filter(|v| !v.is_empty() && place.text.contains(v.as_str()))
                .count();
            if n > 0 {
                found.push(format!("{n} {kind} value(s) in {}", place.name));
            }
        }
        found
    }
}

#[test]
fn no_secret_reaches_any_output_log_or_store_file() {
    let sandbox = Sandbox::instant(&[]).with_flag("-vv");
    let mut audit = Audit::default();

    // Device code.
    let device = sandbox.add_device("Device", &[], WAIT);
    audit.run("add --verify device", device);

    // Browser, confidential client: the client secret and then the final address on stdin
    // (`--paste -` and `--set-secret` cannot share it, so the paste is the wait's own).
    let mut args = sandbox.add_args("Paste", "browser", &[]);
    args = args
        .into_iter()
        .map(|a| a.replace(defaults::DESKTOP_CLIENT_ID, defaults::WEB_CLIENT_ID))
        .collect();
    args.extend(["--set-secret".to_owned(), "client_secret".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut paste = sandbox.spawn(&args);
    paste.write_line(defaults::WEB_CLIENT_SECRET);
    let action = paste.next_of_type("action", WAIT).expect("an action line");
    let redirect = follow(action["url"].as_str().expect("url"));
    paste.write_line(&redirect);
    audit.run(
        "add --verify browser --set-secret, pasted",
        paste.finish(WAIT),
    );

    // Browser, redirect caught on the loopback listener.
    let args = sandbox.add_args("Loopback", "browser", &["--loopback"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut loopback = sandbox.spawn(&args);
    let action = loopback
        .next_of_type("action", WAIT)
        .expect("an action line");
    let redirect = follow(action["url"].as_str().expect("url"));
    let (status, _) = atrs_e2e::http_get_location(&redirect);
    assert_eq!(status, 200, "the loopback listener takes the redirect");
    audit.run("add --verify browser --loopback", loopback.finish(WAIT));

    // A certificate instead of a secret: every token request signs a client assertion.
    let key_dir = tempfile::tempdir().unwrap();
    let pem = key_dir.path().join("app.pem");
    std::fs::write(
        &pem,
        format!("{}{}", defaults::CERT_PEM, defaults::CERT_KEY_PEM),
    )
    .unwrap();
    let args: Vec<String> = sandbox
        .add_args("Certificate", "device", &[])
        .into_iter()
        .map(|a| a.replace(defaults::DESKTOP_CLIENT_ID, defaults::CERT_CLIENT_ID))
        .chain([
            "--set".to_owned(),
            format!("certificate_file={}", pem.display()),
        ])
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    audit.run("add (certificate)", sandbox.run(&args, WAIT));
    audit.run(
        "token --force (certificate)",
        sandbox.run(&["token", "Certificate", "--force"], WAIT),
    );

    // A PKCS#12 certificate: its password is typed on stdin and kept as a secret; every
    // token request opens the file with it and signs a client assertion.
    let pfx = key_dir.path().join("app.pfx");
    std::fs::write(
        &pfx,
        pkcs12_file::export(
            defaults::CERT_PEM,
            Some(defaults::CERT_KEY_PEM),
            PFX_PASSWORD,
            pkcs12_file::Encryption::Aes256,
        ),
    )
    .unwrap();
    let args: Vec<String> = sandbox
        .add_args("Pkcs12", "device", &[])
        .into_iter()
        .map(|a| a.replace(defaults::DESKTOP_CLIENT_ID, defaults::CERT_CLIENT_ID))
        .chain([
            "--set".to_owned(),
            format!("certificate_file={}", pfx.display()),
            "--set-secret".to_owned(),
            "certificate_password".to_owned(),
        ])
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut pkcs12 = sandbox.spawn(&args);
    pkcs12.write_line(PFX_PASSWORD);
    pkcs12.close_stdin();
    audit.run("add (PKCS#12 certificate)", pkcs12.finish(WAIT));
    audit.run(
        "token --force (PKCS#12 certificate)",
        sandbox.run(&["token", "Pkcs12", "--force"], WAIT),
    );

    // An application account: nobody signs in, the app's secret gets every token.
    let mut args: Vec<String> = ["add", "office365"].map(String::from).to_vec();
    for value in [
        "account_name=Application".to_owned(),
        format!("client_id={}", defaults::APP_ONLY_CLIENT_ID),
        format!("tenant_id={}", defaults::TENANT_ID),
        format!("authority={}", sandbox.mock.base_url()),
        "sign_in=application".to_owned(),
        format!("mailbox={}", defaults::USER_UPN),
    ] {
        args.extend(["--set".to_owned(), value]);
    }
    args.extend(["--set-secret", "client_secret", "--verify", "direct"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut app = sandbox.spawn(&args);
    app.write_line(defaults::APP_ONLY_CLIENT_SECRET);
    app.close_stdin();
    audit.run("add --verify direct (application)", app.finish(WAIT));
    audit.run(
        "token --force (application)",
        sandbox.run(&["token", "Application", "--force"], WAIT),
    );
    audit.run(
        "send-test (application)",
        sandbox.run(
            &[
                "send-test",
                "Application",
                "--to",
                "someone@contoso.onmicrosoft.com",
            ],
            WAIT,
        ),
    );
    assert_eq!(
        sandbox.mock.stats().grant_count("client_credentials"),
        2,
        "the application account's tokens came from client credentials"
    );

    // Save again over a saved account; tokens for the host; renewal.
    let replaced = sandbox.add_device("Device", &["--replace"], WAIT);
    audit.run("add --replace", replaced);
    audit.run("token", sandbox.run(&["token", "Device"], WAIT));
    audit.run(
        "token --force",
        sandbox.run(&["token", "Device", "--force"], WAIT),
    );
    audit.run(
        "refresh --force",
        sandbox.run(&["refresh", "Device", "--force"], WAIT),
    );
    audit.run(
        "refresh --all",
        sandbox.run(&["refresh", "--all", "--force"], WAIT),
    );

    // Deliveries: a mail, a small file, a file big enough for an upload session.
    let files = tempfile::tempdir().unwrap();
    let small = files.path().join("report.txt");
    let big = files.path().join("big.bin");
    std::fs::write(&small, "A report.\n").unwrap();
    std::fs::write(&big, vec![3u8; 6_000_000]).unwrap();
    let send = sandbox.run(
        &[
            "send",
            "Device",
            "--to",
            "someone@contoso.onmicrosoft.com",
            "--subject",
            "Report",
            "--body",
            "Attached.",
            "--attach",
            small.to_str().unwrap(),
        ],
        WAIT,
    );
    audit.run("send", send);
    for (what, file) in [("upload", &small), ("upload (session)", &big)] {
        let upload = sandbox.run(
            &[
                "upload",
                "Device",
                file.to_str().unwrap(),
                "--to-folder",
                "Reports",
            ],
            WAIT,
        );
        audit.run(what, upload);
    }

    // List, remove.
    let listed = sandbox.run(&["accounts", "--all"], WAIT);
    audit.run("accounts --all", listed);
    let removed = sandbox.run(&["remove", "Loopback"], WAIT);
    audit.run("remove", removed);

    audit.store_files(sandbox.store());

    let seen = sandbox.mock.secrets_seen();
    let secrets = sandbox.files().secrets;
    let stored_refresh: Vec<String> = ["Device", "Paste"]
        .iter()
        .filter_map(|a| secrets["plugins"]["office365"][a]["refresh_token"].as_str())
        .map(str::to_owned)
        .collect();
    // Each kind was really produced, so the search below cannot pass for want of values.
    assert!(seen.device_codes.len() >= 2, "device codes issued");
    assert!(
        seen.authorization_codes.len() >= 2,
        "authorization codes issued"
    );
    assert!(seen.code_verifiers.len() >= 2, "PKCE verifiers received");
    assert!(seen.access_tokens.len() >= 4, "access tokens issued");
    assert!(seen.refresh_tokens.len() >= 6, "refresh tokens issued");
    let upload_urls: Vec<String> = sandbox
        .mock
        .stats()
        .requests
        .iter()
        .filter(|r| r.path.starts_with("/upload/"))
        .map(|r| r.path.clone())
        .collect();
    assert!(!upload_urls.is_empty(), "an upload session was used");
    assert_eq!(
        sandbox.mock.sent_items().len(),
        2,
        "the mails were sent (application test message, send)"
    );
    assert_eq!(stored_refresh.len(), 2, "refresh tokens kept in the store");
    assert!(
        stored_refresh
            .iter()
            .all(|r| seen.refresh_tokens.contains(r)),
        "the store holds tokens the mock issued"
    );
    assert!(
        sandbox.store().join("accounts.db").exists(),
        "the database is among the files searched"
    );

    // The search finds what is there: a store allowed plain text, holding the same
    // refresh tokens, gives them away in its database file.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = SqliteStore::open(
        plain_dir.path().join("store"),
        &KeyOptions {
            plaintext: true,
            ..KeyOptions::from_env()
        },
    )
    .unwrap();
    for (n, token) in stored_refresh.iter().enumerate() {
        plain
            .apply(
                "office365",
                Change::Secret {
                    account: &format!("A{n}"),
                    name: "refresh_token",
                    value: token,
                },
            )
            .unwrap();
    }
    drop(plain);
    let mut control = Audit::default();
    control.store_files(plain_dir.path());
    assert!(
        !control.leaks("refresh token", &stored_refresh).is_empty(),
        "the search finds tokens in a database"
    );

    let mut leaks = Vec::new();
    leaks.extend(audit.leaks(
        "client secret",
        &[
            defaults::WEB_CLIENT_SECRET.to_owned(),
            defaults::APP_ONLY_CLIENT_SECRET.to_owned(),
        ],
    ));
    leaks.extend(audit.leaks("certificate password", &[PFX_PASSWORD.to_owned()]));
    // Every line of the private key's base64 (each 64 characters of key material).
    let key_lines: Vec<String> = defaults::CERT_KEY_PEM
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .map(str::to_owned)
        .collect();
    assert!(key_lines.len() >= 20, "the key's lines are searched");
    leaks.extend(audit.leaks("private key line", &key_lines));
    leaks.extend(audit.leaks("device code", &seen.device_codes));
    leaks.extend(audit.leaks("authorization code", &seen.authorization_codes));
    leaks.extend(audit.leaks("PKCE verifier", &seen.code_verifiers));
    leaks.extend(audit.leaks("access token", &seen.access_tokens));
    leaks.extend(audit.leaks("refresh token", &seen.refresh_tokens));
    leaks.extend(audit.leaks("upload session URL", &upload_urls));
    println!(
        "searched {} places for 2 client secrets, 1 certificate password, {} private key lines, {} device codes, {} authorization codes, {} PKCE verifiers, {} access tokens, {} refresh tokens, {} upload session URLs",
        audit.places.len(),
        key_lines.len(),
        seen.device_codes.len(),
        seen.authorization_codes.len(),
        seen.code_verifiers.len(),
        seen.access_tokens.len(),
        seen.refresh_tokens.len(),
        upload_urls.len()
    );
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}

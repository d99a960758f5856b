//! Deliveries through the real host binary and plugin library, against the mock's Graph
//! over loopback HTTP: `send-test`, a large `send`, `upload` (human and `--json`), refusals
//! with their fixes, and Ctrl-C mid-upload leaving nothing half-sent.

use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use atrs_e2e::sandbox::Sandbox;
use atrs_e2e::{add_office365_args, json_lines, json_result, run_host, HostProcess};
use atrs_mock_idp::{defaults, Endpoint, Fault};
use serde_json::Value;

const MB: u64 = 1024 * 1024;
const ACCOUNT: &str = "Reports";
const SCOPES: &str =
    "scopes=openid profile offline_access User.Read Mail.Send Mail.ReadWrite Files.ReadWrite Sites.ReadWrite.All";

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A sandbox whose mock approves at once and asks for a poll every second, and a folder
/// for the files a test sends.
struct Setup {
    sandbox: Sandbox,
    files: tempfile::TempDir,
}

impl Deref for Setup {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sandbox
    }
}

/// A mock, the plugin, and a saved account "Reports" signed in as the default user.
fn setup() -> Setup {
    let s = Setup {
        sandbox: Sandbox::approving(1, &[]),
        files: tempfile::tempdir().unwrap(),
    };
    let mut args = add_office365_args(
        ACCOUNT,
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        None,
        &s.mock.base_url(),
        "device",
    );
    args.extend(["--set".to_owned(), SCOPES.to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = s.host(true, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    s.mock.reset_stats();
    s
}

impl Setup {
    fn args<'a>(&'a self, json: bool, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = self.folder_args().to_vec();
        if json {
            all.push("--json");
        }
        all.extend_from_slice(args);
        all
    }

    fn host(&self, json: bool, args: &[&str]) -> std::process::Output {
        run_host(&self.args(json, args), &[])
    }

    /// A file of `len` pseudo-random bytes and its SHA-256 (via the mock's own hashing of
    /// what it received, compared with `sha256sum`).
    fn file(&self, name: &str, len: u64) -> PathBuf {
        let p = self.files.path().join(name);
        let mut f = std::fs::File::create(&p).unwrap();
        let mut x: u32 = 7;
        let mut buf = vec![0u8; MB as usize];
        let mut left = len;
        while left > 0 {
            let n = left.min(MB) as usize;
            for b in &mut buf[..n] {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *b = (x >> 16) as u8;
            }
            f.write_all(&buf[..n]).unwrap();
            left -= n as u64;
        }
        p
    }
}

fn sha256(p: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn progress(lines: &[Value]) -> Vec<(u64, u64)> {
    lines
        .iter()
        .filter(|l| l["type"] == "progress")
        .map(|l| {
            (
                l["bytes_sent"].as_u64().unwrap(),
                l["bytes_total"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn send_test_proves_sending_works_in_text_and_json() {
    let s = setup();
    let out = s.host(false, &["send-test", ACCOUNT, "--to", "me@example.com"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    println!("$ atrs-test-host send-test {ACCOUNT} --to me@example.com\n{shown}");
    assert!(shown.contains("Sent to me@example.com."), "{shown}");
    assert!(shown.contains("request-id: "), "{shown}");

    let out = s.host(true, &["send-test", ACCOUNT, "--to", "me@example.com"]);
    println!(
        "$ atrs-test-host --json send-test {ACCOUNT} --to me@example.com\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = json_result(&out);
    assert_eq!(r["ok"], true);
    assert_eq!(r["receipt"]["kind"], "mail");
    assert!(r["receipt"]["details"]["client-request-id"]
        .as_str()
        .is_some());
    let sent = s.mock.sent_items();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].subject.contains(ACCOUNT) && sent[0].to[0].address == "me@example.com");
}

#[test]
fn a_large_send_streams_attachments_and_reports_progress() {
    let s = setup();
    let big = s.file("sales.pdf", 10 * MB);
    let out = s.host(
        true,
        &[
            "send",
            ACCOUNT,
            "--to",
            "boss@contoso.com",
            "--cc",
            "team@contoso.com",
            "--subject",
            "Sales",
            "--body",
            "Attached.",
            "--attach",
            path(&big),
        ],
    );
    println!("$ atrs-test-host --json send {ACCOUNT} --to boss@contoso.com --cc team@contoso.com --subject Sales --body Attached. --attach sales.pdf\n{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = json_lines(&out);
    let p = progress(&lines);
    assert!(p.len() >= 2, "progress events: {p:?}");
    assert!(
        p.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress only grows: {p:?}"
    );
    assert_eq!(p.last().unwrap(), &(10 * MB, 10 * MB));
    let r = json_result(&out);
    assert_eq!(r["receipt"]["bytes"], 10 * MB);
    let sent = s.mock.sent_items();
    assert_eq!(sent[0].attachments[0].sha256, sha256(&big));
    assert_eq!(sent[0].via, "draft");

    let out = s.host(
        false,
        &[
            "send",
            ACCOUNT,
            "--to",
            "boss@contoso.com",
            "--subject",
            "Sales",
            "--attach",
            path(&big),
        ],
    );
    println!("$ atrs-test-host send {ACCOUNT} --to boss@contoso.com --subject Sales --attach sales.pdf\n{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("Sent to boss@contoso.com with 1 attachment (10.5 MB)."));
}

#[test]
fn upload_puts_a_60_mb_file_in_onedrive_and_a_sharepoint_site() {
    let s = setup();
    let big = s.file("archive.bin", 60 * MB);
    let out = s.host(
        true,
        &[
            "upload",
            ACCOUNT,
            path(&big),
            "--to-folder",
            "Reports/2026",
            "--conflict",
            "fail",
        ],
    );
    println!("$ atrs-test-host --json upload {ACCOUNT} archive.bin --to-folder Reports/2026 --conflict fail\n{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = json_result(&out);
    assert!(r["receipt"]["web_url"]
        .as_str()
        .unwrap()
        .ends_with("/Reports/2026/archive.bin"));
    let item = s.mock.drive_items().into_iter().next().unwrap();
    assert_eq!(item.sha256, sha256(&big));
    assert_eq!(s.mock.upload_counters().bytes_received, 60 * MB);

    let site = format!("https://{}{}", defaults::SITE_HOST, defaults::SITE_PATH);
    let out = s.host(
        false,
        &[
            "upload",
            ACCOUNT,
            path(&big),
            "--to-folder",
            "Archive",
            "--site",
            &site,
        ],
    );
    println!(
        "$ atrs-test-host upload {ACCOUNT} archive.bin --to-folder Archive --site {site}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(s
        .mock
        .drive_items()
        .iter()
        .any(|i| i.drive == defaults::SITE_ID && i.sha256 == item.sha256));
}

/// Refusals reach the person with what to do, the provider code and the request ids.
#[test]
fn refusals_are_shown_with_their_fix() {
    let s = setup();
    let small = s.file("a.csv", 1000);
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["send", ACCOUNT, "--to", "x@unresolved.invalid"],
            2,
            "ErrorInvalidRecipients",
        ),
        (
            vec![
                "send",
                ACCOUNT,
                "--to",
                "a@b.com",
                "--from",
                defaults::SEND_AS_DENIED_MAILBOX,
            ],
            3,
            "ErrorSendAsDenied",
        ),
        (
            vec![
                "upload",
                ACCOUNT,
                path(&small),
                "--to-folder",
                "R",
                "--site",
                "https://contoso.sharepoint.com/sites/Nope",
            ],
            2,
            "itemNotFound",
        ),
    ];
    for (args, code, provider) in cases {
        let out = s.host(false, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        println!("$ atrs-test-host {}\n{err}", args.join(" "));
        assert_eq!(out.status.code(), Some(code), "{err}");
        assert!(err.contains("fix: ") && err.contains(provider), "{err}");
        assert!(
            err.contains("trace ") && err.contains("correlation "),
            "request ids shown: {err}"
        );
    }
    let out = s.host(
        false,
        &[
            "upload",
            ACCOUNT,
            path(&small),
            "--to-folder",
            "R",
            "--conflict",
            "fail",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = s.host(
        true,
        &[
            "upload",
            ACCOUNT,
            path(&small),
            "--to-folder",
            "R",
            "--conflict",
            "fail",
        ],
    );
    let r = json_result(&out);
    assert_eq!(r["ok"], false);
    println!(
        "$ atrs-test-host --json upload {ACCOUNT} a.csv --to-folder R --conflict fail\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(2));
    s.mock.set_delivery_faults(atrs_mock_idp::DeliveryFaults {
        quota_bytes: Some(10),
        locked: ["R/locked.csv".to_owned()].into(),
        max_message_bytes: Some(1000),
        ..Default::default()
    });
    let big = s.file("big.pdf", 4 * MB);
    let more: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![
                "upload",
                ACCOUNT,
                path(&small),
                "--to-folder",
                "R",
                "--name",
                "new.csv",
            ],
            3,
            "quotaLimitReached",
        ),
        (
            vec![
                "upload",
                ACCOUNT,
                path(&small),
                "--to-folder",
                "R",
                "--name",
                "locked.csv",
            ],
            3,
            "resourceLocked",
        ),
        (
            vec!["send", ACCOUNT, "--to", "a@b.com", "--attach", path(&big)],
            3,
            "ErrorMessageSizeExceeded",
        ),
    ];
    for (args, code, provider) in more {
        let out = s.host(false, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        println!("$ atrs-test-host {}\n{err}", args.join(" "));
        assert_eq!(out.status.code(), Some(code), "{err}");
        assert!(err.contains("fix: ") && err.contains(provider), "{err}");
    }
    assert!(
        s.mock.drafts().is_empty(),
        "the refused message's draft was deleted"
    );
    // An account whose token lacks Files.ReadWrite (the default scopes).
    let mut args = add_office365_args(
        "Mail only",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        None,
        &s.mock.base_url(),
        "device",
    );
    args.push("--json".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(s.host(false, &args).status.code(), Some(0));
    let up = ["upload", "Mail only", path(&small), "--to-folder", "R"];
    let out = s.host(false, &up);
    let err = String::from_utf8_lossy(&out.stderr);
    println!("$ atrs-test-host {}\n{err}", up.join(" "));
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("Files.ReadWrite") && err.contains("no admin consent needed"),
        "{err}"
    );
    let out = s.host(false, &["send-test", "Nobody", "--to", "a@b.com"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no saved account named \"Nobody\""));
}

/// Ctrl-C while fragments go: the host cancels, exits 4 within a second or so, and the mock
/// holds no open session and no file.
#[test]
fn ctrl_c_mid_upload_cancels_and_leaves_nothing() {
    let s = setup();
    let big = s.file("big.bin", 40 * MB);
    s.mock
        .set_fault(Endpoint::Upload, Fault::Delay(Duration::from_millis(300)));
    let args = s.args(
        true,
        &["upload", ACCOUNT, path(&big), "--to-folder", "Reports"],
    );
    let mut host = HostProcess::spawn(&args, &[]);
    loop {
        let p = host.next_of_type("progress", Duration::from_secs(30));
        if p["bytes_sent"].as_u64().unwrap() > 0 {
            break;
        }
    }
    let at = Instant::now();
    host.interrupt();
    let code = host.wait(Duration::from_secs(10));
    let took = at.elapsed();
    println!("Ctrl-C to exit: {took:?}");
    assert_eq!(code, Some(4));
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(s.mock.open_upload_sessions(), 0);
    assert!(s.mock.drive_items().is_empty());
}

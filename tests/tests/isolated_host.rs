//! `atrs-test-host --isolate`: every command runs its plugin in an `atrs-plugin-runner`
//! process, through the real binaries and the Office 365 library against the mock. The
//! commands answer as they do in process; a plugin that crashes fails the command with
//! a typed error naming what happened and the next command works; the runner gets no
//! secret in its arguments or environment; Ctrl-C at the terminal reaches the host
//! alone, which cancels the runner's upload and leaves nothing behind.
//!
//! Nothing here sleeps to wait: every wait polls a condition with a deadline.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use atrs_e2e::{
    fixture, http_get_location, json_result, plugin_runner, plugins_dir, run_host,
    sandbox::{Finished, Sandbox},
};
use atrs_mock_idp::{defaults, Endpoint, Fault, RefreshPolicy};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
const MB: u64 = 1024 * 1024;

fn isolated() -> Sandbox {
    Sandbox::approving(0, &[]).with_flag("--isolate")
}

fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn shown(f: &Finished) -> String {
    format!("exit {:?}\n{}\n{}", f.code, f.stdout, f.stderr)
}

/// `atrs-test-host --isolate --json` over `plugins` and `store` with calls bound by
/// `call_timeout` seconds, then `args`.
fn run_isolated(
    plugins: &Path,
    store: &Path,
    call_timeout: &str,
    args: &[&str],
) -> std::process::Output {
    let mut all = vec![
        "--plugins-dir",
        utf8(plugins),
        "--store",
        utf8(store),
        "--isolate",
        "--call-timeout",
        call_timeout,
        "--json",
    ];
    all.extend_from_slice(args);
    run_host(&all, &[("ATRS_PLUGIN_RUNNER", utf8(plugin_runner()))])
}

fn wait_for(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

/// A stand-in for `atrs-plugin-runner` that writes down how it was started — its
/// process id, arguments and environment — then becomes the real runner.
struct RecordingRunner {
    dir: tempfile::TempDir,
}

impl RecordingRunner {
    fn new() -> RecordingRunner {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("runner.sh");
        let log = dir.path().join("runner.log");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n{{ echo \"pid $$\"; echo \"args $*\"; /usr/bin/env; echo end; }} >> '{}'\nexec '{}' \"$@\"\n",
                log.display(),
                plugin_runner().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        RecordingRunner { dir }
    }

    fn program(&self) -> PathBuf {
        self.dir.path().join("runner.sh")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("runner.log")).unwrap_or_default()
    }

    /// The process ids of the runners started so far.
    fn pids(&self) -> Vec<u32> {
        self.log()
            .lines()
            .filter_map(|l| l.strip_prefix("pid ")?.parse().ok())
            .collect()
    }
}

#[test]
fn every_command_runs_isolated_and_answers_as_in_process() {
    let mut s = isolated();
    let runner = RecordingRunner::new();
    s.set_env("ATRS_PLUGIN_RUNNER", utf8(&runner.program()));

    let added = s.add_device("Reports", &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", shown(&added));
    let result = added.result().expect("a result line");
    assert_eq!(result["saved"], true, "{result:#}");
    assert_eq!(result["user_principal_name"], defaults::USER_UPN);
    assert!(!runner.pids().is_empty(), "add ran the plugin in a runner");

    let cached = s.run(&["token", "Reports"], WAIT);
    assert_eq!(cached.code, Some(0), "{}", shown(&cached));
    assert_eq!(cached.result().unwrap()["source"], "cache");
    let refreshed = s.run(&["token", "Reports", "--force"], WAIT);
    assert_eq!(refreshed.code, Some(0), "{}", shown(&refreshed));
    assert_eq!(refreshed.result().unwrap()["source"], "refreshed");

    let sent = s.run(&["send-test", "Reports", "--to", "boss@contoso.com"], WAIT);
    assert_eq!(sent.code, Some(0), "{}", shown(&sent));
    assert_eq!(s.mock.sent_items().len(), 1);

    let files = tempfile::tempdir().unwrap();
    let report = files.path().join("report.csv");
    std::fs::write(&report, "month,total\n2026-11,42\n").unwrap();
    let uploaded = s.run(
        &["upload", "Reports", utf8(&report), "--to-folder", "Reports"],
        WAIT,
    );
    assert_eq!(uploaded.code, Some(0), "{}", shown(&uploaded));
    assert_eq!(s.mock.drive_items().len(), 1);

    let accounts = s.run(&["accounts"], WAIT);
    assert_eq!(accounts.code, Some(0), "{}", shown(&accounts));
    let listed = accounts.result().unwrap();
    assert_eq!(
        listed["accounts"][0]["health"]["state"], "healthy",
        "{listed:#}"
    );

    let removed = s.run(&["remove", "Reports"], WAIT);
    assert_eq!(removed.code, Some(0), "{}", shown(&removed));
    let none = s.run(&["token", "Reports"], WAIT);
    assert_ne!(none.code, Some(0), "{}", shown(&none));
    println!(
        "{} runner(s) started for add, token ×2, send-test, upload, accounts, remove",
        runner.pids().len()
    );
}

#[test]
fn the_runner_gets_no_secret_in_its_arguments_or_environment() {
    let mut s = isolated();
    let runner = RecordingRunner::new();
    s.set_env("ATRS_PLUGIN_RUNNER", utf8(&runner.program()));
    s.set_env("PGPASSWORD", "pg-password-in-env");
    s.set_env("ATRS_STORE_PASSWORD", "store-password-in-env");
    s.set_env("ATRS_OFFICE365_REQUEST_TIMEOUT", "20");
    // A confidential app: its client secret goes from the host's standard input to the
    // store, and reaches the plugin only through the runner's service calls.
    let args: Vec<String> = s
        .add_args(
            "Confidential",
            "browser",
            &["--set-secret", "client_secret"],
        )
        .into_iter()
        .map(|a| a.replace(defaults::DESKTOP_CLIENT_ID, defaults::WEB_CLIENT_ID))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut host = s.spawn(&args);
    host.write_line(defaults::WEB_CLIENT_SECRET);
    let action = host.next_of_type("action", WAIT).expect("an action line");
    let (_, location) = http_get_location(action["url"].as_str().unwrap());
    host.write_line(&location.expect("a redirect"));
    let added = host.finish(WAIT);
    assert_eq!(added.code, Some(0), "{}", shown(&added));
    let token = s.run(&["token", "Confidential", "--force"], WAIT);
    assert_eq!(token.code, Some(0), "{}", shown(&token));

    let log = runner.log();
    assert!(log.contains("pid "), "a runner was started: {log}");
    for secret in [
        "pg-password-in-env",
        "store-password-in-env",
        defaults::WEB_CLIENT_SECRET,
    ] {
        assert!(!log.contains(secret), "{secret} reached the runner:\n{log}");
    }
    assert!(
        log.contains("ATRS_OFFICE365_REQUEST_TIMEOUT=20"),
        "the plugin's own setting reaches it:\n{log}"
    );
    assert!(
        !log.contains("ATRS_STORE"),
        "no store setting reaches it:\n{log}"
    );
    assert!(
        !log.contains(utf8(s.store())),
        "the store's location reaches it neither:\n{log}"
    );
}

#[test]
fn the_browser_paste_verifies_isolated() {
    let s = isolated();
    let args = s.add_args("Browser", "browser", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut host = s.spawn(&args);
    let action = host.next_of_type("action", WAIT).expect("an action line");
    assert_eq!(action["action"], "open_browser", "{action}");
    let (status, location) = http_get_location(action["url"].as_str().unwrap());
    assert_eq!(status, 302);
    host.write_line(&location.expect("a redirect"));
    let finished = host.finish(WAIT);
    assert_eq!(finished.code, Some(0), "{}", shown(&finished));
    assert_eq!(finished.result().unwrap()["saved"], true);
    let token = s.run(&["token", "Browser"], WAIT);
    assert_eq!(token.code, Some(0), "{}", shown(&token));
}

#[test]
fn a_rotated_refresh_token_carries_from_one_isolated_host_process_to_the_next() {
    let s = isolated();
    // Every refresh hands out a new refresh token, and the old one is refused after:
    // the second process works only if the first one's rotation reached the store.
    s.mock.set_refresh_policy(RefreshPolicy {
        refuse_rotated: true,
        ..RefreshPolicy::default()
    });
    let added = s.add_device("Reports", &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", shown(&added));
    let before = s.files().secrets_of("Reports").clone();
    let first = s.run(&["token", "Reports", "--force"], WAIT);
    assert_eq!(first.code, Some(0), "{}", shown(&first));
    let between = s.files().secrets_of("Reports").clone();
    assert_ne!(before, between, "the first refresh saved the rotated token");
    let second = s.run(&["token", "Reports", "--force"], WAIT);
    assert_eq!(second.code, Some(0), "{}", shown(&second));
    assert_eq!(second.result().unwrap()["source"], "refreshed");
    assert_eq!(
        s.mock
            .stats()
            .account_grant_count(defaults::USER_UPN, "refresh_token"),
        2
    );
}

#[test]
fn ctrl_c_at_the_terminal_mid_upload_cancels_in_the_runner_and_leaves_nothing() {
    let mut s = isolated();
    let runner = RecordingRunner::new();
    s.set_env("ATRS_PLUGIN_RUNNER", utf8(&runner.program()));
    let added = s.add_device("Reports", &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", shown(&added));

    let files = tempfile::tempdir().unwrap();
    let big = files.path().join("archive.bin");
    let chunk: Vec<u8> = (0..MB).map(|i| (i * 31 % 251) as u8).collect();
    let mut content = Vec::with_capacity((60 * MB) as usize);
    for _ in 0..60 {
        content.extend_from_slice(&chunk);
    }
    std::fs::write(&big, &content).unwrap();
    s.mock
        .set_fault(Endpoint::Upload, Fault::Delay(Duration::from_millis(300)));

    let mut job = s.spawn_as_job(&["upload", "Reports", utf8(&big), "--to-folder", "Reports"]);
    loop {
        let progress = job.next_of_type("progress", WAIT).expect("progress lines");
        if progress["bytes_sent"].as_u64().unwrap_or(0) > 0 {
            assert_eq!(progress["bytes_total"], 60 * MB, "{progress}");
            break;
        }
    }
    let at = Instant::now();
    job.interrupt_group();
    let finished = job.finish(Duration::from_secs(20));
    let took = at.elapsed();
    println!("Ctrl-C to exit (isolated, 60 MB upload): {took:?}");
    assert_eq!(finished.code, Some(4), "{}", shown(&finished));
    let error = &finished.result().expect("a result line")["error"];
    assert_eq!(error["kind"], "cancelled", "{}", shown(&finished));
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("nothing was sent"),
        "{}",
        shown(&finished)
    );
    assert_eq!(
        s.mock.open_upload_sessions(),
        0,
        "the upload session was deleted"
    );
    assert!(s.mock.drive_items().is_empty(), "no file was left");
    // The runner leaves with its host.
    for pid in runner.pids() {
        wait_for("the runner to end", WAIT, || {
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|stat| stat.contains(") Z "))
        });
    }
}

/// The crash table from the command line: each way a plugin can take its process
/// down fails the command with what happened, and the next command works.
#[test]
fn a_crashing_plugin_fails_the_command_and_the_next_command_works() {
    let plugins = plugins_dir(&[fixture("crashes")]);
    let store = tempfile::tempdir().unwrap();
    let validate = |crash: &str| {
        let set = format!("crash={crash}");
        let started = Instant::now();
        let out = run_isolated(
            plugins.path(),
            store.path(),
            "2",
            &["validate", "crashes", "--set", &set],
        );
        (out, started.elapsed())
    };
    let (fine, _) = validate("fine");
    assert_eq!(fine.status.code(), Some(0), "{fine:?}");
    for (crash, expected) in [
        ("abort", "SIGABRT"),
        ("stack", "SIGABRT"),
        ("null", "SIGSEGV"),
        ("exit", "exited with code 3"),
        ("loop", "did not answer"),
    ] {
        let (out, took) = validate(crash);
        let result: Value = json_result(&out);
        let error = &result["error"];
        println!(
            "{crash}: exit {:?} after {} ms: {} | {}",
            out.status.code(),
            took.as_millis(),
            error["message"].as_str().unwrap_or_default(),
            error["hint"].as_str().unwrap_or_default()
        );
        assert!(
            matches!(out.status.code(), Some(1..=4)),
            "{crash}: the host ended on its own: {out:?}"
        );
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{crash}: {result:#}");
        assert_eq!(error["origin"], "host", "{crash}: {result:#}");
        let (after, _) = validate("fine");
        assert_eq!(after.status.code(), Some(0), "after {crash}: {after:?}");
    }
}

/// Isolated, the host never opens a plugin library: runners describe the folder and
/// serve the calls. A library that hangs or panics while it loads is refused with what
/// happened, and the others are listed as usual.
#[test]
fn the_isolated_host_never_maps_a_plugin_library_and_a_bad_one_is_refused() {
    let plugins = plugins_dir(&[
        atrs_e2e::office365_library(),
        fixture("init-loops"),
        fixture("init-panics"),
    ]);
    let store = tempfile::tempdir().unwrap();
    let listed = run_isolated(plugins.path(), store.path(), "3", &["plugins"]);
    let result = json_result(&listed);
    println!("{result:#}");
    let by_file = |name: &str| {
        result["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["path"].as_str().unwrap_or_default().contains(name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} listed: {result:#}"))
    };
    assert_eq!(by_file("libatrs_office365")["status"], "loaded");
    assert_eq!(by_file("init_loops")["reason"], "hung_while_loading");
    assert_eq!(by_file("init_panics")["reason"], "init_panicked");

    // A host waiting on a sign-in holds the plugin in its runner only.
    let s = Sandbox::new(
        atrs_mock_idp::MockConfig {
            auto_approve_delay: Duration::from_secs(600),
            ..atrs_mock_idp::MockConfig::default()
        },
        &[],
    )
    .with_flag("--isolate");
    let args = s.add_args("Waiting", "device", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut host = s.spawn(&args);
    let code = host
        .next_of_type("action", WAIT)
        .expect("the code is shown");
    assert_eq!(code["action"], "enter_code", "{code}");
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", host.pid())).unwrap();
    assert!(
        !maps.contains("libatrs_office365"),
        "the host mapped the plugin library itself"
    );
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", host.pid())).unwrap();
    let runner_maps: String = children
        .split_whitespace()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/maps")).ok())
        .collect();
    assert!(
        runner_maps.contains("libatrs_office365"),
        "a runner holds the plugin: children {children:?}"
    );
    host.kill();
}

/// The README's demo with `--isolate`: the menu's whole Add → Verify → Save & Close,
/// the plugin in its runner.
#[test]
fn the_demo_runs_isolated() {
    let plugins = plugins_dir(&[atrs_e2e::office365_library()]);
    let runner = RecordingRunner::new();
    let out = run_host(
        &[
            "--plugins-dir",
            utf8(plugins.path()),
            "--isolate",
            "demo",
            "--approve-after",
            "0",
        ],
        &[("ATRS_PLUGIN_RUNNER", utf8(&runner.program()))],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("✓ Verified: signed in as Adele Vance"),
        "{stdout}"
    );
    assert!(stdout.contains("✓ Saved."), "{stdout}");
    assert!(
        runner
            .log()
            .lines()
            .any(|l| l.starts_with("args --describe")),
        "the folder was described by a runner"
    );
    assert!(
        runner
            .log()
            .lines()
            .any(|l| l.starts_with("args ") && !l.contains("--describe")),
        "the plugin was served by a runner"
    );
}

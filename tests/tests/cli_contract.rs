//! The command line's contract, through the real binary: `--json` puts JSON only on
//! stdout for every command; a closed pipe ends a command quietly with its usual exit
//! code; nothing that needs a terminal exits 0 without one; standard input that ends
//! ends the wait at once; the store's problems are found before any sign-in and worded
//! the same everywhere; accounts, remove and check speak to a person.

use std::{
    io::{BufRead, BufReader, Write},
    ops::Deref,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use atrs_e2e::sandbox::Sandbox;
use atrs_e2e::{
    add_office365_args, host_binary, json_lines, json_result, office365_library, plugins_dir,
    run_host,
};
use atrs_mock_idp::{defaults, DeviceOutcome, Endpoint, Fault};
use serde_json::Value;

/// A sandbox whose mock approves at once and asks for a poll every second.
struct Setup(Sandbox);

impl Deref for Setup {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.0
    }
}

fn setup() -> Setup {
    Setup(Sandbox::approving(1, &[]))
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

impl Setup {
    fn base(&self) -> Vec<String> {
        self.folder_args().map(String::from).to_vec()
    }

    fn host(&self, args: &[&str]) -> Output {
        let mut all = self.base();
        all.extend(args.iter().map(|s| s.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        run_host(&all, &[])
    }

    /// `add office365` for the desktop app against the mock, with `extra` flags.
    fn add_args(&self, name: &str, method: &str, extra: &[&str]) -> Vec<String> {
        let mut args = self.base();
        args.extend(add_office365_args(
            name,
            defaults::DESKTOP_CLIENT_ID,
            defaults::TENANT_ID,
            None,
            &self.mock.base_url(),
            method,
        ));
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn add(&self, name: &str, extra: &[&str]) -> Output {
        let args = self.add_args(name, "device", extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_host(&args, &[])
    }

    /// Runs `args` with `input` on stdin, then stdin closed; must end within `within`.
    fn with_stdin(&self, args: &[String], input: &str, within: Duration) -> Output {
        let mut child = Command::new(host_binary())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("host starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        wait_within(child, within)
    }
}

/// Waits for `child` at most `within` (killing it and failing if it is still running).
fn wait_within(mut child: std::process::Child, within: Duration) -> Output {
    let deadline = Instant::now() + within;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {within:?}; stderr: {}", stderr(&out));
        }
        std::thread::park_timeout(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn json_puts_only_json_on_stdout_for_every_command() {
    let s = setup();
    let commands: Vec<Vec<&str>> = vec![
        vec!["plugins"],
        vec!["form", "office365"],
        vec!["validate", "office365", "--set", "account_name=A"],
        vec!["accounts"],
        vec!["accounts", "--all"],
        vec!["remove", "Nobody"],
        vec!["menu"],
        vec!["demo", "--approve-after", "0"],
        vec!["check", "/etc/passwd"],
        vec!["add", "nosuchplugin"],
        vec!["no-such-command"],
    ];
    for command in commands {
        let mut args = vec!["--json"];
        args.extend(&command);
        let out = s.host(&args);
        let lines = json_lines(&out);
        assert!(
            !lines.is_empty(),
            "{command:?}: no JSON; stderr: {}",
            stderr(&out)
        );
        let result = json_result(&out);
        assert_eq!(
            result["ok"] == true,
            out.status.success(),
            "{command:?}: the result says how it ended: {result}"
        );
    }
    let out = s.add("Reports", &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_result(&out)["saved"], true);
}

#[test]
fn the_demo_with_json_keeps_its_transcript_off_stdout() {
    let plugins = plugins_dir(&[office365_library()]);
    let out = run_host(
        &[
            "--plugins-dir",
            path(plugins.path()),
            "--json",
            "demo",
            "--approve-after",
            "0",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out).len(), 1, "only the result line");
    assert_eq!(json_result(&out)["saved"], true);
    assert!(
        stderr(&out).contains("✓ Saved."),
        "the transcript is on stderr"
    );
    assert!(
        !stderr(&out).contains("Press O"),
        "nothing reads keys in the played demo"
    );
}

/// Runs `args` with stdout (and stderr, if `both`) read for one line, then closed.
fn first_line_then_closed(args: &[&str], both: bool) -> (String, std::process::Child) {
    let mut child = Command::new(host_binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if both { Stdio::piped() } else { Stdio::null() })
        .spawn()
        .expect("host starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    drop(child.stderr.take());
    (first, child)
}

#[test]
fn a_closed_pipe_ends_the_demo_and_every_command_quietly_with_the_usual_exit_code() {
    let plugins = plugins_dir(&[office365_library()]);
    let store = tempfile::tempdir().unwrap();
    let dirs = [
        "--plugins-dir",
        path(plugins.path()),
        "--store",
        path(store.path()),
    ];
    // demo | head -1
    let mut demo = dirs.to_vec();
    demo.extend(["demo", "--approve-after", "0"]);
    let (first, child) = first_line_then_closed(&demo, false);
    assert!(first.starts_with("ATRS demo"), "{first}");
    let out = wait_within(child, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(0),
        "no panic (101), the demo's own exit"
    );
    // Commands whose reader is gone before they print.
    for command in [
        vec!["plugins"],
        vec!["form", "office365"],
        vec!["accounts"],
        vec!["--json", "accounts"],
    ] {
        let mut args = dirs.to_vec();
        args.extend(&command);
        let mut child = Command::new(host_binary())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = wait_within(child, Duration::from_secs(30));
        assert_eq!(out.status.code(), Some(0), "{command:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "{command:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn the_mock_idp_stops_quietly_on_ctrl_c_after_its_pipes_closed() {
    let (first, child) = first_line_then_closed(&["mock-idp"], true);
    let announced: Value = serde_json::from_str(&first).expect("the first line is JSON");
    assert!(announced["base_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = wait_within(child, Duration::from_secs(30));
    assert_eq!(
        out.status.code(),
        Some(0),
        "no panic (101) writing to the closed stderr"
    );
}

#[test]
fn the_mock_idp_help_lists_its_own_flags_and_control_endpoints_only() {
    let out = run_host(&["mock-idp", "--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--port",
        "--approve",
        "--directory",
        "--interval",
        "/_mock/faults",
        "/_mock/outcome/device",
    ] {
        assert!(help.contains(flag), "{flag} missing:\n{help}");
    }
    for flag in [
        "--store",
        "--plugins-dir",
        "--json",
        "--no-browser",
        "--call-timeout",
    ] {
        assert!(!help.contains(flag), "{flag} does nothing there:\n{help}");
    }
}

#[test]
fn commands_that_need_a_terminal_refuse_without_one() {
    let s = setup();
    for args in [vec!["menu"], vec!["demo", "--interactive"], vec![]] {
        let out = s.host(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("terminal"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn stdin_that_ends_ends_the_browser_wait_at_once() {
    let s = setup();
    s.mock.set_device_outcome(DeviceOutcome::Ignore);
    let within = Duration::from_secs(20);
    // A refused paste, then the end of input: exit 2 (the hang).
    let args = s.add_args("Browser", "browser", &[]);
    let out = s.with_stdin(&args, "http://localhost/?code=x&state=forged\n", within);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("The pasted address was refused"),
        "{}",
        stderr(&out)
    );
    // Nothing pasted at all: exit 4.
    let out = s.with_stdin(&args, "", within);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Standard input ended"),
        "{}",
        stderr(&out)
    );
    // --paste ADDRESS refused: no more input will come.
    let args = s.add_args(
        "Browser",
        "browser",
        &["--paste", "http://localhost/?code=x&state=forged"],
    );
    let out = s.with_stdin(&args, "", within);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // --set-secret with nothing on stdin: exit 2 before any sign-in.
    let args = s.add_args("Browser", "browser", &["--set-secret", "client_secret"]);
    let out = s.with_stdin(&args, "", within);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--set-secret client_secret"),
        "{}",
        stderr(&out)
    );
    // The secret given, then input ends before the paste.
    let out = s.with_stdin(&args, "a-secret-value\n", within);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(!stderr(&out).contains("a-secret-value"));
}

#[test]
fn a_secret_given_with_set_exits_2_before_any_request() {
    let s = setup();
    let args = s.add_args(
        "Argv",
        "device",
        &["--set", "client_secret=hunter2-on-the-command-line"],
    );
    let out = s.with_stdin(&args, "", Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("Client secret is a secret"), "{err}");
    assert!(err.contains("--set-secret client_secret"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(s.mock.stats().total(), 0, "nothing was sent anywhere");
}

#[test]
fn a_secret_from_stdin_never_touches_the_command_line_and_is_saved() {
    let s = setup();
    let mut args = s.base();
    args.extend(add_office365_args(
        "Web",
        defaults::WEB_CLIENT_ID,
        defaults::TENANT_ID,
        None,
        &s.mock.base_url(),
        "browser",
    ));
    args.extend([
        "--set-secret".into(),
        "client_secret".into(),
        "--json".into(),
    ]);
    let mut child = Command::new(host_binary())
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", defaults::WEB_CLIENT_SECRET).unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let action: Value = loop {
        let line: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        if line["type"] == "action" {
            break line;
        }
    };
    let (_, location) = atrs_e2e::http_get_location(action["url"].as_str().unwrap());
    writeln!(stdin, "{}", location.unwrap()).unwrap();
    drop(stdin);
    let out = wait_within(child, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let secrets = atrs_e2e::sandbox::StoreFiles::read(s.store())
        .secrets
        .to_string();
    assert!(secrets.contains(defaults::WEB_CLIENT_SECRET));
}

#[test]
fn adding_an_existing_name_is_refused_before_sign_in_unless_replace() {
    let s = setup();
    assert_eq!(s.add("Reports", &[]).status.code(), Some(0));
    let requests = s.mock.stats().total();
    let out = s.add("Reports", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("already saved"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--replace"), "{}", stderr(&out));
    assert_eq!(s.mock.stats().total(), requests, "no sign-in was started");
    let out = s.add("Reports", &["--replace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_plugin_error_is_printed_once_with_a_command_line_hint() {
    let s = setup();
    s.mock.set_device_outcome(DeviceOutcome::Decline);
    let out = s.add("Reports", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stderr(&out);
    let error = text
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .expect("an error line")
        .to_owned();
    assert_eq!(
        text.matches(error.as_str()).count(),
        1,
        "printed once:\n{text}"
    );
    assert!(!text.contains("[office365] warn"), "{text}");
    assert!(
        !text.contains("Click Verify"),
        "a menu hint on the command line:\n{text}"
    );
    assert!(text.contains("Run the command again"), "{text}");
}

#[test]
fn a_slow_discovery_times_out_with_words_that_fit() {
    let s = setup();
    s.mock
        .set_fault(Endpoint::Discovery, Fault::Delay(Duration::from_secs(20)));
    let mut args = s.add_args("Reports", "device", &[]);
    let at = args.iter().position(|a| a == "--timeout").unwrap();
    args[at + 1] = "2".into();
    let out = s.with_stdin(&args, "", Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("did not start within 2 s"), "{text}");
    assert!(
        !text.contains("Sign in sooner"),
        "no code was ever shown:\n{text}"
    );
}

/// Writes `settings.json` of `store` with `content`: a JSON store as the earlier version
/// left it, which the first open imports.
fn settings_file(store: &Path, content: &str) {
    std::fs::write(store.join("settings.json"), content).unwrap();
}

#[test]
fn damaged_and_newer_store_files_are_found_before_sign_in_and_worded_alike() {
    for (content, words) in [
        ("{\"version\": 1, \"plugins\": ", "is damaged"),
        (
            "{\"version\": 99, \"plugins\": {}}",
            "written by a newer version",
        ),
    ] {
        let s = setup();
        settings_file(s.store(), content);
        let mut messages = Vec::new();
        for args in [vec!["accounts"], vec!["remove", "Reports"]] {
            let out = s.host(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
            messages.push(stderr(&out));
        }
        let out = s.add("Reports", &[]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(
            s.mock.stats().total(),
            0,
            "no sign-in starts on a damaged store"
        );
        messages.push(stderr(&out));
        for m in &messages {
            assert!(m.contains(words), "{m}");
            assert_eq!(m, &messages[0], "worded the same everywhere");
        }
    }
}

#[test]
fn a_file_given_as_the_store_is_named() {
    let s = setup();
    let file = s.store().join("afile");
    std::fs::write(&file, "").unwrap();
    let out = run_host(&["--store", path(&file), "accounts"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains(&format!("{} is not a folder", file.display())),
        "{text}"
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[cfg(unix)]
#[test]
fn a_store_others_may_change_is_refused_saying_which_rule_and_how_to_fix_it() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup();
    assert_eq!(s.add("Reports", &[]).status.code(), Some(0));
    let store = s.store();
    let accounts_in = |dir: &Path| {
        run_host(
            &[
                "--plugins-dir",
                path(s.plugins()),
                "--store",
                path(dir),
                "accounts",
            ],
            &[],
        )
    };

    // Writable by others: refused, with the chmod that fixes it; the mode is left alone.
    std::fs::set_permissions(store, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = accounts_in(store);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains(&format!(
            "{} is not safe to keep accounts in: it is writable by group or others (mode 777)",
            store.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("chmod 755 {}", store.display())),
        "{text}"
    );
    let mode = std::fs::metadata(store).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o777, "the folder's mode is left as it was");
    std::fs::set_permissions(store, std::fs::Permissions::from_mode(0o700)).unwrap();

    // A database file others may write.
    let db = store.join("accounts.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o666)).unwrap();
    let text = stderr(&accounts_in(store));
    assert!(
        text.contains(&format!("{} is not safe", db.display())),
        "{text}"
    );
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A symbolic link to the store.
    let parent = tempfile::tempdir().unwrap();
    let link = parent.path().join("link");
    std::os::unix::fs::symlink(store, &link).unwrap();
    let text = stderr(&accounts_in(&link));
    assert!(text.contains("it is a symbolic link"), "{text}");
    assert!(
        text.contains(&format!("({})", store.display())),
        "names the real folder: {text}"
    );

    // Owned by another user (only root can make one).
    if is_root() {
        std::os::unix::fs::chown(store, Some(65534), Some(65534)).unwrap();
        let text = stderr(&accounts_in(store));
        assert!(
            text.contains("it belongs to another user (uid 65534)"),
            "{text}"
        );
        assert!(
            text.contains(&format!("chown 0 {}", store.display())),
            "{text}"
        );
        std::os::unix::fs::chown(store, Some(0), Some(0)).unwrap();
    } else {
        println!("skipped the other-owner case: making a folder another user owns needs root");
    }
    let out = accounts_in(store);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed
            .lines()
            .any(|l| l.contains("Reports") && l.contains("office365")),
        "{listed}"
    );
}

#[test]
fn accounts_show_local_dates_and_hide_internal_keys_unless_all() {
    let s = setup();
    assert_eq!(s.add("Reports", &[]).status.code(), Some(0));
    let out = s.host(&["accounts", "Reports"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let verified = text
        .lines()
        .find(|l| l.trim_start().starts_with("verified:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        verified.contains(" ago)") && verified.contains('-'),
        "{verified}"
    );
    assert!(
        !text.contains("schema_version") && !text.contains("written_by"),
        "{text}"
    );
    let all = s.host(&["accounts", "--all"]);
    assert!(String::from_utf8_lossy(&all.stdout).contains("schema_version"));
}

#[test]
fn remove_suggests_a_near_name_and_check_advises_on_a_non_plugin_file() {
    let s = setup();
    assert_eq!(s.add("Reports", &[]).status.code(), Some(0));
    // "reports" is the same name ("names compare without case"); a typo is not.
    let out = s.host(&["remove", "Reprots"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Did you mean \"Reports\"?"),
        "{}",
        stderr(&out)
    );
    let out = run_host(&["check", "/etc/passwd"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("plugins folder"), "{text}");
    assert!(text.contains("/etc/passwd is not one"), "{text}");
}

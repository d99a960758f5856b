//! The scripted commands as a person meets them (issue 23): what they say when a name,
//! a plugin or a folder is wrong, what `--json` prints for usage and help, and what a
//! Ctrl-C or a race between two processes leaves behind. Each test drives the real host
//! binary and plugin against the mock over 127.0.0.1.

use std::time::{Duration, Instant};

use atrs_e2e::{json_result, run_host, sandbox::Sandbox, HostProcess};
use atrs_mock_idp::{Endpoint, Fault};
use atrs_test_host::store::Store;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(90);

/// A sandbox with one saved account, `name`.
fn with_account(name: &str) -> Sandbox {
    let sandbox = Sandbox::instant(&[]);
    let added = sandbox.add_device(name, &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    sandbox
}

#[test]
fn a_wrong_plugin_is_named_instead_of_suggesting_the_same_account() {
    let sandbox = with_account("Mailer");
    let run = sandbox.run(&["remove", "Mailer", "--plugin", "nope"], WAIT);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let result = run.result().unwrap();
    let message = result["error"]["message"].as_str().unwrap_or_default();
    let hint = result["error"]["hint"].as_str().unwrap_or_default();
    assert!(message.contains("\"nope\""), "names the plugin: {result}");
    assert!(
        !hint.contains("Did you mean \"Mailer\""),
        "not the account typed: {result}"
    );
    assert!(hint.contains("office365"), "names the owner: {result}");
    // Nothing was removed.
    assert!(!sandbox.files().settings_of("Mailer").is_null());
}

#[test]
fn reading_a_missing_store_folder_says_so_and_creates_nothing() {
    let sandbox = Sandbox::instant(&[]);
    let missing = sandbox.store().join("no-such-folder");
    let missing_arg = missing.to_str().unwrap();
    let plugins = sandbox.plugins().to_str().unwrap();
    for command in [
        &["accounts"][..],
        &["token", "Reports"][..],
        &["refresh", "--all"][..],
        &["remove", "Reports"][..],
    ] {
        let mut args = vec!["--json", "--plugins-dir", plugins, "--store", missing_arg];
        args.extend_from_slice(command);
        let run = run_host(&args, &[]);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {run:?}");
        let result = json_result(&run);
        let message = result["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("does not exist"), "{args:?}: {result}");
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}

#[test]
fn check_on_a_folder_says_it_is_a_folder() {
    let sandbox = Sandbox::instant(&[]);
    let run = sandbox.run(&["check", sandbox.plugins().to_str().unwrap()], WAIT);
    assert_eq!(run.code, Some(2), "{}{}", run.stdout, run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("is a folder"), "{all}");
    assert!(!all.contains("There is no file"), "{all}");
}

#[test]
fn json_help_keeps_stdout_json_and_a_json_usage_error_names_the_argument() {
    let help = run_host(&["--json", "--help"], &[]);
    assert_eq!(help.status.code(), Some(0), "{help:?}");
    let result = json_result(&help);
    assert_eq!(result["command"], "help", "{result}");
    assert!(
        result["text"].as_str().unwrap().contains("Usage:"),
        "{result}"
    );
    assert!(String::from_utf8_lossy(&help.stderr).contains("Usage:"));

    let wrong = run_host(&["--json", "refesh"], &[]);
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    let result = json_result(&wrong);
    let message = result["error"]["message"].as_str().unwrap();
    assert!(message.contains("'refesh'"), "names it: {result}");
    let hint = result["error"]["hint"].as_str().unwrap();
    assert!(hint.contains("refresh"), "passes on clap's tip: {result}");
}

/// Starts `command` against `sandbox` with the token endpoint holding its answer back,
/// waits until the request is at the mock, sends Ctrl-C: the exit code and the result.
fn interrupted_while_renewing(sandbox: &Sandbox, command: &[&str]) -> (Option<i32>, Value) {
    sandbox
        .mock
        .set_fault_times(Endpoint::Token, Fault::Delay(Duration::from_secs(60)), 1);
    let mut args = vec!["--json"];
    args.extend_from_slice(&sandbox.folder_args());
    args.extend_from_slice(command);
    let mut host = HostProcess::spawn(&args, &[]);
    let deadline = Instant::now() + WAIT;
    while sandbox.mock.fault_armed(Endpoint::Token) {
        assert!(
            Instant::now() < deadline,
            "{command:?} never reached the token endpoint"
        );
        std::thread::park_timeout(Duration::from_millis(20));
    }
    let at = Instant::now();
    host.interrupt();
    let code = host.wait(Duration::from_secs(10));
    println!("{command:?}: Ctrl-C to exit took {:?}", at.elapsed());
    sandbox.mock.clear_faults();
    let result = host
        .seen
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|v| v["type"] == "result")
        .unwrap_or(Value::Null);
    (code, result)
}

#[test]
fn ctrl_c_during_token_or_refresh_ends_with_exit_4_and_a_result_line() {
    let sandbox = with_account("Reports");
    for command in [
        &["token", "Reports", "--force"][..],
        &["refresh", "Reports", "--force"][..],
        &["refresh", "--all", "--force"][..],
    ] {
        let (code, result) = interrupted_while_renewing(&sandbox, command);
        assert_eq!(code, Some(4), "{command:?}: {result}");
        assert_eq!(result["ok"], false, "{command:?}: {result}");
        assert_eq!(
            result["error"]["message"], "Stopped (Ctrl-C).",
            "{command:?}: {result}"
        );
    }
    // The account is intact: a token comes afterwards.
    let after = sandbox.run(&["token", "Reports"], WAIT);
    assert_eq!(after.code, Some(0), "{}", after.stderr);
}

#[test]
fn two_adds_of_one_name_at_once_save_one_and_refuse_the_other() {
    // Both processes pass the first name check before either has verified (the mock
    // lets a device code be polled only after a second).
    let sandbox = Sandbox::approving(1, &[]);
    let args = sandbox.add_args("Shared", "device", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = sandbox.spawn(&args);
    let second = sandbox.spawn(&args);
    let runs = [first.finish(WAIT), second.finish(WAIT)];
    let codes: Vec<Option<i32>> = runs.iter().map(|r| r.code).collect();
    let saved = runs.iter().filter(|r| r.code == Some(0)).count();
    assert_eq!(saved, 1, "exactly one saved: {codes:?}");
    let loser = runs.iter().find(|r| r.code != Some(0)).unwrap();
    assert_eq!(loser.code, Some(2), "{}{}", loser.stdout, loser.stderr);
    let result = loser.result().unwrap();
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("already saved"),
        "{result}"
    );
}

#[test]
fn account_names_are_found_trimmed_and_without_case_and_listed_in_natural_order() {
    let sandbox = with_account("  Spaced  ");
    for typed in ["  Spaced  ", "Spaced", "spaced"] {
        let run = sandbox.run(&["token", typed], WAIT);
        assert_eq!(run.code, Some(0), "token {typed:?}: {}", run.stderr);
        assert_eq!(run.result().unwrap()["account"], "Spaced");
    }
    // One name whatever its case: a second add is refused.
    let again = sandbox.add_device("SPACED", &[], WAIT);
    assert_eq!(again.code, Some(2), "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.contains("already saved"), "{}", again.stdout);

    for name in ["Account 10", "Account 2", "account 1"] {
        let added = sandbox.add_device(name, &[], WAIT);
        assert_eq!(added.code, Some(0), "{}", added.stderr);
    }
    let listed = sandbox.run(&["accounts"], WAIT);
    let names: Vec<String> = listed.result().unwrap()["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["account 1", "Account 2", "Account 10", "Spaced"]);
}

#[test]
fn send_splits_address_lists_and_checks_every_address_before_sending() {
    let sandbox = with_account("Mailer");
    let sent = sandbox.run(
        &[
            "send",
            "Mailer",
            "--to",
            "a@example.com, c@example.com",
            "--subject",
            "Hi",
            "--body",
            "x",
        ],
        WAIT,
    );
    assert_eq!(sent.code, Some(0), "{}{}", sent.stdout, sent.stderr);
    let items = sandbox.mock.sent_items();
    assert_eq!(items.len(), 1);
    let to: Vec<&str> = items[0].to.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(to, ["a@example.com", "c@example.com"], "two recipients");

    for bad in [
        &["--to", "adele"][..],
        &["--to", ""][..],
        &["--to", "a@example.com", "--cc", "x@"][..],
    ] {
        let mut args = vec!["send", "Mailer", "--subject", "Hi", "--body", "x"];
        args.extend_from_slice(bad);
        let run = sandbox.run(&args, WAIT);
        assert_eq!(run.code, Some(2), "{bad:?}: {}{}", run.stdout, run.stderr);
        let message = run.result().unwrap()["error"]["message"].to_string();
        assert!(message.contains("--"), "names the flag: {message}");
    }
    let refused = sandbox.run(&["send-test", "Mailer", "--to", "adele"], WAIT);
    assert_eq!(
        refused.code,
        Some(2),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
    assert!(refused.result().unwrap()["error"]["message"]
        .to_string()
        .contains("\\\"adele\\\""));
    assert_eq!(sandbox.mock.sent_items().len(), 1, "nothing more went out");
}

#[test]
fn nothing_is_said_twice_and_nothing_empty_goes_out_silently() {
    let sandbox = Sandbox::instant(&[]);
    let added = sandbox.add_device("Mailer", &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    assert_eq!(
        added.stderr.matches("To sign in").count(),
        1,
        "one sign-in line: {}",
        added.stderr
    );

    // One account not renewed is "1 account", not "Some accounts".
    sandbox.mock.set_fault(Endpoint::Token, Fault::Reset);
    let refresh = sandbox.run(&["refresh", "--all", "--force"], WAIT);
    sandbox.mock.clear_faults();
    let message = refresh.result().unwrap()["error"]["message"].to_string();
    assert!(
        message.contains("1 account could not be renewed"),
        "{message}"
    );

    let files = tempfile::tempdir().unwrap();
    let empty = files.path().join("empty.csv");
    std::fs::write(&empty, b"").unwrap();
    let refused = sandbox.run(
        &[
            "send",
            "Mailer",
            "--to",
            "a@example.com",
            "--subject",
            "S",
            "--body",
            "B",
            "--attach",
            empty.to_str().unwrap(),
        ],
        WAIT,
    );
    assert_eq!(
        refused.code,
        Some(2),
        "{}{}",
        refused.stdout,
        refused.stderr
    );
    assert!(
        refused.stdout.contains("empty (0 bytes)"),
        "{}",
        refused.stdout
    );
    assert!(sandbox.mock.sent_items().is_empty());

    let bare = sandbox.run(&["send", "Mailer", "--to", "a@example.com"], WAIT);
    assert_eq!(bare.code, Some(0), "{}{}", bare.stdout, bare.stderr);
    assert!(
        bare.stderr.contains("without a subject and a body"),
        "says so: {}",
        bare.stderr
    );
}

#[test]
fn accounts_is_one_line_each_with_details_by_name_or_all() {
    let sandbox = with_account("Reports");
    for name in ["Mail 2", "Mail 10"] {
        let added = sandbox.add_device(name, &[], WAIT);
        assert_eq!(added.code, Some(0), "{}", added.stderr);
    }
    let listed = sandbox.run(&["accounts"], WAIT);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let rows: Vec<&str> = listed
        .stderr
        .lines()
        .filter(|l| l.contains("office365"))
        .collect();
    assert_eq!(rows.len(), 3, "one line per account:\n{}", listed.stderr);
    assert!(
        rows[0].contains("Mail 2") && rows[1].contains("Mail 10"),
        "{rows:#?}"
    );
    assert!(rows.iter().all(|r| r.contains("healthy")), "{rows:#?}");
    assert!(
        !listed.stderr.contains("verified:"),
        "no details: {}",
        listed.stderr
    );
    assert_eq!(
        listed.result().unwrap()["accounts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let one = sandbox.run(&["accounts", "reports"], WAIT);
    assert_eq!(one.code, Some(0), "{}", one.stderr);
    assert!(one.stderr.contains("verified:"), "{}", one.stderr);
    assert!(
        !one.stderr.contains("verified_at"),
        "shown once: {}",
        one.stderr
    );
    assert!(!one.stderr.contains("Mail 2"), "{}", one.stderr);

    let all = sandbox.run(&["accounts", "--all"], WAIT);
    assert_eq!(all.stderr.matches("verified:").count(), 3, "{}", all.stderr);
}

/// Changes one setting of the saved Office 365 `account` in `sandbox`'s store, as time
/// or another program would.
fn set_setting(sandbox: &Sandbox, account: &str, key: &str, value: &str) {
    let store = Store::open_location(sandbox.store_location(), &sandbox.key_options()).unwrap();
    let mut settings = store.read_settings("office365", account).unwrap().unwrap();
    settings.insert(key.to_owned(), value.to_owned());
    store
        .write_settings("office365", account, &settings)
        .unwrap();
}

#[test]
fn a_past_secret_expiry_is_refused_when_entered_and_an_expired_secret_is_its_own_state() {
    let sandbox = with_account("Reports");
    let refused = sandbox.add_device(
        "Old secret",
        &["--set", "client_secret_expires=2020-01-31"],
        WAIT,
    );
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    let error = refused.result().unwrap()["error"].clone();
    let said = error.to_string();
    assert!(
        said.contains("The client secret expired on 2020-01-31"),
        "says so when entered: {error}"
    );
    assert!(
        said.contains("New client secret"),
        "says what to do: {error}"
    );
    assert!(sandbox.files().settings_of("Old secret").is_null());

    // Time passes: the date saved with the account is behind us.
    set_setting(&sandbox, "Reports", "client_secret_expires", "2020-01-31");
    let listed = sandbox.run(&["accounts"], WAIT);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let row = listed
        .stderr
        .lines()
        .find(|l| l.contains("Reports"))
        .unwrap_or_default();
    assert!(
        row.contains("app credential expired — The client secret expired on 2020-01-31."),
        "{row}"
    );
    assert!(!row.contains("needs sign-in"), "{row}");
    let health = &listed.result().unwrap()["accounts"][0]["health"];
    assert_eq!(health["state"], "credential_expired", "{health}");
    assert!(
        health["fix"]
            .as_str()
            .unwrap()
            .contains("New client secret"),
        "{health}"
    );

    let refreshed = sandbox.run(&["refresh", "--all"], WAIT);
    assert_eq!(refreshed.code, Some(3), "{}", refreshed.stderr);
    let result = refreshed.result().unwrap();
    assert_eq!(
        result["error"]["message"], "1 account has an expired app credential.",
        "{result}"
    );
    assert!(
        !result.to_string().contains("needs sign-in again"),
        "not called a sign-in: {result}"
    );
    assert!(
        refreshed
            .stderr
            .contains("✗ Reports: app credential expired — The client secret expired on 2020-01-31. Fix: Create a new client secret"),
        "{}",
        refreshed.stderr
    );
}

#[test]
fn token_force_against_a_server_that_never_answers_shows_progress_and_stops_at_the_timeout() {
    const TIMEOUT_SECS: u64 = 2;
    let sandbox = Sandbox::instant(&[("ATRS_OFFICE365_REQUEST_TIMEOUT", "2")]);
    let added = sandbox.add_device("Reports", &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    sandbox
        .mock
        .set_fault(Endpoint::Token, Fault::Delay(Duration::from_secs(120)));

    // Not on a terminal: no progress line, and the stated time ends the wait.
    let started = Instant::now();
    let run = sandbox.run(&["token", "Reports", "--force"], WAIT);
    let took = started.elapsed();
    assert_eq!(run.code, Some(5), "{}", run.stderr);
    assert!(
        took < Duration::from_secs(2 * TIMEOUT_SECS),
        "one request timeout, not one per attempt: took {took:?}"
    );
    assert!(!run.stderr.contains("Waiting for"), "{}", run.stderr);

    // On a terminal: a progress line while the request is held, gone afterwards.
    if !atrs_e2e::tmux::available() {
        return;
    }
    let mut args = sandbox.folder_args().to_vec();
    args.extend(["token", "Reports", "--force"]);
    let term = atrs_e2e::tmux::Terminal::start(
        atrs_e2e::host_binary(),
        &args,
        &[("ATRS_OFFICE365_REQUEST_TIMEOUT", "2")],
        80,
        20,
    );
    term.wait_for("Waiting for a new access token for \"Reports\"");
    assert_eq!(term.exit_code(), 5, "{}", term.screen());
    let screen = term.screen();
    assert!(!screen.contains("Waiting for"), "cleared:\n{screen}");
    assert!(screen.contains("did not answer within"), "{screen}");
    sandbox.mock.clear_faults();
}

#[test]
fn refresh_all_force_against_a_server_that_never_answers_renews_a_few_at_a_time() {
    const TIMEOUT_SECS: u64 = 3;
    let sandbox = Sandbox::instant(&[("ATRS_OFFICE365_REQUEST_TIMEOUT", "3")]);
    let names = ["Account 1", "Account 2", "Account 3", "Account 4"];
    for name in names {
        let added = sandbox.add_device(name, &[], WAIT);
        assert_eq!(added.code, Some(0), "{}", added.stderr);
    }
    sandbox
        .mock
        .set_fault(Endpoint::Token, Fault::Delay(Duration::from_secs(120)));
    let started = Instant::now();
    let run = sandbox.run(&["refresh", "--all", "--force"], WAIT);
    let took = started.elapsed();
    sandbox.mock.clear_faults();
    assert_eq!(run.code, Some(5), "{}", run.stderr);
    // One after another: 4 × 3 s; four at once: about one timeout.
    assert!(
        took < Duration::from_secs(2 * TIMEOUT_SECS),
        "took {took:?}:\n{}",
        run.stderr
    );
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("! Account"))
        .collect();
    assert_eq!(lines.len(), 4, "{}", run.stderr);
    for (line, name) in lines.iter().zip(names) {
        assert!(
            line.starts_with(&format!("! {name}: not renewed")),
            "in order: {line}"
        );
    }
    assert_eq!(
        run.result().unwrap()["error"]["message"],
        "4 accounts could not be renewed for now; nothing was changed in them."
    );
}

#[test]
fn account_names_take_unicode_dashes_and_symbols_and_a_refusal_names_the_character() {
    let sandbox = Sandbox::instant(&[]);
    let name = "Rapports – Québec 📊";
    let added = sandbox.add_device(name, &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    let token = sandbox.run(&["token", name, "--force"], WAIT);
    assert_eq!(token.code, Some(0), "{}", token.stderr);
    let listed = sandbox.run(&["accounts"], WAIT);
    assert!(listed.stderr.contains(name), "{}", listed.stderr);

    let refused = sandbox.add_device("Tab\there", &[], WAIT);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    let said = refused.result().unwrap().to_string();
    assert!(said.contains("contains a tab (U+0009)"), "{said}");
    assert!(!said.contains("\\\\u{"), "{said}");
}

#[test]
fn receipts_give_small_sizes_in_bytes_and_count_attachments_in_words() {
    let sandbox = with_account("Mailer");
    let files = tempfile::tempdir().unwrap();
    let six = files.path().join("six.csv");
    std::fs::write(&six, b"a,b,c\n").unwrap();
    let more = files.path().join("more.csv");
    std::fs::write(&more, vec![b'x'; 1228]).unwrap();
    let send = |attach: &[&std::path::Path]| {
        let mut args = vec![
            "send",
            "Mailer",
            "--to",
            "a@example.com",
            "--subject",
            "S",
            "--body",
            "B",
        ];
        for a in attach {
            args.extend(["--attach", a.to_str().unwrap()]);
        }
        let run = sandbox.run(&args, WAIT);
        assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
        run.result().unwrap()["receipt"]["summary"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        send(&[&six]),
        "Sent to a@example.com with 1 attachment (6 bytes)."
    );
    assert_eq!(
        send(&[&six, &more]),
        "Sent to a@example.com with 2 attachments (1.2 KB)."
    );
    let upload = sandbox.run(
        &[
            "upload",
            "Mailer",
            six.to_str().unwrap(),
            "--to-folder",
            "R",
        ],
        WAIT,
    );
    assert_eq!(upload.code, Some(0), "{}", upload.stderr);
    let summary = upload.result().unwrap()["receipt"]["summary"].to_string();
    assert!(summary.contains("six.csv (6 bytes)"), "{summary}");
}

#[test]
fn a_locale_that_is_not_utf8_gets_ascii_and_marks_are_coloured_only_on_a_colour_terminal() {
    let sandbox = Sandbox::instant(&[("LC_ALL", "C")]);
    let added = sandbox.add_device("Reports", &[], WAIT);
    assert_eq!(added.code, Some(0), "{}", added.stderr);
    for command in [
        &["accounts"][..],
        &["accounts", "Reports"],
        &["refresh", "--all"],
    ] {
        let run = sandbox.run(command, WAIT);
        assert_eq!(run.code, Some(0), "{command:?}: {}", run.stderr);
        assert!(run.stderr.is_ascii(), "{command:?}:\n{}", run.stderr);
        assert!(
            !run.stderr.contains('\x1b'),
            "not a terminal: {}",
            run.stderr
        );
    }
    let listed = sandbox.run(&["accounts"], WAIT);
    assert!(listed.stderr.contains("+ Reports"), "{}", listed.stderr);
    let refreshed = sandbox.run(&["refresh", "--all"], WAIT);
    assert!(
        refreshed.stderr.contains(". Reports: not due"),
        "{}",
        refreshed.stderr
    );

    if !atrs_e2e::tmux::available() {
        return;
    }
    let mut args = sandbox.folder_args().to_vec();
    args.push("accounts");
    let on_terminal = |env: &[(&str, &str)]| {
        let term = atrs_e2e::tmux::Terminal::start(atrs_e2e::host_binary(), &args, env, 100, 20);
        assert_eq!(term.exit_code(), 0, "{}", term.screen());
        term.screen_with_colours()
    };
    let coloured = on_terminal(&[("LC_ALL", "C.UTF-8")]);
    assert!(coloured.contains("\x1b[32m✓"), "green mark:\n{coloured}");
    let ascii = on_terminal(&[("LC_ALL", "C")]);
    assert!(ascii.contains("\x1b[32m+"), "green ASCII mark:\n{ascii}");
    let plain = on_terminal(&[("LC_ALL", "C.UTF-8"), ("NO_COLOR", "1")]);
    assert!(plain.contains("✓ Reports"), "{plain}");
    assert!(!plain.contains("\x1b[32m"), "NO_COLOR:\n{plain}");
}

#[test]
fn a_failed_network_refresh_is_recorded_in_the_health() {
    let sandbox = with_account("Reports");
    sandbox.mock.set_fault(Endpoint::Token, Fault::Reset);
    let refreshed = sandbox.run(&["refresh", "--all", "--force"], WAIT);
    sandbox.mock.clear_faults();
    assert_eq!(refreshed.code, Some(5), "{}", refreshed.stderr);
    let entry = refreshed
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "account")
        .unwrap();
    assert_eq!(entry["outcome"], "failed", "{entry}");
    let health = &entry["health"];
    assert!(
        health["last_refresh_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Could not renew")),
        "the failed attempt is said: {entry}"
    );

    let listed = sandbox.run(&["accounts"], WAIT);
    assert!(
        listed
            .stderr
            .contains("healthy, but the last renewal failed"),
        "{}",
        listed.stderr
    );
    let one = sandbox.run(&["accounts", "Reports"], WAIT);
    let last = one
        .stderr
        .lines()
        .find(|l| l.contains("last refresh:"))
        .unwrap_or_default();
    assert!(last.contains("failed —"), "{}", one.stderr);

    // A renewal that works clears it.
    let again = sandbox.run(&["refresh", "Reports", "--force"], WAIT);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    let listed = sandbox.run(&["accounts"], WAIT);
    assert!(
        !listed.stderr.contains("last renewal failed"),
        "{}",
        listed.stderr
    );
}

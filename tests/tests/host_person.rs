//! The scripted commands as a person meets them (issue 23): what they say when a name,
//! a plugin or a folder is wrong, what `--json` prints for usage and help, and what a
//! Ctrl-C or a race between two processes leaves behind. Each test drives the real host
//! binary and plugin against the mock over 127.0.0.1.

use std::time::Duration;

use atrs_e2e::{json_result, run_host, sandbox::Sandbox};

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

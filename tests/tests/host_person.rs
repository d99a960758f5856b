//! The scripted commands as a person meets them (issue 23): what they say when a name,
//! a plugin or a folder is wrong, what `--json` prints for usage and help, and what a
//! Ctrl-C or a race between two processes leaves behind. Each test drives the real host
//! binary and plugin against the mock over 127.0.0.1.

use std::time::Duration;

use atrs_e2e::sandbox::Sandbox;

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

//! The SDK's example plugin (`host-sdk/examples/hello_plugin.rs`), built as a library
//! and loaded beside Office 365: proof that the host is general. The Integrations menu
//! lists both and adds an account with the example; the scripted commands drive it too.

use atrs_e2e::{hello_plugin, json_result, office365_library, plugins_dir, run_host_with_input};
use atrs_host_sdk::FormValues;
use atrs_test_host::{
    context::Context,
    menu::{self, ScriptedAnswer, ScriptedPrompter},
    output::Output,
    services::{Browser, LogConfig},
};

#[test]
fn the_menu_lists_the_example_beside_office365_and_adds_an_account_with_it() {
    let plugins = plugins_dir(&[office365_library(), hello_plugin()]);
    let store = tempfile::tempdir().unwrap();
    let ctx = Context {
        output: Output::new(false),
        plugins_dir: plugins.path().to_owned(),
        store_dir: store.path().to_owned(),
        log: LogConfig::from_verbosity(0),
        browser: Browser::Disabled,
        trusted_keys: None,
        isolation: None,
    };
    let catalog = ctx.catalog().unwrap();
    let entries = menu::menu_plugins(&ctx, &catalog, |_| FormValues::new());
    let pick = |s: &str| ScriptedAnswer::Pick(s.into());
    let typed = |s: &str| ScriptedAnswer::Type(s.into());
    let mut prompter = ScriptedPrompter::new([
        pick("Hello"),
        pick("Add"),
        typed("Ada"),
        pick("Hi"),
        typed("k-123"),
        pick("Verify"),
        pick("Save & Close"),
        pick("Back"),
        pick("Quit"),
    ]);
    menu::run(&mut prompter, &entries).unwrap();
    let transcript = prompter.transcript.join("\n");
    println!("{transcript}");
    assert!(
        prompter.transcript[0].starts_with(
            "? Integrations [Office 365 (0 accounts) | Hello (example) (0 accounts) | Quit]"
        ),
        "{transcript}"
    );
    assert!(
        transcript.contains(
            "Integrations [Office 365 (0 accounts) | Hello (example) (1 account) | Quit]"
        ),
        "{transcript}"
    );
    // Hello offers a code only (interface 1.2's verify_methods): no browser entry.
    assert!(
        transcript.contains("? Account (not verified) [Verify | Edit fields |"),
        "{transcript}"
    );
    assert!(!transcript.contains("With Browser"), "{transcript}");
    let saved = ctx.store().unwrap();
    assert_eq!(saved.list("hello").unwrap(), ["Ada"]);
    assert_eq!(
        saved.read_settings("hello", "Ada").unwrap().unwrap()["greeting"],
        "hi"
    );
    assert_eq!(
        saved
            .read_secret("hello", "Ada", "api_key")
            .unwrap()
            .as_deref(),
        Some("k-123")
    );
}

#[test]
fn the_scripted_commands_drive_the_example_too() {
    let plugins = plugins_dir(&[office365_library(), hello_plugin()]);
    let store = tempfile::tempdir().unwrap();
    let with_input = |args: &[&str], input: &str| {
        let mut all = vec![
            "--plugins-dir",
            plugins.path().to_str().unwrap(),
            "--store",
            store.path().to_str().unwrap(),
            "--json",
        ];
        all.extend_from_slice(args);
        run_host_with_input(&all, &[], input)
    };
    let host = |args: &[&str]| with_input(args, "");
    let listed = json_result(&host(&["plugins"]));
    let ids: Vec<&str> = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["office365", "hello"]);

    let form = json_result(&host(&["form", "hello"]));
    let kinds: Vec<(&str, &str)> = form["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("account_name", "text"),
            ("greeting", "choice"),
            ("api_key", "secret")
        ]
    );

    let invalid = host(&["validate", "hello", "--set", "greeting=howdy"]);
    assert_eq!(invalid.status.code(), Some(2));
    let errors = &json_result(&invalid)["error"]["field_errors"];
    assert_eq!(errors[0]["field"], "account_name");
    assert_eq!(errors[1]["message"], "Greeting cannot be `howdy`.");
    assert_eq!(errors[1]["hint"], "Choose one of: Hello, Hi.");

    // The secret field cannot be given with --set; --set-secret reads it from stdin.
    let refused = host(&[
        "add",
        "hello",
        "--set",
        "account_name=Ada",
        "--set",
        "api_key=k-123",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&refused.stderr).contains("k-123"));
    let added = with_input(
        &[
            "add",
            "hello",
            "--set",
            "account_name=Ada",
            "--set-secret",
            "api_key",
            "--verify",
            "device",
        ],
        "k-123\n",
    );
    let result = json_result(&added);
    assert_eq!(
        (result["saved"].clone(), result["account_name"].clone()),
        (true.into(), "Ada".into())
    );
    let accounts = json_result(&host(&["accounts"]));
    assert_eq!(accounts["accounts"][0]["plugin"], "hello");
    assert!(!accounts.to_string().contains("k-123"), "secrets stay out");
    let removed = host(&["remove", "Ada", "--plugin", "hello"]);
    assert_eq!(removed.status.code(), Some(0));
}

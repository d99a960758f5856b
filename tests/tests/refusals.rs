//! What a bad plugin cannot do to the host: panics in any exported call come back as
//! internal errors, a call that blocks is cut off by the host's timeout, a malformed
//! form is detected and reported, and libraries that are damaged, not ELF, or export
//! their root module under a mangled name are refused before any of their code runs.
//! After each, the real Office 365 plugin still loads and works in the same process.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use atrs_e2e::{
    elf::cut_inside_loadable_segment, fixture, hello_plugin, json_result, office365_library,
    plugins_dir, run_host,
};
use atrs_host_sdk::{
    loader::{self, Refusal},
    testing::MemoryHost,
    ErrorKind, FormValues, PluginError, SessionState, VerifyMethod,
};

/// The host is unharmed: the real plugin still loads and answers.
fn host_still_works() {
    let office = loader::load_file(office365_library()).expect("office365 loads");
    let form = office
        .instantiate(MemoryHost::new())
        .unwrap()
        .describe()
        .unwrap();
    assert!(!form.is_empty());
}

fn assert_panicked_in(call: &str, e: &PluginError) {
    assert_eq!(e.kind(), ErrorKind::Internal, "{call}: {e:?}");
    assert!(e.is_panic(), "{call}: {e:?}");
    assert_eq!(e.message(), format!("The plugin panicked in `{call}`."));
    assert!(
        !e.message().contains("fixture:"),
        "the payload stays out: {e}"
    );
}

#[test]
fn a_panic_in_any_exported_call_is_an_internal_error_and_the_host_carries_on() {
    let plugin = loader::load_file(fixture("panicky")).expect("panicky loads");
    let mut integration = plugin.instantiate(MemoryHost::new()).unwrap();
    let values = FormValues::new().with("account_name", "x");
    assert_panicked_in("describe", &integration.describe().unwrap_err());
    assert_panicked_in("validate", &integration.validate(&values).unwrap_err());
    let by_code = integration.start_verification(&values, VerifyMethod::DeviceCode);
    assert_panicked_in("start_verification", &by_code.unwrap_err());
    assert_panicked_in("save", &integration.save(&values).unwrap_err());
    assert_panicked_in("load_account", &integration.load_account("x").unwrap_err());
    assert_panicked_in(
        "remove_account",
        &integration.remove_account("x").unwrap_err(),
    );
    assert_panicked_in("access_token", &integration.access_token("x").unwrap_err());

    let session = integration
        .start_verification(&values, VerifyMethod::Browser { loopback: false })
        .expect("the browser method returns a session");
    match session.poll(Duration::from_millis(10)) {
        SessionState::Failed(e) => assert_panicked_in("poll", &e),
        other => panic!("poll: {other:?}"),
    }
    assert_panicked_in("submit", &session.submit("https://x/").unwrap_err());
    session.cancel(); // panics inside; nothing reaches the host
    drop(session); // the session's drop panics inside too

    assert_panicked_in("close", &integration.close().unwrap_err());
    drop(integration); // and the integration's drop

    let new_panics = loader::load_file(fixture("new-panics")).expect("loads");
    let e = new_panics.instantiate(MemoryHost::new()).unwrap_err();
    assert_panicked_in("new", &e);

    match loader::load_file(fixture("manifest-panics")).unwrap_err() {
        Refusal::InvalidManifest { detail } => {
            assert_eq!(detail, "The plugin panicked in `manifest`.")
        }
        other => panic!("expected an unusable manifest, got {other}"),
    }
    host_still_works();
}

#[test]
fn panics_reach_the_host_binary_as_internal_errors_with_exit_code_1() {
    let dir = plugins_dir(&[fixture("panicky"), fixture("manifest-panics")]);
    let args = |cmd: &[&str]| {
        let mut all = vec!["--plugins-dir", dir.path().to_str().unwrap(), "--json"];
        all.extend_from_slice(cmd);
        run_host(&all, &[])
    };
    let out = args(&["form", "panicky"]);
    assert_eq!(out.status.code(), Some(1));
    let result = json_result(&out);
    assert_eq!(result["error"]["kind"], "internal");
    assert_eq!(
        result["error"]["message"],
        "The plugin panicked in `describe`."
    );

    let listed = json_result(&args(&["plugins"]));
    let refused = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["status"] == "refused")
        .expect("manifest-panics is listed as refused");
    assert_eq!(refused["reason"], "invalid_manifest");
}

#[test]
fn a_plugin_that_blocks_is_cut_off_by_the_call_timeout_and_the_host_carries_on() {
    let plugin = loader::load_file(fixture("blocker")).expect("blocker loads");
    let mut integration = plugin.instantiate(MemoryHost::new()).unwrap();
    integration.set_call_timeout(Some(Duration::from_millis(300)));

    let started = Instant::now();
    let e = integration.validate(&FormValues::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
    assert_eq!(
        e.message(),
        "The plugin did not answer `validate` within 0.3 s."
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(integration.stuck_call(), Some("validate"));

    // While `validate` is stuck, further calls on the instance fail at once.
    let busy = integration.describe().unwrap_err();
    assert_eq!(busy.kind(), ErrorKind::TimedOut);
    assert!(busy.message().contains("still inside `validate`"), "{busy}");

    // A fresh instance works; its session's poll and cancel block and are cut off too.
    let mut fresh = plugin.instantiate(MemoryHost::new()).unwrap();
    fresh.set_call_timeout(Some(Duration::from_millis(300)));
    assert_eq!(fresh.describe().unwrap().len(), 1);
    let session = fresh
        .start_verification(&FormValues::new(), VerifyMethod::DeviceCode)
        .unwrap();
    let polled = Instant::now();
    match session.poll(Duration::from_millis(100)) {
        SessionState::Failed(e) => {
            assert_eq!(e.kind(), ErrorKind::TimedOut);
            assert!(e.message().contains("`poll` within 0.4 s"), "{e}");
        }
        other => panic!("poll: {other:?}"),
    }
    session.cancel();
    assert!(polled.elapsed() < Duration::from_secs(10));

    let dropping = Instant::now();
    drop(session);
    drop(integration);
    drop(fresh);
    assert!(
        dropping.elapsed() < Duration::from_secs(5),
        "dropping is bounded too"
    );
    host_still_works();
}

#[test]
fn the_host_binary_gives_up_on_a_blocking_call_with_exit_code_4() {
    let dir = plugins_dir(&[fixture("blocker")]);
    let started = Instant::now();
    let out = run_host(
        &[
            "--plugins-dir",
            dir.path().to_str().unwrap(),
            "--call-timeout",
            "1",
            "--json",
            "validate",
            "blocker",
            "--set",
            "account_name=x",
        ],
        &[],
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(4), "timed out");
    let result = json_result(&out);
    assert_eq!(result["error"]["kind"], "timed_out");
    assert_eq!(
        result["error"]["origin"], "host",
        "the host stopped waiting"
    );
    assert_eq!(
        result["error"]["message"],
        "The plugin did not answer `validate` within 1 s."
    );
}

#[test]
fn a_malformed_form_is_detected_and_reported_with_every_problem() {
    let plugin = loader::load_file(fixture("malformed-form")).expect("loads");
    let integration = plugin.instantiate(MemoryHost::new()).unwrap();
    let e = integration.describe().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    let problems: Vec<&str> = e
        .details()
        .filter(|(k, _)| *k == "form_problem")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        problems,
        [
            "field 2 (\"Nameless\") has an empty key",
            "key `account_name` is used by fields 1 and 3",
            "choice `region` has no options",
        ]
    );
    assert_eq!(integration.describe_unchecked().unwrap().len(), 4);

    let dir = plugins_dir(&[fixture("malformed-form")]);
    for command in [
        &["form", "malformed"][..],
        &["validate", "malformed"],
        &["add", "malformed"],
    ] {
        let mut args = vec!["--plugins-dir", dir.path().to_str().unwrap(), "--json"];
        args.extend_from_slice(command);
        let out = run_host(&args, &[]);
        assert_eq!(out.status.code(), Some(1), "{command:?}");
        let message = json_result(&out)["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.starts_with("The plugin described a malformed form: field 2"),
            "{message}"
        );
        assert!(message.contains("used by fields 1 and 3"), "{message}");
    }
}

fn refusal_of(path: &Path) -> Refusal {
    loader::load_file(path).expect_err("refused")
}

#[test]
fn missing_or_mangled_root_symbols_are_refused_naming_what_was_found() {
    let missing = refusal_of(fixture("not-a-plugin"));
    assert_eq!(missing.code(), "not_a_plugin");
    assert!(
        missing
            .to_string()
            .ends_with("exports no ATRS plugin root module"),
        "{missing}"
    );

    let mangled = refusal_of(fixture("mangled-root"));
    assert_eq!(mangled.code(), "not_a_plugin");
    let text = mangled.to_string();
    assert!(
        text.contains(
            "only `_ZN7fixture38_1as_0lib_1header_0root_bmodule_bloader17h1f2e3d4c5b6a7988E`"
        ),
        "{text}"
    );
    assert!(text.contains("mangled name"), "{text}");
    host_still_works();
}

#[test]
fn truncated_and_non_elf_files_are_refused_before_they_are_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name);
    cut_inside_loadable_segment(hello_plugin(), &at("libcut.so"), false);
    cut_inside_loadable_segment(hello_plugin(), &at("libstripped_cut.so"), true);
    std::fs::write(
        at("libtext.so"),
        "just some text that is not a library at all",
    )
    .unwrap();
    std::fs::write(at("libempty.so"), b"").unwrap();
    std::fs::write(at("libscript.so"), "#!/bin/sh\necho not a library\n").unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(200, 0);
    std::fs::write(at("libimage.so"), png).unwrap();
    let mut elf32 = std::fs::read(hello_plugin()).unwrap();
    elf32[4] = 1; // ELFCLASS32
    std::fs::write(at("libelf32.so"), elf32).unwrap();

    let expected = [
        (
            "libcut.so",
            "it is truncated (its section table lies past the end of the file)",
        ),
        (
            "libstripped_cut.so",
            "it is truncated (a loadable segment lies past the end of the file)",
        ),
        ("libtext.so", "it is not an ELF shared library"),
        ("libempty.so", "the file is empty"),
        ("libscript.so", "it is not an ELF shared library"),
        ("libimage.so", "it is not an ELF shared library"),
        (
            "libelf32.so",
            "it is not a 64-bit little-endian library, as this host is",
        ),
    ];
    let outcomes = loader::load_dir(dir.path()).unwrap();
    assert_eq!(outcomes.len(), expected.len());
    for (name, detail) in expected {
        let outcome = outcomes
            .iter()
            .find(|o| o.path.file_name().unwrap() == name)
            .unwrap();
        assert_eq!(
            outcome.result.as_ref().unwrap_err(),
            &Refusal::NotAPlugin {
                detail: detail.into()
            },
            "{name}"
        );
    }
    host_still_works();
}

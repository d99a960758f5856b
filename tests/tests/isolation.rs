//! Plugins in their own process: the host runtime with `isolate` runs each plugin in an
//! `atrs-plugin-runner`. A plugin that aborts, overflows its stack, reads through null,
//! calls `exit` or spins for ever ends that request with a typed error naming what
//! happened — the host process lives on, the next request starts a fresh runner, and
//! the store is intact. The whole Office 365 flow works the same isolated.

use std::time::{Duration, Instant};

use atrs_e2e::{fixture, office365_library, plugin_runner, plugins_dir, sandbox::DELIVERY_SCOPES};
use atrs_host_runtime::{store::Store, HostHooks, Runtime};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use serde_json::{json, Value};

fn runtime(plugins: &std::path::Path, store: &std::path::Path, call_timeout_ms: u64) -> Runtime {
    let options = json!({
        "plugins_dir": plugins,
        "store": store,
        "isolate": true,
        "runner": plugin_runner(),
        "call_timeout_ms": call_timeout_ms,
    });
    Runtime::open_json(&options.to_string(), HostHooks::default()).expect("runtime opens")
}

fn send(runtime: &Runtime, request: Value) -> Value {
    serde_json::from_str(&runtime.handle(&request.to_string())).expect("answers are JSON")
}

fn validate(runtime: &Runtime, crash: &str) -> (Value, Duration) {
    let started = Instant::now();
    let answer = send(
        runtime,
        json!({"request": "validate", "plugin": "crashes", "values": {"crash": crash}}),
    );
    (answer, started.elapsed())
}

/// The crash table: what the host saw for each way a plugin can take its process down.
#[test]
fn every_crash_ends_the_request_with_a_typed_error_and_the_host_goes_on() {
    let plugins = plugins_dir(&[fixture("crashes")]);
    let store_dir = tempfile::tempdir().unwrap();
    // An account of another plugin, to prove the store is untouched by the crashes.
    let store = Store::open(store_dir.path()).unwrap();
    let kept: atrs_host_runtime::store::Values =
        [("client_id".to_owned(), "kept".to_owned())].into();
    store
        .write_account("office365", "Kept", &kept, &kept, None)
        .unwrap();

    let runtime = runtime(plugins.path(), store_dir.path(), 2_000);
    let (answer, _) = validate(&runtime, "fine");
    assert_eq!(answer["ok"], true, "{answer:#}");
    for (crash, expected) in [
        ("abort", "SIGABRT"),
        ("stack", "SIGABRT"),
        ("null", "SIGSEGV"),
        ("exit", "exited with code 3"),
        ("loop", "did not answer"),
    ] {
        let (answer, took) = validate(&runtime, crash);
        let error = &answer["error"];
        eprintln!(
            "crash={crash}: after {} ms the host saw: {} [{}] {}",
            took.as_millis(),
            error["message"].as_str().unwrap_or_default(),
            error["kind"].as_str().unwrap_or_default(),
            error["hint"].as_str().unwrap_or_default()
        );
        assert_eq!(answer["ok"], false, "crash={crash}: {answer:#}");
        assert_eq!(error["origin"], "host", "crash={crash}: {answer:#}");
        let message = error["message"].as_str().unwrap_or_default();
        if crash == "loop" {
            assert_eq!(error["kind"], "timed_out", "{answer:#}");
        } else {
            assert!(
                message.contains("Crashes plugin stopped unexpectedly"),
                "crash={crash}: {message}"
            );
            assert!(message.contains(expected), "crash={crash}: {message}");
            assert!(error["hint"]
                .as_str()
                .unwrap()
                .contains("trying again starts the plugin afresh"));
        }
        assert!(
            took < Duration::from_secs(30),
            "crash={crash} took {took:?}"
        );
        // The host goes on: the next request gets a fresh runner that answers.
        let (after, _) = validate(&runtime, "fine");
        assert_eq!(after["ok"], true, "after crash={crash}: {after:#}");
    }
    assert_eq!(
        store.read_settings("office365", "Kept").unwrap(),
        Some(kept.clone())
    );
    assert_eq!(
        store
            .read_secret("office365", "Kept", "client_id")
            .unwrap()
            .as_deref(),
        Some("kept")
    );
    runtime.close();
}

#[test]
fn the_office365_flow_works_the_same_isolated() {
    let mock = MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("mock starts");
    let plugins = plugins_dir(&[office365_library()]);
    let store_dir = tempfile::tempdir().unwrap();
    let runtime = runtime(plugins.path(), store_dir.path(), 30_000);
    let ok = |request: Value| {
        let answer = send(&runtime, request.clone());
        assert_eq!(answer["ok"], true, "{request} → {answer:#}");
        answer
    };
    let started = ok(json!({
        "request": "verify.start", "plugin": "office365", "method": "device_code",
        "values": {
            "account_name": "Isolated",
            "client_id": defaults::DESKTOP_CLIENT_ID,
            "tenant_id": defaults::TENANT_ID,
            "authority": mock.base_url(),
            "scopes": DELIVERY_SCOPES,
        },
    }));
    let handle = started["handle"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let state = loop {
        assert!(Instant::now() < deadline, "not verified in 30 s");
        let state = ok(json!({"request": "verify.poll", "handle": handle, "wait_ms": 500}));
        if state["state"] == "verified" || state["state"] == "failed" {
            break state;
        }
    };
    assert_eq!(state["state"], "verified", "{state:#}");
    ok(json!({"request": "save", "handle": handle}));
    // Saved by the runner, through the host's store.
    assert_eq!(
        Store::open(store_dir.path())
            .unwrap()
            .list("office365")
            .unwrap(),
        ["Isolated"]
    );

    let first = ok(json!({"request": "token", "account": "Isolated"}));
    let cached = ok(json!({"request": "token", "account": "Isolated"}));
    assert_eq!(cached["source"], "cache");
    assert_eq!(first["token"], cached["token"]);
    let forced = ok(json!({"request": "token", "account": "Isolated", "force": true}));
    assert_eq!(forced["source"], "refreshed");

    let accounts = ok(json!({"request": "accounts"}));
    assert_eq!(
        accounts["accounts"][0]["health"]["state"], "healthy",
        "{accounts:#}"
    );

    let delivery = ok(json!({
        "request": "delivery.start", "account": "Isolated",
        "mail": {"to": ["megan@contoso.test"], "subject": "Isolated send", "body": "From a runner."},
    }))["handle"]
        .as_u64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        assert!(
            Instant::now() < deadline,
            "the delivery did not end in 30 s"
        );
        let state = ok(json!({"request": "delivery.poll", "handle": delivery, "wait_ms": 500}));
        if state["state"] != "running" {
            break state;
        }
    };
    assert_eq!(done["state"], "done", "{done:#}");
    assert!(mock
        .sent_items()
        .iter()
        .any(|m| m.subject == "Isolated send"));
    runtime.close();
}

/// The conformance run as a request: in process as `atrs-test-host check` runs it, and
/// isolated in a runner of its own, where a library that crashes during the run ends
/// the request with what happened and the host goes on.
#[test]
fn the_conformance_run_is_a_request_and_a_crash_during_it_spares_the_host() {
    let plugins = plugins_dir(&[office365_library(), fixture("crashes")]);
    let store = tempfile::tempdir().unwrap();
    let office365 = plugins
        .path()
        .join(office365_library().file_name().unwrap());
    let request = json!({"request": "check", "library": office365});

    let here = Runtime::open_json(
        &json!({"plugins_dir": plugins.path(), "store": store.path()}).to_string(),
        HostHooks::default(),
    )
    .unwrap();
    let in_process = send(&here, request.clone());
    assert_eq!(in_process["ok"], true, "{in_process:#}");
    assert_eq!(in_process["plugin"], "office365");
    assert_eq!(in_process["failed"], 0, "{in_process:#}");
    assert_eq!(in_process["conforms"], true);
    let checks = in_process["checks"].as_array().unwrap().len();
    assert!(checks >= 8, "{in_process:#}");

    let isolated = runtime(plugins.path(), store.path(), 5_000);
    let answer = send(&isolated, request);
    assert_eq!(answer["ok"], true, "{answer:#}");
    let outcomes = |a: &Value| -> Vec<(Value, Value)> {
        a["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].clone(), c["outcome"].clone()))
            .collect()
    };
    assert_eq!(
        outcomes(&answer),
        outcomes(&in_process),
        "the same checks, the same outcomes"
    );

    let crashes = plugins.path().join(fixture("crashes").file_name().unwrap());
    let crashed = send(
        &isolated,
        json!({"request": "check", "library": crashes, "values": {"crash": "abort"}}),
    );
    println!("check of a library that aborts during the run: {crashed:#}");
    assert_eq!(crashed["ok"], false, "{crashed:#}");
    let message = crashed["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("SIGABRT"), "{crashed:#}");
    assert_eq!(crashed["error"]["origin"], "host");
    let hello = send(&isolated, json!({"request": "hello"}));
    assert_eq!(hello["ok"], true, "the host goes on");
    let not_a_library = send(
        &isolated,
        json!({"request": "check", "library": store.path().join("nothing.so")}),
    );
    assert_eq!(not_a_library["ok"], true, "{not_a_library:#}");
    assert_eq!(not_a_library["conforms"], false, "{not_a_library:#}");
}

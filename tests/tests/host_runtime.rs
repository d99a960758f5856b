//! The host runtime's protocol, end to end: the real Office 365 library loaded by
//! `atrs-host-runtime`, driven only through JSON requests against the mock over
//! loopback — Add → Verify (device code) → Save, accounts with health, a token, a
//! test message, remove — with every answer checked against the protocol's schema.

use std::time::{Duration, Instant};

use atrs_e2e::{json_result, office365_library, plugins_dir, run_host, sandbox::DELIVERY_SCOPES};
use atrs_host_runtime::{protocol::SCHEMA, HostHooks, Runtime};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use serde_json::{json, Value};

/// A runtime over a fresh store, with the schema every answer is checked against.
struct World {
    mock: MockIdp,
    runtime: Runtime,
    schema: (boon::Schemas, boon::SchemaIndex),
    _plugins: tempfile::TempDir,
    _store: tempfile::TempDir,
}

fn compiled_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let url = "https://atrs.invalid/host-runtime/protocol/1.1/answer.json";
    compiler
        .add_resource(
            url,
            serde_json::from_str(SCHEMA).expect("the schema is JSON"),
        )
        .expect("the schema is a resource");
    let index = compiler
        .compile(url, &mut schemas)
        .expect("the schema compiles");
    (schemas, index)
}

impl World {
    fn new() -> World {
        World::with(false)
    }

    /// A world whose runtime runs its plugins in runners when `isolate`.
    fn with(isolate: bool) -> World {
        let mock = MockIdp::spawn(MockConfig {
            device_interval_secs: 0,
            auto_approve_delay: Duration::ZERO,
            ..MockConfig::default()
        })
        .expect("mock starts");
        let plugins = plugins_dir(&[office365_library()]);
        let store = tempfile::tempdir().unwrap();
        let options = json!({
            "plugins_dir": plugins.path(),
            "store": store.path(),
            "call_timeout_ms": 30_000,
            "a_future_option": true,
            "isolate": isolate,
            "runner": atrs_e2e::plugin_runner(),
        });
        let runtime =
            Runtime::open_json(&options.to_string(), HostHooks::default()).expect("runtime opens");
        World {
            mock,
            runtime,
            schema: compiled_schema(),
            _plugins: plugins,
            _store: store,
        }
    }

    /// Sends `request`; the answer must validate against the schema.
    fn send(&self, request: Value) -> Value {
        self.send_text(&request.to_string())
    }

    fn send_text(&self, text: &str) -> Value {
        let answer: Value = serde_json::from_str(&self.runtime.handle(text))
            .unwrap_or_else(|e| panic!("the answer to {text} is not JSON: {e}"));
        let (schemas, index) = &self.schema;
        if let Err(e) = schemas.validate(&answer, *index) {
            panic!("the answer to {text} breaks the schema: {e:#}\n{answer:#}");
        }
        answer
    }

    fn ok(&self, request: Value) -> Value {
        let answer = self.send(request.clone());
        assert_eq!(answer["ok"], true, "{request} → {answer:#}");
        answer
    }

    fn values(&self, account: &str) -> Value {
        json!({
            "account_name": account,
            "client_id": defaults::DESKTOP_CLIENT_ID,
            "tenant_id": defaults::TENANT_ID,
            "authority": self.mock.base_url(),
            "scopes": DELIVERY_SCOPES,
        })
    }

    /// verify.start by device code, polled to its end within 30 s.
    fn verify(&self, account: &str) -> (u64, Value) {
        let started = self.ok(json!({
            "request": "verify.start", "plugin": "office365",
            "values": self.values(account), "method": "device_code",
        }));
        let handle = started["handle"].as_u64().expect("a handle");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            assert!(Instant::now() < deadline, "not verified in 30 s: {seen:?}");
            let state =
                self.ok(json!({"request": "verify.poll", "handle": handle, "wait_ms": 500}));
            seen.push(state["state"].as_str().unwrap_or_default().to_owned());
            if state["state"] == "verified" || state["state"] == "failed" {
                return (handle, state);
            }
        }
    }
}

#[test]
fn add_verify_save_then_use_the_account_through_the_protocol_alone() {
    let w = World::new();
    let hello = w.ok(json!({"request": "hello", "id": "h1"}));
    assert_eq!(hello["id"], "h1");
    assert_eq!(hello["protocol"], "1.1");
    assert!(hello["requests"]
        .as_array()
        .unwrap()
        .contains(&json!("token")));

    let plugins = w.ok(json!({"request": "plugins"}));
    assert_eq!(plugins["plugins"][0]["status"], "loaded", "{plugins:#}");
    assert_eq!(plugins["plugins"][0]["id"], "office365");

    let form = w.ok(json!({"request": "form", "plugin": "office365"}));
    let keys: Vec<&str> = form["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"client_id") && keys.contains(&"client_secret"),
        "{keys:?}"
    );
    // Protocol 1.1: what `delivery.start` may ask of the plugin.
    assert_eq!(form["delivery_kinds"], json!(["mail", "file"]), "{form:#}");

    let invalid = w.ok(json!({"request": "validate", "plugin": "office365", "values": {"client_id": "not a guid"}}));
    let fields: Vec<&str> = invalid["field_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"client_id") && fields.contains(&"account_name"),
        "{invalid:#}"
    );

    let (handle, state) = w.verify("Reports");
    assert_eq!(state["state"], "verified", "{state:#}");
    assert_eq!(state["account"]["user_principal_name"], defaults::USER_UPN);
    let saved = w.ok(json!({"request": "save", "handle": handle}));
    assert_eq!(saved["account"], "Reports");
    // The handle is released by the save.
    let gone = w.send(json!({"request": "verify.poll", "handle": handle}));
    assert_eq!(gone["error"]["kind"], "invalid_input", "{gone:#}");

    // The same name again, without `replace`: refused by the host, nothing replaced.
    let (again, _) = w.verify("Reports");
    let refused = w.send(json!({"request": "save", "handle": again}));
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"]["origin"], "host");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already saved"),
        "{refused:#}"
    );
    w.ok(json!({"request": "save", "handle": again, "replace": true}));

    let accounts = w.ok(json!({"request": "accounts"}));
    assert_eq!(
        accounts["accounts"].as_array().unwrap().len(),
        1,
        "{accounts:#}"
    );
    assert_eq!(
        accounts["accounts"][0]["health"]["state"], "healthy",
        "{accounts:#}"
    );
    assert_eq!(
        accounts["store"]["backend"].as_str().map(str::is_empty),
        Some(false)
    );

    let first = w.ok(json!({"request": "token", "account": "Reports"}));
    assert_eq!(
        first["source"], "cache",
        "the sign-in's access token was saved with the account: {first:#}"
    );
    let second = w.ok(json!({"request": "token", "account": "Reports"}));
    assert_eq!(second["source"], "cache", "{second:#}");
    assert_eq!(first["token"], second["token"]);
    let forced = w.ok(json!({"request": "token", "account": "Reports", "force": true}));
    assert_eq!(forced["source"], "refreshed");

    let health = w.ok(json!({"request": "health", "account": "Reports", "plugin": "office365"}));
    assert_eq!(health["health"]["state"], "healthy");

    // Protocol 1.1: the conformance run, its answer as the schema says.
    let check = w.ok(json!({"request": "check", "library": office365_library()}));
    assert_eq!(check["failed"], 0, "{check:#}");
    assert_eq!(check["conforms"], true, "{check:#}");

    // Protocol 1.1: the saved values read back for an Edit form, secrets marked.
    let loaded = w.ok(json!({"request": "load", "account": "Reports"}));
    assert_eq!(loaded["plugin"], "office365", "{loaded:#}");
    assert_eq!(loaded["values"]["account_name"], "Reports", "{loaded:#}");
    assert_eq!(loaded["values"]["client_id"], defaults::DESKTOP_CLIENT_ID);
    let missing = w.send(json!({"request": "load", "account": "Nobody"}));
    assert_eq!(missing["error"]["origin"], "host", "{missing:#}");

    let started = w.ok(json!({
        "request": "delivery.start", "account": "Reports",
        "mail": {"to": ["megan@contoso.test"], "subject": "Runtime test", "body": "Sent through the protocol."},
    }));
    let delivery = started["handle"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        assert!(
            Instant::now() < deadline,
            "the delivery did not end in 30 s"
        );
        let state = w.ok(json!({"request": "delivery.poll", "handle": delivery, "wait_ms": 500}));
        if state["state"] != "running" {
            break state;
        }
    };
    assert_eq!(done["state"], "done", "{done:#}");
    assert!(w
        .mock
        .sent_items()
        .iter()
        .any(|m| m.subject == "Runtime test"));
    w.ok(json!({"request": "delivery.end", "handle": delivery}));

    w.ok(json!({"request": "remove", "account": "Reports"}));
    let none = w.ok(json!({"request": "accounts", "health": false}));
    assert!(none["accounts"].as_array().unwrap().is_empty(), "{none:#}");
    let missing = w.send(json!({"request": "token", "account": "Reports"}));
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no saved account"),
        "{missing:#}"
    );
}

/// The host runtime keeps what it read while the store is unchanged; another process's
/// refresh, and its removal of the account, are seen by the very next call.
#[test]
fn a_long_running_host_sees_another_processs_refresh_and_removal_on_its_next_call() {
    sees_another_processs_refresh_and_removal(World::new());
}

/// The same through a runner, which answers the plugin's `store_generation` from the
/// generation sent with each request: the other process's writes are still seen at once.
#[test]
fn an_isolated_plugin_sees_another_processs_refresh_and_removal_on_its_next_call() {
    sees_another_processs_refresh_and_removal(World::with(true));
}

fn sees_another_processs_refresh_and_removal(w: World) {
    let (handle, state) = w.verify("Reports");
    assert_eq!(state["state"], "verified", "{state:#}");
    w.ok(json!({"request": "save", "handle": handle}));
    w.mock.reset_stats();
    let saved = w.ok(json!({"request": "token", "account": "Reports"}));
    assert_eq!(saved["source"], "cache", "{saved:#}");
    assert_eq!(
        w.mock.stats().total(),
        0,
        "the first token after Save & Close needs no request"
    );
    assert_eq!(
        w.ok(json!({"request": "token", "account": "Reports"}))["token"],
        saved["token"]
    );

    let other_process = |args: &[&str]| {
        let mut all = vec![
            "--plugins-dir",
            w._plugins.path().to_str().unwrap(),
            "--store",
            w._store.path().to_str().unwrap(),
            "--json",
        ];
        all.extend_from_slice(args);
        let out = run_host(&all, &[]);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        json_result(&out)
    };
    let refreshed = other_process(&["token", "Reports", "--force", "--show-token"]);
    assert_eq!(refreshed["source"], "refreshed", "{refreshed:#}");
    assert_ne!(refreshed["token"], saved["token"]);
    let seen = w.ok(json!({"request": "token", "account": "Reports"}));
    assert_eq!(seen["source"], "cache", "{seen:#}");
    assert_eq!(
        seen["token"], refreshed["token"],
        "the other process's refresh is seen at once"
    );
    assert_eq!(w.mock.stats().grant_count("refresh_token"), 1);

    other_process(&["remove", "Reports"]);
    let gone = w.send(json!({"request": "token", "account": "Reports"}));
    assert!(
        gone["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no saved account")),
        "{gone:#}"
    );
}

#[test]
fn a_session_cancelled_through_the_protocol_ends_as_cancelled_and_is_released() {
    let w = World::new();
    w.mock
        .set_device_outcome(atrs_mock_idp::DeviceOutcome::Ignore);
    let started = w.ok(json!({
        "request": "verify.start", "plugin": "office365",
        "values": w.values("Pending"), "method": "device_code",
    }));
    let handle = started["handle"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "no code shown in 30 s");
        let state = w.ok(json!({"request": "verify.poll", "handle": handle, "wait_ms": 500}));
        if state["state"] == "show_code" {
            assert!(!state["user_code"].as_str().unwrap().is_empty());
            break;
        }
    }
    let early = w.send(json!({"request": "save", "handle": handle}));
    assert_eq!(early["ok"], false);
    assert!(
        early["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has not verified"),
        "{early:#}"
    );
    w.ok(json!({"request": "verify.cancel", "handle": handle}));
    let ended = loop {
        assert!(Instant::now() < deadline, "not cancelled in time");
        let state = w.ok(json!({"request": "verify.poll", "handle": handle, "wait_ms": 500}));
        if state["state"] == "failed" {
            break state;
        }
    };
    assert_eq!(ended["error"]["kind"], "cancelled", "{ended:#}");
    w.ok(json!({"request": "verify.end", "handle": handle}));
    let gone = w.send(json!({"request": "verify.end", "handle": handle}));
    assert_eq!(gone["ok"], false);
}

#[test]
fn malformed_requests_get_typed_errors_never_a_crash() {
    let w = World::new();
    for (text, kind) in [
        ("", "invalid_request"),
        ("{", "invalid_request"),
        ("[]", "invalid_request"),
        ("null", "invalid_request"),
        (r#"{"request": 1}"#, "invalid_request"),
        (r#"{"request": "launch"}"#, "invalid_request"),
        (r#"{"request": "form"}"#, "invalid_request"),
        (r#"{"request": "form", "plugin": 7}"#, "invalid_request"),
        (
            r#"{"request": "verify.start", "plugin": "office365", "method": "fax"}"#,
            "invalid_request",
        ),
        (
            r#"{"request": "verify.poll", "handle": -1}"#,
            "invalid_request",
        ),
        (
            r#"{"request": "verify.poll", "handle": 99}"#,
            "invalid_input",
        ),
        (
            r#"{"request": "delivery.poll", "handle": 1}"#,
            "invalid_input",
        ),
        (r#"{"request": "form", "plugin": "nope"}"#, "invalid_input"),
        (
            r#"{"request": "token", "account": "Nobody"}"#,
            "invalid_input",
        ),
        (
            r#"{"request": "delivery.start", "account": "A", "mail": {"to": []}, "file": {"source": "/x", "folder": "/"}}"#,
            "invalid_request",
        ),
    ] {
        let answer = w.send_text(text);
        assert_eq!(answer["ok"], false, "{text} → {answer:#}");
        assert_eq!(answer["error"]["kind"], kind, "{text} → {answer:#}");
        assert_eq!(answer["error"]["origin"], "host", "{text}");
        assert!(
            answer["error"]["hint"]
                .as_str()
                .is_some_and(|h| !h.is_empty()),
            "{text} → {answer:#}"
        );
    }
}

#[test]
fn bad_options_are_refused_with_a_reason() {
    let e = Runtime::open_json("{}", HostHooks::default()).unwrap_err();
    assert!(e.to_string().contains("plugins_dir"), "{e}");
    let e = Runtime::open_json(
        r#"{"plugins_dir": "/no/such/folder"}"#,
        HostHooks::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("/no/such/folder"), "{e}");
    assert_eq!(e.to_json()["origin"], "host");
}

/// Interface 1.2 through the protocol: `form` says how the plugin verifies and shows
/// its settings; a method it does not offer is refused before anything starts; an edit
/// that needs no new sign-in is saved by `update` (and one that does is refused, naming
/// what changed); a delivery names exactly one kind.
#[test]
fn the_protocol_speaks_interface_1_2() {
    let w = World::new();
    let form = w.ok(json!({"request": "form", "plugin": "office365"}));
    assert_eq!(
        form["verify_methods"],
        json!([{"method": "device_code"}, {"method": "browser", "loopback": true}, {"method": "direct"}]),
        "{form:#}"
    );
    let display = form["settings_display"].as_array().unwrap();
    assert!(
        display
            .iter()
            .any(|d| d["key"] == "verified_at" && d["shown_as"] == "date"),
        "{form:#}"
    );
    // Direct is for application accounts: the plugin refuses it for a user's, at
    // once and saying what to choose.
    let direct = w.send(json!({
        "request": "verify.start", "plugin": "office365",
        "values": w.values("Reports"), "method": "direct",
    }));
    assert_eq!(direct["ok"], false, "{direct:#}");
    assert_eq!(direct["error"]["origin"], "plugin", "{direct:#}");

    let (handle, state) = w.verify("Reports");
    assert!(
        state["account"]["headline"]
            .as_str()
            .unwrap()
            .starts_with("signed in as "),
        "{state:#}"
    );
    w.ok(json!({"request": "save", "handle": handle}));

    // A new expiry date for the client secret needs no new sign-in.
    let mut edited = w.values("Reports");
    edited["client_secret_expires"] = json!("2099-12-31");
    let updated = w.ok(
        json!({"request": "update", "plugin": "office365", "account": "Reports", "values": edited}),
    );
    assert_eq!(updated["account"], "Reports", "{updated:#}");
    let accounts = w.ok(json!({"request": "accounts"}));
    assert_eq!(
        accounts["accounts"][0]["settings"]["client_secret_expires"], "2099-12-31",
        "{accounts:#}"
    );
    assert_eq!(
        accounts["accounts"][0]["health"]["state"], "healthy",
        "{accounts:#}"
    );
    // Another tenant needs one: refused, nothing changed.
    let mut moved = w.values("Reports");
    moved["tenant_id"] = json!("contoso.onmicrosoft.com");
    let refused = w.send(
        json!({"request": "update", "plugin": "office365", "account": "Reports", "values": moved}),
    );
    assert_eq!(refused["ok"], false, "{refused:#}");
    assert_eq!(refused["error"]["origin"], "plugin", "{refused:#}");
    let missing = w.send(
        json!({"request": "update", "plugin": "office365", "account": "Nobody", "values": edited}),
    );
    assert_eq!(missing["error"]["origin"], "host", "{missing:#}");

    let two = w.send(json!({
        "request": "delivery.start", "account": "Reports",
        "file": {"source": "/tmp/x", "folder": "R"}, "push": {"source": "/tmp/x"},
    }));
    assert_eq!(two["error"]["kind"], "invalid_request", "{two:#}");
    let push = w.send(json!({
        "request": "delivery.start", "account": "Reports", "push": {"source": "/tmp/x"},
    }));
    assert_eq!(
        push["error"]["kind"], "unsupported",
        "Office 365 takes no push: {push:#}"
    );
}

/// A method the plugin does not offer is refused by the runtime before the plugin is
/// asked, naming what it offers (the Hello example offers a code only).
#[test]
fn a_verification_method_the_plugin_does_not_offer_is_refused_by_the_host() {
    let plugins = plugins_dir(&[atrs_e2e::hello_plugin()]);
    let store = tempfile::tempdir().unwrap();
    let options = json!({"plugins_dir": plugins.path(), "store": store.path()});
    let runtime = Runtime::open_json(&options.to_string(), HostHooks::default()).unwrap();
    let ask = |request: Value| -> Value {
        serde_json::from_str(&runtime.handle(&request.to_string())).unwrap()
    };
    let form = ask(json!({"request": "form", "plugin": "hello"}));
    assert_eq!(
        form["verify_methods"],
        json!([{"method": "device_code"}]),
        "{form:#}"
    );
    let refused = ask(json!({
        "request": "verify.start", "plugin": "hello",
        "values": {"account_name": "Ada"}, "method": "browser",
    }));
    assert_eq!(refused["error"]["kind"], "unsupported", "{refused:#}");
    assert_eq!(refused["error"]["origin"], "host", "{refused:#}");
    assert!(
        refused["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("device_code"),
        "{refused:#}"
    );
}

//! The compatibility matrix: hosts and plugins compiled separately against interface
//! 1.0, 1.1 and 1.2 (the frozen copies in `tests/compat/sdk-1.0`, `sdk-1.1` and
//! `sdk-1.2`), the stand-in next minor 1.3 (1.2 plus an appended method and an
//! appended field kind), 2.0 (a breaking change) and the live workspace, loaded in
//! every pairing. Run with `--nocapture` to see the results table.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, Instant},
};

use atrs_e2e::{
    compat::{probe_host, probe_plugin, ProbeReport},
    hello_plugin, json_result, office365_library, plugins_dir, run_host, webhook_plugin,
};
use atrs_host_sdk::{
    loader::{self, IntegrationHandle},
    testing::MemoryHost,
    Attachment, DeliveryKind, DeliveryRequest, DeliveryState, ErrorKind, FieldKind, FileRequest,
    FormValues, HealthState, HostServices, LogLevel, MailRequest, PluginError, PushRequest,
    Secrets, SessionState, Settings, ShownAs, TokenRequest, TokenSource, VerifyMethod,
    INTERFACE_VERSION,
};

/// The minor version of the live SDK (the workspace's host-sdk).
fn live_minor() -> u32 {
    INTERFACE_VERSION
        .split('.')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// A plugin of the matrix.
struct Plugin {
    label: &'static str,
    library: &'static Path,
    /// The interface it was built against, as (major, minor).
    interface: (u32, u32),
    /// One of the probe plugins (answers every call it has).
    probe: bool,
}

fn plugins() -> Vec<Plugin> {
    let probe = |label, version: &str, interface| Plugin {
        label,
        library: probe_plugin(version),
        interface,
        probe: true,
    };
    let live = |label, library| Plugin {
        label,
        library,
        interface: (1, live_minor()),
        probe: false,
    };
    vec![
        probe("probe 1.0 (frozen)", "1.0", (1, 0)),
        probe("probe 1.1 (frozen)", "1.1", (1, 1)),
        probe("probe 1.2 (frozen)", "1.2", (1, 2)),
        probe("probe 1.3 (stand-in)", "1.3", (1, 3)),
        probe("probe 2.0", "2.0", (2, 0)),
        live("office365 (live SDK)", office365_library()),
        live("hello example (live SDK)", hello_plugin()),
        live("webhook example (live SDK)", webhook_plugin()),
    ]
}

/// The probe hosts: label and interface minor.
const PROBE_HOSTS: [(&str, u32); 4] = [
    ("host 1.0 (frozen)", 0),
    ("host 1.1 (frozen)", 1),
    ("host 1.2 (frozen)", 2),
    ("host 1.3 (stand-in)", 3),
];

/// The verification methods a live-SDK plugin offers, as the probe hosts print them.
fn live_verify_methods(label: &str) -> &'static str {
    if label.starts_with("office365") {
        "device,browser(loopback),direct"
    } else if label.starts_with("hello") {
        "device"
    } else if label.starts_with("webhook") {
        "direct"
    } else {
        panic!("no live plugin {label}")
    }
}

/// What the loader answers a plugin built before 1.2 for `verify_methods`.
const BEFORE_1_2_METHODS: &str = "device,browser(loopback)";

/// What a probe plugin of 1.2 or later says about its sessions, its settings and its
/// verification methods.
const PROBE_1_2_METHODS: &str = "device,direct";
const PROBE_1_2_DISPLAY: &str = "verified_at:Verified:date";

/// One pairing's outcome, shortened for the table.
struct Cell {
    plugin: &'static str,
    host: &'static str,
    outcome: String,
}

/// Every cell, computed once (the tests below check parts of it).
fn matrix() -> &'static Vec<Cell> {
    static CELLS: OnceLock<Vec<Cell>> = OnceLock::new();
    CELLS.get_or_init(|| {
        let mut cells = Vec::new();
        for plugin in plugins() {
            for (host, minor) in PROBE_HOSTS {
                let version = format!("1.{minor}");
                let report = ProbeReport::run(probe_host(&version), plugin.library);
                cells.push(Cell {
                    plugin: plugin.label,
                    host,
                    outcome: probe_cell(&report, &plugin, minor),
                });
            }
            cells.push(Cell {
                plugin: plugin.label,
                host: "live SDK, in-process",
                outcome: live_cell(&plugin),
            });
            cells.push(Cell {
                plugin: plugin.label,
                host: "atrs-test-host (live)",
                outcome: test_host_cell(&plugin),
            });
        }
        print_table(&cells);
        cells
    })
}

fn cell(plugin: &str, host: &str) -> &'static str {
    matrix()
        .iter()
        .find(|c| c.plugin.starts_with(plugin) && c.host.starts_with(host))
        .map(|c| c.outcome.as_str())
        .unwrap_or_else(|| panic!("no cell for {plugin} × {host}"))
}

/// Checks a probe host's report against what the rules promise, and summarises it.
fn probe_cell(report: &ProbeReport, plugin: &Plugin, host_minor: u32) -> String {
    let t = report.transcript();
    assert_eq!(
        report.value("host"),
        Some(format!("1.{host_minor}.0").as_str())
    );
    if plugin.interface.0 != 1 {
        assert_eq!(report.exit, Some(3), "{t}");
        let refusal = report.value("refused").unwrap_or_else(|| panic!("{t}"));
        let host_version = report.value("host").unwrap();
        assert!(refusal.starts_with("incompatible_version\t"), "{t}");
        assert!(
            refusal.contains("2.0.0") && refusal.contains(host_version),
            "the refusal names both versions: {t}"
        );
        return format!("✗ refused: {}", refusal.split('\t').nth(1).unwrap());
    }
    assert_eq!(report.exit, Some(0), "no call broke: {t}");
    assert!(report.value("loaded").is_some(), "{t}");
    let calls = report.calls();
    let ok = calls.iter().filter(|(_, a)| *a == "ok").count();
    assert!(calls.iter().all(|(_, a)| !a.starts_with("internal")), "{t}");
    for call in ["describe", "validate", "close"] {
        assert_eq!(report.call(call), Some("ok"), "{call}: {t}");
    }
    if plugin.probe {
        assert_eq!(ok, calls.len(), "every call the probe has succeeds: {t}");
        assert_eq!(report.value("loaded_account"), Some("region=south"), "{t}");
    }
    if plugin.probe || plugin.label.starts_with("hello") {
        assert_eq!(report.value("verify"), Some("verified Matrix"), "{t}");
        assert_eq!(report.call("save"), Some("ok"), "{t}");
    }
    let plugin_minor = plugin.interface.1;
    let mut notes = Vec::new();
    // What 1.1 added.
    if host_minor == 0 {
        assert!(
            report.defaults().is_empty(),
            "a 1.0 host never calls past 1.0: {t}"
        );
        assert_eq!(report.value("token_grant"), None, "{t}");
        if plugin.probe && plugin_minor >= 1 {
            // The plugin saved through account_write; a 1.0 host lacks it, so the SDK
            // wrote the settings and the secret with the 1.0 calls.
            assert_eq!(
                report.value("stored"),
                Some("region=south secrets=refresh_token"),
                "{t}"
            );
            notes.push("account_write → separate writes".to_owned());
        }
    } else if plugin.probe && plugin_minor == 0 {
        assert_eq!(
            report.defaults()[..5],
            [
                "token",
                "token_forced",
                "account_health",
                "start_delivery",
                "start_delivery_file"
            ],
            "{t}"
        );
        assert_eq!(report.value("delivery_kinds"), Some("none"), "{t}");
        assert_eq!(
            report.value("save_replacing"),
            Some("accounts=Matrix renamed; separate writes"),
            "the host's fallback: save, then remove the old name: {t}"
        );
        notes.push("1.1 calls → defaults, rename by fallback".to_owned());
    } else if plugin.probe {
        assert_1_1_answered(report, host_minor, plugin_minor);
        notes.push("1.1 calls answered, lock held and released".to_owned());
    } else if plugin.label.starts_with("hello") {
        assert_eq!(report.value("delivery_kinds"), Some("none"), "{t}");
    }
    notes.extend(probe_cell_1_2(report, plugin, host_minor));
    // What the stand-in 1.3 added.
    match (host_minor >= 3, plugin_minor >= 3) {
        (true, true) => {
            assert_eq!(
                report.value("help_url"),
                Some("https://example.invalid/probe/help"),
                "{t}"
            );
            assert!(
                report.value("form").unwrap().contains("homepage:url"),
                "{t}"
            );
            notes.push("help_url answered, url field".to_owned());
        }
        (true, false) => {
            assert!(report.defaults().contains(&"help_url"), "{t}");
            notes.push("help_url → default".to_owned());
        }
        (false, true) => {
            assert!(
                report
                    .value("form")
                    .unwrap()
                    .contains("homepage:text(unknown kind)"),
                "{t}"
            );
            notes.push("url field → text".to_owned());
        }
        (false, false) => {}
    }
    let typed = calls.len() - ok;
    if typed > 0 {
        notes.push(format!("{typed} answered with a typed error"));
    }
    summary(ok, calls.len(), &notes)
}

/// What 1.2 added, in a probe host of `host_minor`: checks it and says what it saw.
fn probe_cell_1_2(report: &ProbeReport, plugin: &Plugin, host_minor: u32) -> Vec<String> {
    let t = report.transcript();
    let (label, plugin_minor) = (plugin.label, plugin.interface.1);
    let generation = report.value("store_generation");
    let mut notes = Vec::new();
    match (host_minor >= 2, plugin_minor >= 2) {
        (true, true) if plugin.probe => {
            assert_eq!(
                report.value("verify_methods"),
                Some(PROBE_1_2_METHODS),
                "{t}"
            );
            assert_eq!(
                report.value("settings_display"),
                Some(PROBE_1_2_DISPLAY),
                "{t}"
            );
            assert_eq!(report.value("ended_before_cancel"), Some("true"), "{t}");
            // What the plugin read is what the host offers: one write (the save) so far.
            assert_eq!(generation, report.value("host_generation"), "{t}");
            assert_eq!(generation, Some("1"), "{t}");
            // The push delivery and the credential_expired health: assert_1_1_answered.
            notes.push(
                "1.2 calls answered (direct, date display, ended before cancel, \
                 store generation read, push delivered, credential_expired)"
                    .to_owned(),
            );
        }
        (true, true) => {
            let methods = live_verify_methods(label);
            assert_eq!(report.value("verify_methods"), Some(methods), "{t}");
            if label.starts_with("office365") {
                let shown = report.value("settings_display").unwrap_or_default();
                assert!(shown.contains("authority:Authority:url"), "{t}");
            }
            if label.starts_with("webhook") {
                assert_eq!(report.value("delivery_kinds"), Some("push"), "{t}");
            }
            notes.push(format!("verify with {methods}"));
        }
        (true, false) => {
            // Only probes are built before 1.2.
            assert_eq!(
                report.value("verify_methods"),
                Some(BEFORE_1_2_METHODS),
                "{t}"
            );
            assert_eq!(report.value("settings_display"), Some("none"), "{t}");
            assert_eq!(report.value("ended_before_cancel"), Some("false"), "{t}");
            assert_eq!(generation, None, "{t}");
            assert!(
                report.values("delivery").contains(&"push: not offered"),
                "{t}"
            );
            notes.push("1.2 calls → defaults".to_owned());
        }
        (false, true) => {
            assert_eq!(report.value("verify_methods"), None, "{t}");
            assert_eq!(report.value("ended_before_cancel"), None, "{t}");
            if plugin.probe {
                assert_eq!(generation, Some("none"), "an older host has none: {t}");
                notes.push("store_generation → none".to_owned());
                if host_minor == 1 {
                    // The health and the kinds: assert_1_1_answered.
                    notes.push("credential_expired → expiring_soon, push not listed".to_owned());
                }
            } else if label.starts_with("webhook") && host_minor == 1 {
                assert_eq!(report.value("delivery_kinds"), Some("none"), "{t}");
                notes.push("push not listed".to_owned());
            }
        }
        (false, false) => {}
    }
    notes
}

/// A probe plugin of 1.1 or later in a host of 1.1 or later: every 1.1 call answered
/// and both 1.1 host services used — and, both sides 1.2 or later, the push delivery
/// and the 1.2 health state.
fn assert_1_1_answered(report: &ProbeReport, host_minor: u32, plugin_minor: u32) {
    let t = report.transcript();
    let both_1_2 = host_minor >= 2 && plugin_minor >= 2;
    assert_eq!(
        report.value("stored"),
        Some("region=south secrets=refresh_token; one transaction"),
        "{t}"
    );
    assert_eq!(
        report.values("token_grant"),
        [
            "source=cache scopes=probe.read",
            "source=refreshed scopes=probe.read"
        ],
        "{t}"
    );
    // A 1.1 host shows the 1.2 state it does not know as expiring soon.
    let state = if both_1_2 {
        "credential_expired"
    } else {
        "expiring_soon"
    };
    assert_eq!(
        report.value("health"),
        Some(
            format!(
                "{state} lapses_at=4102444800 last_refresh_error=timed_out \
                 fix=Re-verify the account."
            )
            .as_str()
        ),
        "{t}"
    );
    assert_eq!(
        report.value("save_replacing"),
        Some("accounts=Matrix renamed; one transaction"),
        "{t}"
    );
    // A host before 1.2 does not list the Push kind it does not know.
    let kinds = if both_1_2 {
        "mail,file,push"
    } else {
        "mail,file"
    };
    assert_eq!(report.value("delivery_kinds"), Some(kinds), "{t}");
    let mut deliveries = vec![
        "mail: running 0/13, lock probe/delivery/Matrix held → done mail Sent to \
         matrix@example.invalid with 1 attachment(s) (13 bytes)",
        "file: cancelled",
    ];
    let mut locks = vec!["released", "released"];
    if both_1_2 {
        deliveries.push(
            "push: running 0/13, lock probe/delivery/Matrix held → done push Pushed \
             report.txt as text/plain (13 bytes)",
        );
        locks.push("released");
    } else if host_minor >= 2 {
        deliveries.push("push: not offered");
    }
    assert_eq!(report.values("delivery"), deliveries, "{t}");
    assert_eq!(report.values("lock"), locks, "{t}");
}

fn summary(ok: usize, calls: usize, notes: &[String]) -> String {
    if notes.is_empty() {
        format!("✓ {ok}/{calls} ok")
    } else {
        format!("✓ {ok}/{calls} ok; {}", notes.join(", "))
    }
}

/// Loads the library with the live SDK in this process and drives every call.
fn live_cell(plugin: &Plugin) -> String {
    let label = plugin.label;
    let outcome = loader::load_file(plugin.library);
    if plugin.interface.0 != 1 {
        let refusal = outcome.expect_err("a 2.0 plugin is refused");
        assert_eq!(refusal.code(), "incompatible_version");
        let text = refusal.to_string();
        assert!(
            text.contains("2.0.0") && text.contains(INTERFACE_VERSION),
            "{text}"
        );
        return format!("✗ refused: {text}");
    }
    let library = outcome.unwrap_or_else(|r| panic!("{label} loads in the live host: {r}"));
    let memory = MemoryHost::new();
    let generation = Counting::new(memory.clone());
    let mut integration = library
        .instantiate(generation.clone())
        .expect("instantiate");
    let mut calls = LiveCalls::default();
    let form = calls
        .record(integration.describe())
        .expect("describe answers");
    let unknown: Vec<&str> = form
        .iter()
        .filter(|f| !f.kind_is_known())
        .map(|f| f.key.as_str())
        .collect();
    for key in &unknown {
        let field = form.iter().find(|f| f.key.as_str() == *key).unwrap();
        assert_eq!(field.kind(), FieldKind::Text, "falls back to text");
    }
    let driven = drive_live(&mut integration, &mut calls);
    let mut notes = Vec::new();
    if plugin.probe {
        // 1.2 first: the generation the plugin read is still the one offered.
        let added_in_1_2 = probe_1_2_live(
            &integration,
            &memory,
            plugin,
            &driven,
            &generation,
            &mut calls,
        );
        notes.push(probe_1_1_live(
            &mut integration,
            &memory,
            plugin,
            &mut calls,
        ));
        notes.push(added_in_1_2);
    } else {
        // Whatever another plugin answers to the 1.1 calls, nothing breaks.
        calls.tally(&integration.token("Matrix", &TokenRequest::saved_scopes()));
        calls.tally(&integration.account_health("Matrix"));
        let names = method_names(&integration.verify_methods());
        assert_eq!(names, live_verify_methods(label), "{label}");
        notes.push(format!("verify with {names}"));
    }
    calls.record(integration.remove_account("Matrix"));
    calls.record(integration.close());
    assert_eq!(calls.internal, 0, "{label}: no call broke");
    if plugin.interface.1 > live_minor() {
        assert_eq!(unknown, ["homepage"]);
        notes.push("url field → text".to_owned());
    } else {
        assert!(unknown.is_empty(), "{unknown:?}");
    }
    if plugin.probe {
        assert_eq!(calls.ok, calls.count, "{label}: every call succeeds");
    } else if calls.count > calls.ok {
        let typed = calls.count - calls.ok;
        notes.push(format!("{typed} answered with a typed error"));
    }
    summary(calls.ok, calls.count, &notes)
}

/// Counts like the probe host's: calls made (a default answer for a call the plugin
/// lacks counted apart), answered with success, and broken.
#[derive(Default)]
struct LiveCalls {
    count: usize,
    ok: usize,
    defaulted: usize,
    internal: usize,
}

impl LiveCalls {
    /// Counts an answer that the caller goes on to check.
    fn tally<T>(&mut self, result: &Result<T, PluginError>) {
        match result {
            Err(e) if e.details().any(|(k, _)| k == "missing_call") => self.defaulted += 1,
            Ok(_) => {
                self.count += 1;
                self.ok += 1;
            }
            Err(e) => {
                self.count += 1;
                if e.kind() == ErrorKind::Internal {
                    self.internal += 1;
                }
            }
        }
    }

    fn record<T>(&mut self, result: Result<T, PluginError>) -> Option<T> {
        self.count += 1;
        match result {
            Ok(v) => {
                self.ok += 1;
                Some(v)
            }
            Err(e) => {
                if e.kind() == ErrorKind::Internal {
                    self.internal += 1;
                }
                None
            }
        }
    }
}

fn matrix_values() -> FormValues {
    FormValues::new()
        .with("account_name", "Matrix")
        .with("region", "south")
}

/// What the 1.0 calls of [`drive_live`] showed of 1.2.
struct Driven {
    /// `ended_before_cancel` after the cancel, when a session started.
    ended_before_cancel: Option<bool>,
    /// The values `load_account` answered.
    loaded: Option<FormValues>,
}

/// The 1.0 calls every plugin must survive.
fn drive_live(integration: &mut IntegrationHandle, calls: &mut LiveCalls) -> Driven {
    calls.record(integration.validate(&FormValues::new()));
    let mut ended_before_cancel = None;
    let values = matrix_values();
    if let Some(session) =
        calls.record(integration.start_verification(&values, VerifyMethod::DeviceCode))
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut state = session.poll(Duration::from_secs(5));
        while !state.is_terminal() && Instant::now() < deadline {
            state = session.poll(Duration::from_secs(5));
        }
        calls.record(match state {
            SessionState::Failed(e) => Err((*e).clone()),
            _ => Ok(()),
        });
        session.cancel();
        ended_before_cancel = Some(session.ended_before_cancel());
    }
    calls.record(integration.save(&values));
    let loaded = calls.record(integration.load_account("Matrix"));
    calls.record(integration.access_token("Matrix"));
    Driven {
        ended_before_cancel,
        loaded,
    }
}

/// The verification methods as the probe hosts print them.
fn method_names(methods: &[VerifyMethod]) -> String {
    let names: Vec<String> = methods
        .iter()
        .map(|m| match m {
            VerifyMethod::Browser { loopback: true } => "browser(loopback)".to_owned(),
            other => other.name().to_owned(),
        })
        .collect();
    names.join(",")
}

/// The 1.2 calls of a probe plugin through the live SDK: answered by a 1.2 (or later)
/// probe — its session ended before the cancel, the generation it read is the one
/// offered, a push delivered — the documented defaults from an older one.
fn probe_1_2_live(
    integration: &IntegrationHandle,
    memory: &MemoryHost,
    plugin: &Plugin,
    driven: &Driven,
    generation: &Counting,
    calls: &mut LiveCalls,
) -> String {
    let label = plugin.label;
    let methods = method_names(&integration.verify_methods());
    let display = integration.settings_display();
    let read = driven
        .loaded
        .as_ref()
        .unwrap_or_else(|| panic!("{label}: load_account answers"))
        .get("store_generation")
        .map(str::to_owned);
    if plugin.interface.1 < 2 {
        assert_eq!(methods, BEFORE_1_2_METHODS, "{label}");
        assert!(display.is_empty(), "{label}: {display:?}");
        assert_eq!(driven.ended_before_cancel, Some(false), "{label}");
        assert_eq!(read, None, "{label}");
        assert!(!integration.delivery_kinds().contains(&DeliveryKind::Push));
        return "1.2 calls → defaults".to_owned();
    }
    assert_eq!(methods, PROBE_1_2_METHODS, "{label}");
    let shown: Vec<(&str, &str, ShownAs)> = display
        .iter()
        .map(|d| (d.key.as_str(), d.label.as_str(), d.shown_as()))
        .collect();
    assert_eq!(
        shown,
        [("verified_at", "Verified", ShownAs::Date)],
        "{label}"
    );
    assert_eq!(driven.ended_before_cancel, Some(true), "{label}");
    assert_eq!(read, Some(generation.current().to_string()), "{label}");
    assert!(generation.current() >= 1, "{label}: the save moved it on");
    let content = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(content.path(), b"probe report\n").unwrap();
    let push = DeliveryRequest::Push(PushRequest {
        content_type: "text/plain".into(),
        ..PushRequest::of_file(content.path())
    });
    let started = integration.start_delivery("Matrix", &push);
    calls.tally(&started);
    let job = started.unwrap_or_else(|e| panic!("{label}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let receipt = loop {
        assert!(Instant::now() < deadline, "{label}: the push ends");
        match job.poll(Duration::from_secs(1)) {
            DeliveryState::Running { .. } => {}
            DeliveryState::Done(receipt) => break receipt,
            other => panic!("{label}: push: {other:?}"),
        }
    };
    assert_eq!((receipt.kind, receipt.bytes), (DeliveryKind::Push, 13));
    assert!(memory.held_locks().is_empty(), "released when pushed");
    // The credential_expired health: probe_1_1_live.
    "1.2 calls answered (direct, date display, ended before cancel, store generation read, \
     push delivered, credential_expired)"
        .to_owned()
}

/// The live SDK's memory host, offering a store generation as a 1.2 host may: every
/// write that works moves it on.
#[derive(Clone)]
struct Counting {
    memory: MemoryHost,
    generation: Arc<AtomicU64>,
}

impl Counting {
    fn new(memory: MemoryHost) -> Self {
        Counting {
            memory,
            generation: Arc::default(),
        }
    }

    fn current(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn counted(&self, result: Result<(), PluginError>) -> Result<(), PluginError> {
        if result.is_ok() {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        result
    }
}

impl HostServices for Counting {
    fn log(&self, level: LogLevel, message: &str) {
        self.memory.log(level, message);
    }

    fn open_url(&self, url: &str) -> Result<(), PluginError> {
        self.memory.open_url(url)
    }

    fn settings_list(&self) -> Result<Vec<String>, PluginError> {
        self.memory.settings_list()
    }

    fn settings_read(&self, account: &str) -> Result<Option<Settings>, PluginError> {
        self.memory.settings_read(account)
    }

    fn settings_write(&self, account: &str, settings: &Settings) -> Result<(), PluginError> {
        self.counted(self.memory.settings_write(account, settings))
    }

    fn settings_remove(&self, account: &str) -> Result<(), PluginError> {
        self.counted(self.memory.settings_remove(account))
    }

    fn secret_read(&self, account: &str, name: &str) -> Result<Option<String>, PluginError> {
        self.memory.secret_read(account, name)
    }

    fn secret_write(&self, account: &str, name: &str, value: &str) -> Result<(), PluginError> {
        self.counted(self.memory.secret_write(account, name, value))
    }

    fn secrets_remove(&self, account: &str) -> Result<(), PluginError> {
        self.counted(self.memory.secrets_remove(account))
    }

    fn account_write(
        &self,
        account: &str,
        settings: &Settings,
        secrets: &Secrets,
        replaces: Option<&str>,
    ) -> Result<(), PluginError> {
        self.counted(
            self.memory
                .account_write(account, settings, secrets, replaces),
        )
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<u64, PluginError> {
        HostServices::lock(&self.memory, name, wait)
    }

    fn unlock(&self, token: u64) {
        self.memory.unlock(token);
    }

    fn store_generation(&self) -> Option<u64> {
        Some(self.current())
    }
}

/// The 1.1 calls of a probe plugin through the live SDK: answered by a 1.1 (or later)
/// probe, the documented defaults from a 1.0 one.
fn probe_1_1_live(
    integration: &mut IntegrationHandle,
    memory: &MemoryHost,
    plugin: &Plugin,
    calls: &mut LiveCalls,
) -> String {
    let label = plugin.label;
    let token = integration.token("Matrix", &TokenRequest::for_scopes(["probe.read"]));
    let forced = integration.token("Matrix", &TokenRequest::for_scopes(["probe.read"]).forced());
    let health = integration.account_health("Matrix");
    calls.tally(&token);
    calls.tally(&forced);
    calls.tally(&health);
    let writes = memory.account_writes();
    let renamed = matrix_values().with("account_name", "Matrix renamed");
    let moved = integration.save_replacing(&renamed, "Matrix");
    calls.tally(&moved);
    moved.unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(
        memory.handle().settings_list().unwrap(),
        ["Matrix renamed"],
        "{label}: a rename is a move"
    );
    let one_transaction = memory.account_writes() > writes;
    let back = integration.save_replacing(&matrix_values(), "Matrix renamed");
    calls.tally(&back);
    back.unwrap_or_else(|e| panic!("{label}: {e}"));
    let content = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(content.path(), b"probe report\n").unwrap();
    let delivery = deliver_live(integration, memory, content.path());
    calls.tally(&delivery);
    if plugin.interface.1 == 0 {
        for (call, answer) in [
            ("token", token.map(drop)),
            ("token", forced.map(drop)),
            ("account_health", health.map(drop)),
            ("start_delivery", delivery.map(drop)),
        ] {
            let e = answer.expect_err(call);
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{label}: {call}");
            assert!(
                e.details().any(|d| d == ("missing_call", call)),
                "{label}: {call}: {e}"
            );
        }
        assert!(integration.delivery_kinds().is_empty());
        assert!(!one_transaction, "{label}: renamed by the host's fallback");
        assert_eq!(calls.defaulted, 4, "{label}: token twice, health, delivery");
        return "1.1 calls → defaults, rename by fallback".to_owned();
    }
    let token = token.unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(token.source, TokenSource::Cache);
    assert_eq!(token.token.scopes.len(), 1);
    assert_eq!(forced.unwrap().source, TokenSource::Refreshed);
    let health = health.unwrap_or_else(|e| panic!("{label}: {e}"));
    let (state, kinds) = if plugin.interface.1 >= 2 {
        (
            HealthState::CredentialExpired,
            &[DeliveryKind::Mail, DeliveryKind::File, DeliveryKind::Push][..],
        )
    } else {
        (
            HealthState::ExpiringSoon,
            &[DeliveryKind::Mail, DeliveryKind::File][..],
        )
    };
    assert_eq!(health.state, state, "{label}");
    assert_eq!(health.lapses_at, Some(4_102_444_800));
    assert_eq!(
        health.last_refresh_error.map(|e| e.kind()),
        Some(ErrorKind::TimedOut)
    );
    assert!(one_transaction, "{label}: saved through account_write");
    assert_eq!(integration.delivery_kinds(), kinds, "{label}");
    let (lock_while_running, bytes) = delivery.unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(lock_while_running, ["probe/delivery/Matrix"]);
    assert_eq!(bytes, 13);
    assert!(memory.held_locks().is_empty(), "released when delivered");
    let file = DeliveryRequest::File(FileRequest {
        source: content.path().to_owned(),
        folder: "Reports".into(),
        site: None,
        file_name: "report.txt".into(),
        conflict: Default::default(),
    });
    let started = integration.start_delivery("Matrix", &file);
    calls.tally(&started);
    let job = started.unwrap();
    job.cancel();
    match job.poll(Duration::ZERO) {
        DeliveryState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("{label}: not cancelled: {other:?}"),
    }
    assert!(memory.held_locks().is_empty(), "released when cancelled");
    "1.1 calls answered, lock held and released".to_owned()
}

/// Sends a mail with `attachment` and waits for its receipt; returns the host locks
/// held while it ran and the bytes delivered.
fn deliver_live(
    integration: &IntegrationHandle,
    memory: &MemoryHost,
    attachment: &Path,
) -> Result<(Vec<String>, u64), PluginError> {
    let mut mail = MailRequest::test_message("Matrix", "matrix@example.invalid");
    mail.attachments.push(Attachment {
        path: PathBuf::from(attachment),
        name: "report.txt".into(),
        content_type: "text/plain".into(),
    });
    let job = integration.start_delivery("Matrix", &DeliveryRequest::Mail(mail))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut held = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "the delivery ends");
        match job.poll(Duration::from_secs(1)) {
            DeliveryState::Running { .. } => held.extend(memory.held_locks()),
            DeliveryState::Done(receipt) => return Ok((held, receipt.bytes)),
            DeliveryState::Failed(e) => return Err(e),
            other => panic!("a state the live SDK knows: {other:?}"),
        }
    }
}

/// Runs the real host binary on a plugins folder holding only the plugin's library.
fn test_host_cell(plugin: &Plugin) -> String {
    let label = plugin.label;
    let dir = plugins_dir(&[plugin.library]);
    let store = tempfile::tempdir().unwrap();
    let host = |args: &[&str]| {
        let mut all = vec![
            "--plugins-dir",
            dir.path().to_str().unwrap(),
            "--store",
            store.path().to_str().unwrap(),
            "--json",
        ];
        all.extend_from_slice(args);
        run_host(&all, &[])
    };
    let listed = json_result(&host(&["plugins"]));
    let entry = &listed["plugins"][0];
    if plugin.interface.0 != 1 {
        assert_eq!(entry["status"], "refused", "{listed}");
        assert_eq!(entry["reason"], "incompatible_version", "{listed}");
        let message = entry["message"].as_str().unwrap();
        assert!(
            message.contains("2.0.0") && message.contains(INTERFACE_VERSION),
            "{message}"
        );
        return "✗ refused: incompatible_version".into();
    }
    assert_eq!(entry["status"], "loaded", "{label}: {listed}");
    let id = entry["id"].as_str().unwrap().to_owned();
    let form = json_result(&host(&["form", &id]));
    let kinds: Vec<String> = form["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["key"].as_str().unwrap(),
                f["kind"].as_str().unwrap()
            )
        })
        .collect();
    let mut notes = vec![format!(
        "listed as {id} {}",
        entry["version"].as_str().unwrap()
    )];
    let methods: Vec<String> = form["verify_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(
            |m| match (m["method"].as_str().unwrap(), m["loopback"].as_bool()) {
                ("browser", Some(true)) => "browser(loopback)".to_owned(),
                // The host's JSON says `device_code` where the SDK's name is `device`.
                ("device_code", _) => "device".to_owned(),
                (name, _) => name.to_owned(),
            },
        )
        .collect();
    let methods = methods.join(",");
    let expected = match (plugin.probe, plugin.interface.1) {
        (true, 0 | 1) => BEFORE_1_2_METHODS,
        (true, _) => PROBE_1_2_METHODS,
        (false, _) => live_verify_methods(label),
    };
    assert_eq!(methods, expected, "{label}: {form}");
    notes.push(format!("verify with {methods}"));
    if plugin.interface.1 > live_minor() {
        assert!(kinds.contains(&"homepage:text".to_owned()), "{kinds:?}");
        notes.push("url field → text".into());
    }
    if plugin.probe || label.starts_with("hello") {
        let added = host(&[
            "add",
            &id,
            "--set",
            "account_name=Matrix",
            "--verify",
            "device",
            "--timeout",
            "30",
        ]);
        let result = json_result(&added);
        assert_eq!(result["saved"], true, "{label}: {result}");
        let accounts = json_result(&host(&["accounts"]));
        assert_eq!(accounts["accounts"][0]["account"], "Matrix", "{accounts}");
        notes.push("add → saved".into());
    }
    if plugin.probe {
        // The host verifies directly only a plugin that offers it (1.2 and later).
        let direct = host(&[
            "add",
            &id,
            "--set",
            "account_name=Direct",
            "--verify",
            "direct",
            "--timeout",
            "30",
        ]);
        if plugin.interface.1 >= 2 {
            let result = json_result(&direct);
            assert_eq!(result["saved"], true, "{label}: {result}");
            notes.push("add --verify direct → saved".into());
        } else {
            let shown = format!(
                "{}{}",
                String::from_utf8_lossy(&direct.stdout),
                String::from_utf8_lossy(&direct.stderr)
            );
            assert_eq!(direct.status.code(), Some(2), "{label}: {shown}");
            assert!(
                shown.contains("does not verify with --verify direct"),
                "{label}: {shown}"
            );
            notes.push("--verify direct → refused (not offered)".into());
        }
    }
    format!("✓ {}", notes.join(", "))
}

fn print_table(cells: &[Cell]) {
    let hosts: Vec<&str> = cells.iter().map(|c| c.host).fold(Vec::new(), |mut v, h| {
        if !v.contains(&h) {
            v.push(h);
        }
        v
    });
    let mut out = String::from(
        "\nCompatibility matrix (rows: plugin built against; columns: host built against)\n\n",
    );
    out += &format!("| plugin \\ host | {} |\n", hosts.join(" | "));
    out += &format!("|---|{}\n", "---|".repeat(hosts.len()));
    for plugin in plugins() {
        let row: Vec<&str> = hosts
            .iter()
            .map(|h| {
                cells
                    .iter()
                    .find(|c| c.plugin == plugin.label && c.host == *h)
                    .map_or("", |c| c.outcome.as_str())
            })
            .collect();
        out += &format!("| {} | {} |\n", plugin.label, row.join(" | "));
    }
    println!("{out}");
}

#[test]
fn every_pairing_loads_and_works_or_is_refused_as_the_rules_say() {
    let cells = matrix();
    assert_eq!(cells.len(), plugins().len() * (PROBE_HOSTS.len() + 2));
    let newer_hosts = ["host 1.1", "host 1.2", "host 1.3", "live SDK"];
    // 1.1 added calls and host services.
    for host in newer_hosts {
        let c = cell("probe 1.0", host);
        assert!(
            c.contains("1.1 calls → defaults, rename by fallback"),
            "{host}: {c}"
        );
    }
    for plugin in ["probe 1.1", "probe 1.2", "probe 1.3"] {
        let c = cell(plugin, "host 1.0");
        assert!(
            c.contains("account_write → separate writes"),
            "{plugin}: {c}"
        );
        for host in newer_hosts {
            let c = cell(plugin, host);
            assert!(c.contains("1.1 calls answered"), "{plugin} × {host}: {c}");
        }
    }
    // 1.2 added calls, a host service, a verification method, a health state and a
    // delivery kind.
    for plugin in ["probe 1.0", "probe 1.1"] {
        for host in ["host 1.2", "host 1.3", "live SDK"] {
            let c = cell(plugin, host);
            assert!(c.contains("1.2 calls → defaults"), "{plugin} × {host}: {c}");
        }
    }
    for plugin in ["probe 1.2", "probe 1.3"] {
        let c = cell(plugin, "host 1.0");
        assert!(c.contains("store_generation → none"), "{plugin}: {c}");
        let c = cell(plugin, "host 1.1");
        assert!(
            c.contains("store_generation → none")
                && c.contains("credential_expired → expiring_soon, push not listed"),
            "{plugin}: {c}"
        );
        for host in ["host 1.2", "host 1.3", "live SDK"] {
            let c = cell(plugin, host);
            assert!(c.contains("1.2 calls answered"), "{plugin} × {host}: {c}");
        }
        let c = cell(plugin, "atrs-test-host");
        assert!(c.contains("add --verify direct → saved"), "{plugin}: {c}");
    }
    for plugin in ["probe 1.0", "probe 1.1"] {
        let c = cell(plugin, "atrs-test-host");
        assert!(c.contains("--verify direct → refused"), "{plugin}: {c}");
    }
    assert!(cell("webhook", "host 1.1").contains("push not listed"));
    // The stand-in 1.3.
    for host in [
        "host 1.0",
        "host 1.1",
        "host 1.2",
        "live SDK",
        "atrs-test-host",
    ] {
        let c = cell("probe 1.3", host);
        assert!(c.contains("url field → text"), "{host}: {c}");
    }
    for plugin in ["probe 1.0", "probe 1.1", "probe 1.2"] {
        assert!(cell(plugin, "host 1.3").contains("help_url → default"));
    }
    assert!(cell("probe 1.3", "host 1.3").contains("help_url answered"));
    for host in [
        "host 1.0",
        "host 1.1",
        "host 1.2",
        "host 1.3",
        "live SDK",
        "atrs-test-host",
    ] {
        assert!(cell("probe 2.0", host).starts_with("✗ refused"), "{host}");
    }
}

#[test]
fn the_live_sdk_still_matches_the_frozen_interfaces() {
    // Frozen plugins in the live hosts, and live-built plugins in the frozen hosts: if
    // any is refused, the live host-sdk changed a released interface. Undo that change,
    // or make it the way the evolution rules in host-sdk's crate docs allow.
    for plugin in ["probe 1.0", "probe 1.1", "probe 1.2"] {
        for host in ["live SDK", "atrs-test-host"] {
            assert!(
                cell(plugin, host).starts_with('✓'),
                "{plugin} × {host}: {}",
                cell(plugin, host)
            );
        }
    }
    for plugin in ["office365", "hello", "webhook"] {
        for host in ["host 1.0", "host 1.1", "host 1.2", "host 1.3"] {
            assert!(
                cell(plugin, host).starts_with('✓'),
                "{plugin} × {host}: {}",
                cell(plugin, host)
            );
        }
    }
}

#[test]
fn one_host_loads_plugins_of_every_1x_minor_side_by_side() {
    // abi_stable keeps what it checked in process-wide tables; a check made for an
    // older plugin must not make the next plugin look like a mismatch. In this process
    // (in both orders), and in the real host with a folder of mixed plugins.
    let probes = ["1.0", "1.1", "1.2", "1.3"].map(probe_plugin);
    for library in probes.iter().chain(probes.iter().rev()) {
        if let Err(refusal) = loader::load_file(library) {
            panic!("{} after the others: {refusal}", library.display());
        }
    }
    let dir = plugins_dir(&[
        office365_library(),
        probe_plugin("1.0"),
        hello_plugin(),
        webhook_plugin(),
    ]);
    let store = tempfile::tempdir().unwrap();
    let listed = json_result(&run_host(
        &[
            "--plugins-dir",
            dir.path().to_str().unwrap(),
            "--store",
            store.path().to_str().unwrap(),
            "--json",
            "plugins",
        ],
        &[],
    ));
    let statuses: Vec<(String, String)> = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].to_string(), p["status"].to_string()))
        .collect();
    assert_eq!(statuses.len(), 4, "{listed}");
    assert!(
        statuses.iter().all(|(_, status)| status == "\"loaded\""),
        "{listed}"
    );
}

/// FNV-1a of each file of the frozen 1.0 copy (`src/`), taken when 1.0 was frozen.
const FROZEN_1_0: [(&str, u64); 14] = [
    ("src/abi.rs", 0x727a28885906c667),
    ("src/error.rs", 0xabee850a4fa34601),
    ("src/form.rs", 0xb80839b23be924a5),
    ("src/guard.rs", 0x6d720da727ac4b65),
    ("src/host.rs", 0xed830f0d3e1ed85d),
    ("src/lib.rs", 0xa0c5f0a90756118e),
    ("src/loader.rs", 0x1d329875716adc0d),
    ("src/manifest.rs", 0x967909475ff5eeb5),
    ("src/plugin.rs", 0x6008f146444a0bfe),
    ("src/preflight.rs", 0x17c8ad59995506a9),
    ("src/secret.rs", 0x3cd0d5f12ed3b476),
    ("src/testing.rs", 0xf0e5b2f0c18da7ed),
    ("src/verify.rs", 0x46821d699f212fcf),
    ("src/version.rs", 0x1cd21f1ecb26bc9c),
];

/// FNV-1a of each file of the frozen 1.1 copy (`src/`, and the example its crate
/// docs include), taken when 1.1 was frozen.
const FROZEN_1_1: [(&str, u64); 26] = [
    ("examples/hello_plugin.rs", 0x4ba4bd555662da86),
    ("src/abi/account.rs", 0x64bf2b9a61df3984),
    ("src/abi/delivery.rs", 0xd00df325646e0f0d),
    ("src/abi/mod.rs", 0xbe61e9d1c99e0e5e),
    ("src/account.rs", 0xebc30f4f4d6740e9),
    ("src/bounded.rs", 0x882b99d41b3959be),
    ("src/compatibility.rs", 0xd2a0b22407d4fd0e),
    ("src/delivery.rs", 0x08badc3fc98562ca),
    ("src/error.rs", 0xadb4db19e5bca43d),
    ("src/form.rs", 0x2382fddaa678058e),
    ("src/fuzzing.rs", 0x653c2d42502bc6c0),
    ("src/guard.rs", 0xd247a5ad1fd8f42f),
    ("src/host.rs", 0x5816b7509f4dec42),
    ("src/lib.rs", 0xf561930bdc720321),
    ("src/loader.rs", 0xb7971dfa0ddacd2c),
    ("src/log_level.rs", 0x952a4fffad67b5bb),
    ("src/manifest.rs", 0x967909475ff5eeb5),
    ("src/plugin.rs", 0xc6b4acf034667717),
    ("src/preflight.rs", 0x6e89f58f3475a1dc),
    ("src/secret.rs", 0x3cd0d5f12ed3b476),
    ("src/session.rs", 0x2fd3c09ce6b09b7a),
    ("src/testing.rs", 0xa2025ab86322d92c),
    ("src/verified_values.rs", 0x6e64c60aff61f5c3),
    ("src/verify.rs", 0xe56013b9b76f5d6e),
    ("src/version.rs", 0x5786e9a7500cc799),
    ("src/workers.rs", 0x15ecf8952920eac2),
];

/// FNV-1a of each file of the frozen 1.2 copy (`src/`, and the example its crate
/// docs include), taken when 1.2 was frozen.
const FROZEN_1_2: [(&str, u64); 33] = [
    ("examples/hello_plugin.rs", 0x6cc29bd78a7116be),
    ("src/abi/account.rs", 0x64bf2b9a61df3984),
    ("src/abi/delivery.rs", 0xb2a0cc21d79e59f9),
    ("src/abi/mod.rs", 0xe2421d8007d90bc0),
    ("src/account.rs", 0x89e2d4d3097957a4),
    ("src/bounded.rs", 0xf48c2d5a71dfbd16),
    ("src/call_failure.rs", 0xa6f82032534e66b3),
    ("src/cancel.rs", 0x492d6e2f2816378d),
    ("src/compatibility.rs", 0x75aac3c066ca8669),
    ("src/delivering.rs", 0xd2bf825f8fa5d201),
    ("src/delivery.rs", 0x19f65bfb2cd5c738),
    ("src/error.rs", 0xce96d1972f23e417),
    ("src/form.rs", 0x2382fddaa678058e),
    ("src/form_store.rs", 0x41cef251689bb261),
    ("src/fuzzing.rs", 0x653c2d42502bc6c0),
    ("src/guard.rs", 0xd247a5ad1fd8f42f),
    ("src/host.rs", 0xab62f0d64a2bc372),
    ("src/lib.rs", 0xae474041902598ce),
    ("src/loader.rs", 0x9b22d0388cdee351),
    ("src/log_level.rs", 0x952a4fffad67b5bb),
    ("src/manifest.rs", 0x967909475ff5eeb5),
    ("src/plugin.rs", 0xc3e6fcd925e3b2dc),
    ("src/plugin_file.rs", 0x722e1b109c77c128),
    ("src/preflight.rs", 0x81ee016059873bf3),
    ("src/secret.rs", 0x3cd0d5f12ed3b476),
    ("src/session.rs", 0x75e34765cf56e109),
    ("src/setting_display.rs", 0x27d6ca62521f9c88),
    ("src/signing.rs", 0x8eb23f414e849f33),
    ("src/testing.rs", 0xa2025ab86322d92c),
    ("src/verified_values.rs", 0x6e64c60aff61f5c3),
    ("src/verify.rs", 0x4df9c7bd25e68129),
    ("src/version.rs", 0x997cabb3eb1d330a),
    ("src/workers.rs", 0x15ecf8952920eac2),
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Every file under `dir`, as `/`-separated paths relative to `root`, sorted.
fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            let relative = path.strip_prefix(root).unwrap();
            out.push(relative.to_str().unwrap().replace('\\', "/"));
        }
    }
}

/// Checks that `tests/compat/<folder>` holds exactly the files of `frozen` (under its
/// subfolders `under`), byte for byte.
fn assert_frozen(folder: &str, under: &[&str], frozen: &[(&str, u64)]) {
    let root = atrs_e2e::repo_root().join("tests/compat").join(folder);
    let mut files = Vec::new();
    for sub in under {
        files_under(&root, &root.join(sub), &mut files);
    }
    files.sort();
    let expected: Vec<&str> = frozen.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        files,
        expected,
        "files were added to or removed from {}",
        root.display()
    );
    for (file, hash) in frozen {
        let bytes = std::fs::read(root.join(file)).unwrap();
        let now = fnv1a(&bytes);
        assert_eq!(
            now, *hash,
            "tests/compat/{folder}/{file} was edited (its FNV-1a is now {now:#018x})"
        );
    }
}

#[test]
fn the_frozen_descriptions_are_never_edited() {
    // Each describes the ABI released as that version; the matrix is only a proof while
    // they stay exactly that. Changes belong in host-sdk (within the evolution rules).
    assert_frozen("sdk-1.0", &["src"], &FROZEN_1_0);
    assert_frozen("sdk-1.1", &["src", "examples"], &FROZEN_1_1);
    assert_frozen("sdk-1.2", &["src", "examples"], &FROZEN_1_2);
}

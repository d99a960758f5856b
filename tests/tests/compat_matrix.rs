//! The compatibility matrix: hosts and plugins compiled separately against interface
//! 1.0 and 1.1 (the frozen copies in `tests/compat/sdk-1.0` and `sdk-1.1`), the
//! stand-in next minor 1.2 (1.1 plus an appended method and an appended field kind),
//! 2.0 (a breaking change) and the live workspace, loaded in every pairing. Run with
//! `--nocapture` to see the results table.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
    time::{Duration, Instant},
};

use atrs_e2e::{
    compat::{probe_host, probe_plugin, ProbeReport},
    hello_plugin, json_result, office365_library, plugins_dir, run_host,
};
use atrs_host_sdk::{
    loader::{self, IntegrationHandle},
    testing::MemoryHost,
    Attachment, DeliveryKind, DeliveryRequest, DeliveryState, ErrorKind, FieldKind, FileRequest,
    FormValues, HealthState, MailRequest, PluginError, SessionState, TokenRequest, TokenSource,
    VerifyMethod, INTERFACE_VERSION,
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
        probe("probe 1.2 (stand-in)", "1.2", (1, 2)),
        probe("probe 2.0", "2.0", (2, 0)),
        live("office365 (live SDK)", office365_library()),
        live("hello example (live SDK)", hello_plugin()),
    ]
}

/// The probe hosts: label and interface minor.
const PROBE_HOSTS: [(&str, u32); 3] = [
    ("host 1.0 (frozen)", 0),
    ("host 1.1 (frozen)", 1),
    ("host 1.2 (stand-in)", 2),
];

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
        assert_1_1_answered(report);
        notes.push("1.1 calls answered, lock held and released".to_owned());
    } else if plugin.label.starts_with("hello") {
        assert_eq!(report.value("delivery_kinds"), Some("none"), "{t}");
    }
    // What the stand-in 1.2 added.
    match (host_minor >= 2, plugin_minor >= 2) {
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

/// A probe plugin of 1.1 or later in a host of 1.1 or later: every 1.1 call answered
/// and both 1.1 host services used.
fn assert_1_1_answered(report: &ProbeReport) {
    let t = report.transcript();
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
    assert_eq!(
        report.value("health"),
        Some(
            "expiring_soon lapses_at=4102444800 last_refresh_error=timed_out \
             fix=Re-verify the account."
        ),
        "{t}"
    );
    assert_eq!(
        report.value("save_replacing"),
        Some("accounts=Matrix renamed; one transaction"),
        "{t}"
    );
    assert_eq!(report.value("delivery_kinds"), Some("mail,file"), "{t}");
    assert_eq!(
        report.values("delivery"),
        [
            "mail: running 0/13, lock probe/delivery/Matrix held → done mail Sent to \
             matrix@example.invalid with 1 attachment(s) (13 bytes)",
            "file: cancelled"
        ],
        "{t}"
    );
    assert_eq!(report.values("lock"), ["released", "released"], "{t}");
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
    let mut integration = library.instantiate(memory.clone()).expect("instantiate");
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
    drive_live(&mut integration, &mut calls);
    let mut notes = Vec::new();
    if plugin.probe {
        notes.push(probe_1_1_live(
            &mut integration,
            &memory,
            plugin,
            &mut calls,
        ));
    } else {
        // Whatever another plugin answers to the 1.1 calls, nothing breaks.
        calls.tally(&integration.token("Matrix", &TokenRequest::saved_scopes()));
        calls.tally(&integration.account_health("Matrix"));
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

/// The 1.0 calls, and the 1.1 calls every plugin must survive.
fn drive_live(integration: &mut IntegrationHandle, calls: &mut LiveCalls) {
    calls.record(integration.validate(&FormValues::new()));
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
    }
    calls.record(integration.save(&values));
    calls.record(integration.load_account("Matrix"));
    calls.record(integration.access_token("Matrix"));
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
    assert_eq!(health.state, HealthState::ExpiringSoon);
    assert_eq!(health.lapses_at, Some(4_102_444_800));
    assert_eq!(
        health.last_refresh_error.map(|e| e.kind()),
        Some(ErrorKind::TimedOut)
    );
    assert!(one_transaction, "{label}: saved through account_write");
    assert_eq!(
        integration.delivery_kinds(),
        [DeliveryKind::Mail, DeliveryKind::File]
    );
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
    for host in ["host 1.1", "host 1.2", "live SDK"] {
        let c = cell("probe 1.0", host);
        assert!(
            c.contains("1.1 calls → defaults, rename by fallback"),
            "{host}: {c}"
        );
    }
    for plugin in ["probe 1.1", "probe 1.2"] {
        let c = cell(plugin, "host 1.0");
        assert!(
            c.contains("account_write → separate writes"),
            "{plugin}: {c}"
        );
        for host in ["host 1.1", "host 1.2", "live SDK"] {
            let c = cell(plugin, host);
            assert!(c.contains("1.1 calls answered"), "{plugin} × {host}: {c}");
        }
    }
    for host in ["host 1.0", "host 1.1", "live SDK", "atrs-test-host"] {
        let c = cell("probe 1.2", host);
        assert!(c.contains("url field → text"), "{host}: {c}");
    }
    for plugin in ["probe 1.0", "probe 1.1"] {
        assert!(cell(plugin, "host 1.2").contains("help_url → default"));
    }
    assert!(cell("probe 1.2", "host 1.2").contains("help_url answered"));
    for host in [
        "host 1.0",
        "host 1.1",
        "host 1.2",
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
    for plugin in ["probe 1.0", "probe 1.1"] {
        for host in ["live SDK", "atrs-test-host"] {
            assert!(
                cell(plugin, host).starts_with('✓'),
                "{plugin} × {host}: {}",
                cell(plugin, host)
            );
        }
    }
    for plugin in ["office365", "hello"] {
        for host in ["host 1.0", "host 1.1", "host 1.2"] {
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
    let probes = ["1.0", "1.1", "1.2"].map(probe_plugin);
    for library in probes.iter().chain(probes.iter().rev()) {
        if let Err(refusal) = loader::load_file(library) {
            panic!("{} after the others: {refusal}", library.display());
        }
    }
    let dir = plugins_dir(&[office365_library(), probe_plugin("1.0"), hello_plugin()]);
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
    assert_eq!(statuses.len(), 3, "{listed}");
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
}

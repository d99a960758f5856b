//! The compatibility matrix: hosts and plugins compiled separately against interface
//! 1.0 (the frozen copy in `tests/compat/sdk-1.0`), 1.1 (1.0 plus an appended method
//! and an appended field kind), 2.0 (a breaking change) and the live workspace, loaded
//! in every pairing. Run with `--nocapture` to see the results table.

use std::{path::Path, sync::OnceLock, time::Duration};

use atrs_e2e::{
    compat::{probe_host, probe_plugin, ProbeReport},
    hello_plugin, json_result, office365_library, plugins_dir, run_host,
};
use atrs_host_sdk::{
    loader::{self, IntegrationHandle},
    testing::MemoryHost,
    ErrorKind, FormValues, PluginError, SessionState, VerifyMethod,
};

/// The plugins of the matrix: label and library.
fn plugins() -> Vec<(&'static str, &'static Path)> {
    vec![
        ("probe 1.0 (frozen)", probe_plugin("1.0")),
        ("probe 1.1", probe_plugin("1.1")),
        ("probe 2.0", probe_plugin("2.0")),
        ("office365 (live 1.0.0)", office365_library()),
        ("hello example (live 1.0.0)", hello_plugin()),
    ]
}

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
        for (plugin, library) in plugins() {
            for version in ["1.0", "1.1"] {
                let host = if version == "1.0" {
                    "host 1.0 (frozen)"
                } else {
                    "host 1.1"
                };
                let report = ProbeReport::run(probe_host(version), library);
                let outcome = probe_cell(&report, plugin);
                cells.push(Cell {
                    plugin,
                    host,
                    outcome,
                });
            }
            cells.push(Cell {
                plugin,
                host: "live SDK, in-process",
                outcome: live_cell(library, plugin),
            });
            cells.push(Cell {
                plugin,
                host: "atrs-test-host (live)",
                outcome: test_host_cell(library, plugin),
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
fn probe_cell(report: &ProbeReport, plugin: &str) -> String {
    let t = report.transcript();
    if plugin.starts_with("probe 2.0") {
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
    if plugin.starts_with("probe") {
        assert_eq!(ok, calls.len(), "every call succeeds: {t}");
    }
    if plugin.starts_with("probe") || plugin.starts_with("hello") {
        assert_eq!(report.value("verify"), Some("verified Matrix"), "{t}");
        assert_eq!(report.call("save"), Some("ok"), "{t}");
    }
    let host_1_1 = report.value("host") == Some("1.1.0");
    let mut notes = Vec::new();
    match (host_1_1, plugin.starts_with("probe 1.1")) {
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
            assert_eq!(report.value("default"), Some("help_url"), "{t}");
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

fn summary(ok: usize, calls: usize, notes: &[String]) -> String {
    if notes.is_empty() {
        format!("✓ {ok}/{calls} ok")
    } else {
        format!("✓ {ok}/{calls} ok; {}", notes.join(", "))
    }
}

/// Loads the library with the live SDK in this process and drives every call.
fn live_cell(library: &Path, plugin: &str) -> String {
    let outcome = loader::load_file(library);
    if plugin.starts_with("probe 2.0") {
        let refusal = outcome.expect_err("a 2.0 plugin is refused");
        assert_eq!(refusal.code(), "incompatible_version");
        let text = refusal.to_string();
        assert!(text.contains("2.0.0") && text.contains("1.0.0"), "{text}");
        return format!("✗ refused: {text}");
    }
    let library = outcome.unwrap_or_else(|r| panic!("{plugin} loads in the live host: {r}"));
    let mut integration = library.instantiate(MemoryHost::new()).expect("instantiate");
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
        assert_eq!(
            field.kind(),
            atrs_host_sdk::FieldKind::Text,
            "falls back to text"
        );
    }
    drive_live(&mut integration, &mut calls);
    assert_eq!(calls.internal, 0, "{plugin}: no call broke");
    let mut notes = Vec::new();
    if plugin.starts_with("probe 1.1") {
        assert_eq!(unknown, ["homepage"]);
        notes.push("url field → text".to_owned());
    }
    if plugin.starts_with("probe") {
        assert_eq!(calls.ok, calls.count, "{plugin}: every call succeeds");
    } else if calls.count > calls.ok {
        let typed = calls.count - calls.ok;
        notes.push(format!("{typed} answered with a typed error"));
    }
    summary(calls.ok, calls.count, &notes)
}

#[derive(Default)]
struct LiveCalls {
    count: usize,
    ok: usize,
    internal: usize,
}

impl LiveCalls {
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

fn drive_live(integration: &mut IntegrationHandle, calls: &mut LiveCalls) {
    calls.record(integration.validate(&FormValues::new()));
    let values = FormValues::new()
        .with("account_name", "Matrix")
        .with("region", "south");
    if let Some(session) =
        calls.record(integration.start_verification(&values, VerifyMethod::DeviceCode))
    {
        let state = session.poll(Duration::from_secs(5));
        calls.record(match state {
            SessionState::Failed(e) => Err((*e).clone()),
            _ => Ok(()),
        });
        session.cancel();
    }
    calls.record(integration.save(&values));
    calls.record(integration.load_account("Matrix"));
    calls.record(integration.access_token("Matrix"));
    calls.record(integration.remove_account("Matrix"));
    calls.record(integration.close());
}

/// Runs the real host binary on a plugins folder holding only `library`.
fn test_host_cell(library: &Path, plugin: &str) -> String {
    let dir = plugins_dir(&[library]);
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
    if plugin.starts_with("probe 2.0") {
        assert_eq!(entry["status"], "refused", "{listed}");
        assert_eq!(entry["reason"], "incompatible_version", "{listed}");
        let message = entry["message"].as_str().unwrap();
        assert!(
            message.contains("2.0.0") && message.contains("1.0.0"),
            "{message}"
        );
        return "✗ refused: incompatible_version".into();
    }
    assert_eq!(entry["status"], "loaded", "{listed}");
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
    if plugin.starts_with("probe 1.1") {
        assert!(kinds.contains(&"homepage:text".to_owned()), "{kinds:?}");
        notes.push("url field → text".into());
    }
    if plugin.starts_with("probe") || plugin.starts_with("hello") {
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
        assert_eq!(result["saved"], true, "{result}");
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
    for (plugin, _) in plugins() {
        let row: Vec<&str> = hosts
            .iter()
            .map(|h| {
                cells
                    .iter()
                    .find(|c| c.plugin == plugin && c.host == *h)
                    .map_or("", |c| c.outcome.as_str())
            })
            .collect();
        out += &format!("| {plugin} | {} |\n", row.join(" | "));
    }
    println!("{out}");
}

#[test]
fn every_pairing_loads_and_works_or_is_refused_as_the_rules_say() {
    let cells = matrix();
    assert_eq!(cells.len(), plugins().len() * 4);
    assert!(cell("probe 1.0", "host 1.1").contains("help_url → default"));
    assert!(cell("probe 1.1", "host 1.0").contains("url field → text"));
    assert!(cell("probe 1.1", "host 1.1").contains("help_url answered"));
    for host in ["host 1.0", "host 1.1", "live SDK", "atrs-test-host"] {
        assert!(cell("probe 2.0", host).starts_with("✗ refused"), "{host}");
    }
}

#[test]
fn the_live_sdk_still_matches_the_frozen_1_0_interface() {
    // A 1.0 plugin in the live host, and live-built plugins in the frozen 1.0 host: if
    // either is refused, the live host-sdk changed interface 1.0. Undo that change, or
    // make it the way the evolution rules in host-sdk's crate docs allow.
    for (plugin, host) in [
        ("probe 1.0", "live SDK"),
        ("probe 1.0", "atrs-test-host"),
        ("office365", "host 1.0"),
        ("hello", "host 1.0"),
        ("office365", "host 1.1"),
        ("hello", "host 1.1"),
    ] {
        assert!(
            cell(plugin, host).starts_with('✓'),
            "{plugin} × {host}: {}",
            cell(plugin, host)
        );
    }
}

/// FNV-1a of each file of the frozen copy, taken when interface 1.0 was frozen.
const FROZEN_1_0: [(&str, u64); 14] = [
    ("abi.rs", 0x727a28885906c667),
    ("error.rs", 0xabee850a4fa34601),
    ("form.rs", 0xb80839b23be924a5),
    ("guard.rs", 0x6d720da727ac4b65),
    ("host.rs", 0xed830f0d3e1ed85d),
    ("lib.rs", 0xa0c5f0a90756118e),
    ("loader.rs", 0x1d329875716adc0d),
    ("manifest.rs", 0x967909475ff5eeb5),
    ("plugin.rs", 0x6008f146444a0bfe),
    ("preflight.rs", 0x17c8ad59995506a9),
    ("secret.rs", 0x3cd0d5f12ed3b476),
    ("testing.rs", 0xf0e5b2f0c18da7ed),
    ("verify.rs", 0x46821d699f212fcf),
    ("version.rs", 0x1cd21f1ecb26bc9c),
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn the_frozen_1_0_description_is_never_edited() {
    // It describes the ABI released as 1.0; the matrix is only a proof while it stays
    // exactly that. Changes belong in host-sdk (within the evolution rules).
    let dir = atrs_e2e::repo_root().join("tests/compat/sdk-1.0/src");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let expected: Vec<&str> = FROZEN_1_0.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        files,
        expected,
        "files were added to or removed from {}",
        dir.display()
    );
    for (file, hash) in FROZEN_1_0 {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(
            fnv1a(&bytes),
            hash,
            "tests/compat/sdk-1.0/src/{file} was edited"
        );
    }
}

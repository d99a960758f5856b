//! The ways a host reaches the Office 365 plugin, side by side, with release builds of
//! the plugin, the C library and the runner, against the mock on 127.0.0.1:
//!
//! - `tokens/from_cache/abi`: `IntegrationHandle::token` in process (the Rust host);
//! - `tokens/from_cache/protocol`: the same through the runtime's JSON protocol;
//! - `tokens/from_cache/c_library`: through `atrs_host_request` of the release
//!   `libatrs_host.so`, loaded as a C host loads it;
//! - `tokens/from_cache/runner`: through the protocol to a plugin isolated in an
//!   `atrs-plugin-runner` (a pipe round trip, and the runner's service calls back);
//! - `runner/start`: a fresh runtime's first request to an isolated plugin (process
//!   start, library load, first answer);
//! - `add_verify_save/{protocol,runner}`: verify.start → polls → save against a mock
//!   that approves at once.
//!
//! Before measuring it prints the resident memory of the host and of one runner.
//!
//! `cargo bench -p atrs-e2e --bench host_runtime`; `ATRS_BENCH_RUNNER=PROGRAM` runs
//! another build of the runner instead (to compare two versions in one sitting: the
//! machine's load moves these figures by a third from one run to the next).

use std::{
    ffi::{c_char, CStr, CString},
    path::{Path, PathBuf},
    time::Duration,
};

use atrs_e2e::{plugins_dir, release_runtime, release_workspace, sandbox::DELIVERY_SCOPES};
use atrs_host_runtime::{HostHooks, Runtime};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

fn mock() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("the mock starts")
}

/// The runner program: the release build, or `ATRS_BENCH_RUNNER` (another build of it,
/// to compare two versions in one sitting).
fn runner() -> PathBuf {
    std::env::var_os("ATRS_BENCH_RUNNER").map_or_else(
        || release_runtime().get("atrs_plugin_runner").to_path_buf(),
        PathBuf::from,
    )
}

fn options(plugins: &Path, store: &Path, isolate: bool) -> Value {
    json!({
        "plugins_dir": plugins,
        "store": store,
        "isolate": isolate,
        "runner": runner(),
        "call_timeout_ms": 30_000,
    })
}

fn ask(runtime: &Runtime, request: &Value) -> Value {
    let answer: Value = serde_json::from_str(&runtime.handle(&request.to_string())).unwrap();
    assert_eq!(answer["ok"], true, "{request} → {answer}");
    answer
}

/// Add → Verify → Save & Close through the protocol, for `account`.
fn add(runtime: &Runtime, mock: &MockIdp, account: &str) {
    let started = ask(
        runtime,
        &json!({
            "request": "verify.start", "plugin": "office365", "method": "device_code",
            "values": {
                "account_name": account,
                "client_id": defaults::DESKTOP_CLIENT_ID,
                "tenant_id": defaults::TENANT_ID,
                "authority": mock.base_url(),
                "scopes": DELIVERY_SCOPES,
            },
        }),
    );
    let handle = started["handle"].as_u64().unwrap();
    loop {
        let state = ask(
            runtime,
            &json!({"request": "verify.poll", "handle": handle, "wait_ms": 1000}),
        );
        match state["state"].as_str() {
            Some("verified") => break,
            Some("failed") => panic!("verification failed: {state}"),
            _ => {}
        }
    }
    ask(
        runtime,
        &json!({"request": "save", "handle": handle, "replace": true}),
    );
}

/// The C library, loaded as a C host loads it.
struct CLibrary {
    _library: libloading::Library,
    request: unsafe extern "C" fn(*const std::ffi::c_void, *const c_char) -> *mut c_char,
    free: unsafe extern "C" fn(*mut c_char),
    host: *mut std::ffi::c_void,
}

impl CLibrary {
    fn open(path: &Path, options: &Value) -> CLibrary {
        // SAFETY: the library's exported functions have these signatures (atrs_host.h).
        unsafe {
            let library = libloading::Library::new(path).expect("libatrs_host loads");
            let open: libloading::Symbol<
                unsafe extern "C" fn(*const c_char, *mut *mut c_char) -> *mut std::ffi::c_void,
            > = library.get(b"atrs_host_open\0").unwrap();
            let options = CString::new(options.to_string()).unwrap();
            let host = open(options.as_ptr(), std::ptr::null_mut());
            assert!(!host.is_null(), "the runtime opens");
            let request = *library.get(b"atrs_host_request\0").unwrap();
            let free = *library.get(b"atrs_host_free\0").unwrap();
            CLibrary {
                _library: library,
                request,
                free,
                host,
            }
        }
    }

    fn ask(&self, request: &CStr) -> usize {
        // SAFETY: a live runtime and a NUL-terminated request; the answer is freed once.
        unsafe {
            let answer = (self.request)(self.host, request.as_ptr());
            let length = CStr::from_ptr(answer).to_bytes().len();
            (self.free)(answer);
            length
        }
    }
}

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn children() -> Vec<u32> {
    let mut pids = Vec::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
                pids.extend(
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    pids
}

fn host_runtime(c: &mut Criterion) {
    let mock = mock();
    let library = release_workspace().get("atrs_office365");
    let plugins = plugins_dir(&[library]);
    let store = tempfile::tempdir().unwrap();
    let token = json!({"request": "token", "account": "Bench"});
    let token_text = CString::new(token.to_string()).unwrap();

    let in_process = Runtime::open_json(
        &options(plugins.path(), store.path(), false).to_string(),
        HostHooks::default(),
    )
    .unwrap();
    add(&in_process, &mock, "Bench");
    ask(&in_process, &token);
    let isolated = Runtime::open_json(
        &options(plugins.path(), store.path(), true).to_string(),
        HostHooks::default(),
    )
    .unwrap();
    ask(&isolated, &token);
    let c_library = CLibrary::open(
        release_runtime().get("atrs_host"),
        &options(plugins.path(), store.path(), false),
    );
    assert!(c_library.ask(&token_text) > 0);

    let host_kib = resident_kib(std::process::id());
    for pid in children() {
        eprintln!(
            "memory: runner (pid {pid}) {} KiB resident",
            resident_kib(pid)
        );
    }
    eprintln!("memory: host (this bench, with the in-process plugin and the C library) {host_kib} KiB resident");

    let mut group = c.benchmark_group("tokens/from_cache");
    group.bench_function("protocol", |b| {
        b.iter(|| black_box(in_process.handle(black_box(&token.to_string()))))
    });
    group.bench_function("c_library", |b| {
        b.iter(|| black_box(c_library.ask(&token_text)))
    });
    group.bench_function("runner", |b| {
        b.iter(|| black_box(isolated.handle(black_box(&token.to_string()))))
    });
    group.finish();

    let mut group = c.benchmark_group("runner");
    group.sample_size(20);
    group.bench_function("start", |b| {
        b.iter(|| {
            let fresh = Runtime::open_json(
                &options(plugins.path(), store.path(), true).to_string(),
                HostHooks::default(),
            )
            .unwrap();
            black_box(ask(
                &fresh,
                &json!({"request": "form", "plugin": "office365"}),
            ));
            fresh.close();
        })
    });
    group.finish();

    let mut group = c.benchmark_group("add_verify_save");
    group.sample_size(20);
    group.bench_function("protocol", |b| b.iter(|| add(&in_process, &mock, "Bench")));
    group.bench_function("runner", |b| b.iter(|| add(&isolated, &mock, "Bench")));
    group.finish();
}

criterion_group!(benches, host_runtime);
criterion_main!(benches);

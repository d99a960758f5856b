//! Access tokens for saved accounts, against the mock identity platform on 127.0.0.1:
//!
//! - `tokens/from_cache/accounts_{1,1000,10000}/{memory,sqlite,postgres}`:
//!   `IntegrationHandle::token` on a fresh cached token (no request), in process, over
//!   the SDK's in-memory store and over each backend of the host runtime's store
//!   (PostgreSQL on a throwaway server when installed);
//! - `tokens/refresh_half_of_1000/{memory,sqlite,postgres}`: 1,000 threads each ask for
//!   their own account's token at the same moment; 500 have a fresh cached token, 500
//!   none. Each round checks that the refresh count equals the expired count.
//!
//! The names stay the same from run to run so figures can be compared; the C library
//! and runner paths are in `cargo bench -p atrs-e2e --bench host_runtime`. Setting up
//! 10,000 accounts in every store takes minutes: `ATRS_BENCH_ONLY=sqlite` (any part of
//! the names) sets up and runs only the benchmarks whose names contain it.
//!
//! `cargo bench -p atrs-test-host --bench tokens`
//!
//! `ATRS_BENCH_PG_PARAMS=pool_size=8` (any connection parameters) opens the PostgreSQL
//! stores with them, to compare settings in one build.
//!
//! `ATRS_BENCH_CALLS=N` makes `N` cache hits in each wanted `from_cache` benchmark
//! without timing them: run the bench binary under `valgrind --tool=callgrind` (or
//! `strace -c -f`) twice with different `N` and the difference is the cost of the
//! extra calls, whatever the machine's load.

use std::{
    sync::{Arc, Barrier},
    time::{Duration, Instant},
};

use atrs_host_sdk::{
    loader, testing::MemoryHost, FormValues, Host, Integration, Secrets, SessionState,
    TokenRequest, VerifyMethod,
};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use atrs_office365::{account::saved, account::saved::SECRET_ACCESS_TOKENS, fields, Office365};
use atrs_test_host::{
    services::{Browser, LogConfig, PluginServices},
    store::{postgres::throwaway::Server, KeyOptions, Store},
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const ACCOUNTS: usize = 1000;

fn idp() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("the mock starts")
}

fn name(i: usize) -> String {
    format!("Account {i:04}")
}

/// Verifies and saves `Account 0000` on `host`, then copies it to `count - 1` more names.
fn saved_accounts(idp: &MockIdp, host: Host, count: usize) -> Office365 {
    let values = FormValues::new()
        .with(fields::ACCOUNT_NAME, name(0).as_str())
        .with(fields::CLIENT_ID, defaults::DESKTOP_CLIENT_ID)
        .with(fields::TENANT_ID, defaults::TENANT_ID)
        .with(fields::AUTHORITY, idp.base_url().as_str());
    let mut plugin = Office365::new(host.clone()).unwrap();
    let session = plugin
        .start_verification(&values, VerifyMethod::DeviceCode)
        .unwrap();
    loop {
        match session.poll(Duration::from_millis(100)) {
            SessionState::Verified(_) => break,
            s if s.is_terminal() => panic!("verification ended with {s:?}"),
            _ => {}
        }
    }
    plugin.save(&values).unwrap();
    let settings = host.settings_read(&name(0)).unwrap().unwrap();
    let mut secrets = Secrets::new();
    let rt = host
        .secret_read(&name(0), saved::SECRET_REFRESH_TOKEN)
        .unwrap()
        .unwrap();
    secrets.insert(saved::SECRET_REFRESH_TOKEN.into(), rt);
    for i in 1..count {
        host.account_write(&name(i), &settings, &secrets, None)
            .unwrap();
    }
    plugin
}

/// `ATRS_BENCH_CALLS=N`: make `N` cache hits per wanted store and time none of them.
fn calls_only() -> Option<u64> {
    let calls = std::env::var("ATRS_BENCH_CALLS").ok()?;
    Some(
        calls
            .parse()
            .expect("ATRS_BENCH_CALLS is a number of calls"),
    )
}

/// Whether the benchmark `name` is wanted (`ATRS_BENCH_ONLY`), so its setup is done.
fn wanted(name: &str) -> bool {
    std::env::var("ATRS_BENCH_ONLY").map_or(true, |only| name.contains(&only))
}

fn from_cache(c: &mut Criterion) {
    let idp = idp();
    let request = TokenRequest::saved_scopes();
    // Each store with 1, 1,000 and 10,000 saved accounts: a cache hit reads one
    // account, which must not cost more with more accounts. The PostgreSQL store runs
    // on a throwaway server when its binaries are installed.
    let counts = [1, ACCOUNTS, 10 * ACCOUNTS];
    let server = counts
        .iter()
        .any(|count| wanted(&format!("tokens/from_cache/accounts_{count}/postgres")))
        .then(Server::start)
        .flatten();
    for count in counts {
        let label = format!("accounts_{count}/memory");
        if wanted(&format!("tokens/from_cache/{label}")) {
            let memory = MemoryHost::new();
            saved_accounts(&idp, memory.handle(), count);
            let handle = loader::instantiate_in_process::<Office365>(memory.clone()).unwrap();
            bench_cache_hits(c, &idp, &label, &handle, &request);
        }

        let dir = tempfile::tempdir().unwrap();
        let keys = tempfile::tempdir().unwrap();
        let mut stores: Vec<(&str, Store)> = vec![("sqlite", open_sqlite(dir.path()))];
        if let Some(server) = &server {
            stores.push((
                "postgres",
                open_postgres(server, &keys, &format!("bench{count}")),
            ));
        }
        for (backend, store) in stores {
            let label = format!("accounts_{count}/{backend}");
            if !wanted(&format!("tokens/from_cache/{label}")) {
                continue;
            }
            saved_accounts(&idp, Host::from_services(services(&store)), count);
            let handle = loader::instantiate_in_process::<Office365>(services(&store)).unwrap();
            bench_cache_hits(c, &idp, &label, &handle, &request);
        }
    }
}

fn services(store: &Store) -> PluginServices {
    PluginServices::new(
        "office365",
        store.clone(),
        LogConfig::from_verbosity(0),
        Browser::Disabled,
    )
}

fn open_postgres(server: &Server, keys: &tempfile::TempDir, database: &str) -> Store {
    let options = KeyOptions {
        key_file: Some(keys.path().join(format!("{database}.key"))),
        ..KeyOptions::default()
    };
    let mut url = server.database(database);
    if let Ok(params) = std::env::var("ATRS_BENCH_PG_PARAMS") {
        url = format!("{url}?{params}");
    }
    Store::open_location(&url, &options).unwrap()
}

fn open_sqlite(dir: &std::path::Path) -> Store {
    Store::open(dir.join("store")).unwrap()
}

fn bench_cache_hits(
    c: &mut Criterion,
    idp: &MockIdp,
    label: &str,
    handle: &loader::IntegrationHandle,
    request: &TokenRequest,
) {
    handle.token(&name(0), request).unwrap();
    let requests = idp.stats().total();
    if let Some(calls) = calls_only() {
        // A fixed number of calls instead of timing: for instruction counts
        // (`valgrind --tool=callgrind`) and system-call counts (`strace -c`), which a
        // loaded machine does not change. Two runs differing only in the number of
        // calls give the cost of one.
        for _ in 0..calls {
            black_box(handle.token(black_box(&name(0)), request).unwrap());
        }
        assert_eq!(idp.stats().total(), requests, "cache hits made requests");
        return;
    }
    c.bench_function(&format!("tokens/from_cache/{label}"), |b| {
        b.iter(|| black_box(handle.token(black_box(&name(0)), request).unwrap()))
    });
    assert_eq!(idp.stats().total(), requests, "cache hits made requests");
}

/// One round: every account asks at once; the first half has a fresh cached token.
fn round(plugin: &Arc<Office365>, idp: &MockIdp, host: &Host, fresh: &str) -> Duration {
    for i in 0..ACCOUNTS {
        let cache = if i < ACCOUNTS / 2 { fresh } else { "[]" };
        host.secret_write(&name(i), SECRET_ACCESS_TOKENS, cache)
            .unwrap();
    }
    idp.reset_stats();
    let barrier = Arc::new(Barrier::new(ACCOUNTS + 1));
    let askers: Vec<_> = (0..ACCOUNTS)
        .map(|i| {
            let (plugin, barrier) = (plugin.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                plugin
                    .token(&name(i), &TokenRequest::saved_scopes())
                    .unwrap();
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    for a in askers {
        a.join().unwrap();
    }
    let took = started.elapsed();
    let refreshes = idp.stats().grant_count("refresh_token");
    assert_eq!(
        refreshes as usize,
        ACCOUNTS / 2,
        "one refresh per expired account"
    );
    took
}

fn thousand_accounts(c: &mut Criterion) {
    let idp = idp();
    let memory = MemoryHost::new();
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let keys = tempfile::tempdir().unwrap();
    let mut hosts = vec![("memory", memory.handle())];
    hosts.push((
        "sqlite",
        Host::from_services(services(&open_sqlite(dir.path()))),
    ));
    if let Some(server) = &server {
        let store = open_postgres(server, &keys, "half");
        hosts.push(("postgres", Host::from_services(services(&store))));
    }
    let mut group = c.benchmark_group("tokens/refresh_half_of_1000");
    group.sample_size(10);
    for (backend, host) in hosts {
        if !wanted(&format!("tokens/refresh_half_of_1000/{backend}")) {
            continue;
        }
        let plugin = Arc::new(saved_accounts(&idp, host.clone(), ACCOUNTS));
        plugin
            .token(&name(0), &TokenRequest::saved_scopes())
            .unwrap();
        let fresh = host
            .secret_read(&name(0), SECRET_ACCESS_TOKENS)
            .unwrap()
            .unwrap();
        group.bench_function(backend, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| round(&plugin, &idp, &host, &fresh))
                    .sum()
            })
        });
        eprintln!(
            "tokens/refresh_half_of_1000/{backend}: {} refresh requests in the last round for {} expired accounts",
            idp.stats().grant_count("refresh_token"),
            ACCOUNTS / 2
        );
    }
    group.finish();
}

criterion_group!(benches, from_cache, thousand_accounts);
criterion_main!(benches);

//! Access tokens for saved accounts, against the mock identity platform on 127.0.0.1:
//!
//! - `tokens/from cache through the ABI`: `IntegrationHandle::token` on a fresh cached
//!   token (no request), over the in-memory store and over each backend of this host's
//!   store (JSON folder, SQLite, PostgreSQL on a throwaway server when installed) with
//!   1, 1,000 and 10,000 saved accounts;
//! - `tokens/1000 accounts at once, half expired`: 1,000 threads each ask for their own
//!   account's token at the same moment; 500 have a fresh cached token, 500 none. Each
//!   round checks that the refresh count equals the expired count.
//!
//! `cargo bench -p atrs-test-host --bench tokens`

use std::{
    sync::{Arc, Barrier},
    time::{Duration, Instant},
};

use atrs_host_sdk::{
    loader, testing::MemoryHost, FormValues, Host, Integration, Secrets, SessionState,
    TokenRequest, VerifyMethod,
};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use atrs_office365::{fields, saved, saved::SECRET_ACCESS_TOKENS, Office365};
use atrs_test_host::{
    services::{Browser, LogConfig, PluginServices},
    store::{postgres::throwaway::Server, FolderStore, KeyOptions, Store},
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

fn from_cache(c: &mut Criterion) {
    let idp = idp();
    let memory = MemoryHost::new();
    saved_accounts(&idp, memory.handle(), 1);
    let request = TokenRequest::saved_scopes();
    let handle = loader::instantiate_in_process::<Office365>(memory.clone()).unwrap();
    bench_cache_hits(c, &idp, "memory store", &handle, &request);
    // Each backend of this host's store, with 1, 1,000 and 10,000 saved accounts: a
    // cache hit reads one account's secrets, which must not cost more with more accounts.
    // The folder store rewrites every account on each save, so it stops at 1,000; the
    // PostgreSQL store runs on a throwaway server when its binaries are installed.
    let server = Server::start();
    for count in [1, ACCOUNTS, 10 * ACCOUNTS] {
        let dir = tempfile::tempdir().unwrap();
        let keys = tempfile::tempdir().unwrap();
        let mut stores: Vec<(&str, Store)> = vec![("sqlite", open_sqlite(dir.path()))];
        if count <= ACCOUNTS {
            stores.push(("folder", open_folder(&dir.path().join("folder"))));
        }
        if let Some(server) = &server {
            let options = KeyOptions {
                key_file: Some(keys.path().join("bench.key")),
                ..KeyOptions::default()
            };
            let url = server.database(&format!("bench{count}"));
            stores.push(("postgres", Store::open_location(&url, &options).unwrap()));
        }
        for (backend, store) in stores {
            let services = || {
                PluginServices::new(
                    "office365",
                    store.clone(),
                    LogConfig::from_verbosity(0),
                    Browser::Disabled,
                )
            };
            saved_accounts(&idp, Host::from_services(services()), count);
            let handle = loader::instantiate_in_process::<Office365>(services()).unwrap();
            let label = format!("{backend} store, {count} accounts");
            bench_cache_hits(c, &idp, &label, &handle, &request);
        }
    }
}

fn open_folder(dir: &std::path::Path) -> Store {
    Store::over(FolderStore::open(dir).unwrap())
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
    c.bench_function(
        &format!("tokens/from cache through the ABI ({label})"),
        |b| b.iter(|| black_box(handle.token(black_box(&name(0)), request).unwrap())),
    );
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
    let host = memory.handle();
    let plugin = Arc::new(saved_accounts(&idp, host.clone(), ACCOUNTS));
    plugin
        .token(&name(0), &TokenRequest::saved_scopes())
        .unwrap();
    let fresh = host
        .secret_read(&name(0), SECRET_ACCESS_TOKENS)
        .unwrap()
        .unwrap();
    let mut group = c.benchmark_group("tokens");
    group.sample_size(10);
    group.bench_function("1000 accounts at once, half expired (memory store)", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| round(&plugin, &idp, &host, &fresh))
                .sum()
        })
    });
    group.finish();
    eprintln!(
        "tokens/1000 accounts: {} refresh requests in the last round for {} expired accounts",
        idp.stats().grant_count("refresh_token"),
        ACCOUNTS / 2
    );
}

criterion_group!(benches, from_cache, thousand_accounts);
criterion_main!(benches);

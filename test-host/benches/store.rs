//! How fast the account store saves and reads on SQLite, the default backend (every
//! write one WAL transaction, secrets sealed), bounded by the disk's sync latency.
//!
//! `cargo bench -p atrs-test-host --bench store`

use atrs_test_host::store::{Store, Values};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn store(c: &mut Criterion) {
    let sqlite_dir = tempfile::tempdir().unwrap();
    let store = Store::open(sqlite_dir.path().join("store")).unwrap();
    backend_bench(c, "sqlite", &store);
}

fn backend_bench(c: &mut Criterion, backend: &str, store: &Store) {
    let settings: Values = [
        ("client_id", "4a1aa1d5-c567-49d0-ad0b-cd957a47f842"),
        ("tenant_id", "contoso.onmicrosoft.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for i in 0..50 {
        store
            .write_settings("office365", &format!("account {i}"), &settings)
            .unwrap();
    }
    // Every iteration writes a value that differs from the stored one: a store may skip
    // a write that changes nothing, and that is not what a save costs.
    let mut n = 0u64;
    c.bench_function(
        &format!("store/{backend}/write_settings (50 accounts)"),
        |b| {
            b.iter(|| {
                n += 1;
                let mut changed = settings.clone();
                changed.insert("last_refresh_at".into(), n.to_string());
                store
                    .write_settings("office365", "account 7", black_box(&changed))
                    .unwrap()
            })
        },
    );
    c.bench_function(&format!("store/{backend}/write_secret"), |b| {
        b.iter(|| {
            n += 1;
            store
                .write_secret(
                    "office365",
                    "account 7",
                    "refresh_token",
                    black_box(&format!("0.AAAA-refresh-{n}")),
                )
                .unwrap()
        })
    });
    c.bench_function(
        &format!("store/{backend}/read_settings (50 accounts)"),
        |b| b.iter(|| black_box(store.read_settings("office365", "account 7").unwrap())),
    );
}

criterion_group!(benches, store);
criterion_main!(benches);

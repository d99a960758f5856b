//! How fast the account store saves and reads: every write is a locked,
//! fsynced, atomic replace, so this is bounded by the disk's sync latency.
//!
//! `cargo bench -p atrs-test-host --bench store`

use atrs_test_host::store::{Store, Values};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
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
    c.bench_function("store/write_settings (50 accounts)", |b| {
        b.iter(|| {
            store
                .write_settings("office365", "account 7", black_box(&settings))
                .unwrap()
        })
    });
    c.bench_function("store/write_secret", |b| {
        b.iter(|| {
            store
                .write_secret(
                    "office365",
                    "account 7",
                    "refresh_token",
                    black_box("0.AAAA-refresh"),
                )
                .unwrap()
        })
    });
    c.bench_function("store/read_settings (50 accounts)", |b| {
        b.iter(|| black_box(store.read_settings("office365", "account 7").unwrap()))
    });
}

criterion_group!(benches, store);
criterion_main!(benches);

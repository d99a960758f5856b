//! What opening a sealed SQLite store costs, by where its key is kept:
//!
//! - `store_open/key_file`: the key read from a host key file;
//! - `store_open/secret_service`: the key fetched from gnome-keyring over D-Bus (a
//!   private session bus and keyring started here: a new bus connection, a Secret
//!   Service session with a Diffie-Hellman exchange, a search and a secret read on
//!   every open). Skipped (said) without `dbus-daemon` and `gnome-keyring-daemon`.
//!
//! Each iteration opens the store (key checked against its key check), reads one
//! secret and closes it.
//!
//! `cargo bench -p atrs-host-runtime --bench store_open`

use atrs_host_runtime::store::{
    secret_service::throwaway::Keyring, AccountStore, Change, KeyOptions, KeyStore, SqliteStore,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn options(keys: &std::path::Path, key_store: KeyStore, bus: Option<&str>) -> KeyOptions {
    KeyOptions {
        key_file: None,
        host_keys_dir: Some(keys.to_owned()),
        key_store,
        secret_service_bus: bus.map(str::to_owned),
        plaintext: false,
    }
}

fn open_and_read(dir: &std::path::Path, options: &KeyOptions) {
    let store = SqliteStore::open(dir, options).unwrap();
    black_box(
        store
            .read_secret("p", "A", "refresh_token")
            .unwrap()
            .unwrap(),
    );
}

fn make(dir: &std::path::Path, options: &KeyOptions) {
    let store = SqliteStore::open(dir, options).unwrap();
    store
        .apply(
            "p",
            Change::Secret {
                account: "A",
                name: "refresh_token",
                value: "a refresh token",
            },
        )
        .unwrap();
}

fn store_open(c: &mut Criterion) {
    let root = tempfile::tempdir().unwrap();
    let keys = root.path().join("keys");
    let mut group = c.benchmark_group("store_open");

    let file_store = root.path().join("file-store");
    let file = options(&keys, KeyStore::File, None);
    make(&file_store, &file);
    group.bench_function("key_file", |b| b.iter(|| open_and_read(&file_store, &file)));

    if let Some(keyring) = Keyring::start() {
        let ss_store = root.path().join("ss-store");
        let ss = options(&keys, KeyStore::SecretService, Some(&keyring.address));
        make(&ss_store, &ss);
        group.bench_function("secret_service", |b| {
            b.iter(|| open_and_read(&ss_store, &ss))
        });
    }
    group.finish();
}

criterion_group!(benches, store_open);
criterion_main!(benches);

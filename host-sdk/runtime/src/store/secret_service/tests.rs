//! The store key in a real Secret Service: gnome-keyring on a private D-Bus session bus
//! started by each test ([`super::throwaway::Keyring`]); skipped (said on stdout) where
//! the programs are missing, except in CI.

use std::{fs, path::PathBuf};

use super::{
    throwaway::{Bus, Keyring},
    SecretServiceError,
};
use crate::store::{
    key_file::{KeyOptions, KeySource, KeyStore},
    AccountStore, Change, SqliteStore, StoreError,
};

/// A store folder, a host keys folder and a folder for copies, apart from each other.
struct World {
    root: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World {
            root: tempfile::tempdir().unwrap(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.root.path().join("store")
    }

    fn keys(&self) -> PathBuf {
        self.root.path().join("keys")
    }

    fn options(&self, key_store: KeyStore, bus: &str) -> KeyOptions {
        KeyOptions {
            key_file: None,
            host_keys_dir: Some(self.keys()),
            key_store,
            secret_service_bus: Some(bus.to_owned()),
            plaintext: false,
        }
    }

    /// Every byte of every file in the store folder.
    fn store_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in fs::read_dir(self.dir()).unwrap().flatten() {
            all.extend(fs::read(entry.path()).unwrap_or_default());
        }
        all
    }
}

fn put(store: &SqliteStore, account: &str, value: &str) {
    store
        .apply(
            "p",
            Change::Secret {
                account,
                name: "refresh_token",
                value,
            },
        )
        .unwrap();
}

fn read(store: &SqliteStore, account: &str) -> Option<String> {
    store.read_secret("p", account, "refresh_token").unwrap()
}

fn store_id(source: &KeySource) -> String {
    match source {
        KeySource::SecretService { store_id, .. } => store_id.clone(),
        other => panic!("the key is not in the Secret Service: {other}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_new_store_keeps_its_key_in_the_secret_service_and_every_later_open_finds_it_there() {
    let Some(keyring) = Keyring::start() else {
        return;
    };
    let w = World::new();
    let asked = w.options(KeyStore::SecretService, &keyring.address);
    let store = SqliteStore::open(w.dir(), &asked).unwrap();
    put(&store, "A", "rt-secret-service-A");
    let info = store.info();
    assert!(info.sealed);
    let id = store_id(&info.key_source);
    assert_eq!(store.opened().key_stored.as_ref(), Some(&info.key_source));
    assert_eq!(store.opened().key_created, None);
    let told = store.opened().lines().join("\n");
    assert!(
        told.contains("Secret Service") && told.contains(&id),
        "{told}"
    );
    assert!(
        told.contains("secret-tool lookup application atrs store"),
        "{told}"
    );
    drop(store);

    let items = keyring.items();
    assert_eq!(items.len(), 1, "{items:?}");
    let (attributes, label) = &items[0];
    assert_eq!(
        attributes.get("application").map(String::as_str),
        Some("atrs")
    );
    assert_eq!(attributes.get("store"), Some(&id));
    assert_eq!(attributes.get("slot").map(String::as_str), Some("current"));
    assert!(
        label.starts_with("ATRS account store key (") && label.contains("accounts.db"),
        "{label}"
    );
    assert!(!w.keys().exists(), "no key file was written");

    // The record decides: found there with nothing set, and with a file asked for.
    for key_store in [KeyStore::Auto, KeyStore::File] {
        let store = SqliteStore::open(w.dir(), &w.options(key_store, &keyring.address)).unwrap();
        assert_eq!(read(&store, "A").as_deref(), Some("rt-secret-service-A"));
        assert_eq!(store_id(&store.info().key_source), id);
        assert_eq!(store.opened().key_stored, None, "told once, when created");
    }
    assert!(!w.keys().exists(), "still no key file");

    // The key is in no file of the store, in no message, in no Debug.
    let text = keyring.key_text(&id).unwrap();
    let raw =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text.trim()).unwrap();
    let bytes = w.store_bytes();
    assert!(!contains(&bytes, text.trim().as_bytes()) && !contains(&bytes, &raw));
    assert!(
        !contains(&bytes, b"rt-secret-service-A"),
        "the secret is sealed"
    );
    let store = SqliteStore::open(w.dir(), &asked).unwrap();
    let shown = format!(
        "{} {:?} {:?}",
        store.info().key_source,
        store.info(),
        store.opened()
    );
    assert!(!shown.contains(text.trim()), "{shown}");
}

#[test]
fn nothing_set_takes_the_secret_service_when_one_answers_else_the_host_key_file() {
    let w = World::new();
    // No bus at that address: the host's key file, as on a headless machine.
    let nowhere = format!("unix:path={}", w.root.path().join("no-bus").display());
    let store = SqliteStore::open(w.dir(), &w.options(KeyStore::Auto, &nowhere)).unwrap();
    assert_eq!(
        store.info().key_source,
        KeySource::HostFile {
            path: w.keys().join("default.key")
        }
    );
    drop(store);
    // Asked for by name, the same absence is an error that says what to do.
    let e = SqliteStore::open(
        w.root.path().join("other"),
        &w.options(KeyStore::SecretService, &nowhere),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::SecretService(SecretServiceError::NoSessionBus { .. })
        ),
        "{e:?}"
    );
    assert!(e.hint().contains("ATRS_STORE_KEY=file"), "{}", e.hint());

    let Some(keyring) = Keyring::start() else {
        return;
    };
    let store = SqliteStore::open(
        w.root.path().join("desktop"),
        &w.options(KeyStore::Auto, &keyring.address),
    )
    .unwrap();
    store_id(&store.info().key_source);
    // The key-file store made before keeps its file.
    let old = SqliteStore::open(w.dir(), &w.options(KeyStore::Auto, &keyring.address)).unwrap();
    assert!(matches!(old.info().key_source, KeySource::HostFile { .. }));
}

#[test]
fn a_locked_keyring_is_a_typed_error_that_says_how_to_unlock_and_changes_nothing() {
    let Some(keyring) = Keyring::start() else {
        return;
    };
    let w = World::new();
    let options = w.options(KeyStore::SecretService, &keyring.address);
    let store = SqliteStore::open(w.dir(), &options).unwrap();
    put(&store, "A", "rt-locked-A");
    let id = store_id(&store.info().key_source);
    let text = keyring.key_text(&id).unwrap();
    drop(store);
    let before = w.store_bytes();

    keyring.lock();
    let e = SqliteStore::open(w.dir(), &options).unwrap_err();
    match &e {
        StoreError::SecretService(SecretServiceError::Locked { collection }) => {
            assert_eq!(collection, "Login")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string().contains("\"Login\"") && e.to_string().contains("locked"),
        "{e}"
    );
    assert!(
        e.hint().contains("Unlock the keyring collection \"Login\""),
        "{}",
        e.hint()
    );
    assert!(e.hint().contains("gnome-keyring-daemon"), "{}", e.hint());
    assert!(!format!("{e} {e:?} {}", e.hint()).contains(text.trim()));
    assert_eq!(w.store_bytes(), before, "nothing was changed");

    // A new store cannot put its key in a locked keyring either, and is not half made.
    let e = SqliteStore::open(w.root.path().join("new"), &options).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::SecretService(SecretServiceError::Locked { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn a_lost_keyring_item_is_a_typed_error_and_a_copy_of_the_key_in_a_file_recovers() {
    let Some(keyring) = Keyring::start() else {
        return;
    };
    let w = World::new();
    let options = w.options(KeyStore::Auto, &keyring.address);
    let store = SqliteStore::open(w.dir(), &options).unwrap();
    put(&store, "A", "rt-lost-A");
    let id = store_id(&store.info().key_source);
    // The copy the creation line tells the user to keep.
    let copy = w.root.path().join("copies").join("store.key");
    fs::create_dir(copy.parent().unwrap()).unwrap();
    fs::write(&copy, keyring.key_text(&id).unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o600)).unwrap();
    }
    drop(store);

    keyring.delete_items();
    let e = SqliteStore::open(w.dir(), &options).unwrap_err();
    match &e {
        StoreError::SecretService(SecretServiceError::ItemMissing { store_id, .. }) => {
            assert_eq!(store_id, &id)
        }
        other => panic!("{other:?}"),
    }
    assert!(e.hint().contains("ATRS_STORE_KEY_FILE"), "{}", e.hint());
    assert!(e.hint().contains(&format!("store {id}")), "{}", e.hint());
    assert!(!w.keys().exists(), "no new key was made for a sealed store");

    let recovered = KeyOptions {
        key_file: Some(copy.clone()),
        ..options.clone()
    };
    let store = SqliteStore::open(w.dir(), &recovered).unwrap();
    assert_eq!(read(&store, "A").as_deref(), Some("rt-lost-A"));
    assert_eq!(store.info().key_source, KeySource::NamedFile { path: copy });
}

#[test]
fn rotation_moves_a_store_key_from_a_file_to_the_secret_service_and_back() {
    let Some(keyring) = Keyring::start() else {
        return;
    };
    let w = World::new();
    let file = w.options(KeyStore::File, &keyring.address);
    let store = SqliteStore::open(w.dir(), &file).unwrap();
    put(&store, "A", "rt-rotate-A");
    assert!(matches!(
        store.info().key_source,
        KeySource::HostFile { .. }
    ));
    drop(store);

    let store = SqliteStore::open(
        w.dir(),
        &w.options(KeyStore::SecretService, &keyring.address),
    )
    .unwrap();
    let rotation = store.rotate_key().unwrap();
    assert_eq!(rotation.secrets, 1);
    let id = store_id(&rotation.key_source);
    assert_eq!(store.info().key_source, rotation.key_source);
    drop(store);
    let items = keyring.items();
    assert_eq!(
        items.len(),
        1,
        "the next item became the current one: {items:?}"
    );
    assert_eq!(items[0].0.get("slot").map(String::as_str), Some("current"));

    // Nothing set: it stays where it now is.
    let store = SqliteStore::open(w.dir(), &w.options(KeyStore::Auto, &keyring.address)).unwrap();
    assert_eq!(read(&store, "A").as_deref(), Some("rt-rotate-A"));
    assert_eq!(store_id(&store.info().key_source), id);
    assert_eq!(store_id(&store.rotate_key().unwrap().key_source), id);
    drop(store);

    // And back to a file.
    let store = SqliteStore::open(w.dir(), &file).unwrap();
    let back = store.rotate_key().unwrap();
    assert!(
        matches!(back.key_source, KeySource::HostFile { .. }),
        "{back:?}"
    );
    drop(store);
    assert!(keyring.items().is_empty(), "the old item went with its key");
    let store = SqliteStore::open(w.dir(), &w.options(KeyStore::Auto, &keyring.address)).unwrap();
    assert_eq!(read(&store, "A").as_deref(), Some("rt-rotate-A"));
    assert_eq!(store.info().key_source, back.key_source);
}

#[test]
fn a_bus_without_a_secret_service_is_told_apart_from_no_bus() {
    let Some(bare) = Bus::start() else {
        return;
    };
    let w = World::new();
    let e =
        SqliteStore::open(w.dir(), &w.options(KeyStore::SecretService, &bare.address)).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::SecretService(SecretServiceError::NoService { .. })
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("no Secret Service"), "{e}");
    let store = SqliteStore::open(w.dir(), &w.options(KeyStore::Auto, &bare.address)).unwrap();
    assert!(matches!(
        store.info().key_source,
        KeySource::HostFile { .. }
    ));
}

#[test]
fn a_rotation_cut_after_its_commit_is_finished_by_the_next_open_and_a_bad_item_is_refused() {
    let Some(keyring) = Keyring::start() else {
        return;
    };
    let w = World::new();
    let options = w.options(KeyStore::SecretService, &keyring.address);
    let store = SqliteStore::open(w.dir(), &options).unwrap();
    put(&store, "A", "rt-cut-A");
    let id = store_id(&store.info().key_source);
    let key = keyring.key_text(&id).unwrap();
    drop(store);

    // The state a crash between the commit and the swap of items leaves: the key that
    // seals the store waits as `next`, the `current` item holds a key that opens nothing.
    keyring.put(&id, "next", &key);
    keyring.put(
        &id,
        "current",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    let store = SqliteStore::open(w.dir(), &options).unwrap();
    assert_eq!(read(&store, "A").as_deref(), Some("rt-cut-A"));
    drop(store);
    let items = keyring.items();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].0["slot"], "current");
    assert_eq!(keyring.key_text(&id).unwrap().trim(), key.trim());

    // A `current` item that is not a key, or another key: refused, nothing changed.
    let before = w.store_bytes();
    keyring.put(&id, "current", "not a key");
    let e = SqliteStore::open(w.dir(), &options).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::SecretService(SecretServiceError::NotAKey { .. })
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains("not a key\""), "{e}");
    keyring.put(
        &id,
        "current",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    let e = SqliteStore::open(w.dir(), &options).unwrap_err();
    assert!(matches!(e, StoreError::KeyWrong { .. }), "{e:?}");
    assert_eq!(w.store_bytes(), before, "nothing was changed");
}

#[test]
fn a_process_keeps_one_session_with_the_keyring_for_all_its_opens_and_survives_a_restart() {
    let Some(mut keyring) = Keyring::start() else {
        return;
    };
    let w = World::new();
    let options = w.options(KeyStore::SecretService, &keyring.address);
    let store = SqliteStore::open(w.dir(), &options).unwrap();
    put(&store, "A", "rt-kept-session");
    drop(store);
    let opens = |count: usize| {
        for _ in 0..count {
            let store = SqliteStore::open(w.dir(), &options).unwrap();
            assert_eq!(read(&store, "A").as_deref(), Some("rt-kept-session"));
        }
    };

    // Five opens, one connection between the two counts: the count's own.
    let before = keyring.connections_so_far();
    opens(5);
    assert_eq!(
        keyring.connections_so_far() - before,
        1,
        "the opens connected to the bus again"
    );

    // The keyring restarts: the kept session is gone; the next open makes a new one,
    // which is kept in turn.
    keyring.restart();
    opens(1);
    let before = keyring.connections_so_far();
    opens(3);
    assert_eq!(keyring.connections_so_far() - before, 1);

    // A keyring that has stopped is told as before, through the kept session.
    drop(keyring);
    let e = SqliteStore::open(w.dir(), &options).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::SecretService(
                SecretServiceError::NoService { .. } | SecretServiceError::NoSessionBus { .. }
            )
        ),
        "{e}"
    );
}

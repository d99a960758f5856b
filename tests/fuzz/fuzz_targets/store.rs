//! The JSON folder store reading its files — what the SQLite store's first open imports
//! from an earlier version's folder: the input is written as `settings.json` (and, split
//! at the first NUL, `secrets.json`), then the folder backend lists and reads every
//! account in it.
#![no_main]

use std::sync::LazyLock;

use atrs_test_host::store::{FolderStore, Store};
use libfuzzer_sys::fuzz_target;

static DIR: LazyLock<tempfile::TempDir> = LazyLock::new(|| tempfile::tempdir().unwrap());

fuzz_target!(|data: &[u8]| {
    let dir = DIR.path();
    let (settings, secrets) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    std::fs::write(dir.join("settings.json"), settings).unwrap();
    if secrets.is_empty() {
        let _ = std::fs::remove_file(dir.join("secrets.json"));
    } else {
        std::fs::write(dir.join("secrets.json"), secrets).unwrap();
    }
    let Ok(store) = FolderStore::open(dir).map(Store::over) else {
        return;
    };
    match store.all_accounts() {
        Ok(accounts) => {
            for account in accounts {
                let _ = format!("{account:?}");
            }
        }
        Err(e) => {
            let _ = (e.to_string(), e.hint());
        }
    }
});

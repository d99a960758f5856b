//! The JSON store of earlier versions read as the SQLite store's first open imports it:
//! the input is written as `settings.json` (and, split at the first NUL, `secrets.json`),
//! then the reader reads the folder. Whatever the bytes, it returns the accounts or a
//! typed error.
#![no_main]

use std::sync::LazyLock;

use atrs_test_host::store::json_store;
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
    match json_store::read(dir) {
        Ok(store) => {
            let _ = format!("{store:?}");
        }
        Err(e) => {
            let _ = (e.to_string(), e.hint());
        }
    }
});

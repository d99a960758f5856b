//! The signature and trusted-keys files (`signing`): the input, split at its first NUL, is
//! a trusted-keys file and a signature file for a fixed library. Reading them never panics,
//! and a signature only verifies when it is the one the fixed key made.
#![no_main]

use std::sync::LazyLock;

use atrs_host_sdk::signing::{SecretKey, TrustedKeys};
use libfuzzer_sys::fuzz_target;

const LIBRARY: &[u8] = b"\x7fELF a plugin library";

static KEY: LazyLock<(SecretKey, String)> = LazyLock::new(|| {
    let key = SecretKey::generate().expect("a key");
    let signature = key.sign(LIBRARY, "libx.so");
    (key, signature)
});

fuzz_target!(|data: &[u8]| {
    let (key, genuine) = &*KEY;
    let text = String::from_utf8_lossy(data);
    let (keys_text, signature) = text.split_once('\0').unwrap_or((&text, ""));
    let mut keys = TrustedKeys::parse(keys_text);
    let _ = keys.verify(LIBRARY, signature);
    // With the real key trusted, only the genuine signature's signed parts verify.
    keys = TrustedKeys::parse(&format!("{}{keys_text}", key.public_key().to_file_text()));
    if keys.verify(LIBRARY, signature).is_ok() {
        let second = |s: &str| s.lines().nth(1).map(|l| l.trim().to_owned());
        assert_eq!(second(signature), second(genuine));
    }
});

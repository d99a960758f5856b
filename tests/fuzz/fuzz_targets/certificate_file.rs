//! A certificate file as a person may give it (`Certificate::read`): PEM, or PKCS#12 opened
//! with the fixtures' password and with none. Reading never panics; a file that opens has a
//! key and the certificate that belongs to it.
#![no_main]

use std::path::Path;

use atrs_office365::{certificate::Certificate, secret::Secret};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let password = Secret::new("Interop-Pa55");
    for given in [Some(&password), None] {
        if let Ok(certificate) = Certificate::read(Path::new("app.pfx"), data, given) {
            assert_eq!(certificate.thumbprint().len(), 43, "a SHA-256 thumbprint");
        }
    }
});

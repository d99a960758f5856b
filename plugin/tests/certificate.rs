//! Certificate credentials in process: an account whose app authenticates with a
//! certificate (a client assertion signed with its key) verifies by device code, saves
//! and renews its token; a certificate whose registration expired is refused with its own
//! message and fix; the private key never shows in the store, the log or an error.
//!
//! Nothing here sleeps to wait: sessions are polled with a deadline.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use atrs_host_sdk::{
    testing::MemoryHost, ErrorKind, FormValues, Integration, SessionState, TokenRequest,
    TokenSource, VerifyMethod,
};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use atrs_office365::{fields, Office365};

const ACCOUNT: &str = "Reports (certificate)";
const DEADLINE: Duration = Duration::from_secs(30);

fn idp() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("the mock identity platform starts")
}

/// A PEM file with `cert` and `key`.
fn pem_file(dir: &Path, cert: &str, key: &str) -> PathBuf {
    let path = dir.join("app.pem");
    std::fs::write(&path, format!("{cert}{key}")).unwrap();
    path
}

fn form(idp: &MockIdp, certificate: &Path) -> FormValues {
    FormValues::new()
        .with(fields::ACCOUNT_NAME, ACCOUNT)
        .with(fields::CLIENT_ID, defaults::CERT_CLIENT_ID)
        .with(fields::TENANT_ID, defaults::TENANT_ID)
        .with(fields::AUTHORITY, idp.base_url())
        .with(fields::CERTIFICATE_FILE, certificate.to_str().unwrap())
}

/// Verify `values` by device code; the end state.
fn verify(plugin: &mut Office365, values: &FormValues) -> SessionState {
    let session = plugin
        .start_verification(values, VerifyMethod::DeviceCode)
        .expect("verification starts");
    let started = Instant::now();
    loop {
        match session.poll(Duration::from_millis(100)) {
            s if s.is_terminal() => return s,
            _ => assert!(started.elapsed() < DEADLINE, "no verification"),
        }
    }
}

#[test]
fn a_certificate_account_verifies_saves_and_renews_and_its_key_never_shows() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let pem = pem_file(dir.path(), defaults::CERT_PEM, defaults::CERT_KEY_PEM);
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    let values = form(&idp, &pem);
    match verify(&mut plugin, &values) {
        SessionState::Verified(_) => {}
        other => panic!("{other:?}"),
    }
    plugin.save(&values).expect("saves");
    let renewed = plugin
        .token(ACCOUNT, &TokenRequest::saved_scopes().forced())
        .expect("a refresh with a new client assertion");
    assert_eq!(renewed.source, TokenSource::Refreshed);
    let again = plugin
        .token(ACCOUNT, &TokenRequest::saved_scopes().forced())
        .expect("each refresh signs a fresh assertion (a new jti)");
    assert_ne!(again.token.token, renewed.token.token);

    // The key stays in its file: not in the settings, the secrets or the log.
    let settings = memory.settings_of(ACCOUNT).unwrap();
    assert_eq!(
        settings.get(fields::CERTIFICATE_FILE).map(String::as_str),
        pem.to_str()
    );
    let key_line = defaults::CERT_KEY_PEM.lines().nth(1).unwrap();
    let everything = format!(
        "{settings:?}{:?}{:?}",
        memory.secrets_of(ACCOUNT),
        memory.log_lines()
    );
    assert!(!everything.contains(key_line));
    assert!(!everything.contains("PRIVATE KEY"));
}

#[test]
fn a_certificate_whose_registration_expired_is_refused_with_its_fix() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let pem = pem_file(
        dir.path(),
        defaults::CERT_EXPIRED_PEM,
        defaults::CERT_EXPIRED_KEY_PEM,
    );
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    let e = match verify(&mut plugin, &form(&idp, &pem)) {
        SessionState::Failed(e) => e,
        other => panic!("{other:?}"),
    };
    println!("{e}");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(e.field(), Some(fields::CERTIFICATE_FILE), "{e:?}");
    assert!(e.message().contains("certificate was not accepted"), "{e}");
    assert!(
        e.hint()
            .is_some_and(|h| h.contains("Certificates & secrets → Certificates")),
        "{e:?}"
    );
    let key_line = defaults::CERT_EXPIRED_KEY_PEM.lines().nth(1).unwrap();
    assert!(!format!("{e:?}").contains(key_line));
}

#[test]
fn a_secret_and_a_certificate_together_or_an_unusable_file_are_field_errors() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let pem = pem_file(dir.path(), defaults::CERT_PEM, defaults::CERT_KEY_PEM);
    let plugin = Office365::new(MemoryHost::new().handle()).unwrap();
    let both = form(&idp, &pem).with(fields::CLIENT_SECRET, "a~secret.value");
    let errors = plugin.validate(&both);
    assert!(
        errors
            .iter()
            .any(|e| e.field() == fields::CERTIFICATE_FILE && e.message().contains("not both")),
        "{errors:?}"
    );
    let only_cert = dir.path().join("cert-only.pem");
    std::fs::write(&only_cert, defaults::CERT_PEM).unwrap();
    let errors = plugin.validate(&form(&idp, &only_cert));
    assert!(
        errors.iter().any(
            |e| e.field() == fields::CERTIFICATE_FILE && e.message().contains("no private key")
        ),
        "{errors:?}"
    );
}

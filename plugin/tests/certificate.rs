//! Certificate credentials in process: an account whose app authenticates with a
//! certificate (a client assertion signed with its key) verifies by device code, saves
//! and renews its token; a certificate whose registration expired is refused with its own
//! message and fix; the private key never shows in the store, the log or an error.
//!
//! The same with a PKCS#12 file (`.pfx` / `.p12`, made here in Rust in both the current
//! AES and the legacy 3DES encryption): it verifies with its password, which is kept as a
//! secret and never shows; a wrong or missing password, a file that is neither PEM nor
//! PKCS#12 and a PKCS#12 without its key each get their own message and fix.
//!
//! Nothing here sleeps to wait: sessions are polled with a deadline.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use atrs_host_sdk::{
    testing::MemoryHost, ErrorKind, FormValues, Integration, SessionState, TokenRequest,
    TokenSource, VerifyMethod,
};
use atrs_mock_idp::pkcs12_file::{self, Encryption};
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

const PFX_PASSWORD: &str = "Pfx~export-Pa55word";

/// A PKCS#12 file of the registered certificate (with its key unless `with_key` is false).
fn pfx_file(dir: &Path, name: &str, with_key: bool, encryption: Encryption) -> PathBuf {
    let path = dir.join(name);
    let key = with_key.then_some(defaults::CERT_KEY_PEM);
    std::fs::write(
        &path,
        pkcs12_file::export(defaults::CERT_PEM, key, PFX_PASSWORD, encryption),
    )
    .unwrap();
    path
}

fn pfx_form(idp: &MockIdp, pfx: &Path, password: Option<&str>) -> FormValues {
    let mut values = form(idp, pfx);
    if let Some(password) = password {
        values.set_secret(fields::CERTIFICATE_PASSWORD, password);
    }
    values
}

#[test]
fn a_pkcs12_account_verifies_saves_and_renews_and_its_password_stays_secret() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    for (name, encryption) in [
        ("app.pfx", Encryption::Aes256),
        ("legacy.p12", Encryption::Legacy3Des),
    ] {
        let pfx = pfx_file(dir.path(), name, true, encryption);
        let memory = MemoryHost::new();
        let mut plugin = Office365::new(memory.handle()).unwrap();
        let values = pfx_form(&idp, &pfx, Some(PFX_PASSWORD));
        match verify(&mut plugin, &values) {
            SessionState::Verified(_) => {}
            other => panic!("{encryption:?}: {other:?}"),
        }
        plugin.save(&values).expect("saves");
        // The password is a secret of the account; the file's path a setting.
        assert_eq!(
            memory
                .secrets_of(ACCOUNT)
                .get(fields::CERTIFICATE_PASSWORD)
                .map(String::as_str),
            Some(PFX_PASSWORD)
        );
        let settings = memory.settings_of(ACCOUNT).unwrap();
        assert_eq!(
            settings.get(fields::CERTIFICATE_FILE).map(String::as_str),
            pfx.to_str()
        );
        // A refresh opens the file with the saved password and signs a new assertion; the
        // password survives the renewal's rewrite of the secrets.
        for _ in 0..2 {
            let renewed = plugin
                .token(ACCOUNT, &TokenRequest::saved_scopes().forced())
                .expect("a refresh with a client assertion from the PKCS#12 key");
            assert_eq!(renewed.source, TokenSource::Refreshed);
        }
        assert!(memory
            .secrets_of(ACCOUNT)
            .contains_key(fields::CERTIFICATE_PASSWORD));
        let health = plugin.account_health(ACCOUNT).expect("health");
        assert_eq!(
            health.state,
            atrs_host_sdk::HealthState::Healthy,
            "{health:?}"
        );
        let everything = format!(
            "{settings:?}{:?}{:?}{values:?}{health:?}",
            memory.log_lines(),
            plugin.load_account(ACCOUNT).unwrap()
        );
        assert!(!everything.contains(PFX_PASSWORD), "{encryption:?}");
        let key_line = defaults::CERT_KEY_PEM.lines().nth(1).unwrap();
        assert!(!everything.contains(key_line));
    }
}

#[test]
fn pkcs12_refusals_each_name_their_field_and_fix_and_never_the_password() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let plugin = Office365::new(MemoryHost::new().handle()).unwrap();
    let pfx = pfx_file(dir.path(), "app.pfx", true, Encryption::Aes256);
    let cert_only = pfx_file(dir.path(), "cert-only.pfx", false, Encryption::Aes256);
    let junk = dir.path().join("report.xlsx");
    std::fs::write(
        &junk,
        b"PK\x03\x04\x14\x00 a spreadsheet, not a certificate",
    )
    .unwrap();
    let wrong = "Not-the-export-password";
    let cases = [
        (
            "wrong password",
            pfx_form(&idp, &pfx, Some(wrong)),
            fields::CERTIFICATE_PASSWORD,
            "does not open with the password",
            "exported with",
        ),
        (
            "no password",
            pfx_form(&idp, &pfx, None),
            fields::CERTIFICATE_PASSWORD,
            "protected by a password",
            "Certificate password",
        ),
        (
            "neither PEM nor PKCS#12",
            pfx_form(&idp, &junk, Some(PFX_PASSWORD)),
            fields::CERTIFICATE_FILE,
            "neither a PEM file nor a PKCS#12 file",
            ".pfx / .p12 file exported with its private key",
        ),
        (
            "PKCS#12 without its key",
            pfx_form(&idp, &cert_only, Some(PFX_PASSWORD)),
            fields::CERTIFICATE_FILE,
            "without a private key",
            "export the private key",
        ),
        (
            "a password without a file",
            FormValues::new()
                .with(fields::ACCOUNT_NAME, ACCOUNT)
                .with(fields::CLIENT_ID, defaults::CERT_CLIENT_ID)
                .with(fields::TENANT_ID, defaults::TENANT_ID)
                .with(fields::AUTHORITY, idp.base_url())
                .with(fields::CERTIFICATE_PASSWORD, PFX_PASSWORD),
            fields::CERTIFICATE_PASSWORD,
            "names no file",
            "leave Certificate password empty",
        ),
    ];
    let mut messages = Vec::new();
    for (what, values, field, message, fix) in cases {
        let errors = plugin.validate(&values);
        let e = errors
            .iter()
            .find(|e| e.field() == field)
            .unwrap_or_else(|| panic!("{what}: no error on {field}: {errors:?}"));
        assert!(e.message().contains(message), "{what}: {}", e.message());
        assert!(
            e.hint().is_some_and(|h| h.contains(fix)),
            "{what}: {:?}",
            e.hint()
        );
        messages.push(format!(
            "{what}: {} — fix: {}",
            e.message(),
            e.hint().unwrap()
        ));
        // Starting a verification is refused the same way, before any request.
        let mut plugin = Office365::new(MemoryHost::new().handle()).unwrap();
        let refused = plugin
            .start_verification(&values, VerifyMethod::DeviceCode)
            .err()
            .unwrap_or_else(|| panic!("{what}: a verification started"));
        assert_eq!(refused.field(), Some(field), "{what}");
    }
    let shown = messages.join("\n");
    println!("{shown}");
    assert!(!shown.contains(PFX_PASSWORD) && !shown.contains(wrong));
}

#[test]
fn editing_a_saved_pkcs12_account_keeps_its_password_when_the_field_is_left_empty() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let pfx = pfx_file(dir.path(), "app.pfx", true, Encryption::Aes256);
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    let values = pfx_form(&idp, &pfx, Some(PFX_PASSWORD));
    assert!(matches!(
        verify(&mut plugin, &values),
        SessionState::Verified(_)
    ));
    plugin.save(&values).unwrap();

    // The form comes back without the password, as every secret does; a change that needs
    // no new sign-in saves, and the saved password stays.
    let mut plugin = Office365::new(memory.handle()).unwrap();
    let mut edited = plugin.load_account(ACCOUNT).unwrap();
    assert_eq!(edited.get(fields::CERTIFICATE_PASSWORD), None);
    edited.set(fields::MAX_MESSAGE_MB, "50");
    assert!(
        plugin.validate(&edited).is_empty(),
        "{:?}",
        plugin.validate(&edited)
    );
    plugin
        .save(&edited)
        .expect("saved without typing the password again");
    assert_eq!(
        memory
            .settings_of(ACCOUNT)
            .unwrap()
            .get(fields::MAX_MESSAGE_MB)
            .map(String::as_str),
        Some("50")
    );
    assert_eq!(
        memory
            .secrets_of(ACCOUNT)
            .get(fields::CERTIFICATE_PASSWORD)
            .map(String::as_str),
        Some(PFX_PASSWORD)
    );
    // Re-verifying the edited values opens the file with the saved password too.
    assert!(matches!(
        verify(&mut plugin, &edited),
        SessionState::Verified(_)
    ));

    // Another file is another credential: its password must be typed.
    let other = pfx_file(dir.path(), "other.pfx", true, Encryption::Legacy3Des);
    let mut moved = edited.clone();
    moved.set(fields::CERTIFICATE_FILE, other.to_str().unwrap());
    let errors = plugin.validate(&moved);
    assert!(
        errors
            .iter()
            .any(|e| e.field() == fields::CERTIFICATE_PASSWORD
                && e.message().contains("protected by a password")),
        "{errors:?}"
    );
}

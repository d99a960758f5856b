//! Certificate credentials: instead of a client secret, the app proves itself with a client
//! assertion (RFC 7523 §2.2, as Entra requires for certificates) — a JWT signed RS256 with
//! the certificate's private key, its header naming the certificate by `x5t#S256`, `aud` =
//! the token endpoint, `iss` = `sub` = the Client ID, a five-minute `exp` and a unique `jti`.
//!
//! The certificate file is PEM holding the certificate and its RSA private key (PKCS#8
//! `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`), or PKCS#12 (`.pfx`, `.p12`, as Windows and
//! OpenSSL export them) opened with its password. The certificate used is the one that
//! belongs to the key (a chain file may hold its issuers too). The key and the password
//! stay in memory only; nothing here logs, shows or formats them (`Debug` names the file
//! and the thumbprint).

mod der;
mod pem;
mod pkcs12;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::json;

use crate::clock::unix_now;
use crate::net::request_id::new_id;
use crate::secret::Secret;

/// The `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid: Entra wants a short `exp`.
const LIFETIME_SECS: i64 = 300;

/// Why a certificate file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The file could not be read.
    #[error("could not be read ({0})")]
    Unreadable(String),
    /// Neither PEM text nor a PKCS#12 file.
    #[error("is neither a PEM file nor a PKCS#12 file (.pfx, .p12)")]
    NeitherPemNorPkcs12,
    /// No certificate in it.
    #[error("holds no certificate (in PEM: -----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    /// No private key block in a PEM file.
    #[error(
        "holds no private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
    )]
    NoKey,
    /// A PKCS#12 file exported without its private key.
    #[error("is a PKCS#12 file without a private key (only the certificate was exported)")]
    Pkcs12WithoutKey,
    /// A PKCS#12 file whose password was not given.
    #[error("is protected by a password, and Certificate password is empty")]
    PasswordNeeded,
    /// A PKCS#12 file that the password given does not open.
    #[error(
        "does not open with the password in Certificate password (it is not the file's password)"
    )]
    WrongPassword,
    /// A PEM file, with a password given (PEM files here are never encrypted).
    #[error("is a PEM file, which is read without a password")]
    PasswordForPem,
    /// A PKCS#12 file encrypted with an algorithm the decoder does not have.
    #[error("is a PKCS#12 file encrypted in a way this version cannot open ({0})")]
    UnsupportedPkcs12(String),
    /// The key is encrypted (a password would be needed).
    #[error("holds an encrypted private key, which this version cannot open")]
    Encrypted,
    /// The key is not an RSA key ring can sign with (or its PEM is damaged).
    #[error("holds a private key that is not a usable RSA key (2048 bits or more)")]
    UnusableKey,
    /// No certificate in the file is the one for its private key.
    #[error("holds no certificate for its private key (the certificate and the key are from different pairs)")]
    KeyMismatch,
}

impl CertificateError {
    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            CertificateError::Unreadable(_) => "Check the path and that this program may read the file.",
            CertificateError::Encrypted => "Export the key without a password (for example: openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain-key.pem) and put it in the file with the certificate, or make a PKCS#12 file of both (openssl pkcs12 -export -in cert.pem -inkey key.pem -out app.pfx) and give its password in Certificate password; keep the file readable only by this account.",
            CertificateError::NeitherPemNorPkcs12 => "Give the certificate file registered on the app: PEM with its private key (cat cert.pem key.pem > app.pem), or the .pfx / .p12 file exported with its private key, with that file's password in Certificate password.",
            CertificateError::Pkcs12WithoutKey => "Export the certificate again with its private key: Windows certificate manager → All Tasks → Export → \"Yes, export the private key\" (Personal Information Exchange, .pfx); or openssl pkcs12 -export -in cert.pem -inkey key.pem -out app.pfx.",
            CertificateError::PasswordNeeded => "Type the password the .pfx / .p12 file was exported with in Certificate password (it is kept as a secret).",
            CertificateError::WrongPassword => "Type the password the .pfx / .p12 file was exported with (the one chosen in the export wizard, or given to openssl pkcs12 -export) in Certificate password — or leave it empty for a file exported without one — or export the file again with a password you know.",
            CertificateError::PasswordForPem => "Leave Certificate password empty: only .pfx / .p12 files have one.",
            CertificateError::UnsupportedPkcs12(_) => "Export the file again with AES-256 (Windows: \"AES256-SHA256\" in the export wizard; OpenSSL 3: openssl pkcs12 -export, its default), or give the certificate and key as PEM.",
            CertificateError::KeyMismatch => "Put the certificate registered on the app together with its own private key in the file (compare: openssl x509 -noout -modulus -in cert.pem and openssl rsa -noout -modulus -in key.pem must match).",
            _ => "Give a PEM file that holds the certificate registered on the app together with its RSA private key (for example: cat cert.pem key.pem > app.pem), or a .pfx / .p12 file exported with its private key.",
        }
    }

    /// Whether the password, not the file, is what to change.
    pub fn is_about_the_password(&self) -> bool {
        matches!(
            self,
            CertificateError::PasswordNeeded
                | CertificateError::WrongPassword
                | CertificateError::PasswordForPem
        )
    }
}

/// A loaded certificate credential. Cloning shares the key.
#[derive(Clone)]
pub struct Certificate {
    path: PathBuf,
    thumbprint: String,
    /// The certificate's `notAfter` (Unix seconds), when it could be read.
    not_after: Option<i64>,
    key: Arc<RsaKeyPair>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("path", &self.path)
            .field("x5t#S256", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.thumbprint == other.thumbprint
    }
}

impl Eq for Certificate {}

impl Certificate {
    /// Load the certificate and key in the file at `path`: PEM, or PKCS#12 opened with
    /// `password`.
    pub fn load(path: &Path, password: Option<&Secret>) -> Result<Certificate, CertificateError> {
        let bytes = std::fs::read(path).map_err(|e| CertificateError::Unreadable(e.to_string()))?;
        Certificate::read(path, &bytes, password)
    }

    /// The certificate and key in `bytes`, the contents of the file at `path`: PEM, or
    /// PKCS#12 opened with `password`.
    pub fn read(
        path: &Path,
        bytes: &[u8],
        password: Option<&Secret>,
    ) -> Result<Certificate, CertificateError> {
        let (certificates, key) = if pem::looks_like_pem(bytes) {
            if password.is_some_and(|p| !p.expose().is_empty()) {
                return Err(CertificateError::PasswordForPem);
            }
            pem_contents(bytes)?
        } else {
            pkcs12_contents(bytes, password)?
        };
        let cert = certificates
            .iter()
            .find(|der| der::public_key(der) == Some(key.public().as_ref()))
            .ok_or(CertificateError::KeyMismatch)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, cert);
        Ok(Certificate {
            path: path.to_owned(),
            thumbprint: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            not_after: der::not_after(cert),
            key: Arc::new(key),
        })
    }

    /// When the certificate expires (its `notAfter`, Unix seconds).
    pub fn expires_at(&self) -> Option<i64> {
        self.not_after
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `x5t#S256`: base64url of the SHA-256 of the certificate's DER.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A client assertion for `client_id` at `token_endpoint`.
    pub fn assertion(&self, client_id: &str, token_endpoint: &str) -> Secret {
        let now = unix_now();
        let header = json!({"alg": "RS256", "typ": "JWT", "x5t#S256": self.thumbprint});
        let claims = json!({
            "aud": token_endpoint,
            "iss": client_id,
            "sub": client_id,
            "jti": new_id(),
            "nbf": now,
            "iat": now,
            "exp": now + LIFETIME_SECS,
        });
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        // Signing with a key that loaded cannot fail but for a broken random source; an
        // empty signature is then refused by the provider (AADSTS700027), never sent as valid.
        let _ = self.key.sign(
            &RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        );
        Secret::new(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// When the certificate in the file at `path` expires (Unix seconds): what the health view
/// warns about. A PEM file is read without its key (its first certificate); a PKCS#12 file
/// needs its `password`.
pub fn expiry_of_file(path: &Path, password: Option<&Secret>) -> Option<i64> {
    let bytes = std::fs::read(path).ok()?;
    if !pem::looks_like_pem(&bytes) {
        return Certificate::load(path, password).ok()?.expires_at();
    }
    let text = String::from_utf8(bytes).ok()?;
    let blocks = pem::blocks(&text);
    let (_, der) = blocks.iter().find(|(l, _)| l == "CERTIFICATE")?;
    der::not_after(der)
}

/// The certificates (DER) and the RSA key of a PEM file.
fn pem_contents(bytes: &[u8]) -> Result<(Vec<Vec<u8>>, RsaKeyPair), CertificateError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CertificateError::NeitherPemNorPkcs12)?;
    let blocks = pem::blocks(text);
    let certificates: Vec<Vec<u8>> = blocks
        .iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der.clone())
        .collect();
    if certificates.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    if blocks.iter().any(|(l, _)| l == "ENCRYPTED PRIVATE KEY") {
        return Err(CertificateError::Encrypted);
    }
    let key = match blocks
        .iter()
        .find(|(l, _)| l == "PRIVATE KEY" || l == "RSA PRIVATE KEY")
    {
        Some((label, der)) if label == "PRIVATE KEY" => RsaKeyPair::from_pkcs8(der),
        Some((_, der)) => RsaKeyPair::from_der(der),
        None => return Err(CertificateError::NoKey),
    }
    .map_err(|_| CertificateError::UnusableKey)?;
    Ok((certificates, key))
}

/// The certificates (DER) and the RSA key of a PKCS#12 file: of several keys, the first
/// that one of its certificates belongs to.
fn pkcs12_contents(
    bytes: &[u8],
    password: Option<&Secret>,
) -> Result<(Vec<Vec<u8>>, RsaKeyPair), CertificateError> {
    let contents = pkcs12::open(bytes, password)?;
    if contents.keys.is_empty() {
        return Err(CertificateError::Pkcs12WithoutKey);
    }
    if contents.certificates.is_empty() {
        return Err(CertificateError::NoCertificate);
    }
    let keys: Vec<RsaKeyPair> = contents
        .keys
        .iter()
        .filter_map(|der| RsaKeyPair::from_pkcs8(der).ok())
        .collect();
    let matching = keys.iter().position(|key| {
        contents
            .certificates
            .iter()
            .any(|c| der::public_key(c) == Some(key.public().as_ref()))
    });
    let mut keys = keys;
    match (matching, keys.is_empty()) {
        (Some(i), _) => Ok((contents.certificates, keys.swap_remove(i))),
        (None, true) => Err(CertificateError::UnusableKey),
        (None, false) => Err(CertificateError::KeyMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_mock_idp::defaults;
    use atrs_mock_idp::pkcs12_file::{self, Encryption};

    fn file(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    const PASSWORD: &str = "pfx~Pa55word";

    fn pfx(key: Option<&str>, encryption: Encryption) -> Vec<u8> {
        pkcs12_file::export(defaults::CERT_PEM, key, PASSWORD, encryption)
    }

    #[test]
    fn a_pem_with_certificate_and_key_signs_assertions_the_mock_accepts_the_shape_of() {
        let dir = tempfile::tempdir().unwrap();
        let both = format!("{}{}", defaults::CERT_PEM, defaults::CERT_KEY_PEM);
        let cert = Certificate::load(&file(dir.path(), "app.pem", &both), None).unwrap();
        assert_eq!(
            cert.thumbprint(),
            "oVdFBRdePp-XxPIKRlLYQMTnPkXjpwx0HSm_iKWHPAQ"
        );
        let jwt = cert.assertion("client", "https://login.example/t/oauth2/v2.0/token");
        let parts: Vec<&str> = jwt.expose().split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "client");
        assert_eq!(claims["sub"], "client");
        assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
        assert!(claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap() <= 300);
        let other = cert.assertion("client", "aud");
        let jti = |s: &Secret| {
            let p: Vec<&str> = s.expose().split('.').collect();
            serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(p[1]).unwrap())
                .unwrap()["jti"]
                .clone()
        };
        assert_ne!(jti(&jwt), jti(&other), "every assertion has its own jti");
        let shown = format!("{cert:?}");
        assert!(!shown.contains("PRIVATE") && !shown.contains(&defaults::CERT_KEY_PEM[40..80]));
    }

    /// A certificate valid until 2026-12-17 03:16:16 UTC (a UTCTime `notAfter`).
    const SHORT_LIVED: &str = "-----BEGIN CERTIFICATE-----\nMIIDATCCAemgAwIBAgIUIFIQKl562gXwYsweaGGyrPqeWaowDQYJKoZIhvcNAQEL\nBQAwEDEOMAwGA1UEAwwFc2hvcnQwHhcNMjYxMjA3MDMxNjE2WhcNMjYxMjE3MDMx\nNjE2WjAQMQ4wDAYDVQQDDAVzaG9ydDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCC\nAQoCggEBALrGb6Af+VxyeGY4tWVcNmlxn3owbd4flUs2Rjd0lXyF3DP2QXvtaoGB\nEFZKoaPrYqEGgLm2sIo0J6jUwkWm8ADxfyUPHeSxb6ySKjEmUGNCWL2rEb8DDOmC\nY5b1idz0rryDjoOepMOn8DI+8fD9xSxMeKFYtTr+AhCZaEQEPQJIGLQKB+omy7or\nMAjHoX37wi5iS0wMGNhF/7TSqaTbg3nhVimIDPQZfKPdUuNW3xkY6hDpLwwP9hwR\n00i382ednn7JyTX3aQRZn+QcPAEudzi2irRbNS1VRHLfsjC0gRyGCt7mV/z9lvwf\narqAYeBuivvzY9AY6Uf1i6Af5vCMnpsCAwEAAaNTMFEwHQYDVR0OBBYEFDl0SmOl\nW5GzWpNKemTOvmV0436yMB8GA1UdIwQYMBaAFDl0SmOlW5GzWpNKemTOvmV0436y\nMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEBAKE4AhXIA3ckE9Hz\nJ4+xK3fyFFkxY8YmVcJCHFypJkHtRDSGFl18R6OEQpvRoLBB+xII9NoOOHgiPR/J\np+JVedtbCBIv3NoTknIjxKDSbTA7yTOPlFUimcPZCihhBQOptLT+YQk2grt7oKLc\nWqXFMVb7+AnlPJ5mzwFEveyAf8wNGsvCa8oO3YttSUvi2Rqj/idh5SSB8UAK3GfI\nMkx5lQpq5bcPHN01x5+xI74nmHYo0oAcsEHChyN00ee9BDMwBIwPOED7oNf49G5/\nCSbl/6M40NTuzjjxMzpRMwe+R+Ak7wUZ4tOoqiCOQsMytldw4mlh3DCLj62iaj17\nUFmHifU=\n-----END CERTIFICATE-----\n";

    #[test]
    fn the_expiry_is_read_from_utc_and_generalized_times() {
        let dir = tempfile::tempdir().unwrap();
        let short = file(dir.path(), "short.pem", SHORT_LIVED);
        let at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp()
        };
        assert_eq!(
            expiry_of_file(&short, None),
            Some(at("2026-12-17 03:16:16"))
        );
        let long = file(dir.path(), "long.pem", defaults::CERT_PEM);
        assert_eq!(expiry_of_file(&long, None), Some(at("2126-11-13 03:04:19")));
        assert_eq!(expiry_of_file(&dir.path().join("none.pem"), None), None);
        let p12 = file(
            dir.path(),
            "app.pfx",
            pfx(Some(defaults::CERT_KEY_PEM), Encryption::Aes256),
        );
        let password = Secret::new(PASSWORD);
        assert_eq!(
            expiry_of_file(&p12, Some(&password)),
            Some(at("2126-11-13 03:04:19"))
        );
        assert_eq!(
            expiry_of_file(&p12, None),
            None,
            "a PKCS#12 opens only with its password"
        );
    }

    #[test]
    fn unusable_files_say_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let load = |name: &str, text: &str| {
            Certificate::load(&file(dir.path(), name, text), None).unwrap_err()
        };
        assert_eq!(load("c.pem", defaults::CERT_PEM), CertificateError::NoKey);
        assert_eq!(
            load("k.pem", defaults::CERT_KEY_PEM),
            CertificateError::NoCertificate
        );
        let encrypted = format!(
            "{}-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            defaults::CERT_PEM
        );
        assert_eq!(load("e.pem", &encrypted), CertificateError::Encrypted);
        let junk = format!(
            "{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            defaults::CERT_PEM
        );
        assert_eq!(load("j.pem", &junk), CertificateError::UnusableKey);
        assert!(matches!(
            Certificate::load(&dir.path().join("missing.pem"), None),
            Err(CertificateError::Unreadable(_))
        ));
    }

    #[test]
    fn the_certificate_for_the_key_is_chosen_and_a_stranger_s_refused() {
        let dir = tempfile::tempdir().unwrap();
        let load =
            |name: &str, text: String| Certificate::load(&file(dir.path(), name, text), None);
        // A chain file: an unrelated certificate first, then the key's own.
        let chain = format!(
            "{}{}{}",
            defaults::CERT_EXPIRED_PEM,
            defaults::CERT_PEM,
            defaults::CERT_KEY_PEM
        );
        let cert = load("chain.pem", chain).unwrap();
        assert_eq!(
            cert.thumbprint(),
            "oVdFBRdePp-XxPIKRlLYQMTnPkXjpwx0HSm_iKWHPAQ"
        );
        let stranger = format!("{}{}", defaults::CERT_EXPIRED_PEM, defaults::CERT_KEY_PEM);
        assert_eq!(
            load("x.pem", stranger).unwrap_err(),
            CertificateError::KeyMismatch
        );
    }

    #[test]
    fn a_pkcs12_file_opens_with_its_password_in_either_encryption() {
        let dir = tempfile::tempdir().unwrap();
        let password = Secret::new(PASSWORD);
        for (name, encryption) in [
            ("aes.pfx", Encryption::Aes256),
            ("3des.p12", Encryption::Legacy3Des),
        ] {
            let path = file(
                dir.path(),
                name,
                pfx(Some(defaults::CERT_KEY_PEM), encryption),
            );
            let cert = Certificate::load(&path, Some(&password)).unwrap();
            assert_eq!(
                cert.thumbprint(),
                "oVdFBRdePp-XxPIKRlLYQMTnPkXjpwx0HSm_iKWHPAQ",
                "{encryption:?}"
            );
            assert!(cert.expires_at().is_some());
            let shown = format!("{cert:?}");
            assert!(!shown.contains(PASSWORD), "{shown}");
        }
    }

    #[test]
    fn files_openssl_wrote_open_in_the_current_and_the_legacy_encryptions() {
        let dir = tempfile::tempdir().unwrap();
        let password = Secret::new(defaults::CERT_PFX_PASSWORD);
        for (name, bytes) in [
            ("openssl3.pfx", defaults::CERT_PFX_OPENSSL3),
            ("legacy-rc2.pfx", defaults::CERT_PFX_OPENSSL_LEGACY),
            ("3des-sha1.pfx", defaults::CERT_PFX_3DES_SHA1),
        ] {
            let path = file(dir.path(), name, bytes);
            let cert =
                Certificate::load(&path, Some(&password)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                cert.thumbprint(),
                "oVdFBRdePp-XxPIKRlLYQMTnPkXjpwx0HSm_iKWHPAQ",
                "{name}"
            );
            assert_eq!(
                Certificate::load(&path, Some(&Secret::new("wrong"))).unwrap_err(),
                CertificateError::WrongPassword,
                "{name}"
            );
        }
    }

    #[test]
    fn pkcs12_refusals_tell_password_file_and_missing_key_apart() {
        let dir = tempfile::tempdir().unwrap();
        let with_key = file(
            dir.path(),
            "app.pfx",
            pfx(Some(defaults::CERT_KEY_PEM), Encryption::Aes256),
        );
        let wrong = Secret::new("not-the-password");
        let e = Certificate::load(&with_key, Some(&wrong)).unwrap_err();
        assert_eq!(e, CertificateError::WrongPassword);
        assert!(e.is_about_the_password());
        assert_eq!(
            Certificate::load(&with_key, None).unwrap_err(),
            CertificateError::PasswordNeeded
        );
        let cert_only = file(dir.path(), "cert.pfx", pfx(None, Encryption::Aes256));
        let e = Certificate::load(&cert_only, Some(&Secret::new(PASSWORD))).unwrap_err();
        assert_eq!(e, CertificateError::Pkcs12WithoutKey);
        assert!(e.fix().contains("export the private key"), "{}", e.fix());
        let junk = file(
            dir.path(),
            "junk.pfx",
            [0x30u8, 0x03, 0x02, 0x01, 0x07, 0xff, 0x00],
        );
        assert_eq!(
            Certificate::load(&junk, Some(&Secret::new(PASSWORD))).unwrap_err(),
            CertificateError::NeitherPemNorPkcs12
        );
        let zip = file(dir.path(), "app.zip", b"PK\x03\x04 not a certificate");
        assert_eq!(
            Certificate::load(&zip, None).unwrap_err(),
            CertificateError::NeitherPemNorPkcs12
        );
        let pem = file(
            dir.path(),
            "app.pem",
            format!("{}{}", defaults::CERT_PEM, defaults::CERT_KEY_PEM),
        );
        assert_eq!(
            Certificate::load(&pem, Some(&Secret::new(PASSWORD))).unwrap_err(),
            CertificateError::PasswordForPem
        );
        for e in [
            CertificateError::WrongPassword,
            CertificateError::PasswordNeeded,
            CertificateError::Pkcs12WithoutKey,
            CertificateError::NeitherPemNorPkcs12,
        ] {
            assert!(!e.to_string().contains(PASSWORD) && !e.fix().contains(PASSWORD));
        }
    }
}

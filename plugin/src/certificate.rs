//! Certificate credentials: instead of a client secret, the app proves itself with a client
//! assertion (RFC 7523 §2.2, as Entra requires for certificates) — a JWT signed RS256 with
//! the certificate's private key, its header naming the certificate by `x5t#S256`, `aud` =
//! the token endpoint, `iss` = `sub` = the Client ID, a five-minute `exp` and a unique `jti`.
//!
//! The certificate file is PEM holding the certificate and its RSA private key (PKCS#8
//! `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`). The key stays in memory only; nothing here
//! logs, shows or formats it (`Debug` names the file and the thumbprint).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
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
    /// No `CERTIFICATE` block.
    #[error("holds no certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
    /// No private key block.
    #[error(
        "holds no private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)"
    )]
    NoKey,
    /// The key is encrypted (a password would be needed).
    #[error("holds an encrypted private key, which this version cannot open")]
    Encrypted,
    /// The key is not an RSA key ring can sign with (or its PEM is damaged).
    #[error("holds a private key that is not a usable RSA key (2048 bits or more)")]
    UnusableKey,
}

impl CertificateError {
    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            CertificateError::Unreadable(_) => "Check the path and that this program may read the file.",
            CertificateError::Encrypted => "Export the key without a password (for example: openssl pkcs8 -topk8 -nocrypt -in key.pem -out plain-key.pem) and put it in the file with the certificate; keep the file readable only by this account.",
            _ => "Give a PEM file that holds the certificate registered on the app together with its RSA private key (for example: cat cert.pem key.pem > app.pem).",
        }
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
    /// Load the certificate and key in the PEM file at `path`.
    pub fn load(path: &Path) -> Result<Certificate, CertificateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CertificateError::Unreadable(e.to_string()))?;
        let blocks = pem_blocks(&text);
        let cert = blocks
            .iter()
            .find(|(label, _)| label == "CERTIFICATE")
            .ok_or(CertificateError::NoCertificate)?;
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
        let digest = ring::digest::digest(&ring::digest::SHA256, &cert.1);
        Ok(Certificate {
            path: path.to_owned(),
            thumbprint: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            not_after: not_after(&cert.1),
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

/// When the first certificate in the PEM file at `path` expires (Unix seconds): what the
/// health view warns about, read without the key.
pub fn expiry_of_file(path: &Path) -> Option<i64> {
    let text = std::fs::read_to_string(path).ok()?;
    let blocks = pem_blocks(&text);
    let (_, der) = blocks.iter().find(|(l, _)| l == "CERTIFICATE")?;
    not_after(der)
}

/// One DER element: its tag, its content and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, head) = if first & 0x80 == 0 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let content = input.get(head..head.checked_add(len)?)?;
    Some((tag, content, &input[head + len..]))
}

/// `tbsCertificate.validity.notAfter` of an X.509 certificate's DER (RFC 5280 §4.1).
fn not_after(der: &[u8]) -> Option<i64> {
    let (_, certificate, _) = tlv(der)?;
    let (_, tbs, _) = tlv(certificate)?;
    let (tag, _, rest) = tlv(tbs)?;
    // `[0] version` is optional; after it (or in its place) comes the serial number.
    let rest = if tag == 0xA0 { tlv(rest)?.2 } else { rest };
    let (_, _, rest) = tlv(rest)?; // signature algorithm
    let (_, _, rest) = tlv(rest)?; // issuer
    let (_, validity, _) = tlv(rest)?;
    let (_, _, after_not_before) = tlv(validity)?;
    let (tag, time, _) = tlv(after_not_before)?;
    let text = std::str::from_utf8(time).ok()?.strip_suffix('Z')?;
    let full = match (tag, text.len()) {
        // UTCTime YYMMDDHHMMSS: 50–99 are 19xx, 00–49 are 20xx (RFC 5280 §4.1.2.5.1).
        (0x17, 12) => {
            let yy: u32 = text[..2].parse().ok()?;
            format!("{}{text}", if yy >= 50 { "19" } else { "20" })
        }
        (0x18, 14) => text.to_owned(),
        _ => return None,
    };
    chrono::NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// The `(label, DER)` blocks of a PEM text.
fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label.to_owned(), String::new()));
        } else if line.starts_with("-----END ") {
            if let Some((label, body)) = current.take() {
                if let Ok(der) = STANDARD.decode(body) {
                    blocks.push((label, der));
                }
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_mock_idp::defaults;

    fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_pem_with_certificate_and_key_signs_assertions_the_mock_accepts_the_shape_of() {
        let dir = tempfile::tempdir().unwrap();
        let both = format!("{}{}", defaults::CERT_PEM, defaults::CERT_KEY_PEM);
        let cert = Certificate::load(&file(dir.path(), "app.pem", &both)).unwrap();
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
        assert_eq!(expiry_of_file(&short), Some(at("2026-12-17 03:16:16")));
        let long = file(dir.path(), "long.pem", defaults::CERT_PEM);
        assert_eq!(expiry_of_file(&long), Some(at("2126-11-13 03:04:19")));
        assert_eq!(expiry_of_file(&dir.path().join("none.pem")), None);
        assert_eq!(not_after(b"\x30\x03\x02\x01"), None, "cut short");
    }

    #[test]
    fn unusable_files_say_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let load =
            |name: &str, text: &str| Certificate::load(&file(dir.path(), name, text)).unwrap_err();
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
            Certificate::load(&dir.path().join("missing.pem")),
            Err(CertificateError::Unreadable(_))
        ));
    }
}

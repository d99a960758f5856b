//! Extra certificate authorities the HTTP client trusts besides the operating
//! system's certificate store: a PEM file named in the form (`ca_file`) and the one
//! `SSL_CERT_FILE` names, as OpenSSL and most TLS stacks honour it. For a proxy that
//! inspects TLS, or a local HTTPS test server such as `atrs-test-host mock-idp --tls`.
//!
//! The system store is read by reqwest (rustls-native-certs) each time a client is
//! built; as with OpenSSL, `SSL_CERT_FILE` or `SSL_CERT_DIR`, when set, take its place
//! there, so with `SSL_CERT_FILE` the trusted set is that file plus `ca_file`.

use std::path::{Path, PathBuf};

/// The environment variable naming a PEM file of extra trusted authorities.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// Why a CA file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The file could not be read.
    #[error("{path} could not be read ({reason})")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The system's reason, in a few words.
        reason: String,
    },
    /// The file holds no PEM certificate, or a damaged one.
    #[error("{path} holds no usable PEM certificate")]
    NotPem {
        /// The file.
        path: PathBuf,
    },
}

/// The certificates of the PEM file at `path`.
pub fn certificates_in(path: &Path) -> Result<Vec<reqwest::Certificate>, TrustError> {
    let pem = std::fs::read(path).map_err(|e| TrustError::Unreadable {
        path: path.to_owned(),
        reason: e.kind().to_string(),
    })?;
    let not_pem = || TrustError::NotPem {
        path: path.to_owned(),
    };
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(not_pem());
    }
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| not_pem())?;
    if certificates.is_empty() {
        return Err(not_pem());
    }
    Ok(certificates)
}

/// The extra roots to trust: `ca_file`'s, then `SSL_CERT_FILE`'s when it is set.
pub fn extra_roots(ca_file: Option<&Path>) -> Result<Vec<reqwest::Certificate>, TrustError> {
    let from_env = std::env::var_os(SSL_CERT_FILE)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let mut roots = Vec::new();
    for path in ca_file.map(Path::to_owned).into_iter().chain(from_env) {
        roots.extend(certificates_in(&path)?);
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_without_certificates_are_refused_with_their_path() {
        let dir = std::env::temp_dir().join(format!("atrs-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("not.pem");
        std::fs::write(&text, "hello").unwrap();
        let e = certificates_in(&text).unwrap_err();
        assert!(matches!(e, TrustError::NotPem { .. }));
        assert!(e.to_string().contains("not.pem"), "{e}");
        let damaged = dir.join("damaged.pem");
        std::fs::write(
            &damaged,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(certificates_in(&damaged).is_err());
        let missing = certificates_in(&dir.join("missing.pem")).unwrap_err();
        assert!(
            matches!(missing, TrustError::Unreadable { .. }),
            "{missing}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! HTTPS for `--tls`: a certificate authority made at start, a server certificate it
//! signs for `localhost`, 127.0.0.1 and ::1, and the authority's PEM written to a file
//! for clients to trust (its path is [`crate::MockIdp::ca_file`]).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

use crate::errors::MockError;

/// A TLS acceptor and the CA file that makes clients trust it.
pub(crate) struct Tls {
    /// Accepts TLS sessions with the generated server certificate.
    pub acceptor: TlsAcceptor,
    /// The generated authority's certificate, PEM.
    pub ca_pem: String,
}

impl Tls {
    /// Generates the authority and the server certificate.
    pub fn generate() -> Result<Tls, MockError> {
        let failed = |e: rcgen::Error| MockError::Tls(e.to_string());
        let ca_key = KeyPair::generate().map_err(failed)?;
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "ATRS mock identity platform (test CA)");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;

        let key = KeyPair::generate().map_err(failed)?;
        let mut leaf = CertificateParams::default();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.subject_alt_names = vec![
            SanType::DnsName("localhost".try_into().map_err(failed)?),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        ];
        let cert = leaf.signed_by(&key, &ca_cert, &ca_key).map_err(failed)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| MockError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone(), ca_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .map_err(|e| MockError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca_pem: ca_cert.pem(),
        })
    }

    /// Writes the CA certificate to a new file of its own in `dir`: a random name, created
    /// exclusively and readable by this user only, so nobody can plant a file or a symlink
    /// there beforehand (a CA of theirs that clients would then trust). The caller removes it.
    pub fn write_ca(&self, dir: &Path, port: u16) -> Result<PathBuf, MockError> {
        let failed = |source: std::io::Error| MockError::CaFile {
            path: dir.to_owned(),
            source,
        };
        let mut file = tempfile::Builder::new()
            .prefix(&format!("atrs-mock-idp-ca-{port}-"))
            .suffix(".pem")
            .tempfile_in(dir)
            .map_err(failed)?;
        file.write_all(self.ca_pem.as_bytes()).map_err(failed)?;
        let (_, path) = file.keep().map_err(|e| failed(e.error))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_ca_file_is_new_private_and_unpredictable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir();
        let tls = Tls::generate().unwrap();
        let a = tls.write_ca(&dir, 4000).unwrap();
        let b = tls.write_ca(&dir, 4000).unwrap();
        assert_ne!(a, b, "one port, two files: the name is not predictable");
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        assert!(std::fs::read_to_string(&a)
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
        for p in [a, b] {
            std::fs::remove_file(p).unwrap();
        }
    }
}

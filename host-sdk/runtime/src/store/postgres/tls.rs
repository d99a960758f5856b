//! TLS to the PostgreSQL server, read from the store URL as libpq reads it: `sslmode`
//! (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM
//! file of the CAs trusted to sign the server's certificate, or `system` for the
//! operating system's), else `PGSSLMODE` / `PGSSLROOTCERT`, else
//! `~/.postgresql/root.crt` when it exists. The `postgres` crate's own parser knows only
//! `disable`, `prefer` and `require`, so these parameters are taken out of the URL here
//! and the connection made over rustls ([`stream`]).
//!
//! One default differs from libpq's: a URL naming no `sslmode` gets `prefer` (encrypt if
//! the server can) only when every host is this machine (loopback or a Unix socket), and
//! `require` (encrypt or refuse) otherwise, because `prefer` lets anyone between the host
//! and the server quietly turn encryption off. Without a CA to check against, `prefer`
//! and `require` encrypt without knowing who they talk to (as libpq does); with one
//! (`sslrootcert`, or the default file) they check the chain as `verify-ca` does.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use postgres::config::{Host, SslMode as WireMode};
use rustls::{
    client::{
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
        WebPkiServerVerifier,
    },
    crypto::WebPkiSupportedAlgorithms,
    pki_types::{pem::PemObject, CertificateDer, ServerName, UnixTime},
    server::ParsedCertificate,
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

pub(super) use stream::{HandshakeError, MakeTls};

use super::url_params;

/// The environment variable naming the `sslmode` when the URL does not.
pub(super) const SSLMODE_ENV: &str = "PGSSLMODE";
/// The environment variable naming the `sslrootcert` when the URL does not.
pub(super) const ROOTCERT_ENV: &str = "PGSSLROOTCERT";

/// How the connection is secured: libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    /// Never encrypted.
    Disable,
    /// Encrypted if the server can, else not.
    Prefer,
    /// Encrypted or refused; the certificate checked only against a CA given.
    Require,
    /// Encrypted, the certificate signed by a trusted CA.
    VerifyCa,
    /// Encrypted, the certificate signed by a trusted CA and for the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            // libpq's `allow` (plain first, TLS if the server insists) is not offered:
            // it is `prefer` with the order reversed, weaker and rarely what is meant.
            _ => return None,
        })
    }

    /// Its name in a URL.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// Where the CAs trusted to sign the server's certificate come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Roots {
    /// A PEM file of certificates.
    File(PathBuf),
    /// The operating system's trusted CAs (`sslrootcert=system`).
    System,
}

impl std::fmt::Display for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Roots::File(path) => write!(f, "the CA file {}", path.display()),
            Roots::System => f.write_str("the system's trusted CAs"),
        }
    }
}

/// The TLS parameters a store URL named (taken out of it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Requested {
    /// `sslmode`.
    pub mode: Option<SslMode>,
    /// `sslrootcert`.
    pub roots: Option<Roots>,
}

/// Why TLS settings cannot be used, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SettingError {
    pub detail: String,
    pub fix: String,
}

/// `url` without its `sslmode` and `sslrootcert` parameters, and what they asked for.
pub(super) fn take_parameters(url: &str) -> Result<(String, Requested), SettingError> {
    let (url, taken) = url_params::take(url, &["sslmode", "sslrootcert"]);
    let mut requested = Requested::default();
    for (name, value) in taken {
        if name == "sslmode" {
            requested.mode = Some(SslMode::parse(&value).ok_or_else(|| bad_mode(&value))?);
        } else {
            requested.roots = Some(roots_named(&value)?);
        }
    }
    Ok((url, requested))
}

fn bad_mode(value: &str) -> SettingError {
    SettingError {
        detail: format!("sslmode={value} is not a mode this host knows"),
        fix: "Give sslmode one of disable, prefer, require, verify-ca or verify-full (verify-full, with sslrootcert naming the CA that signed the server's certificate, checks whom you talk to).".into(),
    }
}

fn roots_named(value: &str) -> Result<Roots, SettingError> {
    match value {
        "system" => Ok(Roots::System),
        "" => Err(SettingError {
            detail: "sslrootcert names no file".into(),
            fix: "Give sslrootcert the path of a PEM file of the CA that signed the server's certificate, or `system` for the system's trusted CAs.".into(),
        }),
        path => Ok(Roots::File(PathBuf::from(path))),
    }
}

/// What the connection will do: the mode and the CAs to check against, decided from the
/// URL's parameters, then the environment, then the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Policy {
    pub mode: SslMode,
    pub roots: Option<Roots>,
}

impl Policy {
    /// Decides for a server at `hosts` from what the URL asked, `env` (the environment
    /// variables) and `home` (where `~/.postgresql/root.crt` is looked for).
    pub fn decide(
        requested: Requested,
        hosts: &[Host],
        env: &dyn Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Policy, SettingError> {
        let mode = match requested.mode {
            Some(mode) => Some(mode),
            None => match env(SSLMODE_ENV).filter(|v| !v.is_empty()) {
                Some(value) => Some(SslMode::parse(&value).ok_or_else(|| bad_mode(&value))?),
                None => None,
            },
        };
        let roots = match requested.roots {
            Some(roots) => Some(roots),
            None => match env(ROOTCERT_ENV).filter(|v| !v.is_empty()) {
                Some(value) => Some(roots_named(&value)?),
                None => home
                    .map(|h| h.join(".postgresql").join("root.crt"))
                    .filter(|f| f.is_file())
                    .map(Roots::File),
            },
        };
        let mode = match (mode, &roots) {
            (Some(mode), Some(Roots::System)) if mode != SslMode::VerifyFull => {
                return Err(SettingError {
                    detail: format!(
                        "sslrootcert=system trusts every CA of the system, so it needs sslmode=verify-full (not {})",
                        mode.name()
                    ),
                    fix: "Remove sslmode from the URL (sslrootcert=system then means verify-full), or name the CA that signed the server's certificate with sslrootcert=PATH.".into(),
                });
            }
            (None, Some(Roots::System)) => SslMode::VerifyFull,
            (Some(mode), _) => mode,
            (None, _) if hosts.iter().all(is_this_machine) => SslMode::Prefer,
            (None, _) => SslMode::Require,
        };
        if mode.verifies() && roots.is_none() {
            return Err(SettingError {
                detail: format!(
                    "sslmode={} checks the server's certificate, but no CA to check it against was named",
                    mode.name()
                ),
                fix: "Add sslrootcert=PATH to the URL (a PEM file of the CA that signed the server's certificate), or sslrootcert=system for the system's trusted CAs; or put the CA in ~/.postgresql/root.crt.".into(),
            });
        }
        let roots = if mode == SslMode::Disable {
            None
        } else {
            roots
        };
        Ok(Policy { mode, roots })
    }

    /// What to tell a person once about a connection to `hosts` that others on the
    /// network could read or pose as, if it is one.
    pub fn warning(&self, hosts: &[Host], location: &str) -> Option<String> {
        if hosts.iter().all(is_this_machine) || self.mode == SslMode::VerifyFull {
            return None;
        }
        let fix = "add sslmode=verify-full&sslrootcert=PATH (the CA that signed the server's certificate) to the --store URL";
        Some(match (self.mode, &self.roots) {
            (SslMode::Disable, _) => format!(
                "The connection to {location} is not encrypted (sslmode=disable): anyone on the network between can read and change what it carries. Turn TLS on at the server and {fix}."
            ),
            (SslMode::VerifyCa, _) | (_, Some(_)) => format!(
                "The server {location} is only checked for a certificate signed by a trusted CA, not for its name (sslmode={}): another server with a certificate from that CA could pose as it. To check its name too, {fix}.",
                self.mode.name()
            ),
            _ => format!(
                "The connection to {location} is encrypted if the server can, but the server's certificate is not checked (sslmode={}): a machine between could pose as it. To know whom you talk to, {fix}.",
                self.mode.name()
            ),
        })
    }

    /// The `sslmode` the `postgres` crate is given.
    pub fn wire_mode(&self) -> WireMode {
        match self.mode {
            SslMode::Disable => WireMode::Disable,
            SslMode::Prefer => WireMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
        }
    }

    /// The connector for this policy (none needed when TLS is off).
    pub fn connector(&self) -> Result<MakeTls, SettingError> {
        if self.mode == SslMode::Disable {
            return Ok(MakeTls::new(None));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let verifier: Arc<dyn ServerCertVerifier> = match (&self.roots, self.mode) {
            (None, _) => Arc::new(NoNameCheck {
                roots: None,
                algorithms,
            }),
            (Some(roots), SslMode::VerifyFull) => {
                WebPkiServerVerifier::builder_with_provider(load(roots)?, provider.clone())
                    .build()
                    .map_err(|e| SettingError {
                        detail: format!("{roots} cannot be used: {e}"),
                        fix: "Name a PEM file of CA certificates with sslrootcert.".into(),
                    })?
            }
            (Some(roots), _) => Arc::new(NoNameCheck {
                roots: Some(load(roots)?),
                algorithms,
            }),
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // What libpq 17 sends, and PostgreSQL 17 checks when a client offers ALPN.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(MakeTls::new(Some(Arc::new(config))))
    }
}

/// Whether `host` is this machine: a loopback address, `localhost`, or a Unix socket.
fn is_this_machine(host: &Host) -> bool {
    match host {
        Host::Tcp(name) => {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            name.eq_ignore_ascii_case("localhost")
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        #[cfg(unix)]
        Host::Unix(_) => true,
    }
}

/// The trusted CAs `roots` names.
fn load(roots: &Roots) -> Result<Arc<RootCertStore>, SettingError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let unusable = |why: String| {
                SettingError {
                detail: format!("{roots} cannot be used: {why}"),
                fix: format!(
                    "Put the PEM certificate of the CA that signed the server's certificate at {} (readable by this user), or name another file with sslrootcert=PATH.",
                    path.display()
                ),
            }
            };
            let text = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
            let mut found = 0;
            for cert in CertificateDer::pem_slice_iter(&text) {
                let cert = cert.map_err(|e| unusable(format!("it is not PEM ({e})")))?;
                store
                    .add(cert)
                    .map_err(|e| unusable(format!("a certificate in it is not valid ({e})")))?;
                found += 1;
            }
            if found == 0 {
                return Err(unusable("it holds no PEM certificate".into()));
            }
        }
        Roots::System => {
            let native = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(native.certs);
            if store.is_empty() {
                return Err(SettingError {
                    detail: "the system has no trusted CAs that can be read".into(),
                    fix: "Install the system's CA certificates (Debian: ca-certificates), or name the CA that signed the server's certificate with sslrootcert=PATH.".into(),
                });
            }
        }
    }
    Ok(Arc::new(store))
}

/// Every mode that checks no host name, as in libpq: without a CA (`prefer`, `require`)
/// encrypted, the handshake's signatures checked against the certificate, the
/// certificate itself not checked; with one (`verify-ca`, and `prefer` / `require` given
/// a CA) the certificate also signed by a trusted CA and in date, whatever name it
/// carries.
#[derive(Debug)]
struct NoNameCheck {
    roots: Option<Arc<RootCertStore>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoNameCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A failed TLS connection as a person is told it: what went wrong and what to do.
pub(super) fn explain(
    failure: &HandshakeError,
    policy: &Policy,
    host_hint: &str,
) -> (String, String) {
    let roots = policy
        .roots
        .as_ref()
        .map_or_else(|| "the CA named".to_owned(), ToString::to_string);
    let check_server = "check that the URL names the right server";
    match failure {
        HandshakeError::Rejected(rustls::Error::InvalidCertificate(e)) => match e {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => (
                format!("the server's certificate is not signed by {roots}"),
                format!(
                    "Name the CA that signed the server's certificate with sslrootcert=PATH (a PEM file), or {check_server}: one whose certificate no trusted CA signed may not be the one you mean."
                ),
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                let presented = match e {
                    CertificateError::NotValidForNameContext { presented, .. } => {
                        let names: Vec<&str> = presented.iter().map(|n| bare_name(n)).collect();
                        format!(" (it names {})", names.join(", "))
                    }
                    _ => String::new(),
                };
                (
                    format!("the server's certificate is not for the host {host_hint}{presented}"),
                    format!(
                        "Connect with a host name the certificate carries, or have the server's certificate issued for {host_hint}; sslmode=verify-ca checks the CA only, not the name."
                    ),
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                "the server's certificate has expired".into(),
                "Renew the server's certificate (ssl_cert_file in postgresql.conf), or check this machine's clock.".into(),
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                "the server's certificate is not valid yet".into(),
                "Check this machine's clock and the server's, or the certificate's start date.".into(),
            ),
            other => (
                format!("the server's certificate was refused ({other:?})"),
                format!("Have the server's certificate reissued by {roots}, or {check_server}."),
            ),
        },
        HandshakeError::Rejected(other) => (
            format!("the TLS handshake failed: {other}"),
            "Check that the server's ssl settings (ssl_min_protocol_version, its certificate and key) allow TLS 1.2 or 1.3, and that the URL names a PostgreSQL server.".into(),
        ),
        HandshakeError::NoName(name) => (
            format!("\"{name}\" is not a name a certificate can be checked for"),
            "Name the server by its DNS name or IP address in the URL.".into(),
        ),
        HandshakeError::Io(e) => (
            format!("the TLS handshake was cut off: {e}"),
            "Check the network to the server and its log (a server without TLS, or an old one, may close the connection), then try again.".into(),
        ),
    }
}

/// A name as rustls presents it (`DnsName("db.example")`, `IpAddress(10.0.0.5)`), bare.
fn bare_name(presented: &str) -> &str {
    presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
}

/// The fix for a server that refuses TLS while the URL requires it.
pub(super) fn server_without_tls(policy: &Policy) -> (String, String) {
    (
        format!(
            "the server does not accept encrypted connections, and sslmode={} requires them",
            policy.mode.name()
        ),
        "Turn TLS on at the server (ssl = on in postgresql.conf, with ssl_cert_file and ssl_key_file), or — only on a network you trust — add sslmode=disable to the --store URL.".into(),
    )
}

mod stream;

#[cfg(test)]
mod tests;

//! The `postgres` crate's TLS hooks over rustls: [`MakeTls`] gives each connection a
//! rustls client for the host it connects to, and the stream offers the server's
//! certificate hash for SCRAM channel binding (`tls-server-end-point`), so a password
//! login over TLS is bound to the connection it was made on.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::{pki_types::ServerName, ClientConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Makes TLS connections with one rustls configuration (`None`: TLS is off, and the
/// `postgres` crate never asks for one).
#[derive(Clone)]
pub(in crate::store::postgres) struct MakeTls {
    config: Option<Arc<ClientConfig>>,
}

impl MakeTls {
    pub(super) fn new(config: Option<Arc<ClientConfig>>) -> MakeTls {
        MakeTls { config }
    }
}

/// Why a TLS handshake failed.
#[derive(Debug)]
pub(in crate::store::postgres) enum HandshakeError {
    /// rustls refused: the certificate did not verify, or the handshake failed.
    Rejected(rustls::Error),
    /// The host name cannot be checked against a certificate.
    NoName(String),
    /// The connection broke.
    Io(io::Error),
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::Rejected(e) => write!(f, "{e}"),
            HandshakeError::NoName(name) => write!(f, "\"{name}\" is not a host name"),
            HandshakeError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// One connection's handshake: the configuration and the host's name.
pub(in crate::store::postgres) struct Connect {
    config: Option<Arc<ClientConfig>>,
    name: Result<ServerName<'static>, String>,
}

impl<S> MakeTlsConnect<S> for MakeTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = HandshakeError;

    fn make_tls_connect(&mut self, host: &str) -> Result<Connect, HandshakeError> {
        // A Unix socket has no name (""); the server never offers TLS on one, so the
        // name is only needed, and its absence only an error, once a handshake starts.
        Ok(Connect {
            config: self.config.clone(),
            name: ServerName::try_from(host.to_owned()).map_err(|_| host.to_owned()),
        })
    }
}

type Handshake<S> = Pin<Box<dyn Future<Output = Result<Stream<S>, HandshakeError>> + Send>>;

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = HandshakeError;
    type Future = Handshake<S>;

    fn connect(self, socket: S) -> Handshake<S> {
        Box::pin(async move {
            let config = self.config.ok_or_else(|| {
                HandshakeError::Io(io::Error::other("TLS is off (sslmode=disable)"))
            })?;
            let name = self.name.map_err(HandshakeError::NoName)?;
            tokio_rustls::TlsConnector::from(config)
                .connect(name, socket)
                .await
                .map(Stream)
                .map_err(|e| match e.get_ref().and_then(|i| i.downcast_ref()) {
                    Some(rustls_error) => {
                        HandshakeError::Rejected(<rustls::Error as Clone>::clone(rustls_error))
                    }
                    None => HandshakeError::Io(e),
                })
        })
    }
}

/// A connection to the server over TLS.
pub(in crate::store::postgres) struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|cert| end_point_hash(cert.as_ref()))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// RFC 5929's `tls-server-end-point`: the certificate hashed with the hash of its
/// signature (SHA-256 for MD5 and SHA-1), or `None` for a signature naming no single
/// hash (Ed25519, RSA-PSS), which PostgreSQL cannot bind to either.
fn end_point_hash(cert: &[u8]) -> Option<Vec<u8>> {
    let algorithm = match signature_oid(cert)? {
        // sha1/sha256WithRSAEncryption, ecdsa-with-SHA1/SHA256, md5WithRSAEncryption.
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04 | 0x05 | 0x0b]
        | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]
        | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02] => &ring::digest::SHA256,
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c]
        | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03] => &ring::digest::SHA384,
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d]
        | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04] => &ring::digest::SHA512,
        _ => return None,
    };
    Some(ring::digest::digest(algorithm, cert).as_ref().to_vec())
}

/// The OID of a DER certificate's signature algorithm (`Certificate ::= SEQUENCE {
/// tbsCertificate, signatureAlgorithm SEQUENCE { OID, … }, signatureValue }`).
fn signature_oid(cert: &[u8]) -> Option<&[u8]> {
    let (0x30, certificate, _) = element(cert)? else {
        return None;
    };
    let (_, _, rest) = element(certificate)?;
    let (0x30, algorithm, _) = element(rest)? else {
        return None;
    };
    match element(algorithm)? {
        (0x06, oid, _) => Some(oid),
        _ => None,
    }
}

/// One DER element: its tag, its content and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (length, rest)
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_point_hash_follows_the_certificates_signature() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        // rcgen signs with ECDSA P-256 and SHA-256.
        assert_eq!(
            signature_oid(cert.der()),
            Some(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02][..])
        );
        assert_eq!(
            end_point_hash(cert.der()).unwrap(),
            ring::digest::digest(&ring::digest::SHA256, cert.der()).as_ref()
        );
        let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["db.example".into()])
            .unwrap()
            .self_signed(&ed)
            .unwrap();
        assert_eq!(end_point_hash(cert.der()), None);
        assert_eq!(signature_oid(b"\x30\x05\x02\x01"), None);
        assert_eq!(signature_oid(b""), None);
    }
}

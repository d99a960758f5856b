//! A small HTTP `CONNECT` proxy on loopback, and an HTTPS server with a private
//! certificate authority behind it: the corporate network of the proxy and certificate
//! tests. The proxy tunnels every `CONNECT`, whatever host it names, to one origin (as a
//! proxy that resolves names for its clients would), so a plugin pointed at
//! `https://login.example.test` reaches the origin only through it.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// The largest request head either server reads.
const MAX_HEAD: usize = 16 * 1024;

/// Who the proxy lets through.
#[derive(Debug, Clone)]
pub enum Admission {
    /// Everyone.
    Open,
    /// Only requests with `Proxy-Authorization: Basic` for this user and password;
    /// others get `407 Proxy Authentication Required`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
}

/// A running proxy; stops when dropped.
pub struct ConnectProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl ConnectProxy {
    /// Starts a proxy on 127.0.0.1 that tunnels every `CONNECT` to `origin`.
    pub fn start(origin: SocketAddr, admission: Admission) -> ConnectProxy {
        let runtime = runtime();
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("proxy binds");
        let addr = listener.local_addr().expect("proxy address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let expected = match &admission {
            Admission::Open => None,
            Admission::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
        };
        let seen = Arc::clone(&log);
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (seen, expected) = (Arc::clone(&seen), expected.clone());
                tokio::spawn(async move {
                    let _ = tunnel(client, origin, expected.as_deref(), &seen).await;
                });
            }
        });
        ConnectProxy {
            addr,
            log,
            _runtime: runtime,
        }
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy URL with credentials in it (`http://USER:PASSWORD@127.0.0.1:PORT`).
    pub fn url_with(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}", self.addr)
    }

    /// What the proxy was asked, one line each: `CONNECT host:port -> tunnel` or
    /// `CONNECT host:port -> 407`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn tunnel(
    mut client: TcpStream,
    origin: SocketAddr,
    expected: Option<&str>,
    seen: &Mutex<Vec<String>>,
) -> io::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    let mut lines = head.lines();
    let request = lines.next().unwrap_or_default().to_owned();
    let target = request
        .strip_prefix("CONNECT ")
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_owned);
    let Some(target) = target else {
        seen.lock().unwrap().push(format!("{request} -> 405"));
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await?;
        return Ok(());
    };
    let authorization = lines.find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case("proxy-authorization"))
            .map(|(_, v)| v.trim().to_owned())
    });
    if expected.is_some() && authorization.as_deref() != expected {
        seen.lock()
            .unwrap()
            .push(format!("CONNECT {target} -> 407"));
        client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"corporate\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await?;
        return Ok(());
    }
    seen.lock()
        .unwrap()
        .push(format!("CONNECT {target} -> tunnel"));
    let mut upstream = TcpStream::connect(origin).await?;
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    upstream.write_all(&rest).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// Reads up to the blank line that ends a request head; the head as text and any
/// bytes read past it.
async fn read_head(stream: &mut (impl AsyncRead + Unpin)) -> io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 2048];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::other("request head too long"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An HTTPS server whose certificate, for the names it was started with, is signed by
/// an authority of its own (whose PEM file it writes): it answers every request with one
/// JSON reply and keeps the request lines it saw.
pub struct TlsOrigin {
    addr: SocketAddr,
    ca_file: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

impl TlsOrigin {
    /// Starts the server on 127.0.0.1 for host `names`, answering `status` with `json`.
    pub fn start(names: &[&str], status: u16, json: &str) -> TlsOrigin {
        let (acceptor, ca_pem) = tls_for(names);
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_file = dir.path().join("private-ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("write the CA file");
        let runtime = runtime();
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("origin binds");
        let addr = listener.local_addr().expect("origin address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        let reply = format!(
            "HTTP/1.1 {status} Test\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
            json.len()
        );
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, seen, reply) = (acceptor.clone(), Arc::clone(&seen), reply.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to log.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    if let Ok((head, _)) = read_head(&mut tls).await {
                        let request = head.lines().next().unwrap_or_default().to_owned();
                        let host = head
                            .lines()
                            .find_map(|l| {
                                l.split_once(':')
                                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
                                    .map(|(_, v)| v.trim().to_owned())
                            })
                            .unwrap_or_default();
                        seen.lock()
                            .unwrap()
                            .push(format!("{request} (host {host})"));
                        let _ = write_all_and_close(&mut tls, reply.as_bytes()).await;
                    }
                });
            }
        });
        TlsOrigin {
            addr,
            ca_file,
            log,
            _dir: dir,
            _runtime: runtime,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM file of the authority that signed its certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The request lines it answered, each with its `Host`.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn write_all_and_close(
    stream: &mut (impl AsyncWrite + Unpin),
    bytes: &[u8],
) -> io::Result<()> {
    stream.write_all(bytes).await?;
    stream.shutdown().await
}

/// A TLS acceptor with a certificate for `names` and the PEM of the authority that
/// signed it.
fn tls_for(names: &[&str]) -> (tokio_rustls::TlsAcceptor, String) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(
        DnType::CommonName,
        "ATRS tests private CA (a TLS-inspecting proxy's)",
    );
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let leaf = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .expect("server names");
    let cert = leaf
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("server certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server TLS config");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

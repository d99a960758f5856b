//! Per-connection control, so a fault can cut a response short or reset the socket.
//!
//! Every accepted socket is wrapped in a [`ConnStream`] whose writes obey its
//! [`ConnControl`]; handlers reach the control through the [`ConnHandle`]
//! connect-info extension. The listener itself can be told to stop listening (a server
//! that went down: later connections are refused). With TLS (`--tls`) the control sits above the TLS session,
//! so a truncated body is cut inside the encrypted stream, as a real server's would be.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::{server::TlsStream, TlsAcceptor};

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIME: Duration = Duration::from_secs(10);

/// A TCP listener (plain or TLS) whose connections can be cut by faults.
pub(crate) struct ConnListener {
    /// `None` once told to stop listening: the port is closed, connections are refused.
    tcp: Option<TcpListener>,
    /// The address bound, kept after the port is closed.
    addr: SocketAddr,
    /// Flips to `true` when the server should stop listening.
    gone: watch::Receiver<bool>,
    /// Set to `true` once the port is closed.
    closed: watch::Sender<bool>,
    tls: Option<TlsAcceptor>,
    /// TLS handshakes under way: one slow client must not hold up the others.
    handshakes: JoinSet<Option<(TlsStream<TcpStream>, SocketAddr)>>,
}

impl ConnListener {
    /// Serves plain HTTP on `tcp`, or HTTPS when `tls` is given, until `gone` flips; then
    /// closes the port and sets `closed`.
    pub fn new(
        tcp: TcpListener,
        tls: Option<TlsAcceptor>,
        gone: watch::Receiver<bool>,
        closed: watch::Sender<bool>,
    ) -> io::Result<Self> {
        Ok(ConnListener {
            addr: tcp.local_addr()?,
            tcp: Some(tcp),
            gone,
            closed,
            tls,
            handshakes: JoinSet::new(),
        })
    }
}

impl Listener for ConnListener {
    type Io = ConnStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Some(tcp) = self.tcp.as_ref() else {
                // Down for good: accept nothing more (open connections are still served).
                return std::future::pending().await;
            };
            let step = tokio::select! {
                _ = self.gone.wait_for(|g| *g) => Step::GoDown,
                accepted = tcp.accept() => Step::Accepted(accepted),
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    Step::Handshaken(done.ok().flatten().map(|(s, a)| (Box::new(s), a)))
                }
            };
            match step {
                Step::GoDown => {
                    self.tcp = None;
                    self.closed.send_replace(true);
                }
                Step::Accepted(Ok((stream, addr))) => {
                    let _ = stream.set_nodelay(true);
                    let Some(acceptor) = self.tls.clone() else {
                        return (ConnStream::new(Io::Plain(stream)), addr);
                    };
                    self.handshakes.spawn(async move {
                        let tls = tokio::time::timeout(HANDSHAKE_TIME, acceptor.accept(stream));
                        tls.await.ok()?.ok().map(|s| (s, addr))
                    });
                }
                // Out of file descriptors and similar: back off instead of spinning.
                Step::Accepted(Err(_)) => tokio::time::sleep(Duration::from_millis(20)).await,
                Step::Handshaken(Some((stream, addr))) => {
                    return (ConnStream::new(Io::Tls(stream)), addr);
                }
                Step::Handshaken(None) => {}
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// What woke the accept loop.
enum Step {
    /// Told to stop listening.
    GoDown,
    /// A TCP connection (or an accept error).
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    /// A TLS handshake that ended (`None`: it failed or took too long).
    Handshaken(Option<(Box<TlsStream<TcpStream>>, SocketAddr)>),
}

/// What the next response written on a connection should suffer.
#[derive(Debug, Default)]
enum WriteMode {
    /// Write normally.
    #[default]
    Pass,
    /// Write nothing; close with a TCP reset.
    Reset,
    /// Write the head and `body_left` body bytes, then fail so the connection closes
    /// (with a TCP reset when `reset`, else a plain close).
    Truncate {
        /// Whether the connection ends with a reset instead of a close.
        reset: bool,
        /// The last four bytes seen while looking for the blank line after the head.
        window: [u8; 4],
        /// Whether the head has been written.
        in_body: bool,
        /// Body bytes still allowed.
        body_left: usize,
    },
}

/// Shared switch between a connection's socket and the handlers serving it.
#[derive(Debug, Default)]
pub(crate) struct ConnControl {
    mode: Mutex<WriteMode>,
}

/// Handle to the current connection's [`ConnControl`], available as `ConnectInfo<ConnHandle>`.
#[derive(Clone, Debug)]
pub(crate) struct ConnHandle(Arc<ConnControl>);

impl ConnHandle {
    /// Drop the connection without writing a response, with a TCP RST.
    pub fn reset(&self) {
        *self.0.mode.lock().unwrap_or_else(|e| e.into_inner()) = WriteMode::Reset;
    }

    /// Send the next response's head and only `keep` bytes of its body, then close
    /// (`reset`: with a TCP reset).
    pub fn truncate_body(&self, keep: usize, reset: bool) {
        *self.0.mode.lock().unwrap_or_else(|e| e.into_inner()) = WriteMode::Truncate {
            reset,
            window: [0; 4],
            in_body: false,
            body_left: keep,
        };
    }
}

impl Connected<IncomingStream<'_, ConnListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, ConnListener>) -> Self {
        ConnHandle(stream.io().control.clone())
    }
}

/// The socket under a connection: plain TCP, or a TLS session over it.
enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref().0,
        }
    }
}

/// An accepted socket plus its control.
pub(crate) struct ConnStream {
    stream: Io,
    control: Arc<ConnControl>,
}

impl ConnStream {
    fn new(stream: Io) -> Self {
        ConnStream {
            stream,
            control: Arc::new(ConnControl::default()),
        }
    }

    /// Arrange for the socket's close to send RST instead of FIN.
    fn arm_reset(&self) {
        // SO_LINGER with a zero timeout never blocks: close() discards unsent data and
        // sends RST at once. The deprecation warns about non-zero timeouts only.
        #[allow(deprecated)]
        let _ = self.stream.tcp().set_linger(Some(Duration::ZERO));
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How many of `buf`'s bytes a truncating connection may still write.
fn allowance(window: [u8; 4], in_body: bool, body_left: usize, buf: &[u8]) -> usize {
    if in_body {
        return body_left.min(buf.len());
    }
    let mut w = window;
    for (i, b) in buf.iter().enumerate() {
        w = [w[1], w[2], w[3], *b];
        if &w == b"\r\n\r\n" {
            return i + 1 + body_left.min(buf.len() - i - 1);
        }
    }
    buf.len()
}

/// Account for `written` bytes in the truncation state.
fn advance(window: &mut [u8; 4], in_body: &mut bool, body_left: &mut usize, written: &[u8]) {
    for b in written {
        if *in_body {
            *body_left -= 1;
        } else {
            *window = [window[1], window[2], window[3], *b];
            *in_body = window == b"\r\n\r\n";
        }
    }
}

impl AsyncRead for ConnStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut mode = this.control.mode.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *mode {
            WriteMode::Pass => Pin::new(&mut this.stream).poll_write(cx, buf),
            WriteMode::Reset => {
                this.arm_reset();
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "mock-idp fault: connection reset",
                )))
            }
            WriteMode::Truncate {
                reset,
                window,
                in_body,
                body_left,
            } => {
                let allowed = allowance(*window, *in_body, *body_left, buf);
                if allowed == 0 && !buf.is_empty() {
                    if *reset {
                        this.arm_reset();
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            "mock-idp fault: connection reset mid-body",
                        )));
                    }
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "mock-idp fault: response truncated",
                    )));
                }
                let result = Pin::new(&mut this.stream).poll_write(cx, &buf[..allowed]);
                if let Poll::Ready(Ok(n)) = result {
                    advance(window, in_body, body_left, &buf[..n]);
                }
                result
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let reset = matches!(
            *self.control.mode.lock().unwrap_or_else(|e| e.into_inner()),
            WriteMode::Reset
        );
        if reset {
            // A FIN before the RST would look like a clean close.
            self.arm_reset();
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowance_lets_the_head_through_and_counts_body_bytes() {
        let resp = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789";
        let head = resp.len() - 10;
        assert_eq!(allowance([0; 4], false, 4, resp), head + 4);
        let (mut w, mut b, mut left) = ([0; 4], false, 4usize);
        advance(&mut w, &mut b, &mut left, &resp[..head + 4]);
        assert!(b);
        assert_eq!(left, 0);
        assert_eq!(allowance(w, b, left, b"rest"), 0);
    }

    #[test]
    fn allowance_handles_a_head_split_across_writes() {
        let (mut w, mut b, mut left) = ([0; 4], false, 2usize);
        let first = b"HTTP/1.1 200 OK\r\n\r";
        assert_eq!(allowance(w, b, left, first), first.len());
        advance(&mut w, &mut b, &mut left, first);
        assert_eq!(allowance(w, b, left, b"\nabcdef"), 3);
    }
}

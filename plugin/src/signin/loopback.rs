//! The loopback listener: catches the browser's redirect to `http://localhost:PORT/` so
//! the user need not paste anything.
//!
//! It listens on 127.0.0.1 and on `[::1]` (where the system has IPv6) on the same
//! ephemeral port — `localhost` may resolve to either — and speaks just enough HTTP/1.1
//! for a browser: with `response_mode=query` a GET whose address carries the answer,
//! with `form_post` a POST whose form body does (RFC 9700 §4.3.1: the code then stays
//! out of the address bar and history). The request is read with a bounded size and
//! time per connection, offered to the [`Inbox`] (as [`Via::Listener`]: an error
//! without this attempt's state is ignored, so no web page can end the sign-in), and a
//! small page tells the user what happened. Requests that are not the answer (a
//! favicon, another path, a wrong state) are answered and ignored; the listener keeps
//! going until its owner drops it (on success, cancel or timeout), which closes the port.

use std::{
    convert::Infallible,
    io,
    net::{Ipv4Addr, Ipv6Addr},
    sync::Arc,
    time::Duration,
};

use atrs_host_sdk::{Host, PluginError};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use url::Url;

use crate::{
    authority::aadsts::Flow,
    authority::redirect::RedirectUri,
    config::ResponseMode,
    signin::inbox::{Delivery, Inbox},
    signin::paste::{AuthorizationResponse, Via},
};

/// The largest request head read (request line and headers); a redirect is ~2 KB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The largest form body read (a `form_post` answer is a few KB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Ports tried before giving up on one free on both 127.0.0.1 and `[::1]`.
const BIND_ATTEMPTS: usize = 8;
/// How long a connection may take to send its request head.
const READ_TIME: Duration = Duration::from_secs(10);
/// How long writing the answer page may take.
const WRITE_TIME: Duration = Duration::from_secs(5);
/// Connections served at once (browsers open a few speculatively).
const MAX_CONNECTIONS: usize = 32;

/// A bound listener and the redirect URI that reaches it.
pub struct Listener {
    v4: TcpListener,
    /// The same port on `[::1]`; none where the system has no IPv6 loopback.
    v6: Option<TcpListener>,
    redirect: RedirectUri,
    mode: ResponseMode,
}

impl Listener {
    /// Listens on 127.0.0.1, and on `[::1]` at the same port, on a port the system picks;
    /// answers arrive as `query` until [`Listener::expecting`] says otherwise.
    pub async fn bind() -> io::Result<Self> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
            let port = v4.local_addr()?.port();
            let v6 = match TcpListener::bind((Ipv6Addr::LOCALHOST, port)).await {
                Ok(l) => Some(l),
                // Taken on `[::1]` by someone else: another port, so that `localhost`
                // never reaches a stranger.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempts < BIND_ATTEMPTS => {
                    continue
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => return Err(e),
                // No IPv6 loopback here: 127.0.0.1 alone.
                Err(_) => None,
            };
            return Ok(Listener {
                v4,
                v6,
                redirect: RedirectUri::loopback(port),
                mode: ResponseMode::Query,
            });
        }
    }

    /// The listener taking answers as `mode` (a GET's query, or a POST's form).
    pub fn expecting(mut self, mode: ResponseMode) -> Self {
        self.mode = mode;
        self
    }

    /// `http://localhost:PORT/`.
    pub fn redirect(&self) -> &RedirectUri {
        &self.redirect
    }

    /// Whether it also listens on `[::1]`.
    pub fn has_ipv6(&self) -> bool {
        self.v6.is_some()
    }

    /// Answers browsers until dropped, offering each redirect to `inbox`.
    pub async fn serve(self, inbox: Arc<Inbox>, host: Host) -> Infallible {
        // Dropping the set (with this future) aborts connections still being served.
        let mut connections = JoinSet::new();
        let v6 = self.v6.as_ref();
        loop {
            let accept_v6 = async {
                match v6 {
                    Some(l) => l.accept().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                accepted = self.v4.accept() => self.accepted(accepted, &mut connections, &inbox, &host).await,
                accepted = accept_v6 => self.accepted(accepted, &mut connections, &inbox, &host).await,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }

    /// Serves an accepted connection (or backs off after a failed accept).
    async fn accepted<A>(
        &self,
        accepted: io::Result<(TcpStream, A)>,
        connections: &mut JoinSet<()>,
        inbox: &Arc<Inbox>,
        host: &Host,
    ) {
        match accepted {
            Ok((stream, _)) if connections.len() < MAX_CONNECTIONS => {
                let job = Connection {
                    inbox: inbox.clone(),
                    host: host.clone(),
                    redirect: self.redirect.clone(),
                    mode: self.mode,
                };
                connections.spawn(job.serve(stream));
            }
            // Too many at once: closed unanswered; a browser retries.
            Ok(_) => {}
            // Out of descriptors, for example: wait a moment rather than spin.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// One browser connection.
struct Connection {
    inbox: Arc<Inbox>,
    host: Host,
    redirect: RedirectUri,
    mode: ResponseMode,
}

/// A reply to the browser.
struct Reply {
    status: &'static str,
    body: String,
}

impl Connection {
    async fn serve(self, mut stream: TcpStream) {
        let request = match tokio::time::timeout(READ_TIME, read_request(&mut stream)).await {
            Ok(Ok(request)) => request,
            Ok(Err(Head::TooLarge)) => {
                let reply = Reply {
                    status: "431 Request Header Fields Too Large",
                    body: page(
                        "Request too large",
                        &["This address only receives the ATRS sign-in."],
                    ),
                };
                write_reply(&mut stream, &reply).await;
                return;
            }
            // Closed, broken or too slow: nothing to answer.
            Ok(Err(Head::Closed)) | Err(_) => return,
        };
        let (reply, delivery) = self.handle(&request);
        write_reply(&mut stream, &reply).await;
        // The page is out before the flow hears of it: the flow then closes the listener.
        if let Some(delivery) = delivery {
            self.host
                .info("The loopback listener caught the browser's redirect.");
            delivery.deliver();
        }
    }

    fn handle(&self, request: &Request) -> (Reply, Option<Delivery>) {
        let Some((method, target)) = request_line(&request.head) else {
            return (bad_request(), None);
        };
        let Some(mut address) = self.address_of(target) else {
            return (bad_request(), None);
        };
        if !self.redirect.matches(&address) {
            return (not_found(), None);
        }
        let expected = match self.mode {
            ResponseMode::Query => "GET",
            ResponseMode::FormPost => "POST",
        };
        if method != expected {
            let reply = Reply {
                status: "405 Method Not Allowed",
                body: page(
                    "Not allowed",
                    &["This address only receives the ATRS sign-in."],
                ),
            };
            return (reply, None);
        }
        if self.mode == ResponseMode::FormPost {
            // The form's fields are the answer, as a query would carry it.
            let Ok(form) = std::str::from_utf8(&request.body) else {
                return (bad_request(), None);
            };
            if !is_form(&request.head) {
                return (bad_request(), None);
            }
            address.set_query(Some(form));
        }
        match self.inbox.take(address.as_str(), Via::Listener) {
            Ok(delivery) => {
                let reply = match delivery.answer() {
                    AuthorizationResponse::Code(_) => signed_in(),
                    AuthorizationResponse::Error(e) => {
                        sign_in_failed(&e.to_plugin_error_in(Flow::Browser))
                    }
                };
                (reply, Some(delivery))
            }
            Err(e) => {
                self.host.debug(&format!(
                    "The loopback listener ignored a request: {}",
                    e.message()
                ));
                (not_the_answer(&e), None)
            }
        }
    }

    /// The full address a request target names (origin-form `/…` or absolute-form).
    fn address_of(&self, target: &str) -> Option<Url> {
        if target.starts_with('/') {
            self.redirect.url().join(target).ok()
        } else {
            Url::parse(target).ok().filter(|u| u.scheme() == "http")
        }
    }
}

/// Why no request came.
enum Head {
    Closed,
    TooLarge,
}

/// A request's head (request line and headers) and its body (only a POST's).
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
}

/// Reads the request head, within [`MAX_HEAD_BYTES`], and the body its
/// `Content-Length` announces, within [`MAX_BODY_BYTES`].
async fn read_request(stream: &mut TcpStream) -> Result<Request, Head> {
    let mut bytes = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    let end = loop {
        let n = stream.read(&mut chunk).await.map_err(|_| Head::Closed)?;
        if n == 0 {
            return Err(Head::Closed);
        }
        let from = bytes.len().saturating_sub(3);
        bytes.extend_from_slice(&chunk[..n]);
        if let Some(end) = head_end(&bytes, from) {
            break end;
        }
        if bytes.len() > MAX_HEAD_BYTES {
            return Err(Head::TooLarge);
        }
    };
    let mut body = bytes.split_off(end);
    let length = content_length(&bytes).unwrap_or(0);
    if length > MAX_BODY_BYTES {
        return Err(Head::TooLarge);
    }
    while body.len() < length {
        let n = stream.read(&mut chunk).await.map_err(|_| Head::Closed)?;
        if n == 0 {
            return Err(Head::Closed);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Request { head: bytes, body })
}

/// Where the head ends (after its blank line), looking from `from` on.
fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = &bytes[from..];
    let crlf = tail
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = tail.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(from + a.min(b)),
        (a, b) => a.or(b).map(|i| from + i),
    }
}

/// The value of the header `name` (case-insensitive) in a request head.
fn header<'h>(head: &'h [u8], name: &str) -> Option<&'h str> {
    std::str::from_utf8(head)
        .ok()?
        .lines()
        .skip(1)
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
}

fn content_length(head: &[u8]) -> Option<usize> {
    header(head, "content-length")?.parse().ok()
}

/// Whether the body is a URL-encoded form, as `form_post` sends it.
fn is_form(head: &[u8]) -> bool {
    header(head, "content-type").is_some_and(|ct| {
        ct.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    })
}

/// The method and target of an HTTP/1.x request line (`GET /?code=… HTTP/1.1`).
pub fn request_line(head: &[u8]) -> Option<(&str, &str)> {
    let end = head.iter().position(|b| *b == b'\n')?;
    let line = std::str::from_utf8(&head[..end]).ok()?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = parts.next().is_none()
        && !method.is_empty()
        && method.bytes().all(|b| b.is_ascii_uppercase())
        && !target.is_empty()
        && version.starts_with("HTTP/1.");
    well_formed.then_some((method, target))
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply) {
    let response = format!(
        "HTTP/1.1 {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nX-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\nConnection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    let _ = tokio::time::timeout(WRITE_TIME, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

fn signed_in() -> Reply {
    Reply {
        status: "200 OK",
        body: page(
            "Signed in: you can close this tab",
            &["ATRS received the sign-in and is finishing the verification. You can close this tab and return to ATRS."],
        ),
    }
}

fn sign_in_failed(e: &PluginError) -> Reply {
    let mut ids: Vec<String> = Vec::new();
    if let Some(code) = e.provider_code() {
        ids.push(format!("Code: {code}"));
    }
    if let Some(id) = e.trace_id() {
        ids.push(format!("Trace ID: {id}"));
    }
    if let Some(id) = e.correlation_id() {
        ids.push(format!("Correlation ID: {id}"));
    }
    let mut paragraphs = vec![e.message().to_owned()];
    paragraphs.extend(e.hint().map(str::to_owned));
    if !ids.is_empty() {
        paragraphs.push(ids.join(" · "));
    }
    paragraphs.push("You can close this tab and return to ATRS.".to_owned());
    let refs: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    Reply {
        status: "200 OK",
        body: page("The sign-in did not succeed", &refs),
    }
}

fn not_the_answer(e: &PluginError) -> Reply {
    Reply {
        status: "400 Bad Request",
        body: page(
            "Not the sign-in ATRS is waiting for",
            &[
                e.message(),
                "ATRS is still waiting for the sign-in it started: finish that one in this browser, or paste its final address into ATRS.",
            ],
        ),
    }
}

fn not_found() -> Reply {
    Reply {
        status: "404 Not Found",
        body: page(
            "Not found",
            &["This address only receives the ATRS sign-in."],
        ),
    }
}

fn bad_request() -> Reply {
    Reply {
        status: "400 Bad Request",
        body: page(
            "Bad request",
            &["This address only receives the ATRS sign-in."],
        ),
    }
}

/// A minimal HTML page; every text is escaped.
fn page(title: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>", escape(p)))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>body{{font-family:system-ui,sans-serif;max-width:38em;margin:4em auto;padding:0 1em;line-height:1.5}}</style></head><body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_read_strictly() {
        assert_eq!(
            request_line(b"GET /?code=x&state=y HTTP/1.1\r\nHost: localhost\r\n\r\n"),
            Some(("GET", "/?code=x&state=y"))
        );
        assert_eq!(
            request_line(b"GET /favicon.ico HTTP/1.0\n\n"),
            Some(("GET", "/favicon.ico"))
        );
        for bad in [
            &b""[..],
            b"GET / HTTP/1.1",
            b"GET /  HTTP/1.1\r\n",
            b"GET / HTTP/2\r\n",
            b"get / HTTP/1.1\r\n",
            b"GET\r\n",
            b" / HTTP/1.1\r\n",
            b"GET / HTTP/1.1 extra\r\n",
            b"\xff\xfe / HTTP/1.1\r\n",
        ] {
            assert_eq!(
                request_line(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn heads_end_at_a_blank_line() {
        let ends = |b: &[u8]| head_end(b, 0).is_some();
        assert!(ends(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(ends(b"GET / HTTP/1.0\n\n"));
        assert!(!ends(b"GET / HTTP/1.1\r\nHost: x\r\n"));
        let post = b"POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded; charset=UTF-8\r\ncontent-length: 9\r\n\r\ncode=x&s=";
        let end = head_end(post, 0).unwrap();
        assert_eq!(&post[end..], b"code=x&s=");
        assert_eq!(content_length(&post[..end]), Some(9));
        assert!(is_form(&post[..end]));
        assert!(!is_form(
            b"POST / HTTP/1.1\r\nContent-Type: text/plain\r\n\r\n"
        ));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let p = page("<t>", &["a & \"b\" <script>'"]);
        assert!(p.contains("&lt;t&gt;"));
        assert!(p.contains("a &amp; &quot;b&quot; &lt;script&gt;&#39;"));
        assert!(!p.contains("<script>"));
    }
}

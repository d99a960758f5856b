//! The loopback listener: catches the browser's redirect to `http://localhost:PORT/` so
//! the user need not paste anything.
//!
//! It listens on 127.0.0.1 only, on an ephemeral port, and speaks just enough HTTP/1.1
//! for a browser's GET: the request line is read (with a bounded head and time per
//! connection), the address is offered to the [`Inbox`], and a small page tells the
//! user what happened. Requests that are not the answer (a favicon, another path, a
//! wrong state) are answered and ignored; the listener keeps going until its owner drops
//! it (on success, cancel or timeout), which closes the port.

use std::{convert::Infallible, io, net::Ipv4Addr, sync::Arc, time::Duration};

use atrs_host_sdk::{Host, PluginError};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use url::Url;

use crate::{
    aadsts::Flow,
    inbox::{Delivery, Inbox},
    paste::Answer,
    redirect::RedirectUri,
};

/// The largest request head read (request line and headers); a redirect is ~2 KB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long a connection may take to send its request head.
const READ_TIME: Duration = Duration::from_secs(10);
/// How long writing the answer page may take.
const WRITE_TIME: Duration = Duration::from_secs(5);
/// Connections served at once (browsers open a few speculatively).
const MAX_CONNECTIONS: usize = 32;

/// A bound listener and the redirect URI that reaches it.
pub struct Listener {
    listener: TcpListener,
    redirect: RedirectUri,
}

impl Listener {
    /// Listens on 127.0.0.1 on a port the system picks.
    pub async fn bind() -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(Listener {
            listener,
            redirect: RedirectUri::loopback(port),
        })
    }

    /// `http://localhost:PORT/`.
    pub fn redirect(&self) -> &RedirectUri {
        &self.redirect
    }

    /// Answers browsers until dropped, offering each redirect to `inbox`.
    pub async fn serve(self, inbox: Arc<Inbox>, host: Host) -> Infallible {
        // Dropping the set (with this future) aborts connections still being served.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) if connections.len() < MAX_CONNECTIONS => {
                        let job = Connection {
                            inbox: inbox.clone(),
                            host: host.clone(),
                            redirect: self.redirect.clone(),
                        };
                        connections.spawn(job.serve(stream));
                    }
                    // Too many at once: closed unanswered; a browser retries.
                    Ok(_) => {}
                    // Out of descriptors, for example: wait a moment rather than spin.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }
}

/// One browser connection.
struct Connection {
    inbox: Arc<Inbox>,
    host: Host,
    redirect: RedirectUri,
}

/// A reply to the browser.
struct Reply {
    status: &'static str,
    body: String,
}

impl Connection {
    async fn serve(self, mut stream: TcpStream) {
        let head = match tokio::time::timeout(READ_TIME, read_head(&mut stream)).await {
            Ok(Ok(head)) => head,
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
        let (reply, delivery) = self.handle(&head);
        write_reply(&mut stream, &reply).await;
        // The page is out before the flow hears of it: the flow then closes the listener.
        if let Some(delivery) = delivery {
            self.host
                .info("The loopback listener caught the browser's redirect.");
            delivery.deliver();
        }
    }

    fn handle(&self, head: &[u8]) -> (Reply, Option<Delivery>) {
        let Some((method, target)) = request_line(head) else {
            return (bad_request(), None);
        };
        let Some(address) = self.address_of(target) else {
            return (bad_request(), None);
        };
        if !self.redirect.matches(&address) {
            return (not_found(), None);
        }
        if method != "GET" {
            let reply = Reply {
                status: "405 Method Not Allowed",
                body: page(
                    "Not allowed",
                    &["This address only receives the ATRS sign-in."],
                ),
            };
            return (reply, None);
        }
        match self.inbox.take(address.as_str()) {
            Ok(delivery) => {
                let reply = match delivery.answer() {
                    Answer::Code(_) => signed_in(),
                    Answer::Error(e) => sign_in_failed(&e.to_plugin_error_in(Flow::Browser)),
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

/// Why no request head came.
enum Head {
    Closed,
    TooLarge,
}

/// Reads up to the blank line ending the request head, within [`MAX_HEAD_BYTES`].
async fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, Head> {
    let mut head = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| Head::Closed)?;
        if n == 0 {
            return Err(Head::Closed);
        }
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        if ends_head(&head[from..]) {
            return Ok(head);
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(Head::TooLarge);
        }
    }
}

fn ends_head(bytes: &[u8]) -> bool {
    bytes.windows(4).any(|w| w == b"\r\n\r\n") || bytes.windows(2).any(|w| w == b"\n\n")
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
        assert!(ends_head(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(ends_head(b"GET / HTTP/1.0\n\n"));
        assert!(!ends_head(b"GET / HTTP/1.1\r\nHost: x\r\n"));
    }

    #[test]
    fn pages_escape_what_they_show() {
        let p = page("<t>", &["a & \"b\" <script>'"]);
        assert!(p.contains("&lt;t&gt;"));
        assert!(p.contains("a &amp; &quot;b&quot; &lt;script&gt;&#39;"));
        assert!(!p.contains("<script>"));
    }
}

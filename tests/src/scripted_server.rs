//! A scripted HTTP/1.1 server on 127.0.0.1 for hostile-server tests: each request is
//! recorded and answered by a closure (status and body, or no answer at all). Small on
//! purpose (one thread per connection, `Content-Length` bodies only); it plays servers the
//! mock identity platform must not become — ones that break the protocol.
//!
//! The plugin's in-process tests include this file by path (`plugin/tests/hostile_upload.rs`),
//! so there is one copy.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
}

/// What the script answers: status and JSON body (`None`: hold the connection, never answer).
pub type Answer = Option<(u16, String)>;
pub type Script = dyn Fn(&Seen, usize) -> Answer + Send + Sync;

/// A scripted HTTP/1.1 server on 127.0.0.1: every request recorded, each answered by `script(request, n)` where
/// `n` counts requests with the same method and path so far (0-based).
pub struct ScriptedServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl ScriptedServer {
    /// Starts serving on a free loopback port, until the process ends.
    pub fn start(
        script: impl Fn(&Seen, usize) -> Answer + Send + Sync + 'static,
    ) -> ScriptedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let counts = Arc::new(Mutex::new(HashMap::<(String, String), usize>::new()));
        let script: Arc<Script> = Arc::new(script);
        let (s, c) = (seen.clone(), counts.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, c, script) = (s.clone(), c.clone(), script.clone());
                std::thread::spawn(move || serve(stream, &s, &c, &*script));
            }
        });
        ScriptedServer { base, seen }
    }

    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Whether a request `method path` was seen (clean-up is awaited before a delivery
    /// returns, and the server records a request before answering it).
    pub fn saw(&self, method: &str, path: &str) -> bool {
        self.seen()
            .iter()
            .any(|r| r.method == method && r.path == path)
    }
}

fn serve(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    counts: &Mutex<HashMap<(String, String), usize>>,
    script: &Script,
) {
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default();
        let path = target.split('?').next().unwrap_or_default().to_owned();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Seen { method, path };
        seen.lock().unwrap().push(request.clone());
        let n = {
            let mut c = counts.lock().unwrap();
            let n = c
                .entry((request.method.clone(), request.path.clone()))
                .or_default();
            *n += 1;
            *n - 1
        };
        let Some((status, body)) = script(&request, n) else {
            // Never answer: hold the connection until the client goes away.
            let mut sink = [0u8; 1024];
            while matches!(reader.read(&mut sink), Ok(k) if k > 0) {}
            return;
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(body.as_bytes()).is_err() {
            return;
        }
    }
}

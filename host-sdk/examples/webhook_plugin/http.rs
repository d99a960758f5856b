//! A blocking HTTP/1.1 POST that a cancel ends at once — the recipe of
//! `atrs_host_sdk::cancel`: every wait has a timeout, and a cancel shuts the socket
//! down, so a request blocked in a read or a write fails immediately and the flow
//! returns within `CANCEL_WAIT`. Plain `http://` only: a real plugin uses a TLS
//! client the same way (a timeout on each request, and the cancel hook).

use std::{
    io::{Read, Write},
    net::{Shutdown, TcpStream, ToSocketAddrs},
    time::Duration,
};

use atrs_host_sdk::{cancel::CancelToken, ErrorKind, PluginError};

/// How long connecting, and each read or write, may take.
const WAIT: Duration = Duration::from_secs(30);

/// Where a `http://host[:port]/path` URL points.
pub struct Target {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Parses `url`, saying what is wrong with it in words for the form.
pub fn target(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("The URL must start with http:// (this example speaks plain HTTP only).")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse()
                .map_err(|_| format!("The port `{p}` is not a number."))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err("The URL names no server.".into());
    }
    let path = if path.is_empty() { "/" } else { path };
    Ok(Target {
        host: host.into(),
        port,
        path: path.into(),
    })
}

/// POSTs `length` bytes of `body` with `headers`, reporting bytes sent; the answer's
/// status code. Ends with `cancelled` at once when `cancel` fires.
pub fn post(
    target: &Target,
    headers: &[(&str, String)],
    mut body: impl Read,
    length: u64,
    cancel: &CancelToken,
    mut sent: impl FnMut(u64),
) -> Result<u16, PluginError> {
    let io = |e: std::io::Error| match cancel.is_cancelled() {
        true => PluginError::cancelled("Cancelled."),
        false => PluginError::new(
            ErrorKind::Network,
            format!("{}:{}: {e}.", target.host, target.port),
        )
        .with_hint("Check the URL and that the endpoint is running, then try again."),
    };
    let address = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(io)?
        .next()
        .ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
    let mut stream = TcpStream::connect_timeout(&address, WAIT).map_err(io)?;
    stream.set_read_timeout(Some(WAIT)).map_err(io)?;
    stream.set_write_timeout(Some(WAIT)).map_err(io)?;
    let closer = stream.try_clone().map_err(io)?;
    cancel.on_cancel(move || {
        let _ = closer.shutdown(Shutdown::Both);
    });
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {length}\r\nConnection: close\r\n",
        target.path, target.host
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    stream
        .write_all(format!("{head}\r\n").as_bytes())
        .map_err(io)?;
    let (mut chunk, mut done) = (vec![0; 64 * 1024], 0);
    while done < length {
        let n = body.read(&mut chunk).map_err(io)?;
        if n == 0 {
            break;
        }
        stream.write_all(&chunk[..n]).map_err(io)?;
        done += n as u64;
        sent(done);
    }
    let mut answer = Vec::new();
    let mut byte = [0; 1];
    while !answer.ends_with(b"\r\n") && answer.len() < 1024 {
        match stream.read(&mut byte).map_err(io)? {
            0 => break,
            _ => answer.push(byte[0]),
        }
    }
    cancel.check()?;
    let line = String::from_utf8_lossy(&answer);
    line.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            PluginError::new(ErrorKind::Network, "The endpoint did not answer with HTTP.")
                .with_hint("Check that the URL points at the webhook receiver.")
        })
}

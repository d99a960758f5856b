//! Which addresses the host hands to a browser for a plugin: https, and plain http only on
//! loopback (a plugin's own redirect listener, the mock). Anything else — `file:`,
//! `javascript:`, a custom scheme handler, an address beginning with `-` that a launcher
//! could read as an option, http to another machine — is refused before a process starts.

use atrs_host_sdk::{ErrorKind, PluginError};
use url::{Host, Url};

/// `Ok` when `address` may be opened in a browser; otherwise why not, with what to do.
pub fn check(address: &str) -> Result<(), PluginError> {
    let refused = |why: &str| {
        PluginError::new(
            ErrorKind::Unsupported,
            format!("The address was not opened in a browser: {why}."),
        )
        .with_hint("Only https addresses (and http on this computer) are opened; if you trust this one, open it yourself.")
    };
    let url = Url::parse(address).map_err(|_| refused("it is not a web address"))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(refused("it uses plain http to another computer")),
        other => Err(refused(&format!("it uses `{other}:`, not https"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_only() {
        for ok in [
            "https://microsoft.com/devicelogin",
            "http://127.0.0.1:53100/",
            "http://localhost:8080/cb",
            "http://[::1]:9/",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://evil.example/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "-oProxyCommand=x",
            "ms-settings:privacy",
            "https://",
        ] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{bad}");
            assert!(e.hint().unwrap().contains("yourself"));
        }
    }
}

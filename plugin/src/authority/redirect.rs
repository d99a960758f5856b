//! The redirect URI of a browser sign-in: which one is sent, and whether an address is it.
//!
//! Which one, per case:
//!
//! - **Loopback listener**: `http://localhost:PORT/`, PORT being the listener's ephemeral
//!   port. Entra ignores the port when it matches a registered `http://localhost`, so one
//!   registration serves every port; `127.0.0.1` would need its own manifest entry.
//! - **Paste, Microsoft cloud** (the cloud's login host, or an authority override naming
//!   one): `https://{login host}/common/oauth2/nativeclient`, the desktop redirect the
//!   portal offers under Mobile and desktop applications. The browser ends on a blank
//!   Microsoft page whose address holds the code: nothing local listens for it, and the
//!   address is on the same cloud the user signed in to.
//! - **Paste, any other authority** (a loopback mock, a compatible provider): `http://localhost/`.
//!   The native-client page exists only on Microsoft's hosts (on a local mock it would
//!   point back at the mock itself), while `http://localhost` is the redirect every
//!   desktop registration has (the mock registers it for all its apps, under Web for the
//!   confidential one). The browser shows "cannot connect" on port 80 and keeps the code
//!   in its address bar, which is all a paste needs.

use url::Url;

/// Login hosts of Microsoft's clouds, where the native-client page exists.
const MICROSOFT_LOGIN_HOSTS: [&str; 6] = [
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
    "login.chinacloudapi.cn",
];

/// The path of Microsoft's native-client page.
const NATIVE_CLIENT_PATH: &str = "/common/oauth2/nativeclient";

/// A redirect URI as sent to the authorization and token endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri {
    url: Url,
}

impl RedirectUri {
    /// `http://localhost:PORT/`, for the loopback listener on `port`.
    pub fn loopback(port: u16) -> Self {
        Self::parse(&format!("http://localhost:{port}/"))
    }

    /// The redirect for a paste-back sign-in against `authority` (scheme and host).
    pub fn for_paste(authority: &str) -> Self {
        let microsoft = Url::parse(authority).ok().filter(|u| {
            u.scheme() == "https"
                && u.port().is_none()
                && u.host_str().is_some_and(|h| {
                    MICROSOFT_LOGIN_HOSTS.contains(&h.to_ascii_lowercase().as_str())
                })
        });
        match microsoft.and_then(|u| u.host_str().map(str::to_ascii_lowercase)) {
            Some(host) => Self::parse(&format!("https://{host}{NATIVE_CLIENT_PATH}")),
            None => Self::parse("http://localhost/"),
        }
    }

    fn parse(raw: &str) -> Self {
        // Built from constants, a lower-cased DNS name or a port number: always valid.
        let url = Url::parse(raw).unwrap_or_else(|_| unreachable!("a fixed redirect URI"));
        RedirectUri { url }
    }

    /// The URI as sent.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The URI as a URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether this is a plain-http loopback URI (whose port Entra ignores when matching).
    pub fn is_loopback(&self) -> bool {
        self.url.scheme() == "http" && self.url.host_str() == Some("localhost")
    }

    /// Whether the browser ended on this redirect URI: same scheme, host and path (case
    /// matters in the path, as in Entra's matching), and same port except on loopback.
    pub fn matches(&self, candidate: &Url) -> bool {
        let path = |u: &Url| match u.path() {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        candidate.scheme() == self.url.scheme()
            && candidate.host_str() == self.url.host_str()
            && path(candidate) == path(&self.url)
            && (self.is_loopback()
                || candidate.port_or_known_default() == self.url.port_or_known_default())
    }

    /// How a registration must list this URI, for messages.
    pub fn registration(&self) -> String {
        if self.is_loopback() {
            "http://localhost".to_owned()
        } else {
            self.as_str().to_owned()
        }
    }
}

impl std::fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn paste_redirect_follows_the_cloud() {
        for (authority, expected) in [
            (
                "https://login.microsoftonline.com",
                "https://login.microsoftonline.com/common/oauth2/nativeclient",
            ),
            (
                "https://login.microsoftonline.us",
                "https://login.microsoftonline.us/common/oauth2/nativeclient",
            ),
            (
                "https://Login.Partner.MicrosoftOnline.cn/",
                "https://login.partner.microsoftonline.cn/common/oauth2/nativeclient",
            ),
            ("http://127.0.0.1:4000", "http://localhost/"),
            ("https://login.example.com", "http://localhost/"),
            (
                "https://login.microsoftonline.com:8443",
                "http://localhost/",
            ),
            ("not a url", "http://localhost/"),
        ] {
            assert_eq!(
                RedirectUri::for_paste(authority).as_str(),
                expected,
                "{authority}"
            );
        }
    }

    #[test]
    fn loopback_ignores_the_port_and_nothing_else() {
        let r = RedirectUri::loopback(53123);
        assert_eq!(r.as_str(), "http://localhost:53123/");
        assert!(r.is_loopback());
        assert_eq!(r.registration(), "http://localhost");
        assert!(r.matches(&url("http://localhost:53123/?code=x")));
        assert!(r.matches(&url("http://localhost:9/?code=x")));
        assert!(r.matches(&url("http://LOCALHOST:53123?code=x")));
        assert!(!r.matches(&url("http://127.0.0.1:53123/?code=x")));
        assert!(!r.matches(&url("https://localhost:53123/?code=x")));
        assert!(!r.matches(&url("http://localhost:53123/callback?code=x")));
    }

    #[test]
    fn native_client_matches_exactly() {
        let r = RedirectUri::for_paste("https://login.microsoftonline.com");
        assert!(!r.is_loopback());
        assert!(r.matches(&url(
            "https://login.microsoftonline.com/common/oauth2/nativeclient?code=x"
        )));
        assert!(r.matches(&url(
            "https://login.microsoftonline.com:443/common/oauth2/nativeclient?code=x"
        )));
        assert!(!r.matches(&url(
            "https://login.microsoftonline.com/common/oauth2/NativeClient?code=x"
        )));
        assert!(!r.matches(&url(
            "https://login.microsoftonline.com:8443/common/oauth2/nativeclient?code=x"
        )));
        assert!(!r.matches(&url(
            "https://login.microsoftonline.us/common/oauth2/nativeclient?code=x"
        )));
    }
}

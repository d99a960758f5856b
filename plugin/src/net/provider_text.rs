//! Text a server sent, made safe to carry into an error or a session state: control
//! characters (C0, DEL, C1 — the stuff of ANSI/OSC escapes a hostile server or proxy could
//! send to a terminal) are dropped, line breaks and tabs become spaces, and the length is
//! bounded. Applied where provider text enters ([`crate::authority::aadsts`]'s ids, Graph's answers,
//! the device code's message and address); the host cleans what it prints once more.

use url::Url;

/// The longest provider text kept (a Graph `error.message`, a device-code message).
pub const MAX_TEXT: usize = 1000;

/// `text` without control characters (line breaks and tabs as spaces), trimmed, at most
/// [`MAX_TEXT`] characters.
pub fn clean(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .take(MAX_TEXT)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// [`clean`] over an optional value; `None` when nothing printable is left.
pub fn clean_opt(text: Option<&str>) -> Option<String> {
    text.map(clean).filter(|t| !t.is_empty())
}

/// Whether a server-given address may be shown as the page to open and handed to a
/// browser: https, or plain http on loopback (a local test server).
pub fn is_browser_address(address: &Url) -> bool {
    match address.scheme() {
        "https" => address.host().is_some(),
        "http" => crate::net::http::is_loopback(address),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_go_and_lines_become_spaces() {
        assert_eq!(clean("\u{1b}]52;c;aGk=\u{7}trace"), "]52;c;aGk=trace");
        assert_eq!(clean(" a\r\nb\u{9b}\u{7f}c\t"), "a  bc");
        assert_eq!(clean(&"x".repeat(5000)).len(), MAX_TEXT);
        assert_eq!(clean_opt(Some("\u{1b}\u{7}")), None);
        assert_eq!(clean_opt(None), None);
    }

    #[test]
    fn only_https_and_loopback_http_are_browser_addresses() {
        let ok = |s: &str| is_browser_address(&Url::parse(s).unwrap());
        assert!(ok("https://microsoft.com/devicelogin"));
        assert!(ok("http://127.0.0.1:4000/devicelogin"));
        assert!(!ok("http://microsoft.com/devicelogin"));
        assert!(!ok("file:///etc/passwd"));
        assert!(!ok("javascript:alert(1)"));
    }
}

//! Redirect URIs: Microsoft's matching rules and the redirect back to the app.

use axum::http::StatusCode;
use axum::response::Response;
use url::Url;

use crate::directory::{AppRegistration, RedirectUri};
use crate::{pages, reply};

/// How the authorization response reaches the app (`response_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    /// `?code=…` (the default for `response_type=code`).
    Query,
    /// `#code=…`.
    Fragment,
    /// An auto-submitting HTML form POST.
    FormPost,
}

impl ResponseMode {
    /// Parse `response_mode`; `None` for unknown values.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("query") => Some(ResponseMode::Query),
            Some("fragment") => Some(ResponseMode::Fragment),
            Some("form_post") => Some(ResponseMode::FormPost),
            Some(_) => None,
        }
    }
}

/// Where and how to send the app its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    /// The redirect URI the app sent, verbatim.
    pub redirect_uri: String,
    /// How to deliver the parameters.
    pub mode: ResponseMode,
    /// The app's `state`, returned unchanged.
    pub state: Option<String>,
    /// RFC 9207's `iss`, sent with every answer when set.
    pub issuer: Option<String>,
}

impl Target {
    /// Send `params` (plus `state`) to the app.
    pub fn send(&self, mut params: Vec<(&'static str, String)>) -> Response {
        if let Some(s) = &self.state {
            params.push(("state", s.clone()));
        }
        if let Some(iss) = &self.issuer {
            params.push(("iss", iss.clone()));
        }
        let Ok(mut url) = Url::parse(&self.redirect_uri) else {
            return reply::html(
                StatusCode::BAD_REQUEST,
                pages::sign_in_error("The redirect URI is not valid."),
            );
        };
        match self.mode {
            ResponseMode::Query => {
                url.query_pairs_mut()
                    .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
                reply::found(url.as_str())
            }
            ResponseMode::Fragment => {
                let fragment = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish();
                url.set_fragment(Some(&fragment));
                reply::found(url.as_str())
            }
            ResponseMode::FormPost => {
                reply::html(StatusCode::OK, pages::form_post(url.as_str(), &params))
            }
        }
    }
}

/// The registration that `requested` matches: same scheme, host, path (case-sensitive) and query;
/// the port is ignored for `http` loopback URIs; `http://host` equals `http://host/`.
pub(crate) fn registered<'a>(app: &'a AppRegistration, requested: &str) -> Option<&'a RedirectUri> {
    let q = Url::parse(requested).ok()?;
    if q.fragment().is_some() || !q.username().is_empty() || q.password().is_some() {
        return None;
    }
    app.redirect_uris.iter().find(|r| {
        let Ok(r_url) = Url::parse(&r.uri) else {
            return false;
        };
        let loopback_http = r_url.scheme() == "http" && is_loopback(&r_url);
        r_url.scheme() == q.scheme()
            && r_url.host_str() == q.host_str()
            && r_url.path() == q.path()
            && r_url.query() == q.query()
            && (loopback_http || r_url.port_or_known_default() == q.port_or_known_default())
    })
}

/// Whether the token request's redirect URI is the one used at /authorize.
pub(crate) fn same(at_authorize: &str, at_token: &str) -> bool {
    match (Url::parse(at_authorize), Url::parse(at_token)) {
        (Ok(a), Ok(b)) => a == b,
        _ => at_authorize == at_token,
    }
}

/// `localhost` or `127.0.0.1`.
fn is_loopback(u: &Url) -> bool {
    matches!(u.host_str(), Some("localhost") | Some("127.0.0.1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::*;
    use crate::directory::Directory;

    fn ok(client: &str, uri: &str) -> bool {
        registered(Directory::default().app(client).unwrap(), uri).is_some()
    }

    #[test]
    fn loopback_port_ignored_trailing_slash_and_case_rules() {
        assert!(ok(DESKTOP_CLIENT_ID, "http://localhost"));
        assert!(ok(DESKTOP_CLIENT_ID, "http://localhost/"));
        assert!(ok(DESKTOP_CLIENT_ID, "http://localhost:53123"));
        assert!(ok(DESKTOP_CLIENT_ID, "http://localhost:53123/"));
        assert!(!ok(DESKTOP_CLIENT_ID, "http://localhost:53123/callback"));
        assert!(!ok(DESKTOP_CLIENT_ID, "http://127.0.0.1:53123/"));
        assert!(!ok(DESKTOP_CLIENT_ID, "https://localhost/"));
        assert!(ok(DESKTOP_CLIENT_ID, NATIVE_CLIENT_REDIRECT_URI));
        assert!(!ok(
            DESKTOP_CLIENT_ID,
            "https://login.microsoftonline.com/common/oauth2/NativeClient"
        ));
        assert!(!ok(
            DESKTOP_CLIENT_ID,
            "https://login.microsoftonline.com:8443/common/oauth2/nativeclient"
        ));
    }

    #[test]
    fn query_mode_keeps_existing_query_and_appends_state() {
        let t = Target {
            redirect_uri: "http://localhost:1234/cb?x=1".into(),
            mode: ResponseMode::Query,
            state: Some("s t".into()),
            issuer: None,
        };
        let r = t.send(vec![("code", "abc".into())]);
        assert_eq!(r.status(), StatusCode::FOUND);
        let loc = r.headers()["location"].to_str().unwrap();
        assert_eq!(loc, "http://localhost:1234/cb?x=1&code=abc&state=s+t");
    }
}

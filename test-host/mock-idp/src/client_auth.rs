//! Client authentication at the token endpoint: who must send a secret, and whether it is right.

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::client_assertion::{self, Audience};
use crate::directory::AppRegistration;
use crate::errors::EntraError;
use crate::params::Params;
use crate::state::ClientKind;

/// Credentials a token request carries: from the body or HTTP Basic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Presented {
    /// `client_id` from the body, else from Basic.
    pub client_id: Option<String>,
    /// `client_secret` from the body, else from Basic.
    pub secret: Option<String>,
    /// `client_assertion` (a signed JWT, RFC 7523).
    pub assertion: Option<String>,
    /// `client_assertion_type`.
    pub assertion_type: Option<String>,
}

impl Presented {
    /// Read the client id and secret from `params` and the `Authorization: Basic` header.
    pub fn read(params: &Params, headers: &HeaderMap) -> Self {
        let (basic_id, basic_secret) = basic(headers).unwrap_or_default();
        Self {
            client_id: params.get("client_id").map(str::to_owned).or(basic_id),
            secret: params
                .get("client_secret")
                .map(str::to_owned)
                .or(basic_secret),
            assertion: params.get("client_assertion").map(str::to_owned),
            assertion_type: params.get("client_assertion_type").map(str::to_owned),
        }
    }
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic(headers: &HeaderMap) -> Option<(Option<String>, Option<String>)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    Some((unescape(id), unescape(secret)))
}

/// Apply Entra's credential rules to what a token request `presented`: a public client sends
/// none (AADSTS700025); a confidential one a secret ([`check_secret`]) or a client assertion
/// signed with a registered certificate ([`client_assertion::verify`]).
pub(crate) fn check(
    app: &AppRegistration,
    kind: ClientKind,
    presented: &Presented,
    at: &Audience<'_>,
) -> Result<(), EntraError> {
    match (kind, &presented.assertion, presented.secret.as_deref()) {
        (ClientKind::Public, Some(_), _) => Err(EntraError::public_client_secret()),
        (ClientKind::Confidential, Some(assertion), None) => {
            client_assertion::verify(app, presented.assertion_type.as_deref(), assertion, at)
        }
        (_, _, secret) => check_secret(app, kind, secret),
    }
}

/// Apply Entra's secret rules: public clients must not send one (AADSTS700025); confidential ones
/// must (7000218), and it must be a current secret's value (7000215 wrong or an id, 7000222 expired).
pub(crate) fn check_secret(
    app: &AppRegistration,
    kind: ClientKind,
    secret: Option<&str>,
) -> Result<(), EntraError> {
    match (kind, secret) {
        (ClientKind::Public, None) => Ok(()),
        (ClientKind::Public, Some(_)) => Err(EntraError::public_client_secret()),
        (ClientKind::Confidential, None) => Err(EntraError::secret_required()),
        (ClientKind::Confidential, Some(s)) => match app.secrets.iter().find(|c| c.value == s) {
            Some(c) if c.expired => Err(EntraError::expired_secret(&app.client_id)),
            Some(_) => Ok(()),
            None => Err(EntraError::wrong_secret(&app.client_id)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::*;
    use crate::directory::Directory;

    fn code(r: Result<(), EntraError>) -> Option<u32> {
        r.err().and_then(|e| e.code)
    }

    #[test]
    fn secret_rules() {
        let dir = Directory::default();
        let web = dir.app(WEB_CLIENT_ID).unwrap();
        let c = ClientKind::Confidential;
        assert_eq!(code(check_secret(web, c, Some(WEB_CLIENT_SECRET))), None);
        assert_eq!(code(check_secret(web, c, None)), Some(7000218));
        assert_eq!(
            code(check_secret(web, c, Some(WEB_CLIENT_SECRET_ID))),
            Some(7000215)
        );
        assert_eq!(
            code(check_secret(web, c, Some(WEB_CLIENT_EXPIRED_SECRET))),
            Some(7000222)
        );
        let desktop = dir.app(DESKTOP_CLIENT_ID).unwrap();
        assert_eq!(
            code(check_secret(desktop, ClientKind::Public, Some("x"))),
            Some(700025)
        );
    }

    #[test]
    fn basic_auth_is_read_and_unescaped() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("my%20id:s%3Ae+c"));
        h.insert(AUTHORIZATION, v.parse().unwrap());
        let p = Presented::read(&Params::default(), &h);
        assert_eq!(p.client_id.as_deref(), Some("my id"));
        assert_eq!(p.secret.as_deref(), Some("s:e c"));
    }
}

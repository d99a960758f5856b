//! Tokens from the token endpoint: parsed with `oauth2`'s types (Entra's extra fields
//! added), held as secrets, and request failures turned into user-facing errors.

use std::{fmt, time::Duration};

use atrs_host_sdk::{ErrorKind, PluginError};
use oauth2::{
    basic::{BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType},
    RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{authority::aadsts::ProviderError, net::http::HttpError, secret::Secret};

/// An ID token as received; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct IdToken(Secret);

impl IdToken {
    /// The compact JWT, for the one place that decodes it.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdToken(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for IdToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| IdToken(Secret::new(s)))
    }
}

impl Serialize for IdToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose())
    }
}

/// Entra's fields beyond RFC 6749 in a token answer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct EntraTokenFields {
    /// The ID token, when `openid` was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdToken>,
}

impl oauth2::ExtraTokenFields for EntraTokenFields {}

/// A token answer from the Microsoft identity platform.
pub type EntraTokenResponse = StandardTokenResponse<EntraTokenFields, BasicTokenType>;

/// The `oauth2` client type for Entra: our error type keeps AADSTS codes and ids.
pub type EntraClient = oauth2::Client<
    ProviderError,
    EntraTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// The tokens of a sign-in; every one of them is a secret.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The bearer token for Graph.
    pub access_token: Secret,
    /// The long-lived token for scheduled runs.
    pub refresh_token: Option<Secret>,
    /// The OpenID Connect ID token.
    pub id_token: Option<IdToken>,
    /// The granted scopes as the provider listed them (space-separated).
    pub scope: Option<String>,
    /// How long the access token lives.
    pub expires_in: Option<Duration>,
}

impl From<EntraTokenResponse> for Tokens {
    fn from(r: EntraTokenResponse) -> Self {
        Tokens {
            access_token: Secret::new(r.access_token().secret().as_str()),
            refresh_token: r.refresh_token().map(|t| Secret::new(t.secret().as_str())),
            id_token: r.extra_fields().id_token.clone(),
            scope: r
                .scopes()
                .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
            expires_in: r.expires_in(),
        }
    }
}

/// The user-facing error for a failed `oauth2` request to `host` (what was asked: `what`).
pub fn request_error(
    e: RequestTokenError<HttpError, ProviderError>,
    host: &str,
    what: &str,
) -> PluginError {
    match e {
        RequestTokenError::ServerResponse(provider) => provider.to_plugin_error(),
        RequestTokenError::Request(http) => http.to_plugin_error(),
        // The body may hold a device code or a token: it is dropped, not shown.
        RequestTokenError::Parse(_, _) => PluginError::new(
            ErrorKind::Network,
            format!("{host} answered the {what} with JSON that lacks expected fields or has them in the wrong form."),
        )
        .with_hint("Check that the authority URL points at a Microsoft identity platform (or compatible) sign-in service."),
        RequestTokenError::Other(_) => PluginError::new(
            ErrorKind::Network,
            format!("{host} answered the {what} with something that is not a valid answer."),
        )
        .with_hint("Try again in a few minutes; if it keeps happening, check the authority URL."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_answer_parses_and_never_shows_its_secrets() {
        let r: EntraTokenResponse = serde_json::from_str(
            r#"{"token_type":"Bearer","scope":"User.Read profile openid email","expires_in":3599,"ext_expires_in":3599,
                "access_token":"at-SECRET","refresh_token":"rt-SECRET","id_token":"id-SECRET"}"#,
        )
        .unwrap();
        let t = Tokens::from(r);
        assert_eq!(t.access_token.expose(), "at-SECRET");
        assert_eq!(t.refresh_token.as_ref().unwrap().expose(), "rt-SECRET");
        assert_eq!(t.id_token.as_ref().unwrap().expose(), "id-SECRET");
        assert_eq!(t.scope.as_deref(), Some("User.Read profile openid email"));
        assert_eq!(t.expires_in, Some(Duration::from_secs(3599)));
        let shown = format!("{t:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn token_type_is_case_insensitive_and_extras_optional() {
        let r: EntraTokenResponse =
            serde_json::from_str(r#"{"token_type":"bearer","access_token":"a"}"#).unwrap();
        let t = Tokens::from(r);
        assert!(t.refresh_token.is_none() && t.id_token.is_none() && t.scope.is_none());
    }
}

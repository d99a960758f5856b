//! The ID token: its claims, and the checks OpenID Connect Core §3.1.3.7 asks of a
//! client — `iss` is the discovery document's issuer (Entra's `{tenantid}` template
//! filled with the token's own `tid`), `aud` holds this app's client id (and `azp` names
//! it when there are several audiences), `exp` is still ahead, and `nonce` is the one
//! this sign-in sent.
//!
//! The signature is not checked, and need not be (§3.1.3.7 item 6): the token came
//! straight from the token endpoint the checked discovery document names, over TLS (or
//! loopback), in answer to our own request authenticated by the code and PKCE verifier.
//! Nothing is authorized on the token's strength either: its claims only say who signed
//! in, and Graph checks the access token itself.

use atrs_host_sdk::{ErrorKind, PluginError};
use base64::Engine as _;
use serde::Deserialize;

use crate::{authority::issuer::Issuer, authority::token::IdToken};

/// Clock difference tolerated for `exp`, as MSAL allows.
const CLOCK_SKEW_SECS: i64 = 300;

/// One audience or several (`aud` may be either).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Audience {
    /// A single client id.
    One(String),
    /// Several; then `azp` must name ours.
    Many(Vec<String>),
}

/// ID token (and userinfo) claims we read (Entra v2.0 names).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Claims {
    /// The issuer.
    #[serde(default)]
    pub iss: Option<String>,
    /// Who the token is for.
    #[serde(default)]
    pub aud: Option<Audience>,
    /// The authorized party, with several audiences.
    #[serde(default)]
    pub azp: Option<String>,
    /// Expiry, Unix seconds.
    #[serde(default)]
    pub exp: Option<i64>,
    /// The nonce of the authorization request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// The user's object id.
    #[serde(default)]
    pub oid: Option<String>,
    /// The subject (pairwise per app in Entra; used only without `oid`).
    #[serde(default)]
    pub sub: Option<String>,
    /// The tenant id.
    #[serde(default)]
    pub tid: Option<String>,
    /// The sign-in name.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// The UPN (optional claim).
    #[serde(default)]
    pub upn: Option<String>,
    /// The e-mail address (when `email` was requested).
    #[serde(default)]
    pub email: Option<String>,
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// What an ID token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The discovery document's issuer.
    pub issuer: &'a Issuer,
    /// This app's client id.
    pub client_id: &'a str,
    /// The nonce the authorization request carried (none for device code).
    pub nonce: Option<&'a str>,
    /// Now, Unix seconds.
    pub now: i64,
}

/// The claims of `token` (from `host`), once they pass every check.
pub fn check(token: &IdToken, expected: &Expected<'_>, host: &str) -> Result<Claims, PluginError> {
    let claims =
        decode_claims(token).map_err(|why| refused(host, format!("could not be read ({why})")))?;
    let iss = claims.iss.as_deref().unwrap_or("");
    if !expected.issuer.matches(iss, claims.tid.as_deref()) {
        return Err(refused(
            host,
            format!(
                "was issued by {}, not by the sign-in service this sign-in asked ({})",
                shown(iss),
                shown(expected.issuer.as_str())
            ),
        ));
    }
    let ours = |a: &String| a.eq_ignore_ascii_case(expected.client_id);
    let for_us = match &claims.aud {
        Some(Audience::One(a)) => ours(a),
        Some(Audience::Many(all)) => {
            all.iter().any(ours) && (all.len() == 1 || claims.azp.as_ref().is_some_and(ours))
        }
        None => false,
    };
    if !for_us {
        let aud = match &claims.aud {
            Some(Audience::One(a)) => shown(a),
            Some(Audience::Many(all)) => {
                all.iter().map(|a| shown(a)).collect::<Vec<_>>().join(", ")
            }
            None => "nobody".to_owned(),
        };
        return Err(refused(
            host,
            format!("is for {aud}, not for this app's Client ID"),
        ));
    }
    match claims.exp {
        None => return Err(refused(host, "carries no expiry (exp)".to_owned())),
        Some(exp) if exp.saturating_add(CLOCK_SKEW_SECS) <= expected.now => {
            return Err(refused(
                host,
                format!("expired {} seconds ago", expected.now.saturating_sub(exp)),
            ))
        }
        Some(_) => {}
    }
    if let Some(nonce) = expected.nonce {
        if claims.nonce.as_deref() != Some(nonce) {
            let why = match claims.nonce {
                None => "carries no nonce, though this sign-in sent one",
                Some(_) => "carries another sign-in's nonce",
            };
            return Err(refused(
                host,
                format!("{why}, so it may have been replayed"),
            ));
        }
    }
    Ok(claims)
}

/// The claims of an ID token, read without checking its signature (see the module docs).
pub fn decode_claims(token: &IdToken) -> Result<Claims, &'static str> {
    let payload = token.expose().split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "payload is not base64url")?;
    serde_json::from_slice(&bytes).map_err(|_| "payload is not a JSON object of claims")
}

/// A claim's value, short and printable, for a message.
fn shown(value: &str) -> String {
    let kept: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(100)
        .collect();
    if kept.is_empty() {
        "nobody".to_owned()
    } else {
        kept
    }
}

fn refused(host: &str, what: String) -> PluginError {
    PluginError::new(
        ErrorKind::Provider,
        format!("The ID token from {host} {what}."),
    )
    .with_hint("Choose Verify again. If it happens again, the sign-in service at the authority URL does not answer as OpenID Connect requires, or something between is changing its answers: check the authority URL and the network.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Tenant;
    use url::Url;

    const CLIENT: &str = "4a1aa1d5-c567-49d0-ad0b-cd957a47f842";
    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const NOW: i64 = 1_800_000_000;

    fn jwt(claims: serde_json::Value) -> IdToken {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        serde_json::from_value(serde_json::Value::String(format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(&claims.to_string())
        )))
        .unwrap()
    }

    fn template() -> Issuer {
        Issuer::of_discovery(
            Some("https://login.microsoftonline.com/{tenantid}/v2.0"),
            &Url::parse("https://login.microsoftonline.com").unwrap(),
            &Tenant::Audience("organizations"),
            "h",
        )
        .unwrap()
    }

    fn good() -> serde_json::Value {
        serde_json::json!({
            "iss": format!("https://login.microsoftonline.com/{TID}/v2.0"),
            "aud": CLIENT, "exp": NOW + 3600, "nonce": "n-1", "tid": TID, "oid": "u-1",
        })
    }

    fn checked(claims: serde_json::Value, nonce: Option<&str>) -> Result<Claims, PluginError> {
        let issuer = template();
        let expected = Expected {
            issuer: &issuer,
            client_id: CLIENT,
            nonce,
            now: NOW,
        };
        check(&jwt(claims), &expected, "login.test")
    }

    fn with(key: &str, value: serde_json::Value) -> serde_json::Value {
        let mut c = good();
        c[key] = value;
        c
    }

    #[test]
    fn a_good_token_passes_and_the_template_takes_its_tid() {
        assert_eq!(
            checked(good(), Some("n-1")).unwrap().oid.as_deref(),
            Some("u-1")
        );
        assert!(checked(good(), None).is_ok(), "device code sends no nonce");
        let several = with("aud", serde_json::json!([CLIENT, "other"]));
        assert!(
            checked(several.clone(), None).is_err(),
            "several audiences need azp"
        );
        let mut with_azp = several;
        with_azp["azp"] = serde_json::json!(CLIENT);
        assert!(checked(with_azp, None).is_ok());
    }

    #[test]
    fn extreme_expiries_neither_overflow_nor_pass_when_past() {
        assert!(checked(with("exp", serde_json::json!(i64::MAX)), None).is_ok());
        let e = checked(with("exp", serde_json::json!(i64::MIN)), None).unwrap_err();
        assert!(e.message().contains("expired"), "{}", e.message());
    }

    #[test]
    fn each_mismatch_says_what_did_not_match() {
        let other_tenant = with(
            "tid",
            serde_json::json!("4b1a9d2e-7c3f-4e85-9a60-2f1d8c7b5e34"),
        );
        for (claims, nonce, says) in [
            (
                with("iss", serde_json::json!("https://evil.test/x/v2.0")),
                None,
                "was issued by https://evil.test/x/v2.0",
            ),
            (other_tenant, None, "was issued by"),
            (
                with("aud", serde_json::json!("someone-else")),
                None,
                "is for someone-else, not for this app's Client ID",
            ),
            (
                with("exp", serde_json::json!(NOW - 3600)),
                None,
                "expired 3600 seconds ago",
            ),
            (
                with("exp", serde_json::Value::Null),
                None,
                "carries no expiry",
            ),
            (
                with("nonce", serde_json::json!("n-2")),
                Some("n-1"),
                "another sign-in's nonce",
            ),
            (
                with("nonce", serde_json::Value::Null),
                Some("n-1"),
                "carries no nonce",
            ),
        ] {
            let e = checked(claims, nonce).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Provider);
            assert!(
                e.message().starts_with("The ID token from login.test "),
                "{e}"
            );
            assert!(e.message().contains(says), "{says}: {e}");
            assert!(e.hint().unwrap().contains("authority URL"));
        }
        assert!(
            checked(with("exp", serde_json::json!(NOW - 60)), None).is_ok(),
            "clock skew"
        );
        let e = check(
            &serde_json::from_value(serde_json::json!("not-a-jwt")).unwrap(),
            &Expected {
                issuer: &template(),
                client_id: CLIENT,
                nonce: None,
                now: NOW,
            },
            "h",
        )
        .unwrap_err();
        assert!(e.message().contains("could not be read (not a JWT)"), "{e}");
    }
}

//! Continuous Access Evaluation: the client capability `cp1` this plugin declares, and the
//! claims challenges Microsoft Graph answers with when a token no longer satisfies the
//! tenant's policy (a revoked session, a moved location, a changed policy).
//!
//! A Graph `401` whose `WWW-Authenticate` says `error="insufficient_claims"` carries the
//! claims (base64 JSON) a new token must be issued for. They go, with `cp1` merged in, in
//! the `claims` parameter of one token request ([`request_claims`]); the call is then
//! retried once (see [`crate::delivery::graph::Graph::send`]).
//!
//! `cp1` is Microsoft's: it is declared only to Microsoft's sign-in hosts and to a server
//! whose discovery document says `claims_parameter_supported` (OpenID Connect Discovery)
//! — see [`crate::authority::discovery::Server::takes_claims`].

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

/// The client capability that makes Entra issue CAE tokens and send claims challenges.
pub const CLIENT_CAPABILITY: &str = "cp1";

/// The `claims` parameter of a token request: the challenge's claims (JSON) when answering
/// one, with [`CLIENT_CAPABILITY`] merged in when `declare_cp1`; `None` when there is
/// nothing to send.
pub fn request_claims(challenge: Option<&str>, declare_cp1: bool) -> Option<String> {
    let mut claims = match challenge {
        Some(c) => serde_json::from_str::<Value>(c)
            .ok()
            .filter(Value::is_object)?,
        None if declare_cp1 => json!({}),
        None => return None,
    };
    if declare_cp1 {
        if !claims["access_token"].is_object() {
            claims["access_token"] = json!({});
        }
        let values = &mut claims["access_token"]["xms_cc"]["values"];
        match values.as_array_mut() {
            Some(list) if list.iter().any(|v| v == CLIENT_CAPABILITY) => {}
            Some(list) => list.push(json!(CLIENT_CAPABILITY)),
            None => *values = json!([CLIENT_CAPABILITY]),
        }
    }
    Some(claims.to_string())
}

/// The claims (JSON text) of a claims challenge in a `WWW-Authenticate` value: a Bearer
/// challenge with `error="insufficient_claims"` and `claims="<base64>"` that decodes to a
/// JSON object. Anything else is an ordinary 401.
pub fn challenge_claims(www_authenticate: &str) -> Option<String> {
    let params = bearer_params(www_authenticate)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if get("error") != Some("insufficient_claims") {
        return None;
    }
    let encoded = get("claims")?.trim();
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then(|| value.to_string())
}

/// The auth-params of a `Bearer` challenge (RFC 9110 §11.2): `name=token` or
/// `name="quoted string"`, comma-separated.
fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let (scheme, mut rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let Some(eq) = rest.find('=') else {
            return Some(params);
        };
        let name = rest[..eq].trim().to_owned();
        rest = rest[eq + 1..].trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut escaped = false;
            let mut end = None;
            for (i, c) in quoted.char_indices() {
                match (escaped, c) {
                    (true, _) => {
                        value.push(c);
                        escaped = false;
                    }
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = Some(i);
                        break;
                    }
                    (false, _) => value.push(c),
                }
            }
            rest = &quoted[end? + 1..];
            value
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let value = rest[..end].trim().to_owned();
            rest = &rest[end..];
            value
        };
        params.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NBF: &str = r#"{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}"#;

    #[test]
    fn a_graph_claims_challenge_is_read_and_anything_else_is_not() {
        let header = format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="{}""#,
            STANDARD.encode(NBF)
        );
        let claims = challenge_claims(&header).unwrap();
        let v: Value = serde_json::from_str(&claims).unwrap();
        assert_eq!(v["access_token"]["nbf"]["value"], "1604106651");
        // Unpadded, URL-safe, and as a bare token rather than a quoted string.
        let bare = format!(
            "Bearer error=insufficient_claims, claims={}",
            URL_SAFE_NO_PAD.encode(NBF)
        );
        assert_eq!(challenge_claims(&bare).as_deref(), Some(claims.as_str()));
        for other in [
            r#"Bearer realm="", error="invalid_token""#.to_owned(),
            format!(
                r#"Bearer error="insufficient_claims", claims="{}""#,
                "not base64!"
            ),
            format!(
                r#"Bearer error="insufficient_claims", claims="{}""#,
                STANDARD.encode("[1,2]")
            ),
            format!(
                r#"Basic error="insufficient_claims", claims="{}""#,
                STANDARD.encode(NBF)
            ),
            r#"Bearer error="insufficient_claims", claims="unterminated"#.to_owned(),
            String::new(),
        ] {
            assert_eq!(challenge_claims(&other), None, "{other}");
        }
    }

    #[test]
    fn cp1_is_merged_into_the_challenge_and_sent_alone_otherwise() {
        let merged: Value =
            serde_json::from_str(&request_claims(Some(NBF), true).unwrap()).unwrap();
        assert_eq!(merged["access_token"]["nbf"]["value"], "1604106651");
        assert_eq!(merged["access_token"]["xms_cc"]["values"], json!(["cp1"]));
        assert_eq!(
            request_claims(None, true).unwrap(),
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#
        );
        assert_eq!(request_claims(None, false), None);
        assert_eq!(request_claims(Some(NBF), false).unwrap(), NBF);
        let already = r#"{"access_token":{"xms_cc":{"values":["cp1","cp2"]}}}"#;
        let v: Value = serde_json::from_str(&request_claims(Some(already), true).unwrap()).unwrap();
        assert_eq!(v["access_token"]["xms_cc"]["values"], json!(["cp1", "cp2"]));
        assert_eq!(request_claims(Some("not json"), true), None);
    }
}

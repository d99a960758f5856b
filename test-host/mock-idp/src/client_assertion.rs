//! Client assertions (RFC 7523 §2.2, as Entra takes them for certificate credentials): a JWT
//! signed RS256 with the key of a certificate registered on the app, named in the header by
//! `x5t#S256`; `iss` = `sub` = the client id, `aud` = the token endpoint, a short `exp`, and
//! a `jti` that is never accepted twice.

use std::collections::BTreeSet;
use std::sync::Mutex;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::Value;

use crate::directory::AppRegistration;
use crate::errors::EntraError;

/// The `client_assertion_type` of a JWT client assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Where an assertion is checked: the token endpoint it must name, and the `jti`s seen.
pub(crate) struct Audience<'a> {
    /// The token endpoint's address as the client was told it.
    pub token_endpoint: &'a str,
    /// Every `jti` accepted so far.
    pub seen: &'a Mutex<BTreeSet<String>>,
}

/// Check `assertion` (of type `assertion_type`) for `app`.
pub(crate) fn verify(
    app: &AppRegistration,
    assertion_type: Option<&str>,
    assertion: &str,
    at: &Audience<'_>,
) -> Result<(), EntraError> {
    match assertion_type {
        Some(JWT_BEARER) => {}
        Some(other) => {
            return Err(EntraError::bad(
                "invalid_request",
                900144,
                format!(
                    "The client_assertion_type '{other}' is not supported; use '{JWT_BEARER}'."
                ),
            ))
        }
        None => return Err(EntraError::missing("client_assertion_type")),
    }
    let malformed = || {
        EntraError::invalid_client(
            50027,
            "JWT token is invalid or malformed: the client assertion is not a signed JWT.",
        )
    };
    let mut parts = assertion.split('.');
    let (Some(h), Some(p), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let json = |part: &str| -> Result<Value, EntraError> {
        let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed())?;
        serde_json::from_slice(&bytes).map_err(|_| malformed())
    };
    let header = json(h)?;
    let claims = json(p)?;
    let signature = URL_SAFE_NO_PAD.decode(sig).map_err(|_| malformed())?;
    if header["alg"] != "RS256" {
        return Err(malformed());
    }
    let thumbprint = header["x5t#S256"].as_str().unwrap_or_default();
    let Some(cert) = app.certificates.iter().find(|c| c.thumbprint == thumbprint) else {
        return Err(EntraError::invalid_client(
            700027,
            format!("Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal to see configured keys for app Id '{}'.]", app.client_id),
        ));
    };
    if cert.expired {
        return Err(EntraError::invalid_client(
            700027,
            format!("Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{thumbprint}']"),
        ));
    }
    let key = STANDARD.decode(&cert.public_key).map_err(|_| malformed())?;
    let signed = format!("{h}.{p}");
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| {
            EntraError::invalid_client(
                700027,
                format!("Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{thumbprint}']"),
            )
        })?;
    for claim in ["iss", "sub"] {
        if !claims[claim]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case(&app.client_id))
        {
            return Err(EntraError::invalid_client(
                700021,
                format!("Client assertion application identifier doesn't match 'client_id' parameter: its '{claim}' must be '{}'.", app.client_id),
            ));
        }
    }
    if !claims["aud"]
        .as_str()
        .is_some_and(|a| a.eq_ignore_ascii_case(at.token_endpoint))
    {
        return Err(EntraError::invalid_client(
            50012,
            format!(
                "Client assertion audience claim does not match Realm issuer: 'aud' must be '{}'.",
                at.token_endpoint
            ),
        ));
    }
    let now = chrono::Utc::now().timestamp();
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let nbf = claims["nbf"].as_i64().unwrap_or(0);
    if now >= exp || nbf > now + 300 {
        let at = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.6f0Z").to_string())
                .unwrap_or_default()
        };
        return Err(EntraError::invalid_client(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}.",
                at(now),
                at(nbf),
                at(exp)
            ),
        ));
    }
    let jti = claims["jti"].as_str().unwrap_or_default();
    let fresh = !jti.is_empty()
        && at
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(jti.to_owned());
    if !fresh {
        return Err(EntraError::invalid_client(
            50012,
            "The client assertion's 'jti' is missing or was used before (a replayed assertion).",
        ));
    }
    Ok(())
}

/// The DER inside a one-block PEM text.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).ok()
}

/// A client assertion with `claims`, signed RS256 with `key_pem` (PKCS#8) and naming
/// `cert_pem` by `x5t#S256` — for tests that play a client ([`crate::defaults::CERT_KEY_PEM`]
/// and [`crate::defaults::CERT_PEM`] are the registered pair). `None` when either PEM is not
/// usable.
pub fn sign_client_assertion(key_pem: &str, cert_pem: &str, claims: &Value) -> Option<String> {
    use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
    use sha2::{Digest, Sha256};
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(pem_der(cert_pem)?));
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t#S256": thumbprint});
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = RsaKeyPair::from_pkcs8(&pem_der(key_pem)?).ok()?;
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .ok()?;
    Some(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults;

    fn assertion(key_pem: &str, cert_pem: &str, claims: Value) -> String {
        sign_client_assertion(key_pem, cert_pem, &claims).expect("the fixtures sign")
    }

    fn claims(aud: &str, exp_in: i64, jti: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        serde_json::json!({"aud": aud, "iss": defaults::CERT_CLIENT_ID, "sub": defaults::CERT_CLIENT_ID,
                           "nbf": now, "exp": now + exp_in, "jti": jti})
    }

    fn code(r: Result<(), EntraError>) -> Option<u32> {
        r.err().and_then(|e| e.code)
    }

    #[test]
    fn assertions_are_checked_as_entra_checks_them() {
        let dir = crate::directory::Directory::default();
        let app = dir.app(defaults::CERT_CLIENT_ID).unwrap();
        let seen = Mutex::new(BTreeSet::new());
        let aud = "http://127.0.0.1:1/tenant/oauth2/v2.0/token";
        let at = Audience {
            token_endpoint: aud,
            seen: &seen,
        };
        let check = |a: &str| verify(app, Some(JWT_BEARER), a, &at);
        let good = assertion(
            defaults::CERT_KEY_PEM,
            defaults::CERT_PEM,
            claims(aud, 300, "j1"),
        );
        assert_eq!(code(check(&good)), None);
        assert_eq!(code(check(&good)), Some(50012), "a jti is accepted once");
        let wrong_aud = assertion(
            defaults::CERT_KEY_PEM,
            defaults::CERT_PEM,
            claims("x", 300, "j2"),
        );
        assert_eq!(code(check(&wrong_aud)), Some(50012));
        let expired = assertion(
            defaults::CERT_KEY_PEM,
            defaults::CERT_PEM,
            claims(aud, -10, "j3"),
        );
        assert_eq!(code(check(&expired)), Some(700024));
        let old_cert = assertion(
            defaults::CERT_EXPIRED_KEY_PEM,
            defaults::CERT_EXPIRED_PEM,
            claims(aud, 300, "j4"),
        );
        assert_eq!(code(check(&old_cert)), Some(700027));
        // Signed with one key but naming the other certificate.
        let wrong_key = assertion(
            defaults::CERT_EXPIRED_KEY_PEM,
            defaults::CERT_PEM,
            claims(aud, 300, "j5"),
        );
        assert_eq!(code(check(&wrong_key)), Some(700027));
        let web = dir.app(defaults::WEB_CLIENT_ID).unwrap();
        let unregistered = verify(web, Some(JWT_BEARER), &good, &at).unwrap_err();
        assert_eq!(unregistered.code, Some(700027));
        assert!(unregistered.text.contains("The key was not found"));
        assert_eq!(code(check("not.a.jwt")), Some(50027));
        assert_eq!(code(verify(app, None, &good, &at)), Some(900144));
    }
}

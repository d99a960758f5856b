//! Minting tokens: the token response, its opaque access and refresh tokens, and the ID token.
//!
//! The ID token is a JWT with header `{"typ":"JWT","alg":"RS256","kid":"mock"}` whose signature
//! bytes are random: **the mock does not sign tokens**, so clients must not verify signatures
//! against it (clients of Entra's v2.0 endpoint may treat ID tokens from the token endpoint as
//! trusted without verification, which is what this supports).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::directory::{AppRegistration, User};
use crate::ids;
use crate::scopes::Grant;
use crate::state::{AccessToken, ClientKind, RefreshToken, Shared, Store};

/// Issue tokens for `user` on `app` and return the token response JSON.
pub(crate) fn mint(
    shared: &Shared,
    store: &mut Store,
    app: &AppRegistration,
    user: &User,
    grant: &Grant,
    kind: ClientKind,
    nonce: Option<&str>,
) -> serde_json::Value {
    let lifetime = shared.rules.policy().access_token_secs;
    let access_token = ids::opaque(96);
    store.access.insert(
        access_token.clone(),
        AccessToken {
            client_id: app.client_id.clone(),
            user: user.id.clone(),
            grant: grant.clone(),
            expires: Instant::now() + Duration::from_secs(lifetime),
        },
    );
    let mut body = json!({
        "token_type": "Bearer",
        "scope": grant.scope_string(),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    });
    if grant.offline() {
        let refresh_token = format!("0.A{}", ids::opaque(160));
        store.refresh.insert(
            refresh_token.clone(),
            RefreshToken {
                client_id: app.client_id.clone(),
                user: user.id.clone(),
                grant: grant.clone(),
                kind,
                issued_at: chrono::Utc::now(),
                issued: Instant::now(),
                expired: false,
                replaced: false,
            },
        );
        body["refresh_token"] = json!(refresh_token);
    }
    if grant.openid() {
        body["id_token"] = json!(id_token(shared, app, user, grant, nonce));
    }
    body
}

/// An unsigned-in-effect ID token (random signature bytes) with Entra's v2.0 claims.
fn id_token(
    shared: &Shared,
    app: &AppRegistration,
    user: &User,
    grant: &Grant,
    nonce: Option<&str>,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "aud": app.client_id,
        "iss": format!("{}/{}/v2.0", shared.base_url, user.tenant),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": user.display_name,
        "oid": user.id,
        "preferred_username": user.upn,
        "sub": pairwise_subject(&user.id, &app.client_id),
        "tid": user.tenant,
        "ver": "2.0",
    });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let (true, Some(mail)) = (grant.has("email"), &user.mail) {
        claims["email"] = json!(mail);
    }
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "mock"});
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        ids::opaque(256)
    )
}

/// Entra's `sub` is pairwise: stable per user and app, different across apps.
pub(crate) fn pairwise_subject(oid: &str, client_id: &str) -> String {
    let digest = Sha256::digest(format!("{oid}|{}", client_id.to_ascii_lowercase()));
    URL_SAFE_NO_PAD.encode(digest)
}

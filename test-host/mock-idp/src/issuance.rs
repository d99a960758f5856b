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
use crate::state::{overridden, AccessToken, ClientKind, RefreshToken, Shared, Store};

/// What a token request asked for beyond the grant itself.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Extras<'a> {
    /// The `nonce` of the authorization request, echoed in the ID token.
    pub nonce: Option<&'a str>,
    /// `client_info=1`: add MSAL's `client_info` (the user's `uid` and `utid`).
    pub client_info: bool,
    /// The claims challenge instant (`nbf`) the access token was issued for.
    pub claims_nbf: Option<u64>,
}

/// Issue tokens for `user` on `app` and return the token response JSON.
pub(crate) fn mint(
    shared: &Shared,
    store: &mut Store,
    app: &AppRegistration,
    user: &User,
    grant: &Grant,
    kind: ClientKind,
    extras: Extras<'_>,
) -> serde_json::Value {
    let lifetime = shared.rules.policy().access_token_secs;
    let access_token = ids::opaque(96);
    store.access.insert(
        access_token.clone(),
        AccessToken {
            client_id: app.client_id.clone(),
            user: user.id.clone(),
            app_only: false,
            grant: grant.clone(),
            expires: Instant::now() + Duration::from_secs(lifetime),
            claims_nbf: extras.claims_nbf,
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
        let claims = overridden(
            claims(shared, app, user, grant, extras.nonce),
            &store.id_token_overrides,
        );
        body["id_token"] = json!(id_token(&claims));
    }
    if extras.client_info {
        let info = json!({"uid": user.id, "utid": user.tenant});
        body["client_info"] = json!(URL_SAFE_NO_PAD.encode(info.to_string()));
    }
    body
}

/// Entra's v2.0 ID token claims for `user` signing in to `app`.
fn claims(
    shared: &Shared,
    app: &AppRegistration,
    user: &User,
    grant: &Grant,
    nonce: Option<&str>,
) -> serde_json::Value {
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
    claims
}

/// An unsigned-in-effect ID token (random signature bytes) carrying `claims`.
fn id_token(claims: &serde_json::Value) -> String {
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

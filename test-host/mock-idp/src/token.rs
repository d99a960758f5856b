//! The token endpoint `/{tenant}/oauth2/v2.0/token`: device code, authorization code (PKCE),
//! refresh token and client credentials ([`crate::app_only`]) grants.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::ORIGIN;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::claims_challenge::{self, Answer};
use crate::client_assertion::Audience;
use crate::client_auth::{self, Presented};
use crate::directory::{AppRegistration, Platform, Segment};
use crate::errors::EntraError;
use crate::issuance::{self, Extras};
use crate::params::Params;
use crate::state::{ClientKind, Shared};
use crate::{app_only, device_code, redirect, reply, scopes, DEVICE_CODE_GRANT_TYPE};

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match redeem(&shared, &tenant, &headers, &Params::parse(&body)) {
        Ok(tokens) => reply::json(StatusCode::OK, &tokens),
        Err(e) => e.into_response(),
    }
}

/// Any other method on a POST-only endpoint (AADSTS900561).
pub(crate) async fn post_only(method: Method) -> Response {
    EntraError::post_only(method.as_str()).into_response()
}

/// Check the tenant and client, then run the grant.
fn redeem(
    shared: &Shared,
    tenant: &str,
    headers: &HeaderMap,
    p: &Params,
) -> Result<serde_json::Value, EntraError> {
    let seg = shared
        .dir()
        .segment(tenant)
        .ok_or_else(|| EntraError::unknown_tenant(tenant))?;
    let presented = Presented::read(p, headers);
    let grant_type = p.require("grant_type")?;
    let client_id = presented
        .client_id
        .as_deref()
        .ok_or_else(|| EntraError::missing("client_id"))?;
    let app = shared.dir().check_app(client_id, &seg, tenant)?;
    let token_endpoint = format!("{}/{tenant}/oauth2/v2.0/token", shared.base_url);
    let at = Audience {
        token_endpoint: &token_endpoint,
        seen: &shared.seen_assertions,
    };
    let presented = (&presented, &at);
    match grant_type {
        DEVICE_CODE_GRANT_TYPE => device(shared, &seg, app, presented, p),
        "authorization_code" => authorization_code(shared, &seg, app, presented, headers, p),
        "refresh_token" => refresh(shared, &seg, app, presented, p),
        app_only::CLIENT_CREDENTIALS => app_only::grant(shared, &seg, app, presented, p),
        other => Err(EntraError::unsupported_grant_type(other)),
    }
}

/// Device code grant: poll until approved, declined or expired.
fn device(
    shared: &Shared,
    seg: &Segment,
    app: &AppRegistration,
    presented: (&Presented, &Audience<'_>),
    p: &Params,
) -> Result<serde_json::Value, EntraError> {
    let device_code = p.require("device_code")?;
    let (user_id, grant) = device_code::poll(shared, seg, app, device_code, presented)?;
    let user = shared
        .dir()
        .user_by_id(&user_id)
        .ok_or_else(EntraError::invalid_grant)?;
    let kind = if app.public_client {
        ClientKind::Public
    } else {
        ClientKind::Confidential
    };
    shared
        .stats
        .count_account(&user.upn, DEVICE_CODE_GRANT_TYPE, false);
    let nbf = claims_for(shared, &user.upn, p)?;
    let mut store = shared.store();
    Ok(issuance::mint(
        shared,
        &mut store,
        app,
        user,
        &grant,
        kind,
        extras(p, None, nbf),
    ))
}

/// The token request's `client_info=1`, with the authorization request's nonce and the
/// claims challenge instant the token satisfies.
fn extras<'a>(p: &Params, nonce: Option<&'a str>, claims_nbf: Option<u64>) -> Extras<'a> {
    Extras {
        nonce,
        client_info: p.get("client_info") == Some("1"),
        claims_nbf,
    }
}

/// Count the request's `claims` for `upn` (cp1, an answered challenge) and check it against
/// the account's armed claims challenge: the instant the token will satisfy, or
/// `interaction_required` when the challenge needs the user.
fn claims_for(shared: &Shared, upn: &str, p: &Params) -> Result<Option<u64>, EntraError> {
    let claims = p.get("claims");
    let answer = shared.claims.answer(upn, claims);
    shared.stats.count_claims(
        upn,
        claims.is_some_and(claims_challenge::declares_cp1),
        claims.and_then(claims_challenge::requested_nbf).is_some(),
    );
    match answer {
        Answer::Unrelated => Ok(None),
        Answer::Satisfies(nbf) => Ok(Some(nbf)),
        Answer::NeedsUser => Err(EntraError::claims_need_user()),
    }
}

/// Authorization code grant with PKCE and Entra's redirect and secret rules.
fn authorization_code(
    shared: &Shared,
    seg: &Segment,
    app: &AppRegistration,
    (presented, at): (&Presented, &Audience<'_>),
    headers: &HeaderMap,
    p: &Params,
) -> Result<serde_json::Value, EntraError> {
    let code = p.require("code")?;
    let redirect_uri = p.require("redirect_uri")?;
    let mut store = shared.store();
    let entry = store
        .auth_codes
        .get(code)
        .filter(|c| c.client_id.eq_ignore_ascii_case(&app.client_id))
        .cloned()
        .ok_or_else(EntraError::invalid_grant)?;
    client_auth::check(app, ClientKind::of_platform(entry.platform), presented, at)?;
    if entry.used {
        return Err(EntraError::code_redeemed());
    }
    if entry.issued.elapsed() >= shared.config.code_lifetime {
        return Err(EntraError::code_expired());
    }
    if !redirect::same(&entry.redirect_uri, redirect_uri) {
        return Err(EntraError::redirect_mismatch(redirect_uri, &app.client_id));
    }
    check_origin(entry.platform, headers)?;
    if let Some((challenge, method)) = &entry.challenge {
        let verifier = p.get("code_verifier").unwrap_or("");
        if !verifier.is_empty() {
            store.code_verifiers.insert(verifier.to_owned());
        }
        if !pkce_matches(verifier, challenge, method) {
            return Err(EntraError::pkce_mismatch());
        }
    }
    let user = shared
        .dir()
        .user_by_id(&entry.user)
        .ok_or_else(EntraError::invalid_grant)?;
    shared.dir().check_user(app, seg, user)?;
    shared
        .stats
        .count_account(&user.upn, "authorization_code", false);
    let nbf = claims_for(shared, &user.upn, p)?;
    if let Some(e) = store.auth_codes.get_mut(code) {
        e.used = true;
    }
    let kind = ClientKind::of_platform(entry.platform);
    Ok(issuance::mint(
        shared,
        &mut store,
        app,
        user,
        &entry.grant,
        kind,
        extras(p, entry.nonce.as_deref(), nbf),
    ))
}

/// SPA redirects must be redeemed cross-origin (AADSTS9002327); others must not (9002326).
fn check_origin(platform: Platform, headers: &HeaderMap) -> Result<(), EntraError> {
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    match (platform, origin) {
        (Platform::Spa, None) => Err(EntraError::spa_needs_origin()),
        (Platform::Web | Platform::Desktop, Some(o)) => Err(EntraError::cross_origin(o)),
        _ => Ok(()),
    }
}

/// RFC 7636: `S256` compares `BASE64URL(SHA256(verifier))`, `plain` compares verbatim.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str, method: &str) -> bool {
    match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge,
        _ => !verifier.is_empty() && verifier == challenge,
    }
}

/// Refresh token grant: a new access token and, when rotating, a new refresh token. The old
/// refresh token stays valid unless the policy refuses replaced ones; an armed
/// [`crate::RefreshFailure`] for the user answers instead.
fn refresh(
    shared: &Shared,
    seg: &Segment,
    app: &AppRegistration,
    (presented, at): (&Presented, &Audience<'_>),
    p: &Params,
) -> Result<serde_json::Value, EntraError> {
    let token = p.require("refresh_token")?;
    let mut store = shared.store();
    let entry = store
        .refresh
        .get(token)
        .filter(|r| r.client_id.eq_ignore_ascii_case(&app.client_id))
        .cloned()
        .ok_or_else(EntraError::invalid_grant)?;
    let user = shared
        .dir()
        .user_by_id(&entry.user)
        .ok_or_else(EntraError::invalid_grant)?;
    shared
        .stats
        .count_account(&user.upn, "refresh_token", entry.replaced);
    let nbf = claims_for(shared, &user.upn, p)?;
    let policy = shared.rules.policy();
    if entry.replaced && policy.refuse_rotated {
        return Err(EntraError::refresh_replaced());
    }
    if let Some(failure) = shared.rules.take(&user.upn) {
        return Err(failure.error(&app.client_id, &app.display_name));
    }
    client_auth::check(app, entry.kind, presented, at)?;
    let lapsed = entry.issued.elapsed() >= Duration::from_secs(policy.refresh_token_secs);
    if entry.expired || lapsed || shared.config.refresh_tokens_expired {
        // Entra prints seven fractional digits; chrono offers six.
        let issued = format!("{}0Z", entry.issued_at.format("%Y-%m-%dT%H:%M:%S%.6f"));
        return Err(EntraError::refresh_expired(&issued));
    }
    shared.dir().check_user(app, seg, user)?;
    let mut grant = match p.get("scope") {
        None => entry.grant.clone(),
        Some(raw) => {
            let requested = scopes::parse(raw, &shared.graph_host)?;
            let mut consented = store.consented(&app.client_id, &user.id);
            consented.extend(entry.grant.graph.iter().cloned());
            scopes::silent(app, &consented, &requested)
                .map_err(|()| EntraError::consent_required(&app.client_id, &app.display_name))?
        }
    };
    grant.oidc.insert("offline_access");
    let mut body = issuance::mint(
        shared,
        &mut store,
        app,
        user,
        &grant,
        entry.kind,
        extras(p, None, nbf),
    );
    if policy.rotate {
        if let Some(old) = store.refresh.get_mut(token) {
            old.replaced = true;
        }
    } else if let Some(new) = body.as_object_mut().and_then(|b| b.remove("refresh_token")) {
        store.refresh.remove(new.as_str().unwrap_or_default());
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_and_plain() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge, "S256"));
        assert!(!pkce_matches("other", challenge, "S256"));
        assert!(pkce_matches("abc", "abc", "plain"));
        assert!(!pkce_matches("", "", "plain"));
    }
}

//! App-only access: the client credentials grant (`grant_type=client_credentials`) of a
//! confidential app for `{graph}/.default`, its tokens (application permissions in `roles`,
//! no user, no refresh token), and Exchange Online's application access policies that narrow
//! the mailboxes such an app may reach.
//!
//! As Entra does, a token is issued even when no administrator granted the app's
//! application permissions: it simply carries no `roles`, and Graph then refuses it with
//! `401 InvalidAuthenticationToken` "Either scp or roles claim need to be present in the
//! token." ([`crate::bearer`]).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::client_assertion::Audience;
use crate::client_auth::{self, Presented};
use crate::directory::{AppRegistration, Segment};
use crate::errors::{EntraError, GraphError};
use crate::ids;
use crate::params::Params;
use crate::scopes::{self, Grant};
use crate::state::{AccessToken, ClientKind, Shared};

/// The grant type of the client credentials grant (RFC 6749 §4.4).
pub(crate) const CLIENT_CREDENTIALS: &str = "client_credentials";

/// The text Exchange Online answers (`403 ErrorAccessDenied`) when an application access
/// policy keeps an app away from a mailbox.
pub(crate) const ACCESS_POLICY_REFUSAL: &str =
    "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.";

/// The client credentials grant: a confidential app proves itself (secret or client
/// assertion) to a tenant named by id or domain and asks for `{resource}/.default`.
pub(crate) fn grant(
    shared: &Shared,
    seg: &Segment,
    app: &AppRegistration,
    (presented, at): (&Presented, &Audience<'_>),
    p: &Params,
) -> Result<serde_json::Value, EntraError> {
    let Segment::Tenant(tenant) = seg else {
        return Err(EntraError::bad(
            "invalid_request",
            9001023,
            "The grant type 'client_credentials' is not supported over the /common, /consumers or /organizations endpoints. Please use the tenant-specific endpoint.",
        ));
    };
    let scope = p.require("scope")?;
    let requested = scopes::parse(scope, &shared.graph_host).map_err(|_| default_only(scope))?;
    if !requested.default || !requested.oidc.is_empty() || !requested.outlook.is_empty() {
        return Err(default_only(scope));
    }
    if app.public_client && presented.secret.is_none() && presented.assertion.is_none() {
        return Err(EntraError::secret_required());
    }
    client_auth::check(app, ClientKind::Confidential, presented, at)?;
    let tenant_id = shared.dir().tenants[*tenant].id.clone();
    shared
        .stats
        .count_account(&app.client_id, CLIENT_CREDENTIALS, false);
    let roles: Vec<String> = if app.app_roles_granted {
        app.app_roles.clone()
    } else {
        Vec::new()
    };
    Ok(mint(shared, app, &tenant_id, roles))
}

/// AADSTS1002012: client credentials take only `{resource}/.default`.
fn default_only(scope: &str) -> EntraError {
    EntraError::bad(
        "invalid_scope",
        1002012,
        format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
    )
}

/// An app token: a JWT-shaped access token (random signature, as [`crate::issuance`] does
/// for ID tokens) whose claims name the app (`appid`, `idtyp: app`) and its `roles`; the
/// response has no `refresh_token` and no `scope`.
fn mint(
    shared: &Shared,
    app: &AppRegistration,
    tenant_id: &str,
    roles: Vec<String>,
) -> serde_json::Value {
    let lifetime = shared.rules.policy().access_token_secs;
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime as i64,
        "app_displayname": app.display_name,
        "appid": app.client_id,
        "idtyp": "app",
        "oid": ids::guid(),
        "tid": tenant_id,
        "ver": "1.0",
        "uti": ids::opaque(22),
    });
    if !roles.is_empty() {
        claims["roles"] = json!(roles);
    }
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": "mock"});
    let access_token = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        ids::opaque(256)
    );
    shared.store().access.insert(
        access_token.clone(),
        AccessToken {
            client_id: app.client_id.clone(),
            user: String::new(),
            app_only: true,
            grant: Grant {
                oidc: Default::default(),
                graph: roles,
            },
            expires: Instant::now() + Duration::from_secs(lifetime),
            claims_nbf: None,
        },
    );
    json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    })
}

/// Graph's answer to an app token on a `/me` path.
pub(crate) fn me_needs_delegated() -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "/me request is only valid with delegated authentication flow.",
    )
}

/// Graph's answer to an app token that carries no `roles` (no admin consent).
pub(crate) fn no_roles() -> GraphError {
    GraphError::unauthenticated("Either scp or roles claim need to be present in the token.")
}

/// Exchange's answer when an application access policy keeps the app from the mailbox.
pub(crate) fn blocked_by_policy() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "ErrorAccessDenied",
        ACCESS_POLICY_REFUSAL,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_resource_default_scope_is_taken() {
        assert_eq!(default_only("User.Read").code, Some(1002012));
    }
}

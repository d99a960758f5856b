//! The user behind a Graph request's bearer token, and whether the token carries a permission.

use std::time::Instant;

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;

use crate::directory::User;
use crate::errors::GraphError;
use crate::state::{AccessToken, Shared};

/// The user and token record behind the request's bearer token, if it is valid and has one of
/// `any_of`; a token without any of them gets `denied`.
pub(crate) fn bearer_or(
    shared: &Shared,
    headers: &HeaderMap,
    any_of: &[&str],
    denied: impl FnOnce() -> GraphError,
) -> Result<(User, AccessToken), GraphError> {
    let raw = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = raw
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .unwrap_or("");
    if token.is_empty() {
        return Err(GraphError::unauthenticated("Access token is empty."));
    }
    let store = shared.store();
    let entry = store.access.get(token).ok_or_else(|| {
        GraphError::unauthenticated("CompactToken parsing failed with error code: 80049217")
    })?;
    if Instant::now() >= entry.expires {
        return Err(GraphError::unauthenticated(
            "Lifetime validation failed, the token is expired.",
        ));
    }
    if !any_of.iter().any(|s| entry.grant.has(s)) {
        return Err(denied());
    }
    let user = shared
        .dir()
        .user_by_id(&entry.user)
        .cloned()
        .ok_or_else(|| GraphError::unauthenticated("Access token validation failure."))?;
    Ok((user, entry.clone()))
}

/// [`bearer_or`] with Graph's generic `accessDenied`.
pub(crate) fn bearer(
    shared: &Shared,
    headers: &HeaderMap,
    any_of: &[&str],
) -> Result<(User, AccessToken), GraphError> {
    bearer_or(shared, headers, any_of, GraphError::access_denied)
}

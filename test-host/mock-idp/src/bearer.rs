//! Who is behind a Graph request's bearer token, and whether the token carries a permission.
//!
//! A delegated token acts for its signed-in user. An app token ([`crate::app_only`]) acts for
//! no one: it is refused on `/me` (Graph's 400), reaches a user only where the path names one
//! (`/users/{id or UPN}/…`), needs `roles` (Graph's 401 without any) and, on Exchange
//! resources, a mailbox its application access policy allows.

use std::time::Instant;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};

use crate::app_only;
use crate::directory::User;
use crate::errors::GraphError;
use crate::state::{AccessToken, Shared};

/// Whether a resource addressed under `/users/{id}` belongs to Exchange (mail), where
/// application access policies apply, or elsewhere (directory, OneDrive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    /// Mailbox data: policies apply.
    Exchange,
    /// Directory or files: policies do not apply.
    Other,
}

/// The valid, unexpired token record behind the request's bearer token.
fn token_of(shared: &Shared, headers: &HeaderMap) -> Result<AccessToken, GraphError> {
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
    Ok(entry.clone())
}

/// An app token's permission check: some `roles` at all, then one of `any_of`.
fn app_may(
    token: &AccessToken,
    any_of: &[&str],
    denied: impl FnOnce() -> GraphError,
) -> Result<(), GraphError> {
    if token.grant.graph.is_empty() {
        return Err(app_only::no_roles());
    }
    if !any_of.iter().any(|s| token.grant.has(s)) {
        return Err(denied());
    }
    Ok(())
}

/// The signed-in user and token record behind a `/me` request's bearer token, if it is valid
/// and has one of `any_of`; a token without any of them gets `denied`, an app token Graph's
/// "/me request is only valid with delegated authentication flow".
pub(crate) fn bearer_or(
    shared: &Shared,
    headers: &HeaderMap,
    any_of: &[&str],
    denied: impl FnOnce() -> GraphError,
) -> Result<(User, AccessToken), GraphError> {
    let entry = token_of(shared, headers)?;
    if entry.app_only {
        return Err(app_only::me_needs_delegated());
    }
    if !any_of.iter().any(|s| entry.grant.has(s)) {
        return Err(denied());
    }
    let user = shared
        .dir()
        .user_by_id(&entry.user)
        .cloned()
        .ok_or_else(|| GraphError::unauthenticated("Access token validation failure."))?;
    Ok((user, entry))
}

/// [`bearer_or`] with Graph's generic `accessDenied`.
pub(crate) fn bearer(
    shared: &Shared,
    headers: &HeaderMap,
    any_of: &[&str],
) -> Result<(User, AccessToken), GraphError> {
    bearer_or(shared, headers, any_of, GraphError::access_denied)
}

/// A request under `/users/{who}/…`: a delegated token acts for its signed-in user (the
/// caller decides what that user may do with `who`); an app token acts for the user `who`
/// names (id, UPN or mail), when its roles allow and, for `Exchange`, its access policy.
pub(crate) fn bearer_as(
    shared: &Shared,
    headers: &HeaderMap,
    (who, resource): (&str, Resource),
    any_of: &[&str],
    denied: impl FnOnce() -> GraphError,
) -> Result<(User, AccessToken), GraphError> {
    let entry = token_of(shared, headers)?;
    if !entry.app_only {
        return bearer_or(shared, headers, any_of, denied);
    }
    app_may(&entry, any_of, denied)?;
    let user = named_user(shared, who)?;
    let names: Vec<&str> = [Some(&user.id), Some(&user.upn), user.mail.as_ref()]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if resource == Resource::Exchange && !shared.access_policies.allows(&entry.client_id, &names) {
        return Err(app_only::blocked_by_policy());
    }
    Ok((user, entry))
}

/// A request whose path names no user (`/drives/{id}`, `/sites/…`): the signed-in user of a
/// delegated token, or none for an app token whose roles allow.
pub(crate) fn bearer_any(
    shared: &Shared,
    headers: &HeaderMap,
    any_of: &[&str],
) -> Result<(Option<User>, AccessToken), GraphError> {
    let entry = token_of(shared, headers)?;
    if entry.app_only {
        app_may(&entry, any_of, GraphError::access_denied)?;
        return Ok((None, entry));
    }
    bearer(shared, headers, any_of).map(|(u, t)| (Some(u), t))
}

/// The user `who` names by object id, UPN or mail, or Graph's 404.
pub(crate) fn named_user(shared: &Shared, who: &str) -> Result<User, GraphError> {
    shared
        .dir()
        .users
        .iter()
        .find(|u| {
            [Some(&u.id), Some(&u.upn), u.mail.as_ref()]
                .into_iter()
                .flatten()
                .any(|n| n.eq_ignore_ascii_case(who))
        })
        .cloned()
        .ok_or_else(|| {
            GraphError::new(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!("Resource '{who}' does not exist or one of its queried reference-property objects are not present."),
            )
        })
}

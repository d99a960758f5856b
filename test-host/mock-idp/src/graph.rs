//! Microsoft Graph `GET /v1.0/me`, `GET /v1.0/users/{id}` and OIDC `GET /oidc/userinfo`, all
//! behind a bearer token.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::bearer::{bearer, bearer_as, named_user, Resource};
use crate::directory::User;
use crate::errors::GraphError;
use crate::graph_call::Call;
use crate::params::Params;
use crate::state::Shared;
use crate::{ids, issuance, reply};

/// Scopes that let a token read `/me`.
const ME_SCOPES: [&str; 5] = [
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "Directory.Read.All",
];

/// `GET /v1.0/me` with optional `$select=a,b`.
pub(crate) async fn me(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    match bearer(&shared, &headers, &ME_SCOPES) {
        Ok((user, _)) => user_entity(&shared, &user, q.as_deref(), None),
        Err(e) => e.into_response(),
    }
}

/// `GET /v1.0/users/{id or UPN}`: any user of the directory for a token with a directory
/// role (`User.Read.All`, `User.ReadBasic.All`, `Directory.Read.All`), the signed-in user
/// themselves for one that may read `/me`. Refusals come in Graph's error shape.
pub(crate) async fn user(
    State(shared): State<Arc<Shared>>,
    Path(who): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let call = Call::of(&headers);
    let found = bearer_as(
        &shared,
        &headers,
        (&who, Resource::Other),
        &ME_SCOPES,
        directory_denied,
    )
    .and_then(|(caller, token)| {
        let named = named_user(&shared, &who)?;
        let directory = DIRECTORY_READ.iter().any(|s| token.grant.has(s));
        if named.id != caller.id && !directory {
            return Err(directory_denied());
        }
        Ok(named)
    });
    match found {
        Ok(user) => user_entity(&shared, &user, q.as_deref(), Some(&call)),
        Err(e) => call.fail(e),
    }
}

/// Permissions that let a token read any user of the directory.
const DIRECTORY_READ: [&str; 3] = ["User.ReadBasic.All", "User.Read.All", "Directory.Read.All"];

/// The directory's refusal of a token without a directory permission.
fn directory_denied() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// The user entity with Graph's default properties, narrowed by `$select`.
fn user_entity(shared: &Shared, user: &User, q: Option<&str>, call: Option<&Call>) -> Response {
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#users/$entity", shared.base_url),
        "businessPhones": [],
        "displayName": user.display_name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": "en-US",
        "surname": user.surname,
        "userPrincipalName": user.upn,
        "id": user.id,
    });
    if let Some(select) = Params::parse(q.unwrap_or_default().as_bytes()).get("$select") {
        let keep: Vec<&str> = select.split(',').map(str::trim).collect();
        if let Some(map) = body.as_object_mut() {
            map.retain(|k, _| {
                k == "@odata.context" || keep.iter().any(|s| s.eq_ignore_ascii_case(k))
            });
        }
    }
    if let Some(call) = call {
        return call.json(StatusCode::OK, &body);
    }
    let mut response = reply::json(StatusCode::OK, &body);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        reply::GRAPH_JSON.parse().expect("static header"),
    );
    headers.insert("request-id", ids::guid().parse().expect("GUID header"));
    response
}

/// `GET /oidc/userinfo` (needs `openid`).
pub(crate) async fn userinfo(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (user, token) = match bearer(&shared, &headers, &["openid"]) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    let mut body = json!({
        "sub": issuance::pairwise_subject(&user.id, &token.client_id),
        "name": user.display_name,
        "family_name": user.surname,
        "given_name": user.given_name,
        "picture": format!("{}/v1.0/me/photo/$value", shared.base_url),
    });
    if let (true, Some(mail)) = (token.grant.has("email"), &user.mail) {
        body["email"] = json!(mail);
    }
    reply::json(StatusCode::OK, &body)
}

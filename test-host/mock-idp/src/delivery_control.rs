//! Test control for deliveries, in-process (through [`crate::MockIdp`]) and over HTTP under
//! `/_mock`: read back what was sent and stored, arm delivery faults, mint access tokens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use crate::claims_challenge::ClaimsChallenge;
use crate::defaults::DESKTOP_CLIENT_ID;
use crate::delivery_store::DeliveryFaults;
use crate::errors::MockError;
use crate::ids;
use crate::reply;
use crate::scopes::Grant;
use crate::state::{AccessToken, Shared};

/// The delivery routes under `/_mock`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/sent", get(sent))
        .route("/drafts", get(drafts))
        .route("/drive", get(drive))
        .route("/uploads", get(uploads))
        .route("/deliveries", axum::routing::delete(reset))
        .route(
            "/delivery-faults",
            post(set_faults).delete(clear_faults).get(faults),
        )
        .route("/tokens", post(token))
        .route("/claims-challenges", post(arm_claims).delete(clear_claims))
        .route(
            "/access-policies",
            post(restrict_mailboxes).delete(clear_policies),
        )
}

/// Body of `POST /_mock/access-policies`: restrict the app `client_id` to `mailboxes`
/// (`New-ApplicationAccessPolicy -AccessRight RestrictAccess`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Restrict {
    client_id: String,
    mailboxes: Vec<String>,
}

async fn restrict_mailboxes(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let r: Restrict = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return refused(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
    };
    if shared.dir().app(&r.client_id).is_none() {
        return refused(
            StatusCode::NOT_FOUND,
            format!("no app {} in the directory", r.client_id),
        );
    }
    shared.access_policies.restrict(&r.client_id, &r.mailboxes);
    ok(json!({"ok": true}))
}

/// Body of `DELETE /_mock/access-policies`: `{"client_id":…}`, or `{}` (or none) for all.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClearPolicies {
    #[serde(default)]
    client_id: Option<String>,
}

async fn clear_policies(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let r: ClearPolicies = if bytes.is_empty() {
        ClearPolicies::default()
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => return refused(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
        }
    };
    shared.access_policies.clear(r.client_id.as_deref());
    ok(json!({"ok": true}))
}

/// Body of `POST /_mock/claims-challenges`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmClaims {
    upn: String,
    #[serde(default)]
    path_contains: Option<String>,
    #[serde(default)]
    needs_user: bool,
}

async fn arm_claims(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let r: ArmClaims = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return refused(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
    };
    if shared.dir().user(&r.upn).is_none() {
        return refused(
            StatusCode::NOT_FOUND,
            MockError::UnknownUser(r.upn).to_string(),
        );
    }
    shared.claims.arm(
        &r.upn,
        ClaimsChallenge {
            path_contains: r.path_contains,
            needs_user: r.needs_user,
        },
    );
    ok(json!({"ok": true}))
}

/// Body of `DELETE /_mock/claims-challenges`: `{"upn":…}`, or `{}` (or none) for all.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ClearClaims {
    #[serde(default)]
    upn: Option<String>,
}

async fn clear_claims(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let r: ClearClaims = if bytes.is_empty() {
        ClearClaims::default()
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => return refused(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
        }
    };
    shared.claims.clear(r.upn.as_deref());
    ok(json!({"ok": true}))
}

/// An access token for `upn` carrying exactly `scopes` (Graph permission names), valid as
/// long as the refresh policy's access tokens.
pub(crate) fn mint_token(shared: &Shared, upn: &str, scopes: &[&str]) -> Result<String, MockError> {
    let user = shared
        .dir()
        .user(upn)
        .ok_or_else(|| MockError::UnknownUser(upn.to_owned()))?;
    let token = ids::opaque(96);
    shared.store().access.insert(
        token.clone(),
        AccessToken {
            client_id: DESKTOP_CLIENT_ID.to_owned(),
            user: user.id.clone(),
            app_only: false,
            grant: Grant {
                oidc: Default::default(),
                graph: scopes.iter().map(|s| s.to_string()).collect(),
            },
            expires: Instant::now() + Duration::from_secs(shared.rules.policy().access_token_secs),
            claims_nbf: None,
        },
    );
    Ok(token)
}

/// Forget every draft, sent item, drive item, session, counter and delivery fault.
pub(crate) fn reset_deliveries(shared: &Shared) {
    *shared.deliveries() = Default::default();
}

fn ok(v: serde_json::Value) -> Response {
    reply::json(StatusCode::OK, &v)
}

fn refused(status: StatusCode, message: String) -> Response {
    reply::json(status, &json!({"ok": false, "error": message}))
}

async fn sent(State(shared): State<Arc<Shared>>) -> Response {
    ok(json!({"ok": true, "sent": shared.deliveries().sent}))
}

async fn drafts(State(shared): State<Arc<Shared>>) -> Response {
    ok(json!({"ok": true, "drafts": shared.deliveries().drafts.values().collect::<Vec<_>>()}))
}

async fn drive(State(shared): State<Arc<Shared>>) -> Response {
    ok(json!({"ok": true, "items": shared.deliveries().items.values().collect::<Vec<_>>()}))
}

async fn uploads(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.deliveries();
    ok(json!({"ok": true, "counters": store.counters, "open_sessions": store.sessions.len()}))
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    reset_deliveries(&shared);
    ok(json!({"ok": true}))
}

async fn faults(State(shared): State<Arc<Shared>>) -> Response {
    ok(json!({"ok": true, "faults": shared.deliveries().faults}))
}

async fn set_faults(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    match serde_json::from_slice::<DeliveryFaults>(&bytes) {
        Ok(f) => {
            shared.deliveries().faults = f;
            ok(json!({"ok": true}))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.deliveries().faults = DeliveryFaults::default();
    ok(json!({"ok": true}))
}

/// Body of `POST /_mock/tokens`.
#[derive(Deserialize)]
struct TokenRequest {
    upn: String,
    /// Space-separated Graph permissions.
    scopes: String,
}

async fn token(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let r: TokenRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return refused(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")),
    };
    let scopes: Vec<&str> = r.scopes.split_whitespace().collect();
    match mint_token(&shared, &r.upn, &scopes) {
        Ok(t) => ok(json!({"ok": true, "access_token": t, "token_type": "Bearer"})),
        Err(e) => refused(StatusCode::NOT_FOUND, e.to_string()),
    }
}

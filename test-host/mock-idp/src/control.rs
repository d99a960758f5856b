//! Test control, in-process (called by [`crate::MockIdp`]) and over HTTP under `/_mock`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use crate::config::DeviceOutcome;
use crate::errors::MockError;
use crate::faults::{Endpoint, Fault};
use crate::refresh_rules::{PolicyChange, RefreshFailure};
use crate::reply;
use crate::state::Shared;
use crate::{delivery_control, device_code};

/// The `/_mock` routes.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/stats", get(stats).delete(reset_stats))
        .route("/faults", post(set_fault).delete(clear_faults))
        .route("/outcome", post(device_outcome))
        .route("/outcome/device", post(device_outcome))
        .route("/outcome/browser", post(browser_outcome))
        .route("/device/{user_code}/approve", post(approve))
        .route("/device/{user_code}/decline", post(decline))
        .route("/device/{user_code}/expire", post(expire))
        .route("/refresh-tokens/expire", post(expire_refresh))
        .route("/access-tokens/expire", post(expire_access))
        .route("/directory", get(directory))
        .route(
            "/refresh-policy",
            get(refresh_policy).post(change_refresh_policy),
        )
        .route(
            "/refresh-failures",
            post(set_refresh_failure).delete(clear_refresh_failures),
        )
        .route("/discovery", post(override_discovery))
        .route("/id-token", post(override_id_token))
        .merge(delivery_control::router())
}

/// Approve a device code as `upn` (the directory's first user when `None`).
pub(crate) fn approve_device(
    shared: &Shared,
    user_code: &str,
    upn: Option<&str>,
) -> Result<(), MockError> {
    let dir = shared.dir();
    let user = match upn {
        Some(upn) => dir
            .user(upn)
            .ok_or_else(|| MockError::UnknownUser(upn.to_owned()))?,
        None => dir
            .default_user()
            .ok_or_else(|| MockError::UnknownUser(String::new()))?,
    };
    let mut store = shared.store();
    device_code::approve(shared, &mut store, user_code, user)
}

/// Decline a device code.
pub(crate) fn decline_device(shared: &Shared, user_code: &str) -> Result<(), MockError> {
    device_code::decline(&mut shared.store(), user_code)
}

/// Make a device code expire now.
pub(crate) fn expire_device(shared: &Shared, user_code: &str) -> Result<(), MockError> {
    device_code::expire(&mut shared.store(), user_code)
}

/// Mark every refresh token issued so far as expired (AADSTS700082).
pub(crate) fn expire_refresh_tokens(shared: &Shared) -> usize {
    let mut store = shared.store();
    store.refresh.values_mut().for_each(|r| r.expired = true);
    store.refresh.len()
}

/// Make every access token issued so far expired (Graph 401).
pub(crate) fn expire_access_tokens(shared: &Shared) -> usize {
    let mut store = shared.store();
    let now = Instant::now();
    store.access.values_mut().for_each(|a| a.expires = now);
    store.access.len()
}

/// `{"ok":true,…}` or `{"error":"…"}` with a status.
fn answer(result: Result<serde_json::Value, (StatusCode, String)>) -> Response {
    match result {
        Ok(mut v) => {
            v["ok"] = json!(true);
            reply::json(StatusCode::OK, &v)
        }
        Err((status, message)) => reply::json(status, &json!({"ok": false, "error": message})),
    }
}

/// A library error as an HTTP answer.
fn failed(e: MockError) -> (StatusCode, String) {
    let status = match e {
        MockError::UnknownUserCode(_) | MockError::UnknownUser(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::CONFLICT,
    };
    (status, e.to_string())
}

/// Parse a JSON body (any content type); an empty body is `{}`.
fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, (StatusCode, String)> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        bytes
    };
    serde_json::from_slice(text)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let v = serde_json::to_value(shared.stats.snapshot()).expect("stats serialize");
    reply::json(StatusCode::OK, &v)
}

async fn reset_stats(State(shared): State<Arc<Shared>>) -> Response {
    shared.stats.reset();
    answer(Ok(json!({})))
}

/// Body of `POST /_mock/faults`.
#[derive(Deserialize)]
struct FaultRequest {
    endpoint: Endpoint,
    fault: Fault,
    #[serde(default)]
    times: Option<u32>,
}

async fn set_fault(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    answer(body::<FaultRequest>(&bytes).map(|r| {
        shared.faults.set(r.endpoint, r.fault, r.times);
        json!({})
    }))
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.clear(None);
    answer(Ok(json!({})))
}

async fn device_outcome(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    answer(body::<DeviceOutcome>(&bytes).map(|o| {
        shared.store().device_outcome = o;
        json!({})
    }))
}

async fn browser_outcome(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    answer(body::<DeviceOutcome>(&bytes).map(|o| {
        shared.store().browser_outcome = o;
        json!({})
    }))
}

/// Body of `POST /_mock/device/{user_code}/approve`.
#[derive(Deserialize)]
struct ApproveRequest {
    #[serde(default)]
    upn: Option<String>,
}

async fn approve(
    State(shared): State<Arc<Shared>>,
    Path(user_code): Path<String>,
    bytes: Bytes,
) -> Response {
    answer(body::<ApproveRequest>(&bytes).and_then(|r| {
        approve_device(&shared, &user_code, r.upn.as_deref())
            .map(|()| json!({}))
            .map_err(failed)
    }))
}

async fn decline(State(shared): State<Arc<Shared>>, Path(user_code): Path<String>) -> Response {
    answer(
        decline_device(&shared, &user_code)
            .map(|()| json!({}))
            .map_err(failed),
    )
}

async fn expire(State(shared): State<Arc<Shared>>, Path(user_code): Path<String>) -> Response {
    answer(
        expire_device(&shared, &user_code)
            .map(|()| json!({}))
            .map_err(failed),
    )
}

async fn expire_refresh(State(shared): State<Arc<Shared>>) -> Response {
    answer(Ok(json!({"expired": expire_refresh_tokens(&shared)})))
}

async fn expire_access(State(shared): State<Arc<Shared>>) -> Response {
    answer(Ok(json!({"expired": expire_access_tokens(&shared)})))
}

/// A JSON object body, for the override routes.
fn members(
    bytes: &[u8],
) -> Result<serde_json::Map<String, serde_json::Value>, (StatusCode, String)> {
    body::<serde_json::Map<String, serde_json::Value>>(bytes)
}

async fn override_discovery(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    answer(members(&bytes).map(|m| {
        shared.store().discovery_overrides.extend(m);
        json!({})
    }))
}

async fn override_id_token(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    answer(members(&bytes).map(|m| {
        shared.store().id_token_overrides.extend(m);
        json!({})
    }))
}

async fn directory(State(shared): State<Arc<Shared>>) -> Response {
    reply::json(StatusCode::OK, &shared.dir().to_json())
}

async fn refresh_policy(State(shared): State<Arc<Shared>>) -> Response {
    answer(Ok(json!({"policy": shared.rules.policy()})))
}

async fn change_refresh_policy(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    answer(body::<PolicyChange>(&bytes).map(|c| json!({"policy": shared.rules.change(&c)})))
}

/// Body of `POST /_mock/refresh-failures`.
#[derive(Deserialize)]
struct RefreshFailureRequest {
    upn: String,
    failure: RefreshFailure,
    #[serde(default)]
    times: Option<u32>,
}

async fn set_refresh_failure(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    answer(body::<RefreshFailureRequest>(&bytes).and_then(|r| {
        if shared.dir().user(&r.upn).is_none() {
            return Err(failed(MockError::UnknownUser(r.upn)));
        }
        shared.rules.arm(&r.upn, r.failure, r.times);
        Ok(json!({}))
    }))
}

/// Body of `DELETE /_mock/refresh-failures`: `{"upn":"…"}` for one account, `{}` for all.
#[derive(Deserialize)]
struct ClearFailuresRequest {
    #[serde(default)]
    upn: Option<String>,
}

async fn clear_refresh_failures(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    answer(body::<ClearFailuresRequest>(&bytes).map(|r| {
        shared.rules.clear(r.upn.as_deref());
        json!({})
    }))
}

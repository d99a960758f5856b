//! The device authorization grant: `/{tenant}/oauth2/v2.0/devicecode`, the `/devicelogin`
//! page where the user types the code, polling, and the simulated user's decisions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::client_assertion::Audience;
use crate::client_auth::{self, Presented};
use crate::config::{ApproveMode, DeviceOutcome};
use crate::directory::{AppRegistration, Segment, User};
use crate::errors::{EntraError, MockError};
use crate::params::Params;
use crate::scopes::{self, Grant};
use crate::sign_in::Purpose;
use crate::sign_in_page;
use crate::state::{ClientKind, DeviceEntry, DeviceState, Shared, Store};
use crate::{ids, pages, reply};

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub(crate) async fn devicecode(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    match issue(&shared, &tenant, &Params::parse(&body)) {
        Ok(v) => reply::json(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

/// Validate a device authorization request and issue the codes.
fn issue(shared: &Shared, tenant: &str, p: &Params) -> Result<serde_json::Value, EntraError> {
    let seg = shared
        .dir()
        .segment(tenant)
        .ok_or_else(|| EntraError::unknown_tenant(tenant))?;
    let app = shared
        .dir()
        .check_app(p.require("client_id")?, &seg, tenant)?;
    let requested = scopes::parse(p.require("scope")?, &shared.graph_host)?;
    let device_code = format!("DAQABAAEAAA{}", ids::opaque(150));
    let verification_uri = format!("{}/devicelogin", shared.base_url);
    let expires_in = shared.config.device_expires_in_secs;
    let mut store = shared.store();
    let user_code = loop {
        let c = ids::user_code();
        if !store.user_codes.contains_key(&c) {
            break c;
        }
    };
    let now = Instant::now();
    store
        .user_codes
        .insert(user_code.clone(), device_code.clone());
    store.devices.insert(
        device_code.clone(),
        DeviceEntry {
            device_code: device_code.clone(),
            user_code: user_code.clone(),
            client_id: app.client_id.clone(),
            segment: seg,
            requested,
            issued: now,
            expires: now + Duration::from_secs(expires_in),
            state: DeviceState::Pending,
        },
    );
    shared.log(format_args!(
        "device code issued for {}: user code {user_code}",
        app.display_name
    ));
    Ok(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": expires_in,
        "interval": shared.config.device_interval_secs,
        "message": format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."
        ),
    }))
}

/// One poll of the token endpoint; `Ok` once approved (and the code is then spent).
pub(crate) fn poll(
    shared: &Shared,
    seg: &Segment,
    app: &AppRegistration,
    device_code: &str,
    (presented, at): (&Presented, &Audience<'_>),
) -> Result<(String, Grant), EntraError> {
    let mut store = shared.store();
    decide_auto(shared, &mut store, device_code);
    let entry = store
        .devices
        .get_mut(device_code)
        .filter(|e| e.client_id.eq_ignore_ascii_case(&app.client_id) && &e.segment == seg)
        .ok_or_else(EntraError::bad_verification_code)?;
    if entry.state == DeviceState::Redeemed {
        return Err(EntraError::bad_verification_code());
    }
    if Instant::now() >= entry.expires {
        return Err(EntraError::expired_token());
    }
    match &entry.state {
        DeviceState::Pending => Err(EntraError::authorization_pending()),
        DeviceState::Declined => Err(EntraError::authorization_declined()),
        DeviceState::Redeemed => Err(EntraError::bad_verification_code()),
        DeviceState::Approved { user, grant } => {
            let kind = if app.public_client {
                ClientKind::Public
            } else {
                ClientKind::Confidential
            };
            client_auth::check(app, kind, presented, at)?;
            let out = (user.clone(), grant.clone());
            entry.state = DeviceState::Redeemed;
            Ok(out)
        }
    }
}

/// In auto mode, let the simulated user act on a pending code once the approval delay passed.
fn decide_auto(shared: &Shared, store: &mut Store, device_code: &str) {
    if shared.config.approve != ApproveMode::Auto {
        return;
    }
    let outcome = store.device_outcome.clone();
    let Some(entry) = store.devices.get(device_code) else {
        return;
    };
    let due = entry.issued + shared.config.auto_approve_delay;
    if entry.state != DeviceState::Pending
        || Instant::now() < due
        || Instant::now() >= entry.expires
    {
        return;
    }
    let user_code = entry.user_code.clone();
    let dir = shared.dir();
    let result = match outcome {
        DeviceOutcome::Ignore => return,
        DeviceOutcome::Decline => decline(store, &user_code),
        DeviceOutcome::Approve => match dir.default_user() {
            Some(u) => approve(shared, store, &user_code, u),
            None => return,
        },
        DeviceOutcome::ApproveAs(upn) => match dir.user(&upn) {
            Some(u) => approve(shared, store, &user_code, u),
            None => Err(MockError::UnknownUser(upn)),
        },
    };
    match result {
        Ok(()) => shared.log(format_args!(
            "simulated user acted on device code {user_code}"
        )),
        Err(e) => shared.log(format_args!(
            "simulated user could not act on {user_code}: {e}"
        )),
    }
}

/// The pending, unexpired device code behind `user_code`.
fn open_entry<'s>(store: &'s mut Store, user_code: &str) -> Result<&'s mut DeviceEntry, MockError> {
    let entry = store
        .device_by_user_code(user_code)
        .ok_or_else(|| MockError::UnknownUserCode(user_code.to_owned()))?;
    let closed = |state| MockError::DeviceCodeClosed {
        user_code: user_code.to_owned(),
        state,
    };
    if Instant::now() >= entry.expires {
        return Err(closed("expired"));
    }
    if entry.state != DeviceState::Pending {
        return Err(closed(entry.state.name()));
    }
    Ok(entry)
}

/// `user` approves the device code: the grant is what an interactive sign-in gives.
pub(crate) fn approve(
    shared: &Shared,
    store: &mut Store,
    user_code: &str,
    user: &User,
) -> Result<(), MockError> {
    let dir = shared.dir();
    let entry = open_entry(store, user_code)?;
    let app = dir
        .app(&entry.client_id)
        .ok_or_else(|| MockError::UnknownUserCode(user_code.to_owned()))?;
    dir.check_user(app, &entry.segment, user)
        .map_err(|e| MockError::UserRefused {
            upn: user.upn.clone(),
            reason: e.headline(),
        })?;
    let grant = scopes::interactive(app, &entry.requested);
    entry.state = DeviceState::Approved {
        user: user.id.clone(),
        grant: grant.clone(),
    };
    let client_id = app.client_id.clone();
    store.consent(&client_id, &user.id, &grant);
    Ok(())
}

/// The user declines the device code.
pub(crate) fn decline(store: &mut Store, user_code: &str) -> Result<(), MockError> {
    open_entry(store, user_code)?.state = DeviceState::Declined;
    Ok(())
}

/// Make a device code expire now.
pub(crate) fn expire(store: &mut Store, user_code: &str) -> Result<(), MockError> {
    let entry = store
        .device_by_user_code(user_code)
        .ok_or_else(|| MockError::UnknownUserCode(user_code.to_owned()))?;
    entry.expires = Instant::now();
    Ok(())
}

/// `GET /devicelogin`: the code entry page.
pub(crate) async fn entry_page() -> Response {
    reply::html(StatusCode::OK, pages::device_code_entry(None))
}

/// `POST /devicelogin`: check the typed code (AADSTS90119, 70018, 70019, 90120), then sign in.
pub(crate) async fn submit_code(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let p = Params::parse(&body);
    let again = |msg: &str| reply::html(StatusCode::OK, pages::device_code_entry(Some(msg)));
    let Some(code) = p.get("otc") else {
        return again(
            "AADSTS90119: The user code is empty. Enter the code displayed on your device.",
        );
    };
    let mut store = shared.store();
    let Some(entry) = store.device_by_user_code(code) else {
        return again(
            "AADSTS70018: The code you entered is invalid. Check the code and try again.",
        );
    };
    if Instant::now() >= entry.expires {
        return again("AADSTS70019: The code you entered has expired. Get a new code from the device you're trying to sign in to and try again.");
    }
    if entry.state != DeviceState::Pending {
        return again("AADSTS90120: The code you entered has already been used. Get a new code from the device you're trying to sign in to and try again.");
    }
    let purpose = Purpose::Device {
        device_code: entry.device_code.clone(),
    };
    let (client_id, seg) = (entry.client_id.clone(), entry.segment.clone());
    sign_in_page::start(&shared, &mut store, purpose, &client_id, seg, None, None)
}

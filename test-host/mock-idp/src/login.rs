//! The sign-in pages behind `/login/{txn}`: user name and password, the MFA code
//! "sent to the phone", and consent — shared by the browser and device flows.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::authorize::{self, AuthorizeRequest};
use crate::device_code;
use crate::directory::Segment;
use crate::errors::EntraError;
use crate::params::Params;
use crate::scopes::{self, Grant};
use crate::state::{Shared, Store};
use crate::{ids, pages, reply};

/// What the sign-in is for.
#[derive(Clone, Debug)]
pub(crate) enum Purpose {
    /// A browser sign-in that ends in a redirect to the app.
    Authorize(Box<AuthorizeRequest>),
    /// A device code approval.
    Device {
        /// The device code being approved.
        device_code: String,
    },
}

/// Which page the person is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// User name and password.
    Password,
    /// MFA code.
    Mfa,
    /// Consent (browser) or "Are you trying to sign in?" (device).
    Consent,
}

/// A sign-in in progress.
#[derive(Clone, Debug)]
pub(crate) struct Login {
    /// What it is for.
    pub purpose: Purpose,
    /// The app.
    pub client_id: String,
    /// The tenant segment.
    pub segment: Segment,
    /// The signed-in user's object id, after the password step.
    pub user: Option<String>,
    /// The current page.
    pub step: Step,
    /// What approving will grant (set at the consent step).
    pub grant: Grant,
}

/// Begin a sign-in and show the sign-in page.
pub(crate) fn start(
    shared: &Shared,
    store: &mut Store,
    purpose: Purpose,
    client_id: &str,
    segment: Segment,
    login_hint: Option<String>,
    error: Option<String>,
) -> Response {
    let txn = ids::opaque(24);
    store.logins.insert(
        txn.clone(),
        Login {
            purpose,
            client_id: client_id.to_owned(),
            segment,
            user: None,
            step: Step::Password,
            grant: Grant::default(),
        },
    );
    let page = pages::sign_in(
        &txn,
        &app_name(shared, client_id),
        login_hint.as_deref(),
        error.as_deref(),
    );
    reply::html(StatusCode::OK, page)
}

/// The app's display name.
fn app_name(shared: &Shared, client_id: &str) -> String {
    shared
        .dir()
        .app(client_id)
        .map(|a| a.display_name.clone())
        .unwrap_or_default()
}

/// The page for a sign-in that no longer exists.
fn gone() -> Response {
    reply::html(
        StatusCode::BAD_REQUEST,
        pages::sign_in_error(
            "This sign-in session has ended. Start the sign-in again from the app.",
        ),
    )
}

/// `GET /login/{txn}`: show the current page again.
pub(crate) async fn show(State(shared): State<Arc<Shared>>, Path(txn): Path<String>) -> Response {
    let store = shared.store();
    let Some(login) = store.logins.get(&txn) else {
        return gone();
    };
    let name = app_name(&shared, &login.client_id);
    let upn = login
        .user
        .as_deref()
        .and_then(|id| shared.dir().user_by_id(id))
        .map(|u| u.upn.clone())
        .unwrap_or_default();
    let page = match login.step {
        Step::Password => pages::sign_in(&txn, &name, None, None),
        Step::Mfa => pages::mfa(&txn, &upn, None),
        Step::Consent => pages::consent(
            &txn,
            &name,
            &shown_scopes(&login.grant),
            matches!(login.purpose, Purpose::Device { .. }),
        ),
    };
    reply::html(StatusCode::OK, page)
}

/// `POST /login/{txn}`: the form of the current page.
pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    Path(txn): Path<String>,
    body: Bytes,
) -> Response {
    let p = Params::parse(&body);
    let mut store = shared.store();
    let Some(login) = store.logins.get(&txn).cloned() else {
        return gone();
    };
    match login.step {
        Step::Password => password(&shared, &mut store, &txn, login, &p),
        Step::Mfa => mfa(&shared, &mut store, &txn, login, &p),
        Step::Consent => {
            let accept = p.get("accept") == Some("yes");
            finish(&shared, &mut store, &txn, login, accept)
        }
    }
}

/// Check user name and password (AADSTS50034, 50126) and whether the user may sign in here.
fn password(
    shared: &Shared,
    store: &mut Store,
    txn: &str,
    mut login: Login,
    p: &Params,
) -> Response {
    let dir = shared.dir();
    let name = app_name(shared, &login.client_id);
    let typed = p.get("login").unwrap_or("").trim().to_owned();
    let again = |msg: &str| {
        reply::html(
            StatusCode::OK,
            pages::sign_in(txn, &name, Some(&typed), Some(msg)),
        )
    };
    let Some(user) = dir.user(&typed) else {
        return again("AADSTS50034: We couldn't find an account with that username.");
    };
    if p.get("passwd") != Some(user.password.as_str()) {
        return again(
            "AADSTS50126: Error validating credentials due to invalid username or password.",
        );
    }
    let Some(app) = dir.app(&login.client_id) else {
        return gone();
    };
    if let Err(e) = dir.check_user(app, &login.segment, user) {
        return again(&e.headline());
    }
    login.user = Some(user.id.clone());
    if let Some(code) = &user.mfa_code {
        crate::state::log_line(format_args!(
            "[mock-idp] MFA: code sent to the phone of {}: {code}",
            user.upn
        ));
        login.step = Step::Mfa;
        store.logins.insert(txn.to_owned(), login);
        return reply::html(StatusCode::OK, pages::mfa(txn, &user.upn, None));
    }
    after_sign_in(shared, store, txn, login)
}

/// Check the MFA code.
fn mfa(shared: &Shared, store: &mut Store, txn: &str, login: Login, p: &Params) -> Response {
    let Some(user) = login
        .user
        .as_deref()
        .and_then(|id| shared.dir().user_by_id(id))
    else {
        return gone();
    };
    let typed = p.get("otc").unwrap_or("").trim();
    if user.mfa_code.as_deref() != Some(typed) {
        let msg = "That code didn't work. Check the code and try again.";
        return reply::html(StatusCode::OK, pages::mfa(txn, &user.upn, Some(msg)));
    }
    after_sign_in(shared, store, txn, login)
}

/// After authentication: ask for consent when something new is granted (always for devices).
fn after_sign_in(shared: &Shared, store: &mut Store, txn: &str, mut login: Login) -> Response {
    let dir = shared.dir();
    let (Some(app), Some(user_id)) = (dir.app(&login.client_id), login.user.clone()) else {
        return gone();
    };
    let requested = match &login.purpose {
        Purpose::Authorize(req) => req.requested.clone(),
        Purpose::Device { device_code } => match store.devices.get(device_code) {
            Some(entry) => entry.requested.clone(),
            None => return gone(),
        },
    };
    login.grant = scopes::interactive(app, &requested);
    let consented = store.consented(&app.client_id, &user_id);
    let device = matches!(login.purpose, Purpose::Device { .. });
    if !device && login.grant.graph.iter().all(|s| consented.contains(s)) {
        return finish(shared, store, txn, login, true);
    }
    login.step = Step::Consent;
    let page = pages::consent(txn, &app.display_name, &shown_scopes(&login.grant), device);
    store.logins.insert(txn.to_owned(), login);
    reply::html(StatusCode::OK, page)
}

/// The permissions listed on a consent page.
fn shown_scopes(grant: &Grant) -> Vec<String> {
    let mut shown: Vec<String> = grant
        .scope_string()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if grant.offline() {
        shown.push("offline_access".to_owned());
    }
    shown
}

/// Approve or decline, then tell the device page or redirect to the app.
fn finish(shared: &Shared, store: &mut Store, txn: &str, login: Login, accept: bool) -> Response {
    store.logins.remove(txn);
    let dir = shared.dir();
    let Some(user) = login.user.as_deref().and_then(|id| dir.user_by_id(id)) else {
        return gone();
    };
    match login.purpose {
        Purpose::Device { device_code } => {
            let Some(user_code) = store.devices.get(&device_code).map(|e| e.user_code.clone())
            else {
                return gone();
            };
            let result = if accept {
                device_code::approve(shared, store, &user_code, user)
            } else {
                device_code::decline(store, &user_code)
            };
            match result {
                Ok(()) => reply::html(
                    StatusCode::OK,
                    pages::device_done(&app_name(shared, &login.client_id), accept),
                ),
                Err(e) => reply::html(
                    StatusCode::BAD_REQUEST,
                    pages::sign_in_error(&e.to_string()),
                ),
            }
        }
        Purpose::Authorize(req) if accept => {
            authorize::complete(shared, store, &req, user, login.grant)
        }
        Purpose::Authorize(req) => req
            .target
            .send(EntraError::consent_declined().redirect_params()),
    }
}

//! Begins a sign-in for the browser and device flows alike: records it in the store and
//! shows the first page (user name and password). The pages after it are [`crate::login`]'s.

use axum::http::StatusCode;
use axum::response::Response;

use crate::directory::Segment;
use crate::scopes::Grant;
use crate::sign_in::{Login, Purpose, Step};
use crate::state::{Shared, Store};
use crate::{ids, pages, reply};

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
pub(crate) fn app_name(shared: &Shared, client_id: &str) -> String {
    shared
        .dir()
        .app(client_id)
        .map(|a| a.display_name.clone())
        .unwrap_or_default()
}

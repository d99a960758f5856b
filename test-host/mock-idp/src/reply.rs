//! Response builders with the headers Microsoft's endpoints send.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The content type of every identity-platform JSON reply.
pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

/// The content type Microsoft Graph sends with JSON entities.
pub(crate) const GRAPH_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// A JSON reply from the identity platform: UTF-8 JSON that no cache may keep.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, JSON_UTF8),
            (CACHE_CONTROL, "no-store, no-cache"),
            (PRAGMA, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// An HTML page for a browser.
pub(crate) fn html(status: StatusCode, page: String) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-store, no-cache"),
        ],
        page,
    )
        .into_response()
}

/// A `302 Found` to `location`.
pub(crate) fn found(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (axum::http::header::LOCATION, location),
            (CACHE_CONTROL, "no-store, no-cache"),
        ],
    )
        .into_response()
}

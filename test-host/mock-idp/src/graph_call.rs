//! One Graph request's identity: the `request-id` the server assigns and the
//! `client-request-id` the client sent (echoed, or the request id when none was sent), on
//! every answer and inside every error body.

use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::errors::GraphError;
use crate::{ids, reply};

/// The ids of one Graph request.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    /// Assigned by the server.
    pub request_id: String,
    /// Sent by the client, or the request id.
    pub client_request_id: String,
}

impl Call {
    /// The ids for a request with these headers.
    pub fn of(headers: &HeaderMap) -> Self {
        let request_id = ids::guid();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 100)
            .map_or_else(|| request_id.clone(), str::to_owned);
        Self {
            request_id,
            client_request_id,
        }
    }

    /// A Graph error answer.
    pub fn fail(&self, e: GraphError) -> Response {
        e.response_for(&self.request_id, &self.client_request_id)
    }

    /// A Graph JSON entity.
    pub fn json(&self, status: StatusCode, body: &serde_json::Value) -> Response {
        let mut r = reply::json(status, body);
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(reply::GRAPH_JSON));
        self.stamp(r)
    }

    /// A JSON entity with a `Location` header.
    pub fn json_at(
        &self,
        status: StatusCode,
        body: &serde_json::Value,
        location: &str,
    ) -> Response {
        let mut r = self.json(status, body);
        if let Ok(v) = HeaderValue::from_str(location) {
            r.headers_mut().insert(LOCATION, v);
        }
        r
    }

    /// An answer with no body (`202 Accepted`, `204 No Content`).
    pub fn empty(&self, status: StatusCode) -> Response {
        self.stamp(status.into_response())
    }

    fn stamp(&self, mut r: Response) -> Response {
        for (name, value) in [
            ("request-id", &self.request_id),
            ("client-request-id", &self.client_request_id),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                r.headers_mut().insert(name, v);
            }
        }
        r
    }
}

//! The errors the host itself makes while answering a request, and their wire shape.

use atrs_host_sdk::{ErrorKind, PluginError};
use serde_json::{json, Value};

use crate::{catalog::CatalogError, isolation::RunnerError, store::StoreError, wire};

/// Why the runtime refused or could not answer a request, before or beside the plugin.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The text is not one JSON object.
    #[error("The request is not a JSON object: {detail}.")]
    NotJson {
        /// What the parser said.
        detail: String,
    },
    /// The object has no `request` naming what to do.
    #[error("The request names no `request`.")]
    NoRequest,
    /// The request is not one this runtime knows.
    #[error("The request `{name}` is unknown to this runtime (protocol {version}).", version = super::PROTOCOL_VERSION)]
    UnknownRequest {
        /// The name given.
        name: String,
    },
    /// A field is missing or of the wrong type.
    #[error("The `{request}` request is malformed: {detail}.")]
    Malformed {
        /// The request.
        request: String,
        /// What is wrong.
        detail: String,
    },
    /// No session or delivery has that handle.
    #[error("There is no {what} {handle} (it ended and was released, or never existed).")]
    NoHandle {
        /// `verification session` or `delivery`.
        what: &'static str,
        /// The handle.
        handle: u64,
    },
    /// `save` before the session verified.
    #[error("The verification session {session} has not verified (it is {state}).")]
    NotVerified {
        /// The session.
        session: u64,
        /// Its state now.
        state: &'static str,
    },
    /// `save` onto a saved name without `replace`.
    #[error("An account named \"{account}\" is already saved.")]
    AlreadySaved {
        /// The name.
        account: String,
    },
    /// No saved account has that name.
    #[error("There is no saved account named \"{account}\".")]
    NoAccount {
        /// The name.
        account: String,
    },
    /// Several plugins have an account of that name.
    #[error("Several integrations have an account named \"{account}\": {}.", plugins.join(", "))]
    AmbiguousAccount {
        /// The name.
        account: String,
        /// The plugins that have one.
        plugins: Vec<String>,
    },
    /// The plugin does not offer the kind of delivery asked for.
    #[error("The {plugin} integration cannot deliver {kind} (it offers: {offered}).")]
    DeliveryKind {
        /// The plugin.
        plugin: String,
        /// What was asked.
        kind: &'static str,
        /// What it offers.
        offered: String,
    },
    /// The plugin does not offer the verification method asked for (interface 1.2).
    #[error("The {plugin} integration does not verify with `{asked}` (it offers: {}).", offered.join(", "))]
    MethodNotOffered {
        /// The plugin.
        plugin: String,
        /// What was asked.
        asked: &'static str,
        /// What it offers, in its order.
        offered: Vec<&'static str>,
    },
    /// The plugins folder.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The account store.
    #[error("The account store failed: {0}.")]
    Store(#[from] StoreError),
    /// The plugin (or the host's bound on a call into it).
    #[error("{}", .0.message())]
    Plugin(#[from] PluginError),
    /// An isolated plugin's runner stopped or did not answer.
    #[error(transparent)]
    Runner(#[from] RunnerError),
    /// An error an isolated plugin's runner answered, passed on as it came.
    #[error("{}", .0["message"].as_str().unwrap_or("The plugin's runner refused."))]
    Remote(Value),
}

impl ProtocolError {
    /// The error's kind, from the SDK's list, plus `invalid_request` for a request the
    /// runtime could not read.
    pub fn kind(&self) -> &'static str {
        match self {
            ProtocolError::NotJson { .. }
            | ProtocolError::NoRequest
            | ProtocolError::UnknownRequest { .. }
            | ProtocolError::Malformed { .. } => "invalid_request",
            ProtocolError::NoHandle { .. }
            | ProtocolError::NotVerified { .. }
            | ProtocolError::AlreadySaved { .. }
            | ProtocolError::NoAccount { .. }
            | ProtocolError::AmbiguousAccount { .. }
            | ProtocolError::Catalog(_) => ErrorKind::InvalidInput.as_str(),
            ProtocolError::DeliveryKind { .. } | ProtocolError::MethodNotOffered { .. } => {
                ErrorKind::Unsupported.as_str()
            }
            ProtocolError::Store(e) if e.is_lock_wait() => ErrorKind::TimedOut.as_str(),
            ProtocolError::Store(_) => ErrorKind::Internal.as_str(),
            ProtocolError::Plugin(e) => e.kind().as_str(),
            ProtocolError::Runner(_) => ErrorKind::Internal.as_str(),
            ProtocolError::Remote(e) => match e["kind"].as_str() {
                Some("invalid_request") => "invalid_request",
                _ => ErrorKind::Internal.as_str(),
            },
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> Option<String> {
        let text = match self {
            ProtocolError::NotJson { .. } | ProtocolError::NoRequest => {
                "Send one JSON object such as {\"request\": \"hello\"}.".to_owned()
            }
            ProtocolError::UnknownRequest { .. } => {
                "Send {\"request\": \"hello\"} to see the protocol version and the requests this runtime knows.".to_owned()
            }
            ProtocolError::Malformed { .. } => {
                "Correct the field named above; the protocol's schema lists every request's fields.".to_owned()
            }
            ProtocolError::NoHandle { .. } => {
                "Start a new one; handles are released by `verify.end` / `delivery.end` and when the runtime closes.".to_owned()
            }
            ProtocolError::NotVerified { .. } => {
                "Poll the session until its state is `verified`, then save.".to_owned()
            }
            ProtocolError::AlreadySaved { .. } => {
                "Choose another account name, or send `replace: true` to replace the saved account.".to_owned()
            }
            ProtocolError::NoAccount { .. } => {
                "Send {\"request\": \"accounts\"} to see the saved accounts.".to_owned()
            }
            ProtocolError::AmbiguousAccount { .. } => {
                "Name the plugin in `plugin`.".to_owned()
            }
            ProtocolError::DeliveryKind { .. } => {
                "Update the plugin to a version that supports it, or use an account of another integration.".to_owned()
            }
            ProtocolError::MethodNotOffered { offered, .. } => format!(
                "Send `method` as one of: {} (the `form` answer lists them in `verify_methods`).",
                offered.join(", ")
            ),
            ProtocolError::Catalog(e) => e.hint().to_owned(),
            ProtocolError::Store(e) => e.hint(),
            ProtocolError::Plugin(e) => return e.hint().map(str::to_owned),
            ProtocolError::Runner(e) => e.hint(),
            ProtocolError::Remote(e) => return e["hint"].as_str().map(str::to_owned),
        };
        Some(text)
    }

    /// The wire shape: `kind`, `origin`, `message`, `hint` and the plugin's details.
    pub fn to_json(&self) -> Value {
        match self {
            ProtocolError::Plugin(e) => wire::error_json(e),
            ProtocolError::Remote(e) => e.clone(),
            other => json!({
                "kind": other.kind(),
                "origin": "host",
                "message": other.to_string(),
                "hint": other.hint(),
                "field": Value::Null,
                "provider_code": Value::Null,
                "trace_id": Value::Null,
                "correlation_id": Value::Null,
            }),
        }
    }
}

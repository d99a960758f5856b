//! Service calls: the host services a plugin uses — the account store, log lines,
//! opening a URL — as JSON calls and replies, for plugins whose host is across a
//! boundary (the C library's callback, a runner's pipe). [`client`] makes the calls on
//! the plugin's side; [`server`] answers them from a host's own services.
//!
//! A call is an object naming itself in `call`; a reply is an object; a refused call
//! gives a [`Refusal`] (`kind`, `message`, `hint`).

pub mod client;
pub mod sent_generation;
pub mod server;

use std::sync::Arc;

use serde_json::{json, Value};

pub use client::hooks_over;
pub use sent_generation::SentGeneration;
pub use server::ServiceServer;

/// Makes one service call: the reply, or why it was refused.
pub type Caller = Arc<dyn Fn(Value) -> Result<Value, Refusal> + Send + Sync>;

/// A refused service call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error kind, when the server named one (`timed_out` for a lock held too long).
    pub kind: Option<String>,
    /// What went wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Refusal {
    /// A refusal with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Refusal {
            kind: None,
            message: message.into(),
            hint: None,
        }
    }

    /// Reads the `error` of a reply, or says `fallback`.
    pub fn from_reply(reply: &Value, fallback: impl FnOnce() -> String) -> Self {
        let error = &reply["error"];
        Refusal {
            kind: error["kind"].as_str().map(str::to_owned),
            message: error["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(fallback),
            hint: error["hint"].as_str().map(str::to_owned),
        }
    }

    /// The reply that carries it.
    pub fn to_reply(&self) -> Value {
        json!({"error": {"kind": self.kind, "message": self.message, "hint": self.hint}})
    }
}

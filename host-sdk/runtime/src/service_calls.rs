//! Service calls: the host services a plugin uses — the account store, log lines,
//! opening a URL — as JSON calls and replies, for plugins whose host is across a
//! boundary (the C library's callback, a runner's pipe). [`client`] makes the calls on
//! the plugin's side; [`server`] answers them from a host's own services.
//!
//! A call is an object naming itself in `call`; a reply is an object; a refused call
//! gives a [`Refusal`] (`kind`, `message`, `hint`, and for some store errors `store`:
//! the error itself, see [`store_refusal`]).

pub mod client;
pub mod sent_generation;
pub mod server;
pub mod store_refusal;

use std::sync::Arc;

use serde_json::{json, Value};

pub use client::hooks_over;
pub use sent_generation::SentGeneration;
pub use server::ServiceServer;
pub use store_refusal::StoreRefusal;

/// Makes one service call: the reply, or why it was refused.
pub type Caller = Arc<dyn Fn(Value) -> Result<Value, Refusal> + Send + Sync>;

/// A refused service call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error kind, when the server named one (`timed_out` for a lock held too long,
    /// `network` for a database server out of reach).
    pub kind: Option<String>,
    /// What went wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// The store error itself, when the server sent it (optional: older servers and
    /// hosts' own stores may not).
    pub store: Option<Box<StoreRefusal>>,
}

impl Refusal {
    /// A refusal with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Refusal {
            kind: None,
            message: message.into(),
            hint: None,
            store: None,
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
            store: StoreRefusal::from_json(&error["store"]).map(Box::new),
        }
    }

    /// The reply that carries it (`store` only when there is one).
    pub fn to_reply(&self) -> Value {
        let mut error = json!({"kind": self.kind, "message": self.message, "hint": self.hint});
        if let Some(store) = &self.store {
            error["store"] = json!(store);
        }
        json!({ "error": error })
    }
}

//! A command's failure: what went wrong, how to fix it, and the exit code.

use atrs_host_sdk::{loader::CallFailure, FieldError, PluginError};
use serde_json::{json, Value};

use crate::{
    catalog::CatalogError,
    exit::Exit,
    store::{SecretServiceError, StoreError},
};

/// Why a command failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// The exit code it ends with.
    pub exit: Exit,
    /// What went wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// The plugin error behind it, if any (kind, field, provider code, ids).
    pub plugin_error: Option<PluginError>,
    /// Per-field problems, for invalid forms.
    pub field_errors: Vec<FieldError>,
}

impl CommandError {
    /// A failure ending with `exit`.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CommandError {
            exit,
            message: message.into(),
            hint: None,
            plugin_error: None,
            field_errors: Vec::new(),
        }
    }

    /// Invalid usage or input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::InvalidInput, message)
    }

    /// Adds how to fix it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An invalid form, with its per-field problems.
    pub fn invalid_form(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        let mut e = Self::usage(format!(
            "The form has {n} problem{}.",
            if n == 1 { "" } else { "s" }
        ))
        .with_hint("Correct the fields named above and try again.");
        e.field_errors = errors;
        e
    }

    /// The JSON shape of the error inside a result line.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "message": self.message,
            "hint": self.hint,
            "exit_code": self.exit.code(),
        });
        if let Some(p) = &self.plugin_error {
            v["kind"] = json!(p.kind().as_str());
            v["origin"] = json!(if CallFailure::of(p).is_host_side() {
                "host"
            } else {
                "plugin"
            });
            v["field"] = json!(p.field());
            v["provider_code"] = json!(p.provider_code());
            v["trace_id"] = json!(p.trace_id());
            v["correlation_id"] = json!(p.correlation_id());
        }
        if !self.field_errors.is_empty() {
            v["field_errors"] = field_errors_json(&self.field_errors);
        }
        v
    }
}

/// Per-field errors as JSON.
pub fn field_errors_json(errors: &[FieldError]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|e| json!({"field": e.field(), "message": e.message(), "hint": e.hint()}))
            .collect(),
    )
}

impl From<PluginError> for CommandError {
    fn from(e: PluginError) -> Self {
        CommandError {
            exit: Exit::for_kind(e.kind()),
            message: e.message().to_owned(),
            hint: e.hint().map(str::to_owned),
            plugin_error: Some(e),
            field_errors: Vec::new(),
        }
    }
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        let hint = e.hint();
        let exit = match e {
            StoreError::Unreachable { .. }
            | StoreError::SecretService(
                SecretServiceError::NoSessionBus { .. } | SecretServiceError::NoService { .. },
            ) => Exit::Unavailable,
            _ if e.is_lock_wait() => Exit::CancelledOrTimedOut,
            _ => Exit::Failure,
        };
        CommandError::new(exit, format!("The account store failed: {e}.")).with_hint(hint)
    }
}

impl From<CatalogError> for CommandError {
    fn from(e: CatalogError) -> Self {
        let hint = e.hint();
        CommandError::usage(e.to_string()).with_hint(hint)
    }
}

//! The error that crosses the plugin boundary: one stable struct for every failure.

// abi_stable's StableAbi derive for non-exhaustive enums puts trait impls inside
// a const block, which this lint flags; the code is abi_stable's, not ours.
#![allow(non_local_definitions)]

use std::fmt;

use abi_stable::{
    std_types::{RBox, ROption, RString, RVec},
    StableAbi,
};

use crate::form::{FieldError, KeyValue};

/// What kind of failure a [`PluginError`] reports; hosts branch on this, never on text.
///
/// Non-exhaustive across the ABI: a newer plugin may send a kind this host does not
/// know, which [`PluginError::kind`] reports as [`ErrorKind::Internal`].
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
// 8 bytes of storage leaves room for data-carrying kinds in later 1.x versions.
#[sabi(kind(WithNonExhaustive(size = [u64; 1], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value the user entered is wrong; the message names the field.
    InvalidInput,
    /// The provider could not be reached, or answered with something unreadable.
    Network,
    /// The user, an administrator or the provider refused the sign-in.
    AuthorizationRefused,
    /// The provider answered with an error of its own (see the provider code).
    Provider,
    /// The user cancelled.
    Cancelled,
    /// A deadline passed: a code expired, or a call took too long.
    TimedOut,
    /// The plugin does not support what was asked of it.
    Unsupported,
    /// A bug: a panic, or a state that should not happen.
    Internal,
}

impl ErrorKind {
    /// A short, stable, lower-case name for machine output (`"invalid_input"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Network => "network",
            ErrorKind::AuthorizationRefused => "authorization_refused",
            ErrorKind::Provider => "provider",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::TimedOut => "timed_out",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure reported across the plugin boundary: what went wrong and what to do.
///
/// `message` is for the user and says what went wrong; `hint` says how to fix it.
/// Neither may contain a secret. Provider codes and trace ids are kept so support
/// can find the request in the provider's logs. One pointer wide: the fields live in
/// an `RBox`, so `Result<_, PluginError>` stays small.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq)]
pub struct PluginError {
    fields: RBox<ErrorFields>,
}

/// The fields of a [`PluginError`], frozen for interface 1.x.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq)]
struct ErrorFields {
    kind: ErrorKind_NE,
    message: RString,
    hint: ROption<RString>,
    field: ROption<RString>,
    provider_code: ROption<RString>,
    trace_id: ROption<RString>,
    correlation_id: ROption<RString>,
    /// Forward-compatible extra facts (for example a provider `suberror`).
    details: RVec<KeyValue>,
}

/// The detail key naming the call that panicked (see [`PluginError::is_panic`]).
pub(crate) const PANICKED_IN: &str = "panicked_in";

impl PluginError {
    /// An error of `kind` with a message for the user.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError {
            fields: RBox::new(ErrorFields {
                kind: ErrorKind_NE::new(kind),
                message: RString::from(message.into()),
                hint: ROption::RNone,
                field: ROption::RNone,
                provider_code: ROption::RNone,
                trace_id: ROption::RNone,
                correlation_id: ROption::RNone,
                details: RVec::new(),
            }),
        }
    }

    /// [`ErrorKind::InvalidInput`]: a value the user entered is wrong. Name the field
    /// with [`with_field`](Self::with_field) (a [`FieldError`] converts to this with
    /// its field and hint: `PluginError::from(field_error)` or `?`).
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// [`ErrorKind::Network`]: the provider could not be reached, or answered with
    /// something unreadable (a refused connection, a timeout of the connection, a
    /// certificate the system does not trust, a body that is not what the API sends).
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Network, message)
    }

    /// [`ErrorKind::AuthorizationRefused`]: the user, an administrator or the provider
    /// refused the sign-in or the access asked for (declined consent, a revoked grant).
    pub fn authorization_refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AuthorizationRefused, message)
    }

    /// [`ErrorKind::Provider`]: the provider answered with an error of its own; keep
    /// its code with [`with_provider_code`](Self::with_provider_code) and its request
    /// ids with [`with_trace_id`](Self::with_trace_id) /
    /// [`with_correlation_id`](Self::with_correlation_id).
    pub fn provider(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Provider, message)
    }

    /// [`ErrorKind::Cancelled`]: the user (or the host, on close) cancelled.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Cancelled, message)
    }

    /// [`ErrorKind::TimedOut`]: a deadline passed (a code expired, a request or the
    /// user took too long).
    pub fn timed_out(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::TimedOut, message)
    }

    /// [`ErrorKind::Unsupported`]: the plugin does not support what was asked (a
    /// verification method, a delivery kind).
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// [`ErrorKind::Internal`]: a bug inside the plugin or host, a state that should
    /// not happen.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Adds how to fix it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.fields.hint = ROption::RSome(RString::from(hint.into()));
        self
    }

    /// Names the form field the error concerns.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.fields.field = ROption::RSome(RString::from(field.into()));
        self
    }

    /// Keeps the provider's own error code (for example `AADSTS70020`).
    pub fn with_provider_code(mut self, code: impl Into<String>) -> Self {
        self.fields.provider_code = ROption::RSome(RString::from(code.into()));
        self
    }

    /// Keeps the provider's trace id.
    pub fn with_trace_id(mut self, id: impl Into<String>) -> Self {
        self.fields.trace_id = ROption::RSome(RString::from(id.into()));
        self
    }

    /// Keeps the provider's correlation id.
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.fields.correlation_id = ROption::RSome(RString::from(id.into()));
        self
    }

    /// Adds an extra named fact (never a secret).
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.details.push(KeyValue::new(key, value));
        self
    }

    /// `self` without the details named `key`.
    #[cfg(feature = "host")]
    pub(crate) fn without_detail(mut self, key: &str) -> Self {
        self.fields.details.retain(|kv| kv.key() != key);
        self
    }

    /// The kind; a kind this host does not know is reported as [`ErrorKind::Internal`].
    pub fn kind(&self) -> ErrorKind {
        self.fields
            .kind
            .as_enum()
            .copied()
            .unwrap_or(ErrorKind::Internal)
    }

    /// What went wrong, for the user.
    pub fn message(&self) -> &str {
        &self.fields.message
    }

    /// How to fix it, when the plugin knows.
    pub fn hint(&self) -> Option<&str> {
        self.fields.hint.as_ref().map(RString::as_str).into_option()
    }

    /// The form field concerned, if any.
    pub fn field(&self) -> Option<&str> {
        self.fields
            .field
            .as_ref()
            .map(RString::as_str)
            .into_option()
    }

    /// The provider's own code, if the provider sent one.
    pub fn provider_code(&self) -> Option<&str> {
        self.fields
            .provider_code
            .as_ref()
            .map(RString::as_str)
            .into_option()
    }

    /// The provider's trace id, if any.
    pub fn trace_id(&self) -> Option<&str> {
        self.fields
            .trace_id
            .as_ref()
            .map(RString::as_str)
            .into_option()
    }

    /// The provider's correlation id, if any.
    pub fn correlation_id(&self) -> Option<&str> {
        self.fields
            .correlation_id
            .as_ref()
            .map(RString::as_str)
            .into_option()
    }

    /// Extra named facts.
    pub fn details(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.details.iter().map(|kv| (kv.key(), kv.value()))
    }

    /// Whether this reports a panic caught at the boundary (by this SDK or, from
    /// plugins built before the `panicked_in` detail existed, by its message).
    pub fn is_panic(&self) -> bool {
        self.kind() == ErrorKind::Internal
            && (self.details().any(|(k, _)| k == PANICKED_IN)
                || self.message().starts_with("The plugin panicked in `"))
    }
}

impl fmt::Debug for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginError")
            .field("kind", &self.kind())
            .field("message", &self.message())
            .field("hint", &self.hint())
            .field("field", &self.field())
            .field("provider_code", &self.provider_code())
            .field("trace_id", &self.trace_id())
            .field("correlation_id", &self.correlation_id())
            .finish()
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())?;
        if let Some(hint) = self.hint() {
            write!(f, " {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}

/// A problem with one field as an [`ErrorKind::InvalidInput`] error naming that field,
/// with the field error's message and hint: `validate`'s answer, returned from `save`
/// or `start_verification` with `?`.
impl From<FieldError> for PluginError {
    fn from(error: FieldError) -> Self {
        let converted = PluginError::invalid_input(error.message()).with_field(error.field());
        match error.hint() {
            Some(hint) => converted.with_hint(hint),
            None => converted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_keeps_every_part() {
        let e = PluginError::new(ErrorKind::Provider, "The device code expired.")
            .with_hint("Click Verify again.")
            .with_field("tenant_id")
            .with_provider_code("AADSTS70020")
            .with_trace_id("t-1")
            .with_correlation_id("c-1")
            .with_detail("suberror", "bad_token");
        assert_eq!(e.kind(), ErrorKind::Provider);
        assert_eq!(e.message(), "The device code expired.");
        assert_eq!(e.hint(), Some("Click Verify again."));
        assert_eq!(e.field(), Some("tenant_id"));
        assert_eq!(e.provider_code(), Some("AADSTS70020"));
        assert_eq!(e.trace_id(), Some("t-1"));
        assert_eq!(e.correlation_id(), Some("c-1"));
        assert_eq!(
            e.details().collect::<Vec<_>>(),
            vec![("suberror", "bad_token")]
        );
        assert_eq!(
            e.to_string(),
            "The device code expired. Click Verify again."
        );
    }

    #[test]
    fn every_kind_has_a_shortcut() {
        type Shortcut = fn(&'static str) -> PluginError;
        let shortcuts: [(Shortcut, ErrorKind); 8] = [
            (|m| PluginError::invalid_input(m), ErrorKind::InvalidInput),
            (|m| PluginError::network(m), ErrorKind::Network),
            (
                |m| PluginError::authorization_refused(m),
                ErrorKind::AuthorizationRefused,
            ),
            (|m| PluginError::provider(m), ErrorKind::Provider),
            (|m| PluginError::cancelled(m), ErrorKind::Cancelled),
            (|m| PluginError::timed_out(m), ErrorKind::TimedOut),
            (|m| PluginError::unsupported(m), ErrorKind::Unsupported),
            (|m| PluginError::internal(m), ErrorKind::Internal),
        ];
        for (shortcut, kind) in shortcuts {
            let e = shortcut("What went wrong.");
            assert_eq!(e, PluginError::new(kind, "What went wrong."));
            assert_eq!((e.kind(), e.message()), (kind, "What went wrong."));
            assert_eq!((e.hint(), e.field()), (None, None));
        }
    }

    #[test]
    fn a_field_error_becomes_invalid_input_naming_its_field() {
        let field = FieldError::new(
            "tenant_id",
            "Tenant ID is neither a GUID nor a domain name.",
        )
        .with_hint("Copy it from the Entra admin center.");
        let e = PluginError::from(field);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some("tenant_id"));
        assert_eq!(
            e.message(),
            "Tenant ID is neither a GUID nor a domain name."
        );
        assert_eq!(e.hint(), Some("Copy it from the Entra admin center."));

        // Without a hint, none is made up; and `?` converts.
        fn check(value: &str) -> Result<(), FieldError> {
            match value.is_empty() {
                true => Err(FieldError::new("url", "Enter the URL.")),
                false => Ok(()),
            }
        }
        fn save(value: &str) -> Result<(), PluginError> {
            check(value)?;
            Ok(())
        }
        let e = save("").unwrap_err();
        assert_eq!((e.field(), e.hint()), (Some("url"), None));
        assert_eq!(e.to_string(), "Enter the URL.");
        assert!(save("https://hooks.invalid").is_ok());
    }

    #[test]
    fn results_stay_small() {
        assert_eq!(
            std::mem::size_of::<PluginError>(),
            std::mem::size_of::<usize>() * 2
        );
    }

    #[test]
    fn kind_names_are_stable() {
        assert_eq!(
            ErrorKind::AuthorizationRefused.as_str(),
            "authorization_refused"
        );
        assert_eq!(ErrorKind::TimedOut.to_string(), "timed_out");
    }
}

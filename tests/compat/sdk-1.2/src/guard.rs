//! Keeps panics on their own side of the boundary.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{PluginError, PANICKED_IN};

/// Runs `f`, turning a panic into an internal error that names `call` and `side`.
///
/// The panic payload is deliberately not copied into the error: it may hold data
/// (even a secret) that must not reach error text.
pub(crate) fn guarded<R>(
    side: &str,
    call: &str,
    f: impl FnOnce() -> Result<R, PluginError>,
) -> Result<R, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(_) => Err(panicked(side, call)),
    }
}

/// The error reported for a panic in `call` on `side`.
pub(crate) fn panicked(side: &str, call: &str) -> PluginError {
    PluginError::internal(format!("The {side} panicked in `{call}`."))
        .with_hint(format!(
            "This is a bug in the {side}; report it to its vendor. Nothing else was affected."
        ))
        .with_detail(PANICKED_IN, call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn panic_becomes_internal_error_without_payload() {
        let r: Result<(), _> = guarded("plugin", "describe", || panic!("token=abc123"));
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert!(e.message().contains("describe"));
        assert!(!format!("{e:?} {e}").contains("abc123"));
        assert!(e.is_panic());
    }

    #[test]
    fn ok_and_err_pass_through() {
        assert_eq!(guarded("plugin", "x", || Ok(5)).unwrap(), 5);
        let e = guarded::<()>("plugin", "x", || Err(PluginError::unsupported("no"))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}

//! Redaction of secrets: what `Debug` prints in place of a secret.

use std::fmt;

/// Printed in place of every secret.
pub(crate) const REDACTED: Redacted = Redacted;

/// A stand-in that prints `<redacted>`.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

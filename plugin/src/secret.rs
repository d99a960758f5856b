//! A string that never shows itself: client secrets, tokens, codes, verifiers.

use std::fmt;

use zeroize::Zeroize;

/// A secret value; `Debug` and `Display` print `<redacted>`, and its bytes are overwritten
/// with zeros when it is dropped (so a freed buffer does not keep it).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Zeroize for Secret {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("s3cr3t~value");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "s3cr3t~value");
    }

    #[test]
    fn zeroizing_empties_it() {
        let mut s = Secret::new("s3cr3t~value");
        s.zeroize();
        assert_eq!(s.expose(), "");
    }
}

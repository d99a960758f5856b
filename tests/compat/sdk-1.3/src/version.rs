//! The interface version: what the loader compares before calling into a plugin.

/// The version of the plugin interface this crate describes.
///
/// Set by hand, never inherited: a plugin built against `1.x` loads in every `1.y`
/// host, and a change that breaks that rule needs `2.0.0`. See the crate docs for the
/// evolution rules.
pub const INTERFACE_VERSION: &str = "1.3.0";

/// The major part of [`INTERFACE_VERSION`]: plugins of another major are refused.
pub const INTERFACE_MAJOR: u32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_matches_the_version_string() {
        let major: u32 = INTERFACE_VERSION
            .split('.')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(major, INTERFACE_MAJOR);
        assert_eq!(INTERFACE_VERSION, env!("CARGO_PKG_VERSION"));
    }
}

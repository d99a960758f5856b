//! The plugin's version, as the manifest shows it and saved settings record it.

/// The plugin's version: the one a release build stamps with `ATRS_OFFICE365_VERSION`
/// (read at compile time), else Cargo's. The drop-in update test builds this source as
/// two releases that way (see `tests/src/releases.rs`).
pub const PLUGIN_VERSION: &str = match option_env!("ATRS_OFFICE365_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
};

//! Which plugin this is and which release: its id and version.

/// The plugin id, unique among integrations.
pub const PLUGIN_ID: &str = "office365";

/// The plugin's version: the one a release build stamps with `ATRS_OFFICE365_VERSION`
/// (read at compile time), else Cargo's. The drop-in update test builds this source as
/// two releases that way (see `tests/src/releases.rs`).
pub const PLUGIN_VERSION: &str = match option_env!("ATRS_OFFICE365_VERSION") {
    Some(version) => version,
    None => env!("CARGO_PKG_VERSION"),
};

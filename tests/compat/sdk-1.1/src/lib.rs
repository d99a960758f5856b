//! # atrs-host-sdk 1.1 (compatibility matrix only)
//!
//! Interface 1.0 plus what a minor version may add: [`abi::IntegrationAbi::help_url`]
//! (appended after the last 1.0 method, with a default) and [`FieldKind::Url`]
//! (appended to a non-exhaustive enum). The changed modules live here; every other
//! module is the frozen 1.0 file, included by path — except `compatibility`, the live
//! SDK's rule for loading plugins built against an older minor version, which every
//! 1.y host needs and which the matrix exists to prove.

#![warn(missing_docs)]

pub mod abi;
#[path = "../../../../host-sdk/src/compatibility.rs"]
mod compatibility;
#[path = "../../sdk-1.0/src/error.rs"]
mod error;
mod form;
#[path = "../../sdk-1.0/src/guard.rs"]
mod guard;
#[path = "../../sdk-1.0/src/host.rs"]
mod host;
pub mod loader;
#[path = "../../sdk-1.0/src/manifest.rs"]
mod manifest;
pub mod plugin;
#[path = "../../sdk-1.0/src/preflight.rs"]
mod preflight;
#[path = "../../sdk-1.0/src/secret.rs"]
mod secret;
#[path = "../../sdk-1.0/src/testing.rs"]
pub mod testing;
#[path = "../../sdk-1.0/src/verify.rs"]
mod verify;
mod version;

pub use error::{ErrorKind, ErrorKind_NE, PluginError};
pub use form::{
    ChoiceOption, FieldError, FieldKind, FieldKind_NE, FieldValue, FormField, FormValues, KeyValue,
};
pub use host::{Host, HostServices, LogLevel, LogLevel_NE, Settings};
pub use manifest::Manifest;
pub use plugin::{FixedSession, Integration, VerificationSession};
pub use verify::{
    AccessToken, MissingScope, SessionState, SessionState_NE, VerifiedAccount, VerifyMethod,
    VerifyMethod_NE,
};
pub use version::{INTERFACE_MAJOR, INTERFACE_VERSION};

//! # atrs-host-sdk 2.0 (compatibility matrix only)
//!
//! Interface 1.1 with one breaking change: [`Manifest`] gains a `homepage` field. Its
//! own modules are `version` and `manifest`; the rest are interface 1.1's (and 1.0's),
//! included by path.

#![warn(missing_docs)]

#[path = "../../sdk-1.1/src/abi.rs"]
pub mod abi;
#[path = "../../../../host-sdk/src/compatibility.rs"]
mod compatibility;
#[path = "../../sdk-1.0/src/error.rs"]
mod error;
#[path = "../../sdk-1.1/src/form.rs"]
mod form;
#[path = "../../sdk-1.0/src/guard.rs"]
mod guard;
#[path = "../../sdk-1.0/src/host.rs"]
mod host;
#[path = "../../sdk-1.1/src/loader.rs"]
pub mod loader;
mod manifest;
#[path = "../../sdk-1.1/src/plugin.rs"]
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

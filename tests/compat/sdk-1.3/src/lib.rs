//! # atrs-host-sdk 1.2 (compatibility matrix only)
//!
//! The released interface 1.1 plus what a minor version may add:
//! [`abi::IntegrationAbi::help_url`] (appended after the last 1.1 method, with a
//! default) and [`FieldKind::Url`] (appended to a non-exhaustive enum). The changed
//! modules live here; every other module is the frozen 1.1 file, included by path —
//! except `compatibility`, the live SDK's rule for loading plugins built against an
//! older minor version, which the next minor ships and the matrix exists to prove.

#![warn(missing_docs)]

pub mod abi;
#[path = "../../sdk-1.1/src/account.rs"]
mod account;
#[cfg(feature = "host")]
#[path = "../../sdk-1.1/src/bounded.rs"]
mod bounded;
#[cfg(feature = "host")]
#[path = "../../../../host-sdk/src/compatibility.rs"]
mod compatibility;
#[path = "../../sdk-1.1/src/delivery.rs"]
mod delivery;
#[path = "../../sdk-1.1/src/error.rs"]
mod error;
mod form;
#[path = "../../sdk-1.1/src/guard.rs"]
mod guard;
#[path = "../../sdk-1.1/src/host.rs"]
mod host;
#[cfg(feature = "host")]
pub mod loader;
#[path = "../../sdk-1.1/src/log_level.rs"]
mod log_level;
#[path = "../../sdk-1.1/src/manifest.rs"]
mod manifest;
pub mod plugin;
#[cfg(feature = "host")]
#[path = "../../sdk-1.1/src/preflight.rs"]
mod preflight;
#[path = "../../sdk-1.1/src/secret.rs"]
mod secret;
#[path = "../../sdk-1.1/src/session.rs"]
pub mod session;
#[path = "../../sdk-1.1/src/testing.rs"]
pub mod testing;
#[path = "../../sdk-1.1/src/verified_values.rs"]
mod verified_values;
#[path = "../../sdk-1.1/src/verify.rs"]
mod verify;
mod version;
#[cfg(feature = "host")]
#[path = "../../sdk-1.1/src/workers.rs"]
mod workers;

pub use account::{AccountHealth, HealthState, TokenGrant, TokenRequest, TokenSource};
pub use delivery::{
    Attachment, ConflictBehavior, DeliveryJob, DeliveryKind, DeliveryReceipt, DeliveryRequest,
    DeliveryState, FileRequest, MailRequest,
};
pub use error::{ErrorKind, PluginError};
pub use form::{
    form_problems, ChoiceOption, FieldError, FieldKind, FieldValue, FormField, FormValues,
    KeyValue, ACCOUNT_NAME,
};
pub use host::{Host, HostLock, HostServices, Secrets, Settings};
pub use log_level::LogLevel;
pub use manifest::Manifest;
pub use plugin::{form_checks, FixedSession, Integration, VerificationSession};
pub use verified_values::VerifiedValues;
pub use verify::{AccessToken, MissingScope, SessionState, VerifiedAccount, VerifyMethod};
pub use version::{INTERFACE_MAJOR, INTERFACE_VERSION};

/// Everything an integration's author uses, in one import:
/// `use atrs_host_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::session::{Reporter, Session, Success};
    pub use crate::{
        export_plugin, AccessToken, AccountHealth, DeliveryJob, DeliveryKind, DeliveryReceipt,
        DeliveryRequest, DeliveryState, FieldError, FieldKind, FormField, FormValues, HealthState,
        Host, Integration, Manifest, PluginError, SessionState, Settings, TokenGrant, TokenRequest,
        TokenSource, VerificationSession, VerifiedAccount, VerifiedValues, VerifyMethod,
        ACCOUNT_NAME,
    };
}

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
#[path = "../../sdk-1.1/src/bounded.rs"]
mod bounded;
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
pub mod loader;
#[path = "../../sdk-1.1/src/manifest.rs"]
mod manifest;
pub mod plugin;
#[path = "../../sdk-1.1/src/preflight.rs"]
mod preflight;
#[path = "../../sdk-1.1/src/secret.rs"]
mod secret;
#[path = "../../sdk-1.1/src/testing.rs"]
pub mod testing;
#[path = "../../sdk-1.1/src/verify.rs"]
mod verify;
mod version;

pub use account::{
    AccountHealth, HealthState, HealthState_NE, TokenGrant, TokenRequest, TokenSource,
    TokenSource_NE,
};
pub use delivery::{
    Attachment, ConflictBehavior, ConflictBehavior_NE, DeliveryJob, DeliveryKind, DeliveryKind_NE,
    DeliveryReceipt, DeliveryRequest, DeliveryState, FileRequest, MailRequest,
};
pub use error::{ErrorKind, ErrorKind_NE, PluginError};
pub use form::{
    form_problems, ChoiceOption, FieldError, FieldKind, FieldKind_NE, FieldValue, FormField,
    FormValues, KeyValue, ACCOUNT_NAME,
};
pub use host::{Host, HostLock, HostServices, LogLevel, LogLevel_NE, Secrets, Settings};
pub use manifest::Manifest;
pub use plugin::{FixedSession, Integration, VerificationSession};
pub use verify::{
    AccessToken, MissingScope, SessionState, SessionState_NE, VerifiedAccount, VerifyMethod,
    VerifyMethod_NE,
};
pub use version::{INTERFACE_MAJOR, INTERFACE_VERSION};

//! # atrs-host-sdk 2.0 (compatibility matrix only)
//!
//! The released interface 1.1 with one breaking change: [`Manifest`] gains a
//! `homepage` field. Its own modules are `version` and `manifest`; the rest are the
//! frozen 1.1 files, included by path.

#![warn(missing_docs)]

#[path = "../../sdk-1.1/src/abi/mod.rs"]
pub mod abi;
#[path = "../../sdk-1.1/src/account.rs"]
mod account;
#[path = "../../sdk-1.1/src/bounded.rs"]
mod bounded;
#[path = "../../sdk-1.1/src/compatibility.rs"]
mod compatibility;
#[path = "../../sdk-1.1/src/delivery.rs"]
mod delivery;
#[path = "../../sdk-1.1/src/error.rs"]
mod error;
#[path = "../../sdk-1.1/src/form.rs"]
mod form;
#[path = "../../sdk-1.1/src/guard.rs"]
mod guard;
#[path = "../../sdk-1.1/src/host.rs"]
mod host;
#[path = "../../sdk-1.1/src/loader.rs"]
pub mod loader;
mod manifest;
#[path = "../../sdk-1.1/src/plugin.rs"]
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

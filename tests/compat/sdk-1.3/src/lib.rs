//! # atrs-host-sdk 1.3 (compatibility matrix only)
//!
//! The released interface 1.2 plus what a minor version may add:
//! [`abi::IntegrationAbi::help_url`] (appended after the last 1.2 method, with a
//! default) and [`FieldKind::Url`] (appended to a non-exhaustive enum). The changed
//! modules live here; every other module is the frozen 1.2 file, included by path —
//! except `compatibility`, the live SDK's rule for loading plugins built against an
//! older minor version, which the next minor ships and the matrix exists to prove.

#![warn(missing_docs)]

pub mod abi;
#[path = "../../sdk-1.2/src/account.rs"]
mod account;
#[cfg(feature = "host")]
#[path = "../../sdk-1.2/src/bounded.rs"]
mod bounded;
#[cfg(feature = "host")]
#[path = "../../sdk-1.2/src/call_failure.rs"]
mod call_failure;
#[path = "../../sdk-1.2/src/cancel.rs"]
pub mod cancel;
#[cfg(feature = "host")]
#[path = "../../../../host-sdk/src/compatibility.rs"]
mod compatibility;
#[path = "../../sdk-1.2/src/delivering.rs"]
pub mod delivering;
#[path = "../../sdk-1.2/src/delivery.rs"]
mod delivery;
#[path = "../../sdk-1.2/src/error.rs"]
mod error;
mod form;
#[path = "../../sdk-1.2/src/form_store.rs"]
mod form_store;
#[path = "../../sdk-1.2/src/guard.rs"]
mod guard;
#[path = "../../sdk-1.2/src/host.rs"]
mod host;
#[cfg(feature = "host")]
pub mod loader;
#[path = "../../sdk-1.2/src/log_level.rs"]
mod log_level;
#[path = "../../sdk-1.2/src/manifest.rs"]
mod manifest;
pub mod plugin;
#[cfg(feature = "host")]
#[path = "../../sdk-1.2/src/plugin_file.rs"]
mod plugin_file;
#[cfg(feature = "host")]
#[path = "../../sdk-1.2/src/preflight.rs"]
mod preflight;
#[path = "../../sdk-1.2/src/secret.rs"]
mod secret;
#[path = "../../sdk-1.2/src/session.rs"]
pub mod session;
#[path = "../../sdk-1.2/src/setting_display.rs"]
mod setting_display;
#[cfg(feature = "host")]
#[path = "../../sdk-1.2/src/signing.rs"]
pub mod signing;
#[path = "../../sdk-1.2/src/testing.rs"]
pub mod testing;
#[path = "../../sdk-1.2/src/verified_values.rs"]
mod verified_values;
#[path = "../../sdk-1.2/src/verify.rs"]
mod verify;
mod version;
#[cfg(feature = "host")]
#[path = "../../sdk-1.2/src/workers.rs"]
mod workers;

pub use account::{AccountHealth, HealthState, TokenGrant, TokenRequest, TokenSource};
pub use delivery::{
    Attachment, ConflictBehavior, DeliveryJob, DeliveryKind, DeliveryReceipt, DeliveryRequest,
    DeliveryState, FileRequest, MailRequest, PushRequest,
};
pub use error::{ErrorKind, PluginError};
pub use form::{
    form_problems, ChoiceOption, FieldError, FieldKind, FieldValue, FormField, FormValues,
    KeyValue, ACCOUNT_NAME,
};
pub use form_store::FormStore;
pub use host::{Host, HostLock, HostServices, Secrets, Settings};
pub use log_level::LogLevel;
pub use manifest::Manifest;
pub use plugin::{form_checks, FixedSession, Integration, VerificationSession};
pub use setting_display::{SettingDisplay, ShownAs};
pub use verified_values::VerifiedValues;
pub use verify::{AccessToken, MissingScope, SessionState, VerifiedAccount, VerifyMethod};
pub use version::{INTERFACE_MAJOR, INTERFACE_VERSION};

/// Everything an integration's author uses, in one import:
/// `use atrs_host_sdk::prelude::*;`.
///
/// By concern: the plugin ([`Integration`], [`export_plugin!`], [`Manifest`], [`Host`]
/// and its [`Settings`], [`Secrets`], [`HostLock`], [`LogLevel`]); the form
/// ([`FormField`], [`FieldKind`], [`ChoiceOption`], [`FormValues`], [`FieldValue`],
/// [`FieldError`], [`form_checks`], [`form_problems`], [`ACCOUNT_NAME`]); errors
/// ([`PluginError`], [`ErrorKind`], [`KeyValue`]); verification ([`VerifyMethod`],
/// [`session::Session`], [`session::Reporter`], [`session::Success`],
/// [`session::FlowGuard`], [`VerificationSession`], [`FixedSession`],
/// [`SessionState`], [`VerifiedAccount`], [`VerifiedValues`]); cancelling
/// ([`cancel::CancelToken`], [`session::CANCEL_WAIT`]); storage by default
/// ([`FormStore`]); the saved account ([`AccessToken`], [`MissingScope`],
/// [`TokenRequest`], [`TokenSource`], [`TokenGrant`], [`AccountHealth`],
/// [`HealthState`], [`SettingDisplay`], [`ShownAs`]); delivery ([`DeliveryKind`],
/// [`DeliveryRequest`], [`MailRequest`], [`Attachment`], [`FileRequest`],
/// [`PushRequest`], [`ConflictBehavior`], [`DeliveryJob`], [`DeliveryState`],
/// [`DeliveryReceipt`], [`delivering::Delivery`], [`delivering::Progress`]). Unit tests
/// add [`testing`].
pub mod prelude {
    pub use crate::cancel::CancelToken;
    pub use crate::delivering::{Delivery, Progress};
    pub use crate::session::{FlowGuard, Reporter, Session, Success, CANCEL_WAIT};
    pub use crate::{
        export_plugin, form_checks, form_problems, AccessToken, AccountHealth, Attachment,
        ChoiceOption, ConflictBehavior, DeliveryJob, DeliveryKind, DeliveryReceipt,
        DeliveryRequest, DeliveryState, ErrorKind, FieldError, FieldKind, FieldValue, FileRequest,
        FixedSession, FormField, FormStore, FormValues, HealthState, Host, HostLock, Integration,
        KeyValue, LogLevel, MailRequest, Manifest, MissingScope, PluginError, PushRequest, Secrets,
        SessionState, SettingDisplay, Settings, ShownAs, TokenGrant, TokenRequest, TokenSource,
        VerificationSession, VerifiedAccount, VerifiedValues, VerifyMethod, ACCOUNT_NAME,
    };
}

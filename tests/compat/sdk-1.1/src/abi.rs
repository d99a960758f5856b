//! The raw ABI: the root module and the trait objects that cross the boundary.
//!
//! Authors and hosts normally use the safe wrappers ([`crate::Integration`],
//! [`crate::HostServices`], [`crate::loader`]); this module is what those wrappers
//! are built on, and what the loader checks the layout of.
//!
//! Evolution: every trait and the root module below mark the last item of 1.0 with
//! `#[sabi(last_prefix_field)]`. Items added in 1.x go *after* it, with a default body,
//! so a 1.0 plugin in a 1.y host (or the reverse) still loads, and calling a missing
//! method runs its default instead of panicking.

// abi_stable's #[sabi_trait] and #[derive(StableAbi)] generate items (the `_TO`
// types, `_Prefix` structs, `_NE` aliases) whose names and docs we do not control,
// and impls inside const blocks (non_local_definitions).
#![allow(non_camel_case_types, missing_docs, non_local_definitions)]

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_trait,
    sabi_types::VersionStrings,
    std_types::{RBox, ROption, RResult, RStr, RString, RVec},
    StableAbi,
};

use crate::{
    error::PluginError,
    form::{FieldError, FormField, FormValues, KeyValue},
    host::LogLevel_NE,
    manifest::Manifest,
    verify::{AccessToken, SessionState_NE, VerifyMethod_NE},
    version::INTERFACE_VERSION,
};

/// Services the host lends to a plugin: logging, opening a URL, two stores.
///
/// Both stores are scoped to one plugin by the host; settings are plain values,
/// secrets are kept apart (another file, owner-only) and never logged.
#[sabi_trait]
pub trait HostAbi: Send + Sync {
    /// Writes one line to the host's log.
    fn log(&self, level: LogLevel_NE, message: RStr<'_>);

    /// Opens `url` in the user's browser.
    fn open_url(&self, url: RStr<'_>) -> RResult<(), PluginError>;

    /// Names of the accounts that have saved settings.
    fn settings_list(&self) -> RResult<RVec<RString>, PluginError>;

    /// The saved settings of `account`, if any.
    fn settings_read(&self, account: RStr<'_>) -> RResult<ROption<RVec<KeyValue>>, PluginError>;

    /// Replaces the saved settings of `account`.
    fn settings_write(&self, account: RStr<'_>, values: RVec<KeyValue>)
        -> RResult<(), PluginError>;

    /// Deletes the saved settings of `account`.
    fn settings_remove(&self, account: RStr<'_>) -> RResult<(), PluginError>;

    /// The secret `name` of `account`, if any.
    fn secret_read(
        &self,
        account: RStr<'_>,
        name: RStr<'_>,
    ) -> RResult<ROption<RString>, PluginError>;

    /// Stores the secret `name` of `account`.
    fn secret_write(
        &self,
        account: RStr<'_>,
        name: RStr<'_>,
        value: RStr<'_>,
    ) -> RResult<(), PluginError>;

    /// Deletes every secret of `account`.
    ///
    /// Last method of interface 1.0: methods added in 1.x go below, with defaults.
    #[sabi(last_prefix_field)]
    fn secrets_remove(&self, account: RStr<'_>) -> RResult<(), PluginError>;
}

/// The host services as they cross the boundary.
pub type HostAbiBox = HostAbi_TO<'static, RBox<()>>;

/// A running verification, driven by the host without blocking its UI thread.
#[sabi_trait]
pub trait SessionAbi: Send + Sync {
    /// Waits up to `timeout_ms` for the state to change, then returns the current state.
    fn poll(&self, timeout_ms: u64) -> SessionState_NE;

    /// Hands over text the user pasted (the final browser address).
    fn submit(&self, pasted: RStr<'_>) -> RResult<(), PluginError>;

    /// Stops the verification at once; no request is sent after this returns.
    ///
    /// Last method of interface 1.0: methods added in 1.x go below, with defaults.
    #[sabi(last_prefix_field)]
    fn cancel(&self);
}

/// A verification session as it crosses the boundary.
pub type SessionAbiBox = SessionAbi_TO<'static, RBox<()>>;

/// One integration instance: what the Integrations menu drives.
#[sabi_trait]
pub trait IntegrationAbi: Send {
    /// The form fields, in display order.
    fn describe(&self) -> RResult<RVec<FormField>, PluginError>;

    /// Per-field problems with `values`; empty when the form is valid.
    fn validate(&self, values: &FormValues) -> RResult<RVec<FieldError>, PluginError>;

    /// Starts verifying `values` with `method`.
    fn start_verification(
        &mut self,
        values: &FormValues,
        method: VerifyMethod_NE,
    ) -> RResult<SessionAbiBox, PluginError>;

    /// Saves `values`; refused unless exactly these values were verified.
    fn save(&mut self, values: &FormValues) -> RResult<(), PluginError>;

    /// The saved values of `account`, for Edit (secrets left out).
    fn load_account(&self, account: RStr<'_>) -> RResult<FormValues, PluginError>;

    /// Deletes `account` with its secrets.
    fn remove_account(&mut self, account: RStr<'_>) -> RResult<(), PluginError>;

    /// An access token for the saved `account`.
    fn access_token(&self, account: RStr<'_>) -> RResult<AccessToken, PluginError>;

    /// Discards unsaved changes and releases what the instance holds.
    ///
    /// Last method of interface 1.0: methods added in 1.x go below, with defaults.
    #[sabi(last_prefix_field)]
    fn close(&mut self) -> RResult<(), PluginError>;

    /// Added in 1.1: where users read how to set this integration up.
    ///
    /// Appended after the last 1.0 method, with a default: a host calling it on a 1.0
    /// plugin (whose vtable lacks it) gets `RNone`.
    fn help_url(&self) -> ROption<RString> {
        ROption::RNone
    }
}

/// An integration instance as it crosses the boundary.
pub type IntegrationAbiBox = IntegrationAbi_TO<'static, RBox<()>>;

/// The root module every plugin library exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
pub struct PluginModule {
    /// The plugin's manifest.
    pub manifest: extern "C" fn() -> RResult<Manifest, PluginError>,

    /// Creates an integration instance that uses the given host services.
    ///
    /// Last field of interface 1.0: a 1.x host reads fields added later through
    /// optional accessors, so a 1.0 plugin (which lacks them) still loads.
    #[sabi(last_prefix_field)]
    pub instantiate: extern "C" fn(HostAbiBox) -> RResult<IntegrationAbiBox, PluginError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "atrs_plugin";
    const NAME: &'static str = "ATRS integration plugin";
    // The interface version, not the crate's package version by accident:
    // abi_stable refuses a library whose major differs from this one.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(INTERFACE_VERSION);
}

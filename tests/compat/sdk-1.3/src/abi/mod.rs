//! The raw ABI: the root module and the trait objects that cross the boundary.
//!
//! Authors and hosts normally use the safe wrappers ([`crate::Integration`],
//! [`crate::HostServices`], `crate::loader`); this module is what those wrappers
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

#[path = "../../../sdk-1.2/src/abi/account.rs"]
mod account;
#[path = "../../../sdk-1.2/src/abi/delivery.rs"]
mod delivery;

pub use account::{AccountHealthAbi, TokenGrantAbi, TokenRequestAbi};
pub use delivery::{
    AttachmentAbi, DeliveryReceiptAbi, DeliveryRequestAbi, DeliveryRequestAbi_NE, DeliveryStateAbi,
    DeliveryStateAbi_NE, FileRequestAbi, MailRequestAbi, PushRequestAbi,
};

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
    manifest::Manifest,
    setting_display::SettingDisplay,
    verify::{AccessToken, VerifyMethod},
    version::INTERFACE_VERSION,
};

/// The ABI forms of the enums that may grow (`abi_stable` non-exhaustive wrappers):
/// what crosses the boundary, never what an author or a host writes.
pub use crate::{
    account::{HealthState_NE, TokenSource_NE},
    delivery::{ConflictBehavior_NE, DeliveryKind_NE},
    error::ErrorKind_NE,
    form::FieldKind_NE,
    log_level::LogLevel_NE,
    setting_display::ShownAs_NE,
    verify::{SessionState_NE, VerifyMethod_NE},
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

    /// Added in 1.1: replaces the settings and every secret of `account`, and removes
    /// the account `replaces` (a rename), as one transaction: a reader sees all of it
    /// or none of it.
    ///
    /// The default (a 1.0 host, whose vtable lacks it) is `unsupported`; the plugin's
    /// [`crate::Host::account_write`] then falls back to separate writes.
    fn account_write(
        &self,
        account: RStr<'_>,
        settings: RVec<KeyValue>,
        secrets: RVec<KeyValue>,
        replaces: ROption<RStr<'_>>,
    ) -> RResult<(), PluginError> {
        let _ = (account, settings, secrets, replaces);
        RResult::RErr(not_in_host("account_write"))
    }

    /// Added in 1.1: takes the lock `name`, shared by every process on this host's
    /// stores, waiting up to `wait_ms`; returns a token for [`HostAbi::unlock`]. A
    /// holder that dies releases it.
    fn lock(&self, name: RStr<'_>, wait_ms: u64) -> RResult<u64, PluginError> {
        let _ = (name, wait_ms);
        RResult::RErr(not_in_host("lock"))
    }

    /// Added in 1.1: releases a lock taken with [`HostAbi::lock`].
    ///
    /// Last method of interface 1.1: methods added later go below, with defaults.
    fn unlock(&self, token: u64) {
        let _ = token;
    }

    /// Added in 1.2: a number that changes whenever anything in the host's stores
    /// changes — in this process or another — so a plugin may keep what it read and
    /// re-read only when it moved. `RNone`: the host cannot say (the default, and a
    /// host built before 1.2): read every time.
    fn store_generation(&self) -> ROption<u64> {
        ROption::RNone
    }
}

/// What a 1.1 call answers on a host built before it existed.
fn not_in_host(call: &str) -> PluginError {
    PluginError::unsupported(format!(
        "This host does not offer `{call}` (it was built against plugin interface 1.0)."
    ))
    .with_detail("missing_call", call)
}

/// What a 1.1 call answers on a plugin built before it existed.
fn not_in_plugin(call: &str) -> PluginError {
    PluginError::unsupported(format!(
        "This plugin does not offer `{call}` (it was built against an older plugin interface, or does not support it)."
    ))
    .with_hint("Update the plugin to a version that supports it.")
    .with_detail("missing_call", call)
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

    /// Added in 1.2: whether the session had already ended (verified or failed)
    /// when the host's cancel arrived, so the cancel changed nothing. The default
    /// (a plugin built before 1.2) is `false`: it cannot say.
    fn ended_before_cancel(&self) -> bool {
        false
    }
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

    /// Added in 1.1: an access token for the saved `account` (cache or refresh).
    fn token(
        &self,
        account: RStr<'_>,
        request: &TokenRequestAbi,
    ) -> RResult<TokenGrantAbi, PluginError> {
        let _ = (account, request);
        RResult::RErr(not_in_plugin("token"))
    }

    /// Added in 1.1: how the saved `account` stands.
    fn account_health(&self, account: RStr<'_>) -> RResult<AccountHealthAbi, PluginError> {
        let _ = account;
        RResult::RErr(not_in_plugin("account_health"))
    }

    /// Added in 1.1: saves `values` in place of the saved account `previous` (a
    /// rename is a move), refused unless exactly these values were verified.
    fn save_replacing(
        &mut self,
        values: &FormValues,
        previous: RStr<'_>,
    ) -> RResult<(), PluginError> {
        let _ = (values, previous);
        RResult::RErr(not_in_plugin("save_replacing"))
    }

    /// Added in 1.1: the kinds of delivery this integration offers.
    fn delivery_kinds(&self) -> RVec<DeliveryKind_NE> {
        RVec::new()
    }

    /// Added in 1.1: starts delivering `request` through the saved `account`.
    ///
    /// Last method of interface 1.1: methods added later go below, with defaults.
    fn start_delivery(
        &self,
        account: RStr<'_>,
        request: &DeliveryRequestAbi_NE,
    ) -> RResult<DeliveryAbiBox, PluginError> {
        let _ = (account, request);
        RResult::RErr(not_in_plugin("start_delivery"))
    }

    /// Added in 1.2: the verification methods this integration offers, so the host
    /// shows only those. The default (a plugin built before 1.2, which cannot say)
    /// is what hosts offered before: device code and browser.
    fn verify_methods(&self) -> RVec<VerifyMethod_NE> {
        VerifyMethod::before_1_2()
            .into_iter()
            .map(VerifyMethod_NE::new)
            .collect()
    }

    /// Added in 1.2: how to show the saved settings the plugin wants shown other
    /// than as `key: value` text. The default (a plugin built before 1.2) is none:
    /// the host's own rules apply.
    fn settings_display(&self) -> RVec<SettingDisplay> {
        RVec::new()
    }

    /// Added in 1.3: where users read how to set this integration up.
    ///
    /// Appended after the last 1.2 method, with a default: a host calling it on a 1.0,
    /// 1.1 or 1.2 plugin (whose vtable lacks it) gets `RNone`.
    fn help_url(&self) -> ROption<RString> {
        ROption::RNone
    }
}

/// A running delivery (added in 1.1), driven by the host like a verification session.
#[sabi_trait]
pub trait DeliveryAbi: Send + Sync {
    /// Waits up to `timeout_ms` for progress, then returns the current state.
    fn poll(&self, timeout_ms: u64) -> DeliveryStateAbi_NE;

    /// Stops the delivery at once, leaving nothing half-delivered.
    ///
    /// Last method of this trait in interface 1.1: methods added later go below, with
    /// defaults.
    #[sabi(last_prefix_field)]
    fn cancel(&self);
}

/// A running delivery as it crosses the boundary.
pub type DeliveryAbiBox = DeliveryAbi_TO<'static, RBox<()>>;

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

//! A plugin as a Rust front end holds it: loaded in this process, or isolated in a
//! runner process of its own and reached through the runtime's protocol
//! ([`crate::isolation`]). Both answer the SDK loader's calls with the SDK's types, so
//! a front end written against the loader (`atrs-test-host`) chooses isolation with
//! one option and changes nothing else: a plugin that crashes then fails the call in
//! flight with a typed error instead of ending the front end.

mod from_wire;
mod remote;

use std::time::Duration;

use atrs_host_sdk::{
    loader::{DeliveryHandle, IntegrationHandle, SessionHandle},
    AccountHealth, DeliveryKind, DeliveryRequest, DeliveryState, FieldError, FormField, FormValues,
    PluginError, SessionState, SettingDisplay, TokenGrant, TokenRequest, VerifyMethod,
};

pub use remote::{RemoteDelivery, RemotePlugin, RemoteSession};

/// One plugin instance: in this process, or in its runner.
#[derive(Debug)]
pub enum HostedPlugin {
    /// Loaded in this process.
    Here(IntegrationHandle),
    /// In a runner process, through an isolating [`crate::Runtime`].
    Isolated(RemotePlugin),
}

/// A verification session of a [`HostedPlugin`].
#[derive(Debug)]
pub enum HostedSession {
    /// In this process.
    Here(SessionHandle),
    /// In the plugin's runner.
    Isolated(RemoteSession),
}

/// A delivery of a [`HostedPlugin`].
#[derive(Debug)]
pub enum HostedDelivery {
    /// In this process.
    Here(DeliveryHandle),
    /// In the plugin's runner.
    Isolated(RemoteDelivery),
}

impl From<IntegrationHandle> for HostedPlugin {
    fn from(handle: IntegrationHandle) -> Self {
        HostedPlugin::Here(handle)
    }
}

impl HostedPlugin {
    /// Whether the plugin runs in a runner process of its own.
    pub fn is_isolated(&self) -> bool {
        matches!(self, HostedPlugin::Isolated(_))
    }

    /// The plugin's form.
    pub fn describe(&self) -> Result<Vec<FormField>, PluginError> {
        match self {
            HostedPlugin::Here(h) => h.describe(),
            HostedPlugin::Isolated(r) => r.describe(),
        }
    }

    /// Per-field problems of `values` (empty: valid).
    pub fn validate(&self, values: &FormValues) -> Result<Vec<FieldError>, PluginError> {
        match self {
            HostedPlugin::Here(h) => h.validate(values),
            HostedPlugin::Isolated(r) => r.validate(values),
        }
    }

    /// The verification methods to offer, in the plugin's order.
    pub fn verify_methods(&self) -> Vec<VerifyMethod> {
        match self {
            HostedPlugin::Here(h) => h.verify_methods(),
            HostedPlugin::Isolated(r) => r.verify_methods(),
        }
    }

    /// How the plugin wants its saved settings shown.
    pub fn settings_display(&self) -> Vec<SettingDisplay> {
        match self {
            HostedPlugin::Here(h) => h.settings_display(),
            HostedPlugin::Isolated(r) => r.settings_display(),
        }
    }

    /// The kinds of delivery the plugin offers.
    pub fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        match self {
            HostedPlugin::Here(h) => h.delivery_kinds(),
            HostedPlugin::Isolated(r) => r.delivery_kinds(),
        }
    }

    /// Starts verifying `values` with `method`.
    pub fn start_verification(
        &mut self,
        values: &FormValues,
        method: VerifyMethod,
    ) -> Result<HostedSession, PluginError> {
        match self {
            HostedPlugin::Here(h) => h
                .start_verification(values, method)
                .map(HostedSession::Here),
            HostedPlugin::Isolated(r) => r
                .start_verification(values, method)
                .map(HostedSession::Isolated),
        }
    }

    /// Saves `values`, verified by the last session.
    pub fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
        match self {
            HostedPlugin::Here(h) => h.save(values),
            HostedPlugin::Isolated(r) => r.save(values, None),
        }
    }

    /// Saves `values` in place of the saved account `previous` (an edit or a rename).
    pub fn save_replacing(
        &mut self,
        values: &FormValues,
        previous: &str,
    ) -> Result<(), PluginError> {
        match self {
            HostedPlugin::Here(h) => h.save_replacing(values, previous),
            HostedPlugin::Isolated(r) => r.save(values, Some(previous)),
        }
    }

    /// The saved values of `account`, secrets included.
    pub fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        match self {
            HostedPlugin::Here(h) => h.load_account(account),
            HostedPlugin::Isolated(r) => r.load_account(account),
        }
    }

    /// Removes `account` and its secrets.
    pub fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        match self {
            HostedPlugin::Here(h) => h.remove_account(account),
            HostedPlugin::Isolated(r) => r.remove_account(account),
        }
    }

    /// An access token for `account`.
    pub fn token(&self, account: &str, request: &TokenRequest) -> Result<TokenGrant, PluginError> {
        match self {
            HostedPlugin::Here(h) => h.token(account, request),
            HostedPlugin::Isolated(r) => r.token(account, request),
        }
    }

    /// How `account` stands.
    pub fn account_health(&self, account: &str) -> Result<AccountHealth, PluginError> {
        match self {
            HostedPlugin::Here(h) => h.account_health(account),
            HostedPlugin::Isolated(r) => r.account_health(account),
        }
    }

    /// Starts delivering `request` through `account`.
    pub fn start_delivery(
        &self,
        account: &str,
        request: &DeliveryRequest,
    ) -> Result<HostedDelivery, PluginError> {
        match self {
            HostedPlugin::Here(h) => h.start_delivery(account, request).map(HostedDelivery::Here),
            HostedPlugin::Isolated(r) => r
                .start_delivery(account, request)
                .map(HostedDelivery::Isolated),
        }
    }

    /// Closes the instance: what it started ends.
    pub fn close(&mut self) -> Result<(), PluginError> {
        match self {
            HostedPlugin::Here(h) => h.close(),
            HostedPlugin::Isolated(r) => {
                r.close();
                Ok(())
            }
        }
    }
}

impl HostedSession {
    /// Waits up to `timeout` for a change, then answers the state.
    pub fn poll(&self, timeout: Duration) -> SessionState {
        match self {
            HostedSession::Here(s) => s.poll(timeout),
            HostedSession::Isolated(s) => s.poll(timeout),
        }
    }

    /// Hands the session a pasted final browser address.
    pub fn submit(&self, pasted: &str) -> Result<(), PluginError> {
        match self {
            HostedSession::Here(s) => s.submit(pasted),
            HostedSession::Isolated(s) => s.submit(pasted),
        }
    }

    /// Asks the session to stop.
    pub fn cancel(&self) {
        match self {
            HostedSession::Here(s) => s.cancel(),
            HostedSession::Isolated(s) => s.cancel(),
        }
    }

    /// Whether the session had ended (verified or failed) before it was cancelled.
    pub fn ended_before_cancel(&self) -> bool {
        match self {
            HostedSession::Here(s) => s.ended_before_cancel(),
            HostedSession::Isolated(s) => s.ended_before_cancel(),
        }
    }
}

impl HostedDelivery {
    /// Waits up to `timeout` for progress, then answers the state.
    pub fn poll(&self, timeout: Duration) -> DeliveryState {
        match self {
            HostedDelivery::Here(d) => d.poll(timeout),
            HostedDelivery::Isolated(d) => d.poll(timeout),
        }
    }

    /// Asks the delivery to stop, leaving nothing half-delivered.
    pub fn cancel(&self) {
        match self {
            HostedDelivery::Here(d) => d.cancel(),
            HostedDelivery::Isolated(d) => d.cancel(),
        }
    }
}

//! The author's side: implement [`Integration`] (and [`VerificationSession`]), then
//! call [`export_plugin!`](crate::export_plugin) once.

use std::{
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    sabi_trait::TD_Opaque,
    std_types::{RBox, RResult, RStr, RVec},
};

use crate::{
    abi::{
        AccountHealthAbi, DeliveryAbi, DeliveryAbiBox, DeliveryAbi_TO, DeliveryRequestAbi_NE,
        DeliveryStateAbi, DeliveryStateAbi_NE, HostAbiBox, IntegrationAbi, IntegrationAbiBox,
        IntegrationAbi_TO, PluginModule, PluginModuleRef, SessionAbi, SessionAbiBox, SessionAbi_TO,
        TokenGrantAbi, TokenRequestAbi,
    },
    account::{AccountHealth, TokenGrant, TokenRequest},
    delivery::{DeliveryJob, DeliveryKind, DeliveryKind_NE, DeliveryRequest, DeliveryState},
    error::PluginError,
    form::{FieldError, FormField, FormValues},
    form_store::FormStore,
    guard::{guarded, panicked},
    host::Host,
    manifest::Manifest,
    setting_display::SettingDisplay,
    verify::{AccessToken, SessionState, SessionState_NE, VerifyMethod, VerifyMethod_NE},
};

/// One integration (one kind of account under Integrations), as its author writes it.
///
/// Every method added after interface 1.0 has a default, so implementations written
/// for 1.0 keep compiling and loading.
pub trait Integration: Send + 'static {
    /// Who the plugin is. Called by the host right after loading, before `new`.
    fn manifest() -> Manifest
    where
        Self: Sized;

    /// Creates an instance that uses `host` for logging, URLs and storage.
    fn new(host: Host) -> Result<Self, PluginError>
    where
        Self: Sized;

    /// The form fields, in display order.
    ///
    /// Since 1.2 it has a default: the fields of [`Integration::form_store`] (none
    /// without one — implement it, or the form is empty and the conformance checks
    /// say so).
    fn describe(&self) -> Vec<FormField> {
        self.form_store()
            .map(|store| store.fields().to_vec())
            .unwrap_or_default()
    }

    /// Per-field problems with `values`; empty when the form is valid.
    ///
    /// The default (since 1.1) is [`form_checks`]: every required field of
    /// [`Integration::describe`] filled in, every choice one of its options. Override
    /// it to check more, and call [`form_checks`] from yours to keep those checks.
    fn validate(&self, values: &FormValues) -> Vec<FieldError> {
        form_checks(&self.describe(), values)
    }

    /// Starts verifying `values` with `method`.
    fn start_verification(
        &mut self,
        values: &FormValues,
        method: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError>;

    /// Saves `values`; must refuse unless exactly these values were verified.
    ///
    /// Since 1.2 it has a default: [`FormStore::save`] through
    /// [`Integration::form_store`] (`unsupported` without one).
    fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
        match self.form_store() {
            Some(store) => store.save(values, None),
            None => Err(no_form_store("save accounts")),
        }
    }

    /// The saved values of `account`, for Edit (secrets left out).
    ///
    /// The default is [`FormStore::load`] through [`Integration::form_store`]
    /// (`unsupported` without one).
    fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        match self.form_store() {
            Some(store) => store.load(account),
            None => Err(no_form_store("edit saved accounts")),
        }
    }

    /// Deletes `account` with its secrets.
    ///
    /// The default is [`FormStore::remove`] through [`Integration::form_store`]
    /// (`unsupported` without one).
    fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        match self.form_store() {
            Some(store) => store.remove(account),
            None => Err(no_form_store("remove accounts")),
        }
    }

    /// An access token for the saved `account`.
    fn access_token(&self, account: &str) -> Result<AccessToken, PluginError> {
        let _ = account;
        Err(PluginError::unsupported(
            "This integration does not hand out access tokens.",
        ))
    }

    /// Discards unsaved changes and releases what the instance holds.
    ///
    /// Since 1.2, before this runs the SDK cancels every verification session and
    /// delivery this instance started that the host still holds, one after the
    /// other, each waiting as its own cancel does — up to
    /// [`crate::session::CANCEL_WAIT`] for those of [`crate::session::Session`] and
    /// [`crate::delivering::Delivery`]. Every thread the plugin started must have
    /// ended when `close` returns (the conformance checks look).
    fn close(&mut self) {}

    /// Added in 1.1: an access token for the saved `account`, for the scopes saved
    /// with it or the subset `request` names — from cache while it has life left,
    /// else refreshed (storing a rotated refresh token before returning).
    fn token(&self, account: &str, request: &TokenRequest) -> Result<TokenGrant, PluginError> {
        let _ = (account, request);
        Err(PluginError::unsupported(
            "This integration does not hand out access tokens.",
        ))
    }

    /// Added in 1.1: how the saved `account` stands (healthy, expiring soon, needs
    /// sign-in again), with the reason and the fix.
    fn account_health(&self, account: &str) -> Result<AccountHealth, PluginError> {
        let _ = account;
        Err(PluginError::unsupported(
            "This integration does not report the health of saved accounts.",
        ))
    }

    /// Added in 1.1: saves `values` in place of the saved account `previous` — a
    /// rename is a move: one account afterwards, under the new name. Must refuse
    /// unless exactly these values were verified.
    ///
    /// The default, with a [`Integration::form_store`], is [`FormStore::save`] in
    /// place of `previous` (one transaction); without one it saves, then removes
    /// `previous` when the account name changed — override it to do both in one
    /// store transaction ([`Host::account_write`]).
    fn save_replacing(&mut self, values: &FormValues, previous: &str) -> Result<(), PluginError> {
        if let Some(store) = self.form_store() {
            return store.save(values, Some(previous));
        }
        self.save(values)?;
        if values.get_trimmed(crate::form::ACCOUNT_NAME) != Some(previous) {
            self.remove_account(previous)?;
        }
        Ok(())
    }

    /// Added in 1.1: the kinds of delivery this integration offers (none by default).
    fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        Vec::new()
    }

    /// Added in 1.1: starts delivering `request` through the saved `account`,
    /// returning a job the host polls and may cancel.
    fn start_delivery(
        &self,
        account: &str,
        request: DeliveryRequest,
    ) -> Result<Box<dyn DeliveryJob>, PluginError> {
        let _ = (account, request);
        Err(PluginError::unsupported(
            "This integration does not deliver anything.",
        ))
    }

    /// Added in 1.2: the verification methods this integration offers, so hosts
    /// show only those (a webhook offers [`VerifyMethod::Direct`] alone). The
    /// default is device code and a browser with a loopback listener — what hosts
    /// offered every plugin before 1.2.
    fn verify_methods(&self) -> Vec<VerifyMethod> {
        VerifyMethod::before_1_2()
    }

    /// Added in 1.2: how hosts should show the saved settings that are not plain
    /// text under their key — labels, dates, web addresses, and the bookkeeping to
    /// keep out of sight ([`crate::ShownAs::Hidden`]). The default is none: hosts
    /// apply their own rules ([`SettingDisplay::fallback`]).
    fn settings_display(&self) -> Vec<SettingDisplay> {
        Vec::new()
    }

    /// Added in 1.2: storage by default. An integration whose saved account is its
    /// form (plain fields as settings, secret fields as secrets) returns its
    /// [`FormStore`] here, commits verified values with [`FormStore::recorder`], and
    /// needs no `save`, `load_account`, `remove_account` of its own. `None` (the
    /// default): the integration keeps its accounts itself.
    fn form_store(&self) -> Option<&FormStore> {
        None
    }
}

/// What a storage call answers for an integration that neither implements it nor
/// has a [`FormStore`].
fn no_form_store(what: &str) -> PluginError {
    PluginError::unsupported(format!("This integration cannot {what}."))
        .with_hint("This is a gap in the plugin: its author implements the call, or returns a FormStore from Integration::form_store.")
}

/// The checks every form needs, in form order: a [`FieldError`] for each required
/// field of `fields` that is empty in `values`, and for each choice whose value is not
/// one of its options.
pub fn form_checks(fields: &[FormField], values: &FormValues) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for field in fields {
        let (key, label) = (field.key.as_str(), field.label.as_str());
        match values.get_trimmed(key) {
            None if field.required => errors.push(
                FieldError::new(key, format!("{label} is empty."))
                    .with_hint(format!("Fill in {label}; it is required.")),
            ),
            Some(value) => {
                if let crate::FieldKind::Choice { options } = field.kind() {
                    if !options.iter().any(|o| o.value.as_str() == value) {
                        let labels: Vec<&str> = options.iter().map(|o| o.label.as_str()).collect();
                        errors.push(
                            FieldError::new(key, format!("{label} cannot be `{value}`."))
                                .with_hint(format!("Choose one of: {}.", labels.join(", "))),
                        );
                    }
                }
            }
            None => {}
        }
    }
    errors
}

/// A running verification, as its author writes it. Called from any thread.
pub trait VerificationSession: Send + Sync + 'static {
    /// Waits up to `timeout` for the state to change, then returns the current state.
    /// Must return promptly once the timeout passes.
    fn poll(&self, timeout: Duration) -> SessionState;

    /// Takes text the user pasted (the final browser address).
    fn submit(&self, pasted: &str) -> Result<(), PluginError> {
        let _ = pasted;
        Err(PluginError::unsupported(
            "This verification does not take pasted text.",
        ))
    }

    /// Stops at once: no request may be sent after this returns.
    fn cancel(&self);

    /// Added in 1.2: whether the session had already ended when the (last) cancel
    /// arrived, so the cancel changed nothing. [`crate::session::Session`] answers
    /// it; the default says `false` (cannot tell).
    fn ended_before_cancel(&self) -> bool {
        false
    }
}

const PLUGIN: &str = "plugin";

/// Carries an author's [`Integration`] across the boundary, catching its panics.
struct IntegrationAdapter<T: Integration> {
    inner: Option<T>,
    /// The sessions and deliveries this instance started, cancelled by `close`.
    started: Mutex<Vec<Started>>,
}

/// A session or delivery an instance started, while the host still holds it.
enum Started {
    Session(Weak<dyn VerificationSession>),
    Delivery(Weak<dyn DeliveryJob>),
}

impl<T: Integration> IntegrationAdapter<T> {
    fn new(inner: T) -> Self {
        IntegrationAdapter {
            inner: Some(inner),
            started: Mutex::new(Vec::new()),
        }
    }

    fn track(&self, started: Started) {
        let mut list = self.started.lock().unwrap_or_else(|p| p.into_inner());
        list.retain(|s| match s {
            Started::Session(w) => w.strong_count() > 0,
            Started::Delivery(w) => w.strong_count() > 0,
        });
        list.push(started);
    }

    /// Cancels every session and delivery still held, each waiting as its own cancel
    /// does ([`crate::session::CANCEL_WAIT`] for the SDK's).
    fn cancel_started(&self) {
        let started = std::mem::take(&mut *self.started.lock().unwrap_or_else(|p| p.into_inner()));
        for s in started {
            match s {
                Started::Session(w) => w.upgrade().into_iter().for_each(|s| s.cancel()),
                Started::Delivery(w) => w.upgrade().into_iter().for_each(|d| d.cancel()),
            }
        }
    }
}

impl<T: Integration> IntegrationAdapter<T> {
    fn with<R>(
        &self,
        call: &str,
        f: impl FnOnce(&T) -> Result<R, PluginError>,
    ) -> RResult<R, PluginError> {
        guarded(PLUGIN, call, || match &self.inner {
            Some(inner) => f(inner),
            None => Err(closed()),
        })
        .into()
    }

    fn with_mut<R>(
        &mut self,
        call: &str,
        f: impl FnOnce(&mut T) -> Result<R, PluginError>,
    ) -> RResult<R, PluginError> {
        guarded(PLUGIN, call, || match &mut self.inner {
            Some(inner) => f(inner),
            None => Err(closed()),
        })
        .into()
    }
}

fn closed() -> PluginError {
    PluginError::internal("This integration instance has been closed.")
        .with_hint("Open the integration again before using it.")
}

impl<T: Integration> IntegrationAbi for IntegrationAdapter<T> {
    fn describe(&self) -> RResult<RVec<FormField>, PluginError> {
        self.with("describe", |i| Ok(i.describe().into()))
    }

    fn validate(&self, values: &FormValues) -> RResult<RVec<FieldError>, PluginError> {
        self.with("validate", |i| Ok(i.validate(values).into()))
    }

    fn start_verification(
        &mut self,
        values: &FormValues,
        method: VerifyMethod_NE,
    ) -> RResult<SessionAbiBox, PluginError> {
        let started = self.with_mut("start_verification", |i| {
            let method = method.as_enum().cloned().map_err(|_| {
                PluginError::unsupported(
                    "This plugin does not know the verification method the host asked for.",
                )
                .with_hint("Update the plugin, or choose another Verify option.")
            })?;
            let session: Arc<dyn VerificationSession> =
                Arc::from(i.start_verification(values, method)?);
            Ok(session)
        });
        started.map(|session| {
            self.track(Started::Session(Arc::downgrade(&session)));
            SessionAbi_TO::from_value(
                SessionAdapter {
                    inner: Some(session),
                },
                TD_Opaque,
            )
        })
    }

    fn save(&mut self, values: &FormValues) -> RResult<(), PluginError> {
        self.with_mut("save", |i| i.save(values))
    }

    fn load_account(&self, account: RStr<'_>) -> RResult<FormValues, PluginError> {
        self.with("load_account", |i| i.load_account(account.as_str()))
    }

    fn remove_account(&mut self, account: RStr<'_>) -> RResult<(), PluginError> {
        self.with_mut("remove_account", |i| i.remove_account(account.as_str()))
    }

    fn access_token(&self, account: RStr<'_>) -> RResult<AccessToken, PluginError> {
        self.with("access_token", |i| i.access_token(account.as_str()))
    }

    fn close(&mut self) -> RResult<(), PluginError> {
        self.cancel_started();
        self.with_mut("close", |i| {
            i.close();
            Ok(())
        })
    }

    fn token(
        &self,
        account: RStr<'_>,
        request: &TokenRequestAbi,
    ) -> RResult<TokenGrantAbi, PluginError> {
        self.with("token", |i| {
            Ok(i.token(account.as_str(), &TokenRequest::from(request))?
                .into())
        })
    }

    fn account_health(&self, account: RStr<'_>) -> RResult<AccountHealthAbi, PluginError> {
        self.with("account_health", |i| {
            Ok(i.account_health(account.as_str())?.into())
        })
    }

    fn save_replacing(
        &mut self,
        values: &FormValues,
        previous: RStr<'_>,
    ) -> RResult<(), PluginError> {
        self.with_mut("save_replacing", |i| {
            i.save_replacing(values, previous.as_str())
        })
    }

    fn delivery_kinds(&self) -> RVec<DeliveryKind_NE> {
        self.with("delivery_kinds", |i| {
            Ok(i.delivery_kinds()
                .into_iter()
                .map(DeliveryKind_NE::new)
                .collect())
        })
        .unwrap_or_default()
    }

    fn start_delivery(
        &self,
        account: RStr<'_>,
        request: &DeliveryRequestAbi_NE,
    ) -> RResult<DeliveryAbiBox, PluginError> {
        self.with("start_delivery", |i| {
            let request = request.as_enum().map_err(|_| {
                PluginError::unsupported(
                    "This plugin does not know the kind of delivery the host asked for.",
                )
                .with_hint("Update the plugin, or deliver this another way.")
            })?;
            let job: Arc<dyn DeliveryJob> =
                Arc::from(i.start_delivery(account.as_str(), DeliveryRequest::try_from(request)?)?);
            self.track(Started::Delivery(Arc::downgrade(&job)));
            Ok(DeliveryAbi_TO::from_value(
                DeliveryAdapter { inner: Some(job) },
                TD_Opaque,
            ))
        })
    }

    fn verify_methods(&self) -> RVec<VerifyMethod_NE> {
        self.with("verify_methods", |i| {
            Ok(i.verify_methods()
                .into_iter()
                .map(VerifyMethod_NE::new)
                .collect())
        })
        .unwrap_or_else(|_| {
            VerifyMethod::before_1_2()
                .into_iter()
                .map(VerifyMethod_NE::new)
                .collect()
        })
    }

    fn settings_display(&self) -> RVec<SettingDisplay> {
        self.with("settings_display", |i| Ok(i.settings_display().into()))
            .unwrap_or_default()
    }
}

impl<T: Integration> Drop for IntegrationAdapter<T> {
    fn drop(&mut self) {
        let _ = guarded(PLUGIN, "drop", || {
            self.cancel_started();
            Ok(())
        });
        let inner = self.inner.take();
        let _ = guarded(PLUGIN, "drop", || {
            drop(inner);
            Ok(())
        });
    }
}

/// Carries an author's [`VerificationSession`] across the boundary, catching its panics.
struct SessionAdapter {
    inner: Option<Arc<dyn VerificationSession>>,
}

impl SessionAdapter {
    fn session(&self) -> &dyn VerificationSession {
        // `inner` is only emptied by Drop.
        self.inner.as_deref().expect("session used after drop")
    }
}

impl SessionAbi for SessionAdapter {
    fn poll(&self, timeout_ms: u64) -> SessionState_NE {
        let state = guarded(PLUGIN, "poll", || {
            Ok(self.session().poll(Duration::from_millis(timeout_ms)))
        })
        .unwrap_or_else(|e| SessionState::Failed(RBox::new(e)));
        SessionState_NE::new(state)
    }

    fn submit(&self, pasted: RStr<'_>) -> RResult<(), PluginError> {
        guarded(PLUGIN, "submit", || self.session().submit(pasted.as_str())).into()
    }

    fn cancel(&self) {
        let _ = guarded(PLUGIN, "cancel", || {
            self.session().cancel();
            Ok(())
        });
    }

    fn ended_before_cancel(&self) -> bool {
        guarded(PLUGIN, "ended_before_cancel", || {
            Ok(self.session().ended_before_cancel())
        })
        .unwrap_or(false)
    }
}

impl Drop for SessionAdapter {
    fn drop(&mut self) {
        let inner = self.inner.take();
        let _ = guarded(PLUGIN, "drop", || {
            drop(inner);
            Ok(())
        });
    }
}

/// Carries an author's [`DeliveryJob`] across the boundary, catching its panics.
struct DeliveryAdapter {
    inner: Option<Arc<dyn DeliveryJob>>,
}

impl DeliveryAdapter {
    fn job(&self) -> &dyn DeliveryJob {
        // `inner` is only emptied by Drop.
        self.inner.as_deref().expect("delivery used after drop")
    }
}

impl DeliveryAbi for DeliveryAdapter {
    fn poll(&self, timeout_ms: u64) -> DeliveryStateAbi_NE {
        let state = guarded(PLUGIN, "poll", || {
            Ok(self.job().poll(Duration::from_millis(timeout_ms)))
        })
        .unwrap_or_else(DeliveryState::Failed);
        DeliveryStateAbi_NE::new(DeliveryStateAbi::from(state))
    }

    fn cancel(&self) {
        let _ = guarded(PLUGIN, "cancel", || {
            self.job().cancel();
            Ok(())
        });
    }
}

impl Drop for DeliveryAdapter {
    fn drop(&mut self) {
        let inner = self.inner.take();
        let _ = guarded(PLUGIN, "drop", || {
            drop(inner);
            Ok(())
        });
    }
}

extern "C" fn manifest_of<T: Integration>() -> RResult<Manifest, PluginError> {
    guarded(PLUGIN, "manifest", || Ok(T::manifest())).into()
}

extern "C" fn instantiate<T: Integration>(
    host: HostAbiBox,
) -> RResult<IntegrationAbiBox, PluginError> {
    // The host object is moved into the guard so that even its drop is guarded.
    let mut host = Some(host);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let host = Host::from_abi(host.take().expect("taken once"));
        T::new(host)
    }));
    match result {
        Ok(Ok(integration)) => RResult::ROk(IntegrationAbi_TO::from_value(
            IntegrationAdapter::new(integration),
            TD_Opaque,
        )),
        Ok(Err(e)) => RResult::RErr(e),
        Err(_) => RResult::RErr(panicked(PLUGIN, "new")),
    }
}

/// The root module for `T`; called by [`export_plugin!`](crate::export_plugin).
#[doc(hidden)]
pub fn root_module_for<T: Integration>() -> PluginModuleRef {
    PluginModule {
        manifest: manifest_of::<T>,
        instantiate: instantiate::<T>,
    }
    .leak_into_prefix()
}

/// Exports `$integration` (a type implementing [`Integration`]) as this library's plugin.
///
/// Call it once, at the crate root of a `cdylib`. The crate also needs
/// `abi_stable = "0.11"` among its dependencies: the export attribute names it.
#[macro_export]
macro_rules! export_plugin {
    ($integration:ty) => {
        // A private module: abi_stable's attribute adds an undocumented static, which
        // must not trip the plugin crate's `missing_docs`. The symbol is exported all
        // the same.
        #[doc(hidden)]
        #[allow(missing_docs)]
        mod __atrs_plugin_export {
            #[allow(unused_imports)]
            use super::*;

            /// The plugin's root module, found by the host's loader.
            #[::abi_stable::export_root_module]
            pub fn atrs_plugin_root_module() -> $crate::abi::PluginModuleRef {
                $crate::plugin::root_module_for::<$integration>()
            }
        }
    };
}

/// A session that is already over (or stuck in one state): for integrations whose
/// verification needs no waiting, and for tests.
pub struct FixedSession {
    state: SessionState,
}

impl FixedSession {
    /// A session that always reports `state`.
    pub fn new(state: SessionState) -> Self {
        FixedSession { state }
    }
}

impl VerificationSession for FixedSession {
    fn poll(&self, _timeout: Duration) -> SessionState {
        self.state.clone()
    }

    fn cancel(&self) {}
}

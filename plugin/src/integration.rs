//! The Office 365 integration as the host drives it: form, validation, verify, save.

use std::{
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
};

use atrs_host_sdk::{
    session::{Reporter, Success},
    AccessToken, AccountHealth, DeliveryJob, DeliveryKind, DeliveryRequest, FieldError, FormField,
    FormValues, Host, Integration, Manifest, PluginError, SettingDisplay, TokenGrant, TokenRequest,
    TokenSource, VerificationSession, VerifiedAccount, VerifyMethod,
};

use crate::{
    account::account_http,
    account::account_token::{AccountTokens, Issued, Origin},
    account::health,
    account::refresh::RetryBound,
    account::saved,
    account::secret_expiry,
    authority::aadsts,
    authority::admin_consent,
    clock::unix_now,
    config::{AccountConfig, SIGN_IN_VALUES},
    delivery,
    delivery::graph::{TokenAsk, TokenFn},
    fields,
    net::http::{Http, Limits},
    runtime::Runtime,
    signin::browser,
    signin::direct,
    signin::flow_task::{self, FlowControl},
    signin::inbox::Inbox,
    signin::skeleton::{self, Method},
};

pub use crate::{signin::verified::Verified, version::PLUGIN_VERSION};

/// The plugin id, unique among integrations.
pub const PLUGIN_ID: &str = "office365";

/// One Office 365 integration instance.
pub struct Office365 {
    host: Host,
    verified: Arc<Mutex<Option<Verified>>>,
    runtime: Runtime,
    limits: Limits,
    current: Option<FlowControl>,
    tokens: AccountTokens,
}

impl Office365 {
    fn slot(&self) -> MutexGuard<'_, Option<Verified>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn verified(&self) -> Option<Verified> {
        self.slot().clone()
    }

    /// Replaces the network limits (time-outs, answer size) for later verifications and
    /// token renewals; for in-process hosts and tests that exercise slow servers.
    pub fn set_network_limits(&mut self, limits: Limits) {
        self.limits = limits;
        self.tokens.set_limits(limits);
    }

    /// Replaces the bound on retrying transient faults of token renewals.
    pub fn set_retry_bound(&mut self, bound: RetryBound) {
        self.tokens.set_retry_bound(bound);
    }

    /// Saves `values`, in place of `replaces` when given: with this session's
    /// verification, or — for values of a saved account that change no sign-in — with
    /// the saved account's own.
    fn save_verified(
        &mut self,
        values: &FormValues,
        replaces: Option<&str>,
    ) -> Result<(), PluginError> {
        let edited = replaces
            .or(values.get_trimmed(fields::ACCOUNT_NAME))
            .unwrap_or_default();
        let values = saved::keeping_certificate_password(&self.host, values, edited);
        let config = AccountConfig::parse(&values).map_err(first_error)?;
        // Held against a refresh of the same account, which writes it back whole.
        self.tokens
            .while_locked(edited, |_| match self.verified() {
                Some(verified) => {
                    let changes = verified.config.sign_in_changes(&config);
                    if !changes.is_empty() {
                        return Err(needs_verification(Some(&changes)));
                    }
                    saved::write(
                        &self.host,
                        &config,
                        verified.refresh_token.as_ref(),
                        verified.access_token.as_ref(),
                        &verified.facts,
                        replaces,
                    )
                }
                None => self.save_unverified(config.clone(), replaces),
            })?;
        self.host.info(&format!(
            "Saved Office 365 account \"{}\".",
            config.account_name
        ));
        Ok(())
    }

    /// Saves `config` over the saved account it edits (`replaces`, else its own name)
    /// when it changes nothing the sign-in depends on; the sign-in, its secrets and
    /// refresh facts stay. A secret left empty keeps the saved one: the form never gets
    /// a saved secret back.
    fn save_unverified(
        &self,
        mut config: AccountConfig,
        replaces: Option<&str>,
    ) -> Result<(), PluginError> {
        let edited = replaces.unwrap_or(&config.account_name);
        if saved::read(&self.host, edited)?.is_none() {
            return Err(needs_verification(None));
        }
        let saved = saved::config_of(&self.host, edited)?;
        if config.client_secret.is_none() && config.certificate.is_none() {
            config.client_secret = saved.client_secret.clone();
        }
        let changes = saved.sign_in_changes(&config);
        if !changes.is_empty() {
            return Err(needs_verification(Some(&changes)));
        }
        saved::update_form(&self.host, &config)
    }

    /// `values` with what an edit of the saved account they name keeps when left empty
    /// (see [`saved::keeping_certificate_password`]).
    fn keeping_saved(&self, values: &FormValues) -> FormValues {
        let account = values.get_trimmed(fields::ACCOUNT_NAME).unwrap_or_default();
        saved::keeping_certificate_password(&self.host, values, account)
    }

    /// Stops the running verification, if any, so it can no longer mark values verified.
    fn cancel_current(&mut self) {
        if let Some(control) = self.current.take() {
            control.cancel();
        }
    }

    fn start_device_code(
        &mut self,
        config: AccountConfig,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        self.start(
            config,
            "Starting device code sign-in…",
            |_| {},
            |config, http, host, reporter| {
                skeleton::verify(config, http, host, reporter, Method::DeviceCode)
            },
        )
    }

    fn start_direct(
        &mut self,
        config: AccountConfig,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        self.start(
            config,
            "Starting the direct verification (no sign-in)…",
            |_| {},
            direct::verify,
        )
    }

    fn start_browser(
        &mut self,
        config: AccountConfig,
        loopback: bool,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        let inbox = Inbox::new();
        let pastes = browser::paste_check(inbox.clone(), self.host.clone());
        self.start(
            config,
            "Starting browser sign-in…",
            move |reporter| reporter.accept_pastes(pastes),
            move |config, http, host, reporter| {
                skeleton::verify(
                    config,
                    http,
                    host,
                    reporter,
                    Method::Browser { inbox, loopback },
                )
            },
        )
    }

    /// Runs `flow` in a new session whose success marks the values verified; `setup`
    /// prepares the session before the host gets it.
    fn start<F, Fut>(
        &mut self,
        config: AccountConfig,
        first: &str,
        setup: impl FnOnce(&Reporter),
        flow: F,
    ) -> Result<Box<dyn VerificationSession>, PluginError>
    where
        F: FnOnce(AccountConfig, Http, Host, Reporter) -> Fut,
        Fut: Future<Output = Result<(VerifiedAccount, Verified), PluginError>> + Send + 'static,
    {
        let http = account_http::client(&config, self.limits)?;
        let consent = admin_consent::address(&config);
        let host = self.host.clone();
        let slot = self.verified.clone();
        let (session, control) = flow_task::start(
            &self.runtime,
            self.host.clone(),
            first,
            setup,
            move |reporter| {
                let ids = http.clone();
                let run = flow(config, http, host, reporter);
                async move {
                    let (account, verified) = run.await.map_err(|e| {
                        aadsts::with_admin_consent_address(ids.annotate(e), &consent)
                    })?;
                    Ok(Success::new(account, move || {
                        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(verified);
                    }))
                }
            },
        )?;
        self.current = Some(control);
        Ok(Box::new(session))
    }
}

impl Drop for Office365 {
    fn drop(&mut self) {
        self.cancel_current();
    }
}

impl Integration for Office365 {
    fn manifest() -> Manifest {
        Manifest::new(
            PLUGIN_ID,
            "Office 365",
            PLUGIN_VERSION,
            "ATRS",
            "Sends reports through an Office 365 / Microsoft Entra ID account (Microsoft Graph).",
        )
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        let runtime = Runtime::new();
        Ok(Office365 {
            tokens: AccountTokens::new(host.clone(), runtime.clone(), Limits::from_env()),
            host,
            verified: Arc::new(Mutex::new(None)),
            runtime,
            limits: Limits::from_env(),
            current: None,
        })
    }

    fn describe(&self) -> Vec<FormField> {
        fields::describe()
    }

    fn validate(&self, values: &FormValues) -> Vec<FieldError> {
        let mut errors = AccountConfig::parse(&self.keeping_saved(values))
            .err()
            .unwrap_or_default();
        if !errors
            .iter()
            .any(|e| e.field() == fields::CLIENT_SECRET_EXPIRES)
        {
            errors.extend(secret_expiry::check(values, unix_now()));
        }
        errors
    }

    fn start_verification(
        &mut self,
        values: &FormValues,
        method: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        let config = AccountConfig::parse(&self.keeping_saved(values)).map_err(first_error)?;
        // A new attempt replaces the previous one: it must not mark values verified later.
        self.cancel_current();
        *self.slot() = None;
        match (config.is_application(), method) {
            (true, VerifyMethod::Direct) => {
                config
                    .application_credential()
                    .map_err(|e| first_error(vec![e]))?;
                self.start_direct(config)
            }
            (true, other) => Err(not_for_application(&config, &other)),
            (false, VerifyMethod::Direct) => Err(direct_needs_application(&config)),
            (false, VerifyMethod::DeviceCode) => self.start_device_code(config),
            (false, VerifyMethod::Browser { loopback }) => self.start_browser(config, loopback),
            (false, other) => Err(PluginError::unsupported(format!(
                "Verification by {} is not available in this build of the Office 365 plugin.",
                other.name()
            ))
            .with_hint("Use Verify (device code) or Verify ▾ With Browser instead, or update the plugin to a build that supports it.")),
        }
    }

    fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
        self.save_verified(values, None)
    }

    fn save_replacing(&mut self, values: &FormValues, previous: &str) -> Result<(), PluginError> {
        self.save_verified(values, Some(previous))
    }

    fn access_token(&self, account: &str) -> Result<AccessToken, PluginError> {
        self.tokens
            .token(account, &[], false)
            .map(|i| access_token(i).token)
    }

    fn token(&self, account: &str, request: &TokenRequest) -> Result<TokenGrant, PluginError> {
        self.tokens
            .token(account, &request.scopes, request.force_refresh)
            .map(access_token)
    }

    fn account_health(&self, account: &str) -> Result<AccountHealth, PluginError> {
        health::of(&self.host, account)
    }

    fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        saved::read_values(&self.host, account)
    }

    fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        saved::remove(&self.host, account)
    }

    fn close(&mut self) {
        self.cancel_current();
        *self.slot() = None;
    }

    fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        vec![DeliveryKind::Mail, DeliveryKind::File]
    }

    /// A user signs in by code (first: the default) or browser; an application account
    /// is verified directly. Which one fits is the form's Account kind, checked when a
    /// verification starts.
    fn verify_methods(&self) -> Vec<VerifyMethod> {
        vec![
            VerifyMethod::DeviceCode,
            VerifyMethod::Browser { loopback: true },
            VerifyMethod::Direct,
        ]
    }

    fn settings_display(&self) -> Vec<SettingDisplay> {
        crate::account::settings_display::settings_display()
    }

    fn start_delivery(
        &self,
        account: &str,
        request: DeliveryRequest,
    ) -> Result<Box<dyn DeliveryJob>, PluginError> {
        let values = saved::read_values_with_secrets(&self.host, account)?;
        let config = AccountConfig::parse(&values).map_err(|errors| {
            let e = first_error(errors);
            PluginError::invalid_input(format!(
                "The saved account \"{account}\" has settings this plugin cannot use: {}",
                e.message()
            ))
            .with_hint("Open the account, correct it, choose Verify and Save & Close.")
        })?;
        // The account's token source for the delivery (it outlives this call): the same
        // cache and cross-process refresh lock as `token`; Graph's 401 forces a refresh, its
        // claims challenge one token request for those claims.
        let tokens = AccountTokens::new(self.host.clone(), self.runtime.clone(), self.limits);
        let name = account.to_owned();
        let token_fn: TokenFn = Arc::new(move |ask| {
            let issued = match ask {
                TokenAsk::Current => tokens.token(&name, &[], false)?,
                TokenAsk::Renewed => tokens.token(&name, &[], true)?,
                TokenAsk::WithClaims(claims) => tokens.token_for_claims(&name, &claims)?,
            };
            Ok(issued.token.token.clone())
        });
        let job = delivery::job::start_for_account(
            config,
            &self.runtime,
            self.limits,
            request,
            token_fn,
        )?;
        Ok(Box::new(job))
    }
}

/// A sign-in was asked for an application account, where nobody signs in.
fn not_for_application(config: &AccountConfig, method: &VerifyMethod) -> PluginError {
    let how = match method {
        VerifyMethod::DeviceCode => "with a code",
        VerifyMethod::Browser { .. } => "in a browser",
        _ => "that way",
    };
    PluginError::invalid_input(format!(
        "\"{}\" is an application account: nobody signs in, so it is not verified {how}.",
        config.account_name
    ))
    .with_field(fields::SIGN_IN)
    .with_hint("Choose Verify ▾ Directly (on the command line: --verify direct), or set Account kind to \"A user signs in\" to sign in as a user.")
}

/// A direct verification was asked for an account a user signs in to.
fn direct_needs_application(config: &AccountConfig) -> PluginError {
    PluginError::invalid_input(format!(
        "Verify ▾ Directly is for application accounts, and \"{}\" is one a user signs in to.",
        config.account_name
    ))
    .with_field(fields::SIGN_IN)
    .with_hint("Choose Verify (with a code) or Verify ▾ With Browser to sign in; or set Account kind to \"Application — no user signs in\", give the app's client secret or certificate and the Mailbox, then Verify ▾ Directly.")
}

/// A token handed out, as the SDK carries it.
fn access_token(issued: Issued) -> TokenGrant {
    TokenGrant {
        token: AccessToken {
            token: issued.token.token.expose().into(),
            expires_at: issued.token.expires_at,
            scopes: issued
                .token
                .scopes
                .iter()
                .map(|s| s.as_str().into())
                .collect(),
        },
        source: match issued.origin {
            Origin::Cache => TokenSource::Cache,
            Origin::Refreshed => TokenSource::Refreshed,
        },
    }
}

/// Values were saved without a verification that holds for them; `changes` names the
/// values that differ from the ones signed in with, when there are any.
fn needs_verification(changes: Option<&[&str]>) -> PluginError {
    let message = match changes {
        Some(changes) => format!(
            "These values have not been verified: {} changed since the last sign-in.",
            list_words(changes)
        ),
        None => "These values have not been verified.".to_owned(),
    };
    PluginError::invalid_input(message).with_hint(format!(
        "Choose Verify, then Save & Close. Only a change of {} needs a new sign-in; the other fields save as they are.",
        list_words(&SIGN_IN_VALUES)
    ))
}

/// `a`, `a and b`, `a, b and c`.
fn list_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The first per-field error as a call error (the full list comes from `validate`).
fn first_error(errors: Vec<FieldError>) -> PluginError {
    let count = errors.len();
    let Some(first) = errors.into_iter().next() else {
        return PluginError::internal("Validation failed without saying why.");
    };
    let mut e = PluginError::invalid_input(first.message()).with_field(first.field());
    let hint = match (first.hint(), count) {
        (Some(h), 1) => h.to_owned(),
        (Some(h), n) => format!("{h} ({} more field(s) need attention.)", n - 1),
        (None, _) => "Correct the field and try again.".to_owned(),
    };
    e = e.with_hint(hint);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use atrs_host_sdk::{testing::MemoryHost, ErrorKind};

    fn values() -> FormValues {
        FormValues::new()
            .with(fields::ACCOUNT_NAME, "Reports")
            .with(fields::CLIENT_ID, "4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
            .with(fields::TENANT_ID, "contoso.onmicrosoft.com")
    }

    #[test]
    fn save_is_refused_until_verified() {
        let mut plugin = Office365::new(MemoryHost::new().handle()).unwrap();
        let e = plugin.save(&values()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("not been verified"));
    }

    #[test]
    fn saving_the_verified_values_writes_them_and_a_rename_is_refused() {
        let memory = MemoryHost::new();
        let mut plugin = Office365::new(memory.handle()).unwrap();
        let config = AccountConfig::parse(&values()).unwrap();
        *plugin.verified.lock().unwrap() = Some(Verified {
            config,
            refresh_token: Some(Secret::new("rt")),
            facts: crate::account::saved::VerifiedFacts::default(),
            access_token: None,
        });
        let renamed = values().with(fields::ACCOUNT_NAME, "Renamed");
        assert!(plugin
            .save(&renamed)
            .unwrap_err()
            .message()
            .contains("not been verified"));
        plugin.save(&values()).unwrap();
        assert!(memory.settings_of("Reports").is_some());
        assert_eq!(
            memory
                .secrets_of("Reports")
                .get("refresh_token")
                .map(String::as_str),
            Some("rt")
        );
    }

    #[test]
    fn a_saved_account_takes_a_new_secret_expiry_without_a_new_sign_in() {
        let memory = MemoryHost::new();
        let mut first = Office365::new(memory.handle()).unwrap();
        let mut with_secret = values();
        with_secret.set_secret(fields::CLIENT_SECRET, "s3cr3t~value");
        *first.verified.lock().unwrap() = Some(Verified {
            config: AccountConfig::parse(&with_secret).unwrap(),
            refresh_token: Some(Secret::new("rt")),
            facts: crate::account::saved::VerifiedFacts {
                mail: "ada@contoso.example".into(),
                ..Default::default()
            },
            access_token: None,
        });
        first.save(&with_secret).unwrap();

        // A later edit, as the host's form has it: the saved values without the secret.
        let mut later = Office365::new(memory.handle()).unwrap();
        let edited = values().with(fields::CLIENT_SECRET_EXPIRES, "2031-03-01");
        later.save(&edited).unwrap();
        let settings = memory.settings_of("Reports").unwrap();
        assert_eq!(settings[fields::CLIENT_SECRET_EXPIRES], "2031-03-01");
        assert_eq!(settings["mail"], "ada@contoso.example");
        let secrets = memory.secrets_of("Reports");
        assert_eq!(secrets["refresh_token"], "rt");
        assert_eq!(secrets["client_secret"], "s3cr3t~value");

        let e = later
            .save(
                &edited
                    .clone()
                    .with(fields::TENANT_ID, "fabrikam.onmicrosoft.com"),
            )
            .unwrap_err();
        assert_eq!(
            e.message(),
            "These values have not been verified: Tenant ID changed since the last sign-in."
        );
        assert!(e.hint().unwrap().contains("Client ID, Tenant ID"), "{e}");
        let e = later
            .save(&edited.with(fields::ACCOUNT_NAME, "Unsaved"))
            .unwrap_err();
        assert_eq!(e.message(), "These values have not been verified.");
    }

    #[test]
    fn invalid_values_fail_verification_with_the_field_named() {
        let mut plugin = Office365::new(MemoryHost::new().handle()).unwrap();
        let e = plugin
            .start_verification(
                &values().with(fields::CLIENT_ID, "x"),
                VerifyMethod::DeviceCode,
            )
            .err()
            .unwrap();
        assert_eq!(e.field(), Some(fields::CLIENT_ID));
    }
}

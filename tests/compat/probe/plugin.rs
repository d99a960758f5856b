//! The compatibility matrix's probe plugin: one source, built against interface 1.0,
//! 1.1, 1.2, the stand-in 1.3 and 2.0 (each in its own cargo workspace). It answers
//! every call with something a probe host can recognise.
//!
//! - Under `interface_1_1` (the released 1.1) it also answers what 1.1 added — `token`,
//!   `account_health`, `save_replacing`, `delivery_kinds`, `start_delivery` (a job
//!   that reports progress once, then a receipt) — and uses the host services 1.1
//!   added: it saves through `account_write` (one transaction; the SDK falls back to
//!   separate writes on a 1.0 host) and holds the host's `lock` while a delivery runs
//!   (going on without one on a host that has none).
//! - Under `interface_1_2` (the released 1.2) it also answers what 1.2 added —
//!   `verify_methods` (device code and direct), `settings_display` (one date), its
//!   sessions' `ended_before_cancel`, a `DeliveryKind::Push` delivery — reports its
//!   account as `HealthState::CredentialExpired`, and reads the host's
//!   `store_generation` (1.2 added it to the host services), handing it back in
//!   `load_account` as the value `store_generation` (`none` on a host that cannot say).
//! - Under `interface_1_3` (the stand-in next minor) it also answers `help_url` and
//!   shows a `FieldKind::Url` field.

use atrs_host_sdk::{
    export_plugin, AccessToken, ChoiceOption, FieldError, FieldKind, FormField,
    FormValues, Host, Integration, Manifest, PluginError, SessionState, Settings,
    VerificationSession, VerifiedAccount, VerifyMethod,
};
#[cfg(feature = "interface_1_1")]
use atrs_host_sdk::{
    AccountHealth, DeliveryJob, DeliveryKind, DeliveryRequest, ErrorKind, HealthState, Secrets,
    TokenGrant, TokenRequest, TokenSource,
};
#[cfg(feature = "interface_1_2")]
use atrs_host_sdk::{SettingDisplay, ShownAs};

/// The probe integration.
pub struct Probe {
    host: Host,
}

/// The form values a saved account keeps.
const SAVED_KEYS: [&str; 2] = ["region", "homepage"];

/// Until when the probe's tokens are good, and when its sign-in lapses (2100-01-01).
const FAR_FUTURE: i64 = 4_102_444_800;

fn account_name(values: &FormValues) -> Result<&str, PluginError> {
    values
        .get_trimmed("account_name")
        .ok_or_else(|| PluginError::invalid_input("Account name is empty."))
}

fn saved_settings(values: &FormValues) -> Settings {
    SAVED_KEYS
        .iter()
        .filter_map(|k| values.get(k).map(|v| (k.to_string(), v.to_owned())))
        .collect()
}

impl Probe {
    /// Saves the account `name` under interface 1.0: its settings only.
    #[cfg(not(feature = "interface_1_1"))]
    fn write(&self, name: &str, values: &FormValues) -> Result<(), PluginError> {
        self.host.settings_write(name, &saved_settings(values))
    }

    /// Saves the account `name` under interface 1.1: settings and a secret.
    #[cfg(feature = "interface_1_1")]
    fn write(&self, name: &str, values: &FormValues) -> Result<(), PluginError> {
        self.write_replacing(name, values, None)
    }

    /// Settings and a secret in one transaction, in place of `replaces` if given.
    #[cfg(feature = "interface_1_1")]
    fn write_replacing(
        &self,
        name: &str,
        values: &FormValues,
        replaces: Option<&str>,
    ) -> Result<(), PluginError> {
        let secrets = Secrets::from([("refresh_token".to_owned(), format!("probe-rt-{name}"))]);
        self.host
            .account_write(name, &saved_settings(values), &secrets, replaces)
    }

    /// The saved settings of `account`, or the error a host shows for a missing one.
    fn saved(&self, account: &str) -> Result<Settings, PluginError> {
        self.host
            .settings_read(account)?
            .ok_or_else(|| PluginError::invalid_input("No such account."))
    }
}

impl Integration for Probe {
    fn manifest() -> Manifest {
        Manifest::new(
            "probe",
            "Probe",
            env!("CARGO_PKG_VERSION"),
            "ATRS compatibility matrix",
            "Answers every call so a host can tell what crossed the boundary.",
        )
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        Ok(Probe { host })
    }

    fn describe(&self) -> Vec<FormField> {
        let regions = ["north", "south"]
            .iter()
            .map(|r| ChoiceOption::new(*r, *r))
            .collect();
        #[allow(unused_mut)]
        let mut fields = vec![
            FormField::new("account_name", "Account name", FieldKind::Text).required(),
            FormField::new("token", "Token", FieldKind::Secret),
            FormField::new("region", "Region", FieldKind::Choice { options: regions })
                .with_default("north"),
        ];
        #[cfg(feature = "interface_1_3")]
        fields.push(FormField::new("homepage", "Home page", FieldKind::Url));
        fields
    }

    fn validate(&self, values: &FormValues) -> Vec<FieldError> {
        match values.get_trimmed("account_name") {
            Some(_) => Vec::new(),
            None => vec![FieldError::new("account_name", "Account name is empty.")],
        }
    }

    fn start_verification(
        &mut self,
        values: &FormValues,
        _method: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        let name = values.get_trimmed("account_name").unwrap_or("probe");
        let account = VerifiedAccount {
            account_name: name.into(),
            user_principal_name: "probe@example.invalid".into(),
            display_name: "Probe".into(),
            user_id: None.into(),
            tenant_id: "matrix".into(),
            granted_scopes: Default::default(),
            missing_scopes: Default::default(),
        };
        let verified = SessionState::verified(account);
        #[cfg(feature = "interface_1_2")]
        let session = session::EndedSession::new(verified);
        #[cfg(not(feature = "interface_1_2"))]
        let session = atrs_host_sdk::FixedSession::new(verified);
        Ok(Box::new(session))
    }

    fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
        self.write(account_name(values)?, values)
    }

    fn load_account(&self, account: &str) -> Result<FormValues, PluginError> {
        let mut values = FormValues::new().with("account_name", account);
        for (k, v) in self.saved(account)? {
            values.set(k, v);
        }
        // What the host's store generation read: a number from a 1.2 host that keeps
        // one, `none` from an older host (its services lack the call).
        #[cfg(feature = "interface_1_2")]
        values.set(
            "store_generation",
            self.host
                .store_generation()
                .map_or_else(|| "none".to_owned(), |g| g.to_string()),
        );
        Ok(values)
    }

    fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
        self.host.secrets_remove(account)?;
        self.host.settings_remove(account)
    }

    fn access_token(&self, account: &str) -> Result<AccessToken, PluginError> {
        Ok(AccessToken {
            token: format!("probe-token-for-{account}").into(),
            expires_at: FAR_FUTURE,
            scopes: Default::default(),
        })
    }

    #[cfg(feature = "interface_1_1")]
    fn token(&self, account: &str, request: &TokenRequest) -> Result<TokenGrant, PluginError> {
        self.saved(account)?;
        Ok(TokenGrant {
            token: AccessToken {
                token: format!("probe-token-for-{account}").into(),
                expires_at: FAR_FUTURE,
                scopes: request.scopes.iter().map(|s| s.as_str().into()).collect(),
            },
            source: if request.force_refresh {
                TokenSource::Refreshed
            } else {
                TokenSource::Cache
            },
        })
    }

    #[cfg(feature = "interface_1_1")]
    fn account_health(&self, account: &str) -> Result<AccountHealth, PluginError> {
        self.saved(account)?;
        // A 1.2 plugin says its app credential expired (a state 1.2 added; a 1.1 host
        // shows it as expiring soon); a 1.1 plugin that its sign-in lapses.
        #[cfg(feature = "interface_1_2")]
        let (state, reason) = (
            HealthState::CredentialExpired,
            "The probe's app secret has expired.",
        );
        #[cfg(not(feature = "interface_1_2"))]
        let (state, reason) = (
            HealthState::ExpiringSoon,
            "The probe's sign-in lapses on 1 January 2100.",
        );
        let mut health = AccountHealth::new(state).because(reason, "Re-verify the account.");
        health.lapses_at = Some(FAR_FUTURE);
        health.last_refresh_error = Some(PluginError::new(
            ErrorKind::TimedOut,
            "The last refresh timed out.",
        ));
        Ok(health)
    }

    #[cfg(feature = "interface_1_1")]
    fn save_replacing(&mut self, values: &FormValues, previous: &str) -> Result<(), PluginError> {
        self.write_replacing(account_name(values)?, values, Some(previous))
    }

    #[cfg(feature = "interface_1_1")]
    fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        #[allow(unused_mut)]
        let mut kinds = vec![DeliveryKind::Mail, DeliveryKind::File];
        #[cfg(feature = "interface_1_2")]
        kinds.push(DeliveryKind::Push);
        kinds
    }

    #[cfg(feature = "interface_1_1")]
    fn start_delivery(
        &self,
        account: &str,
        request: DeliveryRequest,
    ) -> Result<Box<dyn DeliveryJob>, PluginError> {
        self.saved(account)?;
        let job = delivery::ProbeJob::start(&self.host, account, &request)?;
        Ok(Box::new(job))
    }

    #[cfg(feature = "interface_1_2")]
    fn verify_methods(&self) -> Vec<VerifyMethod> {
        vec![VerifyMethod::DeviceCode, VerifyMethod::Direct]
    }

    #[cfg(feature = "interface_1_2")]
    fn settings_display(&self) -> Vec<SettingDisplay> {
        vec![SettingDisplay::new(
            "verified_at",
            "Verified",
            ShownAs::Date,
        )]
    }

    #[cfg(feature = "interface_1_3")]
    fn help_url(&self) -> Option<String> {
        Some("https://example.invalid/probe/help".into())
    }
}

/// The probe's verification session under interface 1.2.
#[cfg(feature = "interface_1_2")]
mod session {
    use std::{
        sync::atomic::{AtomicBool, Ordering},
        time::Duration,
    };

    use atrs_host_sdk::{SessionState, VerificationSession};

    /// A session that has ended (verified) before the host polls it, so any cancel
    /// arrives after its end and changes nothing — which it says, as 1.2 allows.
    pub struct EndedSession {
        state: SessionState,
        cancelled: AtomicBool,
    }

    impl EndedSession {
        /// A session ended in `state` (terminal).
        pub fn new(state: SessionState) -> Self {
            debug_assert!(state.is_terminal());
            EndedSession {
                state,
                cancelled: AtomicBool::new(false),
            }
        }
    }

    impl VerificationSession for EndedSession {
        fn poll(&self, _timeout: Duration) -> SessionState {
            self.state.clone()
        }

        fn cancel(&self) {
            self.cancelled.store(true, Ordering::SeqCst);
        }

        fn ended_before_cancel(&self) -> bool {
            self.cancelled.load(Ordering::SeqCst)
        }
    }
}

/// The probe's delivery job (interface 1.1).
#[cfg(feature = "interface_1_1")]
mod delivery {
    use std::{
        path::Path,
        sync::{Mutex, MutexGuard},
        time::Duration,
    };

    use atrs_host_sdk::{
        DeliveryJob, DeliveryReceipt, DeliveryRequest, DeliveryState, ErrorKind, Host, HostLock,
        PluginError,
    };

    /// A delivery that reports progress on its first poll and its receipt on the next,
    /// holding the host's lock on the account until it ends.
    pub struct ProbeJob {
        receipt: DeliveryReceipt,
        progress: Mutex<Progress>,
    }

    struct Progress {
        polls: u32,
        cancelled: bool,
        lock: Option<HostLock>,
    }

    impl Progress {
        fn ended(&self) -> bool {
            self.cancelled || self.polls > 1
        }
    }

    fn size_of(path: &Path) -> Result<u64, PluginError> {
        std::fs::metadata(path).map(|m| m.len()).map_err(|e| {
            PluginError::invalid_input(format!("{} cannot be read: {e}", path.display()))
        })
    }

    impl ProbeJob {
        /// Checks the content and takes the lock; a host without locks (1.0) is fine.
        pub fn start(
            host: &Host,
            account: &str,
            request: &DeliveryRequest,
        ) -> Result<ProbeJob, PluginError> {
            let (bytes, summary) = match request {
                DeliveryRequest::Mail(mail) => {
                    let mut bytes = 0;
                    for attachment in &mail.attachments {
                        bytes += size_of(&attachment.path)?;
                    }
                    let summary = format!(
                        "Sent to {} with {} attachment(s)",
                        mail.to.join(", "),
                        mail.attachments.len()
                    );
                    (bytes, summary)
                }
                DeliveryRequest::File(file) => (
                    size_of(&file.source)?,
                    format!("Put {} in {}", file.file_name, file.folder),
                ),
                #[cfg(feature = "interface_1_2")]
                DeliveryRequest::Push(push) => (
                    size_of(&push.source)?,
                    format!("Pushed {} as {}", push.file_name, push.content_type),
                ),
                _ => return Err(PluginError::unsupported("The probe does not know it.")),
            };
            let name = format!("probe/delivery/{account}");
            let lock = match host.lock(&name, Duration::from_secs(5)) {
                Ok(lock) => Some(lock),
                Err(e) if e.kind() == ErrorKind::Unsupported => None,
                Err(e) => return Err(e),
            };
            let receipt = DeliveryReceipt {
                kind: request.kind(),
                id: format!("probe-{}", request.kind().name()),
                web_url: Some("https://example.invalid/probe/sent".into()),
                summary,
                bytes,
                details: vec![("request-id".into(), "probe-request".into())],
            };
            let progress = Progress {
                polls: 0,
                cancelled: false,
                lock,
            };
            Ok(ProbeJob {
                receipt,
                progress: Mutex::new(progress),
            })
        }

        fn progress(&self) -> MutexGuard<'_, Progress> {
            self.progress.lock().unwrap_or_else(|p| p.into_inner())
        }
    }

    impl DeliveryJob for ProbeJob {
        fn poll(&self, _timeout: Duration) -> DeliveryState {
            let mut progress = self.progress();
            if progress.cancelled {
                return DeliveryState::Failed(PluginError::cancelled(
                    "The delivery was cancelled.",
                ));
            }
            progress.polls = progress.polls.saturating_add(1);
            if !progress.ended() {
                return DeliveryState::Running {
                    message: "Sending".into(),
                    bytes_sent: 0,
                    bytes_total: self.receipt.bytes,
                };
            }
            // Delivered: the lock is released as the delivery ends.
            drop(progress.lock.take());
            DeliveryState::Done(self.receipt.clone())
        }

        fn cancel(&self) {
            let mut progress = self.progress();
            if !progress.ended() {
                progress.cancelled = true;
                drop(progress.lock.take());
            }
        }
    }
}

export_plugin!(Probe);

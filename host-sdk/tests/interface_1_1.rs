//! The calls added in interface 1.1, through the same ABI adapter a loaded library uses:
//! what an integration that offers them returns, and what one written for 1.0 answers.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use atrs_host_sdk::{
    loader::instantiate_in_process, testing::MemoryHost, AccessToken, AccountHealth, DeliveryJob,
    DeliveryKind, DeliveryReceipt, DeliveryRequest, DeliveryState, ErrorKind, FileRequest,
    FixedSession, FormField, FormValues, HealthState, Host, Integration, MailRequest, Manifest,
    PluginError, SessionState, Settings, TokenGrant, TokenRequest, TokenSource,
    VerificationSession, VerifyMethod, ACCOUNT_NAME,
};

/// Answers every 1.1 call from what it is asked, so the test sees the round trip.
struct Modern {
    host: Host,
}

/// Implements only what 1.0 required: every 1.1 call keeps its default.
struct Classic {
    host: Host,
}

fn manifest(id: &str) -> Manifest {
    Manifest::new(id, id, "1.0.0", "Tests", "A test integration.")
}

macro_rules! common_calls {
    () => {
        fn describe(&self) -> Vec<FormField> {
            Vec::new()
        }

        fn validate(&self, _: &FormValues) -> Vec<atrs_host_sdk::FieldError> {
            Vec::new()
        }

        fn start_verification(
            &mut self,
            _: &FormValues,
            _: VerifyMethod,
        ) -> Result<Box<dyn VerificationSession>, PluginError> {
            Ok(Box::new(FixedSession::new(SessionState::failed(
                PluginError::cancelled("not used"),
            ))))
        }

        fn save(&mut self, values: &FormValues) -> Result<(), PluginError> {
            let name = values.get_trimmed(ACCOUNT_NAME).unwrap_or_default();
            self.host.settings_write(name, &Settings::new())
        }

        fn remove_account(&mut self, account: &str) -> Result<(), PluginError> {
            self.host.settings_remove(account)
        }
    };
}

impl Integration for Classic {
    fn manifest() -> Manifest {
        manifest("classic")
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        Ok(Classic { host })
    }

    common_calls!();
}

struct CountingJob {
    cancelled: Arc<AtomicBool>,
    kind: DeliveryKind,
}

impl DeliveryJob for CountingJob {
    fn poll(&self, _: Duration) -> DeliveryState {
        if self.cancelled.load(Ordering::SeqCst) {
            return DeliveryState::Failed(PluginError::cancelled("Delivery cancelled."));
        }
        DeliveryState::Done(DeliveryReceipt {
            kind: self.kind,
            id: "item-1".into(),
            web_url: Some("https://example.test/item-1".into()),
            summary: "Delivered".into(),
            bytes: 42,
            details: vec![("request-id".into(), "r-1".into())],
        })
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

impl Integration for Modern {
    fn manifest() -> Manifest {
        manifest("modern")
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        Ok(Modern { host })
    }

    common_calls!();

    fn token(&self, account: &str, request: &TokenRequest) -> Result<TokenGrant, PluginError> {
        Ok(TokenGrant {
            token: AccessToken {
                token: format!("token-for-{account}").into(),
                expires_at: 1_900_000_000,
                scopes: request.scopes.iter().map(|s| s.as_str().into()).collect(),
            },
            source: if request.force_refresh {
                TokenSource::Refreshed
            } else {
                TokenSource::Cache
            },
        })
    }

    fn account_health(&self, account: &str) -> Result<AccountHealth, PluginError> {
        let mut health = AccountHealth::new(HealthState::NeedsSignIn)
            .because(format!("{account} lapsed"), "Re-verify it.");
        health.lapses_at = Some(1_800_000_000);
        health.last_refresh_error = Some(PluginError::new(
            ErrorKind::AuthorizationRefused,
            "The refresh token has expired.",
        ));
        Ok(health)
    }

    fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        vec![DeliveryKind::Mail, DeliveryKind::File]
    }

    fn start_delivery(
        &self,
        _account: &str,
        request: DeliveryRequest,
    ) -> Result<Box<dyn DeliveryJob>, PluginError> {
        Ok(Box::new(CountingJob {
            cancelled: Arc::default(),
            kind: request.kind(),
        }))
    }
}

#[test]
fn tokens_and_health_cross_the_boundary() {
    let handle = instantiate_in_process::<Modern>(MemoryHost::new()).unwrap();
    let grant = handle
        .token("Sales", &TokenRequest::for_scopes(["Mail.Send"]))
        .unwrap();
    assert_eq!(grant.source, TokenSource::Cache);
    assert_eq!(grant.token.token.as_str(), "token-for-Sales");
    assert_eq!(grant.token.scopes.len(), 1);
    let forced = handle
        .token("Sales", &TokenRequest::saved_scopes().forced())
        .unwrap();
    assert_eq!(forced.source, TokenSource::Refreshed);

    let health = handle.account_health("Sales").unwrap();
    assert_eq!(health.state, HealthState::NeedsSignIn);
    assert_eq!(health.reason, "Sales lapsed");
    assert_eq!(health.fix.as_deref(), Some("Re-verify it."));
    assert_eq!(health.lapses_at, Some(1_800_000_000));
    assert_eq!(
        health.last_refresh_error.map(|e| e.kind()),
        Some(ErrorKind::AuthorizationRefused)
    );
}

#[test]
fn deliveries_cross_the_boundary_and_can_be_cancelled() {
    let handle = instantiate_in_process::<Modern>(MemoryHost::new()).unwrap();
    assert_eq!(
        handle.delivery_kinds(),
        vec![DeliveryKind::Mail, DeliveryKind::File]
    );
    let mail = DeliveryRequest::Mail(MailRequest::test_message("Sales", "a@example.com"));
    let job = handle.start_delivery("Sales", &mail).unwrap();
    match job.poll(Duration::from_millis(10)) {
        DeliveryState::Done(receipt) => {
            assert_eq!(receipt.kind, DeliveryKind::Mail);
            assert_eq!(receipt.bytes, 42);
            assert_eq!(receipt.details, vec![("request-id".into(), "r-1".into())]);
        }
        other => panic!("{other:?}"),
    }
    let file = DeliveryRequest::File(FileRequest {
        source: "/tmp/report.pdf".into(),
        folder: "Reports".into(),
        site: None,
        file_name: "report.pdf".into(),
        conflict: Default::default(),
    });
    let job = handle.start_delivery("Sales", &file).unwrap();
    job.cancel();
    match job.poll(Duration::ZERO) {
        DeliveryState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_integration_written_for_1_0_answers_the_new_calls_with_their_defaults() {
    let memory = MemoryHost::new();
    let mut handle = instantiate_in_process::<Classic>(memory.clone()).unwrap();
    let e = handle
        .token("Sales", &TokenRequest::saved_scopes())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = handle.account_health("Sales").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(handle.delivery_kinds().is_empty());
    let mail = DeliveryRequest::Mail(MailRequest::test_message("Sales", "a@example.com"));
    let e = handle.start_delivery("Sales", &mail).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);

    // The default rename: save under the new name, then remove the old one.
    handle
        .save(&FormValues::new().with(ACCOUNT_NAME, "Old"))
        .unwrap();
    handle
        .save_replacing(&FormValues::new().with(ACCOUNT_NAME, "New"), "Old")
        .unwrap();
    assert_eq!(
        memory.handle().settings_list().unwrap(),
        vec!["New".to_string()]
    );
    // Saving under the same name keeps it.
    handle
        .save_replacing(&FormValues::new().with(ACCOUNT_NAME, "New"), "New")
        .unwrap();
    assert_eq!(
        memory.handle().settings_list().unwrap(),
        vec!["New".to_string()]
    );
}

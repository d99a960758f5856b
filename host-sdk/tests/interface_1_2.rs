//! The calls added in interface 1.2, through the same ABI adapter a loaded library uses:
//! verification methods, settings display, the session's "ended before the cancel",
//! the store generation, and `close` cancelling what the instance started.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use atrs_host_sdk::{
    delivering::Delivery,
    loader::instantiate_in_process,
    session::{Session, Success, CANCEL_WAIT},
    testing::MemoryHost,
    DeliveryJob, DeliveryKind, DeliveryReceipt, DeliveryRequest, DeliveryState, ErrorKind,
    FormField, FormValues, Host, HostServices, Integration, LogLevel, Manifest, PluginError,
    PushRequest, SessionState, SettingDisplay, Settings, ShownAs, VerificationSession,
    VerifiedAccount, VerifyMethod,
};

/// A webhook-like integration: verifies directly, pushes files, and blocks in both
/// until cancelled when told to.
struct Hook {
    host: Host,
}

fn receipt(bytes: u64) -> DeliveryReceipt {
    DeliveryReceipt {
        kind: DeliveryKind::Push,
        id: "r1".into(),
        web_url: None,
        summary: "Pushed".into(),
        bytes,
        details: Vec::new(),
    }
}

impl Integration for Hook {
    fn manifest() -> Manifest {
        Manifest::new("hook", "Hook", "1.0.0", "Tests", "A test integration.")
    }

    fn new(host: Host) -> Result<Self, PluginError> {
        Ok(Hook { host })
    }

    fn describe(&self) -> Vec<FormField> {
        Vec::new()
    }

    fn start_verification(
        &mut self,
        values: &FormValues,
        method: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        assert_eq!(method, VerifyMethod::Direct);
        let block = values.get_trimmed("block").is_some();
        let session = Session::spawn(self.host.clone(), "Checking…", move |r| {
            if block {
                r.cancel_token().pause(Duration::from_secs(3600))?;
            }
            let account = VerifiedAccount::connection("H", "https://h.example/in", "H");
            Ok(Success::new(account, || {}))
        })?;
        Ok(Box::new(session))
    }

    fn save(&mut self, _: &FormValues) -> Result<(), PluginError> {
        Ok(())
    }

    fn delivery_kinds(&self) -> Vec<DeliveryKind> {
        vec![DeliveryKind::Push]
    }

    fn start_delivery(
        &self,
        _: &str,
        request: DeliveryRequest,
    ) -> Result<Box<dyn DeliveryJob>, PluginError> {
        let DeliveryRequest::Push(push) = request else {
            return Err(PluginError::unsupported("Only pushes."));
        };
        let block = push.file_name == "block";
        let job = Delivery::spawn(self.host.clone(), "Pushing…", move |p| {
            p.running("Pushing", 0, 3);
            if block {
                p.pause(Duration::from_secs(3600))?;
            }
            Ok(receipt(3))
        })?;
        Ok(Box::new(job))
    }

    fn verify_methods(&self) -> Vec<VerifyMethod> {
        vec![VerifyMethod::Direct]
    }

    fn settings_display(&self) -> Vec<SettingDisplay> {
        vec![SettingDisplay::new("endpoint", "Endpoint", ShownAs::Url)]
    }
}

fn values(block: bool) -> FormValues {
    let mut v = FormValues::new();
    if block {
        v.set("block", "yes");
    }
    v
}

fn until_terminal(mut poll: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !poll() {
        assert!(Instant::now() < deadline, "did not end");
    }
}

#[test]
fn methods_and_settings_display_cross_and_a_direct_result_reads_as_connected() {
    let mut hook = instantiate_in_process::<Hook>(MemoryHost::new()).unwrap();
    assert_eq!(hook.verify_methods(), vec![VerifyMethod::Direct]);
    let display = hook.settings_display();
    assert_eq!(display.len(), 1);
    assert_eq!(
        (display[0].label.as_str(), display[0].shown_as()),
        ("Endpoint", ShownAs::Url)
    );
    let session = hook
        .start_verification(&values(false), VerifyMethod::Direct)
        .unwrap();
    let mut end = SessionState::working("");
    until_terminal(|| {
        end = session.poll(Duration::from_millis(200));
        end.is_terminal()
    });
    let SessionState::Verified(account) = end else {
        panic!("{end:?}")
    };
    assert_eq!(
        account.headline(&VerifyMethod::Direct),
        "connected to H (https://h.example/in)"
    );
}

#[test]
fn a_cancel_after_the_end_is_reported_as_too_late_and_one_before_it_is_not() {
    let mut hook = instantiate_in_process::<Hook>(MemoryHost::new()).unwrap();
    let done = hook
        .start_verification(&values(false), VerifyMethod::Direct)
        .unwrap();
    until_terminal(|| done.poll(Duration::from_millis(200)).is_terminal());
    done.cancel();
    assert!(done.ended_before_cancel());
    assert!(matches!(
        done.poll(Duration::ZERO),
        SessionState::Verified(_)
    ));

    let running = hook
        .start_verification(&values(true), VerifyMethod::Direct)
        .unwrap();
    running.cancel();
    assert!(!running.ended_before_cancel());
    match running.poll(Duration::ZERO) {
        SessionState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("{other:?}"),
    }
}

#[test]
fn close_cancels_the_sessions_and_deliveries_the_instance_started_within_the_bound() {
    let mut hook = instantiate_in_process::<Hook>(MemoryHost::new()).unwrap();
    let session = hook
        .start_verification(&values(true), VerifyMethod::Direct)
        .unwrap();
    let delivery = hook
        .start_delivery(
            "H",
            &DeliveryRequest::Push(PushRequest {
                file_name: "block".into(),
                ..PushRequest::of_file("/tmp/block")
            }),
        )
        .unwrap();
    assert!(matches!(
        delivery.poll(Duration::from_secs(10)),
        DeliveryState::Running { .. }
    ));
    let started = Instant::now();
    hook.close().unwrap();
    assert!(
        started.elapsed() < 2 * CANCEL_WAIT,
        "{:?}",
        started.elapsed()
    );
    match session.poll(Duration::ZERO) {
        SessionState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("{other:?}"),
    }
    match delivery.poll(Duration::ZERO) {
        DeliveryState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("{other:?}"),
    }
}

/// A host whose store says its generation.
struct Counting {
    inner: MemoryHost,
    generation: Arc<AtomicU64>,
}

impl HostServices for Counting {
    fn log(&self, level: LogLevel, message: &str) {
        self.inner.log(level, message)
    }
    fn open_url(&self, url: &str) -> Result<(), PluginError> {
        self.inner.open_url(url)
    }
    fn settings_list(&self) -> Result<Vec<String>, PluginError> {
        self.inner.settings_list()
    }
    fn settings_read(&self, account: &str) -> Result<Option<Settings>, PluginError> {
        self.inner.settings_read(account)
    }
    fn settings_write(&self, account: &str, settings: &Settings) -> Result<(), PluginError> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.inner.settings_write(account, settings)
    }
    fn settings_remove(&self, account: &str) -> Result<(), PluginError> {
        self.inner.settings_remove(account)
    }
    fn secret_read(&self, account: &str, name: &str) -> Result<Option<String>, PluginError> {
        self.inner.secret_read(account, name)
    }
    fn secret_write(&self, account: &str, name: &str, value: &str) -> Result<(), PluginError> {
        self.inner.secret_write(account, name, value)
    }
    fn secrets_remove(&self, account: &str) -> Result<(), PluginError> {
        self.inner.secrets_remove(account)
    }
    fn store_generation(&self) -> Option<u64> {
        Some(self.generation.load(Ordering::SeqCst))
    }
}

#[test]
fn the_store_generation_crosses_and_a_host_without_one_says_none() {
    let generation = Arc::new(AtomicU64::new(7));
    let host = Host::from_services(Counting {
        inner: MemoryHost::new(),
        generation: generation.clone(),
    });
    assert_eq!(host.store_generation(), Some(7));
    host.settings_write("a", &Settings::new()).unwrap();
    assert_eq!(host.store_generation(), Some(8));
    assert_eq!(MemoryHost::new().handle().store_generation(), None);
}

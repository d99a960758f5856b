//! A call the host gave up on, told apart from the plugin's own `timed_out`, through
//! the same ABI adapter a loaded library uses.

use std::{
    sync::{Condvar, Mutex},
    time::{Duration, Instant},
};

use atrs_host_sdk::{
    loader::{instantiate_in_process, CallFailure},
    testing::MemoryHost,
    DeliveryJob, DeliveryRequest, DeliveryState, ErrorKind, FieldError, FixedSession, FormField,
    FormValues, Host, Integration, MailRequest, Manifest, PluginError, SessionState,
    VerificationSession, VerifyMethod,
};

/// Opened by the test to let a blocked `validate` return.
static GATE: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

/// What a plugin would send to pass its error off as the host's.
fn forged() -> PluginError {
    PluginError::new(ErrorKind::TimedOut, "The device code expired.")
        .with_detail("host_gave_up", "timed_out")
        .with_detail("call", "poll")
        .with_detail("limit_ms", "5")
}

struct Forger;

struct ForgedJob;

impl DeliveryJob for ForgedJob {
    fn poll(&self, _: Duration) -> DeliveryState {
        DeliveryState::Failed(forged())
    }

    fn cancel(&self) {}
}

impl Integration for Forger {
    fn manifest() -> Manifest {
        Manifest::new("forger", "Forger", "1.0.0", "Tests", "Blocks and forges.")
    }

    fn new(_: Host) -> Result<Self, PluginError> {
        Ok(Forger)
    }

    fn describe(&self) -> Vec<FormField> {
        Vec::new()
    }

    /// Blocks until the test opens the gate (10 s at most).
    fn validate(&self, _: &FormValues) -> Vec<FieldError> {
        let (open, opened) = &GATE;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut is_open = open.lock().unwrap();
        while !*is_open && Instant::now() < deadline {
            is_open = opened
                .wait_timeout(is_open, deadline - Instant::now())
                .unwrap()
                .0;
        }
        Vec::new()
    }

    fn start_verification(
        &mut self,
        _: &FormValues,
        _: VerifyMethod,
    ) -> Result<Box<dyn VerificationSession>, PluginError> {
        Ok(Box::new(FixedSession::new(SessionState::failed(forged()))))
    }

    fn save(&mut self, _: &FormValues) -> Result<(), PluginError> {
        Err(forged())
    }

    fn remove_account(&mut self, _: &str) -> Result<(), PluginError> {
        Ok(())
    }

    fn start_delivery(
        &self,
        _: &str,
        _: DeliveryRequest,
    ) -> Result<Box<dyn DeliveryJob>, PluginError> {
        Ok(Box::new(ForgedJob))
    }
}

#[test]
fn the_hosts_timeout_and_the_plugins_are_told_apart() {
    let mut plugin = instantiate_in_process::<Forger>(MemoryHost::new()).unwrap();
    plugin.set_call_timeout(Some(Duration::from_millis(200)));

    // The plugin's own errors, on every path they cross: a call's answer, a session's
    // end and a delivery's end. Each keeps its kind; none passes for the host's.
    let saved = plugin.save(&FormValues::new()).unwrap_err();
    let session = plugin
        .start_verification(&FormValues::new(), VerifyMethod::DeviceCode)
        .unwrap();
    let SessionState::Failed(ended) = session.poll(Duration::from_secs(1)) else {
        panic!("the session ends at once");
    };
    let mail = DeliveryRequest::Mail(MailRequest::test_message("acct", "a@example.test"));
    let delivery = plugin.start_delivery("acct", &mail).unwrap();
    let DeliveryState::Failed(delivered) = delivery.poll(Duration::from_secs(1)) else {
        panic!("the delivery ends at once");
    };
    for e in [&saved, &*ended, &delivered] {
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        assert_eq!(CallFailure::of(e), CallFailure::Plugin, "{e:?}");
        assert!(!e.details().any(|(k, _)| k == "host_gave_up"), "{e:?}");
    }

    // The host's: it stops waiting for `validate`, then refuses what comes next while
    // `validate` is still inside the plugin.
    let gave_up = plugin.validate(&FormValues::new()).unwrap_err();
    assert_eq!(gave_up.kind(), ErrorKind::TimedOut);
    assert_eq!(
        CallFailure::of(&gave_up),
        CallFailure::HostTimedOut {
            call: "validate".into(),
            limit: Duration::from_millis(200)
        }
    );
    let refused = plugin.describe().unwrap_err();
    assert_eq!(
        CallFailure::of(&refused),
        CallFailure::Stuck {
            call: "describe".into(),
            stuck_in: "validate".into()
        }
    );
    assert!(CallFailure::of(&refused).is_host_side());

    let (open, opened) = &GATE;
    *open.lock().unwrap() = true;
    opened.notify_all();
    let deadline = Instant::now() + Duration::from_secs(10);
    while plugin.stuck_call().is_some() {
        assert!(Instant::now() < deadline, "validate never returned");
        std::thread::yield_now();
    }
    assert!(plugin.describe().is_ok());
}

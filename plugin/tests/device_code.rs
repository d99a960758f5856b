//! Device code verification end to end, in process: the Office 365 plugin driven through
//! its `Integration` API against the mock identity platform on 127.0.0.1.
//!
//! Nothing here sleeps to wait: every wait polls with a deadline.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use atrs_host_sdk::{
    testing::MemoryHost, ErrorKind, FormValues, HealthState, Integration, PluginError,
    SessionState, VerificationSession, VerifiedAccount, VerifyMethod,
};
use atrs_mock_idp::{
    defaults, DeviceOutcome, Endpoint, Fault, MockConfig, MockIdp, DEVICE_CODE_GRANT_TYPE,
};
use atrs_office365::{authority::aadsts, fields, net::http::Limits, Office365};

/// Generous bound for a whole verification against the local mock.
const DEADLINE: Duration = Duration::from_secs(30);

/// A mock whose user approves at once and whose polling interval is as short as it gets.
fn quick_idp() -> MockIdp {
    idp(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
}

fn idp(config: MockConfig) -> MockIdp {
    MockIdp::spawn(config).expect("the mock identity platform starts")
}

fn values(idp: &MockIdp, client_id: &str, tenant: &str) -> FormValues {
    FormValues::new()
        .with(fields::ACCOUNT_NAME, "Reports mailbox")
        .with(fields::CLIENT_ID, client_id)
        .with(fields::TENANT_ID, tenant)
        .with(fields::AUTHORITY, idp.base_url())
}

fn contoso(idp: &MockIdp) -> FormValues {
    values(idp, defaults::DESKTOP_CLIENT_ID, defaults::TENANT_ID)
}

fn plugin() -> (MemoryHost, Office365) {
    let memory = MemoryHost::new();
    let plugin = Office365::new(memory.handle()).expect("the plugin starts");
    (memory, plugin)
}

/// Every state a session went through, up to its end (or the deadline).
struct Run {
    states: Vec<SessionState>,
    elapsed: Duration,
}

impl Run {
    fn end(&self) -> &SessionState {
        self.states.last().expect("at least one state")
    }

    fn verified(&self) -> &VerifiedAccount {
        match self.end() {
            SessionState::Verified(a) => a,
            other => panic!("expected Verified, got {other:?}"),
        }
    }

    fn failed(&self) -> &PluginError {
        match self.end() {
            SessionState::Failed(e) => e,
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    fn shown_code(&self) -> Option<(String, String, String, i64)> {
        self.states.iter().find_map(|s| match s {
            SessionState::ShowCode {
                user_code,
                verification_uri,
                message,
                expires_at,
            } => Some((
                user_code.to_string(),
                verification_uri.to_string(),
                message.to_string(),
                *expires_at,
            )),
            _ => None,
        })
    }
}

/// Polls `session` with short timeouts, as a host's UI thread would, until it ends.
fn drive(session: &dyn VerificationSession, deadline: Duration) -> Run {
    let started = Instant::now();
    let mut states = Vec::new();
    loop {
        let state = session.poll(Duration::from_millis(100));
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        if state.is_terminal() {
            break;
        }
        assert!(
            started.elapsed() < deadline,
            "the session did not end within {deadline:?}; states: {states:?}"
        );
    }
    Run {
        states,
        elapsed: started.elapsed(),
    }
}

fn verify(plugin: &mut Office365, values: &FormValues) -> Run {
    let session = plugin
        .start_verification(values, VerifyMethod::DeviceCode)
        .expect("verification starts");
    drive(session.as_ref(), DEADLINE)
}

/// Waits until `condition` holds, failing after `deadline`.
fn wait_for(what: &str, deadline: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

fn device_polls(idp: &MockIdp) -> u64 {
    idp.stats().grant_count(DEVICE_CODE_GRANT_TYPE)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The longest run of token-like characters in `text` (tokens and codes are long runs).
fn longest_token_like_run(text: &str) -> usize {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.~".contains(c)))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fn everything_shown(memory: &MemoryHost, run: &Run) -> String {
    let mut all: Vec<String> = memory.log_lines().into_iter().map(|(_, l)| l).collect();
    all.extend(run.states.iter().map(|s| format!("{s:?}")));
    if let SessionState::Failed(e) = run.end() {
        all.push(format!("{e} {e:?}"));
        all.extend(e.details().map(|(k, v)| format!("{k}={v}")));
    }
    all.join("\n")
}

#[test]
fn approved_sign_in_is_verified_and_saved() {
    let idp = quick_idp();
    let (memory, mut plugin) = plugin();
    let form = contoso(&idp);
    let run = verify(&mut plugin, &form);

    let (user_code, uri, message, expires_at) = run.shown_code().expect("a code was shown");
    assert!(!user_code.is_empty());
    assert_eq!(uri, format!("{}/devicelogin", idp.base_url()));
    assert!(message.contains(&user_code), "{message}");
    assert!(expires_at > unix_now() + 800 && expires_at <= unix_now() + 901);

    let account = run.verified();
    assert_eq!(account.account_name.as_str(), "Reports mailbox");
    assert_eq!(account.user_principal_name.as_str(), defaults::USER_UPN);
    assert_eq!(account.display_name.as_str(), defaults::USER_DISPLAY_NAME);
    assert_eq!(
        account.user_id.as_ref().map(|s| s.as_str()).into_option(),
        Some(defaults::USER_ID)
    );
    assert_eq!(account.tenant_id.as_str(), defaults::TENANT_ID);
    let granted: Vec<&str> = account.granted_scopes.iter().map(|s| s.as_str()).collect();
    assert!(
        granted.contains(&"User.Read") && granted.contains(&"Mail.Send"),
        "{granted:?}"
    );
    // The default permissions send mail; the deliveries they leave out are named with
    // what to ask for (they were not requested, so Scopes is part of the fix).
    let missing: Vec<&str> = account
        .missing_scopes
        .iter()
        .map(|m| m.scope.as_str())
        .collect();
    assert_eq!(missing, ["Mail.ReadWrite", "Files.ReadWrite"]);
    assert!(account.missing_scopes[0]
        .hint
        .starts_with("Attachments over 3 MB"));
    assert!(account.missing_scopes[1].hint.contains("Scopes"));
    assert!(memory
        .log_lines()
        .iter()
        .any(|(_, l)| l.contains("Deliveries the granted permissions allow: mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite.")));
    assert_eq!(
        idp.stats().count(Endpoint::Graph),
        1,
        "the account was confirmed with Graph /me"
    );

    plugin.save(&form).expect("the verified values save");
    let settings = memory
        .settings_of("Reports mailbox")
        .expect("settings saved");
    assert_eq!(
        settings.get("user_principal_name").map(String::as_str),
        Some(defaults::USER_UPN)
    );
    assert_eq!(
        settings.get("mail").map(String::as_str),
        Some(defaults::USER_MAIL)
    );
    assert_eq!(
        settings.get("display_name").map(String::as_str),
        Some(defaults::USER_DISPLAY_NAME)
    );
    assert_eq!(
        settings.get("user_id").map(String::as_str),
        Some(defaults::USER_ID)
    );
    assert_eq!(
        settings.get("verified_tenant_id").map(String::as_str),
        Some(defaults::TENANT_ID)
    );
    assert_eq!(
        settings.get(fields::CLIENT_ID).map(String::as_str),
        Some(defaults::DESKTOP_CLIENT_ID)
    );
    let secrets = memory.secrets_of("Reports mailbox");
    let refresh = secrets
        .get("refresh_token")
        .expect("refresh token stored as a secret");
    assert!(refresh.len() > 40);
    assert!(
        !settings.values().any(|v| v.contains(refresh.as_str())),
        "no secret in the settings"
    );
}

#[test]
fn a_user_without_mail_is_saved_with_the_upn_as_mail() {
    let idp = quick_idp();
    idp.set_device_outcome(DeviceOutcome::ApproveAs(defaults::NO_MAIL_USER_UPN.into()));
    let (memory, mut plugin) = plugin();
    let form = contoso(&idp);
    let run = verify(&mut plugin, &form);
    assert_eq!(
        run.verified().user_principal_name.as_str(),
        defaults::NO_MAIL_USER_UPN
    );
    assert_eq!(
        run.verified().display_name.as_str(),
        defaults::NO_MAIL_USER_DISPLAY_NAME
    );
    plugin.save(&form).unwrap();
    let settings = memory.settings_of("Reports mailbox").unwrap();
    assert_eq!(
        settings.get("mail").map(String::as_str),
        Some(defaults::NO_MAIL_USER_UPN)
    );
}

#[test]
fn a_permission_needing_admin_consent_is_named_as_missing_with_how_to_grant_it() {
    let idp = quick_idp();
    let (_memory, mut plugin) = plugin();
    let run = verify(
        &mut plugin,
        &values(&idp, defaults::ADMIN_CONSENT_CLIENT_ID, defaults::TENANT_ID),
    );
    let account = run.verified();
    let missing: Vec<&str> = account
        .missing_scopes
        .iter()
        .map(|m| m.scope.as_str())
        .collect();
    assert_eq!(
        missing,
        vec!["Mail.Send", "Mail.ReadWrite", "Files.ReadWrite"],
        "the requested permission first, then what other deliveries need"
    );
    let hint = account.missing_scopes[0].hint.as_str();
    assert!(hint.starts_with("Sending mail needs it."), "{hint}");
    assert!(
        hint.contains("API permissions") && hint.contains("admin consent"),
        "{hint}"
    );
    assert!(account
        .granted_scopes
        .iter()
        .any(|s| s.as_str() == "User.Read"));
}

#[test]
fn with_the_delivery_permissions_granted_nothing_is_missing_and_health_is_quiet() {
    let idp = quick_idp();
    let (memory, mut plugin) = plugin();
    let form = contoso(&idp).with(
        fields::SCOPES,
        "openid profile offline_access User.Read Mail.Send Mail.ReadWrite Files.ReadWrite",
    );
    let run = verify(&mut plugin, &form);
    let account = run.verified();
    assert!(
        account.missing_scopes.is_empty(),
        "{:?}",
        account.missing_scopes
    );
    plugin.save(&form).unwrap();
    let health = plugin.account_health("Reports mailbox").unwrap();
    assert_eq!(health.state, HealthState::Healthy);
    assert!(
        health.reason.is_empty() && health.fix.is_none(),
        "{health:?}"
    );
    assert!(memory
        .log_lines()
        .iter()
        .any(|(_, l)| l.contains("mail ✓, attachments over 3 MB ✓, files ✓")));
}

#[test]
fn the_health_of_an_account_without_the_file_permission_names_the_deliveries() {
    let idp = quick_idp();
    let (_memory, mut plugin) = plugin();
    let form = contoso(&idp);
    verify(&mut plugin, &form).verified();
    plugin.save(&form).unwrap();
    let health = plugin.account_health("Reports mailbox").unwrap();
    assert_eq!(health.state, HealthState::Healthy);
    assert_eq!(
        health.reason,
        "Deliveries: mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite."
    );
    assert!(
        health
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("Mail.ReadWrite, Files.ReadWrite")),
        "{health:?}"
    );
}

#[test]
fn declined_sign_in_is_refused_with_a_plain_message() {
    let idp = quick_idp();
    idp.set_device_outcome(DeviceOutcome::Decline);
    let (memory, mut plugin) = plugin();
    let form = contoso(&idp);
    let run = verify(&mut plugin, &form);
    let e = run.failed();
    assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
    assert_eq!(e.message(), "The sign-in was declined.");
    assert!(e.hint().unwrap().contains("Verify again"));
    assert!(e.trace_id().is_some() && e.correlation_id().is_some());
    assert!(
        plugin.save(&form).is_err(),
        "nothing verified, nothing saved"
    );
    assert!(memory.settings_of("Reports mailbox").is_none());
}

#[test]
fn an_expired_code_times_out() {
    let idp = idp(MockConfig {
        device_interval_secs: 0,
        device_expires_in_secs: 1,
        ..MockConfig::default()
    });
    idp.set_device_outcome(DeviceOutcome::Ignore);
    let (_memory, mut plugin) = plugin();
    let run = verify(&mut plugin, &contoso(&idp));
    let e = run.failed();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert_eq!(
        e.message(),
        "The sign-in code expired before the sign-in was finished."
    );
    assert!(e.hint().unwrap().contains("Choose Verify again"));
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
}

#[test]
fn slow_down_adds_five_seconds_to_the_interval() {
    let idp = quick_idp();
    idp.set_fault(Endpoint::Token, Fault::SlowDown { times: 1 });
    let (memory, mut plugin) = plugin();
    let run = verify(&mut plugin, &contoso(&idp));
    run.verified();
    assert_eq!(
        device_polls(&idp),
        2,
        "one poll slowed down, the next one approved"
    );
    assert!(
        run.elapsed >= Duration::from_secs(5),
        "the second poll came {:?} after the start",
        run.elapsed
    );
    assert!(memory
        .log_lines()
        .iter()
        .any(|(_, l)| l.contains("slow down")));
}

#[test]
fn cancel_mid_poll_stops_at_once() {
    let idp = idp(MockConfig {
        device_interval_secs: 0,
        ..MockConfig::default()
    });
    idp.set_device_outcome(DeviceOutcome::Ignore);
    let (_memory, mut plugin) = plugin();
    let form = contoso(&idp);
    let session = plugin
        .start_verification(&form, VerifyMethod::DeviceCode)
        .unwrap();
    wait_for("two polls", DEADLINE, || {
        session.poll(Duration::from_millis(20));
        device_polls(&idp) >= 2
    });
    let started = Instant::now();
    session.cancel();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "cancel returns at once"
    );
    let polls_at_cancel = device_polls(&idp);
    let total_at_cancel = idp.stats().total();
    // The interval is 250 ms: several polls would have come in this window.
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_millis(1500) {
        assert_eq!(device_polls(&idp), polls_at_cancel, "a poll after cancel");
        // Sampling a window for requests that must not come; nothing to wait for.
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        idp.stats().total(),
        total_at_cancel,
        "no request of any kind after cancel"
    );
    match session.poll(Duration::ZERO) {
        SessionState::Failed(e) => {
            assert_eq!(e.kind(), ErrorKind::Cancelled);
            assert_eq!(e.message(), "Verification was cancelled.");
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert!(plugin.save(&form).is_err());
}

#[test]
fn every_aadsts_error_on_this_path_gives_its_plain_message() {
    let idp = quick_idp();
    let unknown_client = "11111111-2222-4333-8444-555555555555";
    let cases: [(&str, FormValues, u64); 6] = [
        (
            "unknown tenant",
            values(
                &idp,
                defaults::DESKTOP_CLIENT_ID,
                "fabrikam.onmicrosoft.com",
            ),
            90002,
        ),
        (
            "unknown client",
            values(&idp, unknown_client, defaults::TENANT_ID),
            700016,
        ),
        (
            "single-tenant app on common",
            values(&idp, defaults::SINGLE_TENANT_CLIENT_ID, "common"),
            50194,
        ),
        (
            "work-or-school app on consumers",
            values(&idp, defaults::DESKTOP_CLIENT_ID, "consumers"),
            9002332,
        ),
        (
            "unknown scope",
            contoso(&idp).with(
                fields::SCOPES,
                "openid offline_access User.Read Nope.Nothing",
            ),
            70011,
        ),
        (
            "public client flows off",
            values(
                &idp,
                defaults::NO_PUBLIC_FLOWS_CLIENT_ID,
                defaults::TENANT_ID,
            ),
            7000218,
        ),
    ];
    for (what, form, code) in cases {
        let (_memory, mut plugin) = plugin();
        let run = verify(&mut plugin, &form);
        let e = run.failed();
        let row = aadsts::lookup(code).unwrap();
        assert_eq!(e.message(), row.message, "{what}");
        assert_eq!(e.hint(), Some(row.hint), "{what}");
        assert_eq!(e.kind(), row.kind, "{what}");
        assert_eq!(e.field(), row.field, "{what}");
        let expected_code = format!("AADSTS{code}");
        assert_eq!(e.provider_code(), Some(expected_code.as_str()), "{what}");
        assert!(e.trace_id().is_some(), "{what}: trace id kept");
        assert!(e.correlation_id().is_some(), "{what}: correlation id kept");
    }
}

#[test]
fn renaming_or_changing_ids_after_verify_refuses_save() {
    let idp = quick_idp();
    let (memory, mut plugin) = plugin();
    let form = contoso(&idp);
    verify(&mut plugin, &form).verified();
    for changed in [
        form.clone().with(fields::ACCOUNT_NAME, "Renamed"),
        form.clone()
            .with(fields::TENANT_ID, defaults::TENANT_DOMAIN),
        form.clone()
            .with(fields::CLIENT_ID, defaults::ADMIN_CONSENT_CLIENT_ID),
    ] {
        let e = plugin.save(&changed).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.message().contains("not been verified"), "{e}");
    }
    assert!(memory.settings_of("Renamed").is_none());
    plugin.save(&form).expect("the values verified still save");
}

#[test]
fn network_faults_end_in_a_readable_network_error_in_bounded_time() {
    let faults = [
        Fault::Html,
        Fault::HtmlError { status: 502 },
        Fault::Truncated,
        Fault::Reset,
        Fault::Oversized,
        Fault::Status {
            status: 503,
            retry_after: Some(1),
        },
    ];
    let endpoints = [
        Endpoint::Discovery,
        Endpoint::DeviceCode,
        Endpoint::Token,
        Endpoint::Graph,
    ];
    let idp = quick_idp();
    for endpoint in endpoints {
        for fault in &faults {
            idp.clear_faults();
            idp.set_fault(endpoint, fault.clone());
            let (_memory, mut plugin) = plugin();
            let run = verify(&mut plugin, &contoso(&idp));
            let e = run.failed();
            let what = format!("{fault:?} at {endpoint:?}");
            assert_eq!(e.kind(), ErrorKind::Network, "{what}: {e:?}");
            // A 503 from the identity platform carries Entra's own error (AADSTS90033);
            // every other fault is described by the server it came from.
            let named = e.message().contains("127.0.0.1")
                || (e.provider_code() == Some("AADSTS90033") && e.trace_id().is_some());
            assert!(
                named,
                "{what}: names the server or the provider code: {e:?}"
            );
            assert!(
                e.hint().is_some_and(|h| h.len() > 20),
                "{what}: says what to do"
            );
            assert!(
                run.elapsed < Duration::from_secs(15),
                "{what}: took {:?}",
                run.elapsed
            );
        }
    }
}

#[test]
fn a_slow_server_times_out_within_the_limit() {
    let idp = quick_idp();
    idp.set_fault(Endpoint::Discovery, Fault::Delay(Duration::from_secs(20)));
    let (_memory, mut plugin) = plugin();
    plugin.set_network_limits(Limits {
        request_timeout: Duration::from_millis(500),
        ..Limits::default()
    });
    let run = verify(&mut plugin, &contoso(&idp));
    let e = run.failed();
    assert_eq!(e.kind(), ErrorKind::Network);
    assert!(e.message().contains("did not answer"), "{e}");
    assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
}

#[test]
fn a_one_off_fault_while_polling_is_ridden_out() {
    let idp = quick_idp();
    idp.set_fault_times(
        Endpoint::Token,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        1,
    );
    let (_memory, mut plugin) = plugin();
    verify(&mut plugin, &contoso(&idp)).verified();
}

#[test]
fn secrets_never_reach_logs_states_or_errors() {
    let idp = quick_idp();
    // A confidential app: the polls carry its secret, which the token endpoint checks.
    let client_secret = defaults::WEB_CLIENT_SECRET;
    let (memory, mut plugin) = plugin();
    let form = values(&idp, defaults::WEB_CLIENT_ID, defaults::TENANT_ID)
        .with(fields::CLIENT_SECRET, client_secret);
    let run = verify(&mut plugin, &form);
    run.verified();
    plugin.save(&form).unwrap();
    let refresh = memory.secrets_of("Reports mailbox")["refresh_token"].clone();
    assert_eq!(
        memory
            .secrets_of("Reports mailbox")
            .get("client_secret")
            .map(String::as_str),
        Some(client_secret)
    );
    let mut shown = everything_shown(&memory, &run);

    idp.set_device_outcome(DeviceOutcome::Decline);
    let declined = verify(&mut plugin, &form);
    shown.push_str(&everything_shown(&memory, &declined));

    for secret in [client_secret, refresh.as_str(), "DAQABAAEAAA", "eyJ"] {
        assert!(!shown.contains(secret), "a secret was shown:\n{shown}");
    }
    // Access tokens, device codes and ID tokens are long unbroken runs; nothing shown is.
    assert!(
        longest_token_like_run(&shown) < 40,
        "a token-like string was shown:\n{shown}"
    );
}

#[test]
fn dropping_the_integration_mid_sign_in_cancels_the_session_cleanly() {
    let idp = quick_idp();
    idp.set_device_outcome(DeviceOutcome::Ignore);
    let (_memory, mut plugin) = plugin();
    let session = plugin
        .start_verification(&contoso(&idp), VerifyMethod::DeviceCode)
        .unwrap();
    wait_for("a poll", DEADLINE, || {
        session.poll(Duration::from_millis(20));
        device_polls(&idp) >= 1
    });
    drop(plugin);
    let polls = device_polls(&idp);
    match session.poll(Duration::ZERO) {
        SessionState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    drop(session);
    assert_eq!(
        device_polls(&idp),
        polls,
        "no poll after the integration went away"
    );
}

#[test]
fn a_new_verification_replaces_the_running_one() {
    let idp = quick_idp();
    idp.set_device_outcome(DeviceOutcome::Ignore);
    let (_memory, mut plugin) = plugin();
    let form = contoso(&idp);
    let first = plugin
        .start_verification(&form, VerifyMethod::DeviceCode)
        .unwrap();
    idp.set_device_outcome(DeviceOutcome::Approve);
    let second = plugin
        .start_verification(&form, VerifyMethod::DeviceCode)
        .unwrap();
    assert!(matches!(
        first.poll(Duration::ZERO),
        SessionState::Failed(e) if e.kind() == ErrorKind::Cancelled
    ));
    drive(second.as_ref(), DEADLINE).verified();
    plugin.save(&form).unwrap();
}

#[test]
fn a_client_secret_is_checked_by_the_token_endpoint_before_save_keeps_it() {
    let idp = quick_idp();
    let wrong = "Wr0ngQ~this-is-not-the-secret-value-0123456";
    let web = |secret: &str| {
        values(&idp, defaults::WEB_CLIENT_ID, defaults::TENANT_ID)
            .with(fields::CLIENT_SECRET, secret)
    };
    // Before: device code never sent the secret, so any typed secret was saved as verified.
    for (what, form, code, fix) in [
        (
            "a desktop (public) app given a secret",
            contoso(&idp).with(fields::CLIENT_SECRET, wrong),
            "AADSTS700025",
            "Remove the secret",
        ),
        (
            "a web app given a wrong secret",
            web(wrong),
            "AADSTS7000215",
            "Use the secret's Value",
        ),
    ] {
        let (memory, mut plugin) = plugin();
        let run = verify(&mut plugin, &form);
        let e = run.failed();
        assert_eq!(e.provider_code(), Some(code), "{what}: {e:?}");
        assert_eq!(e.field(), Some(fields::CLIENT_SECRET), "{what}");
        assert!(e.hint().unwrap().starts_with(fix), "{what}: {e:?}");
        let refused = plugin.save(&form).unwrap_err();
        assert!(refused.message().contains("not been verified"), "{what}");
        assert!(memory.secrets_of("Reports mailbox").is_empty(), "{what}");
    }
    let (memory, mut plugin) = plugin();
    let form = web(defaults::WEB_CLIENT_SECRET);
    verify(&mut plugin, &form).verified();
    plugin.save(&form).unwrap();
    assert_eq!(
        memory
            .secrets_of("Reports mailbox")
            .get("client_secret")
            .map(String::as_str),
        Some(defaults::WEB_CLIENT_SECRET),
        "the secret the token endpoint accepted is saved"
    );
}

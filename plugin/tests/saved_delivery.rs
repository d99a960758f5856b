//! Deliveries through a saved account, in process, against the mock on 127.0.0.1.
//!
//! Claims challenges (Continuous Access Evaluation): the plugin declares `cp1`; a Graph 401
//! with `insufficient_claims` leads to exactly one token request carrying those claims and
//! one retry; claims the user must answer make the account "needs signing in again" with
//! the reason, keep the store, and nothing loops.
//!
//! Politeness: at most four Graph requests of one account in flight, across deliveries;
//! every request names the application in its `User-Agent`; a message over the mailbox's
//! maximum message size refused before anything is uploaded.
//!
//! Nothing here sleeps to wait: sessions and jobs are polled with a deadline.

use std::time::{Duration, Instant};

use atrs_host_sdk::{
    testing::MemoryHost, DeliveryJob, DeliveryRequest, DeliveryState, ErrorKind, FormValues,
    HealthState, Integration, MailRequest, SessionState, TokenRequest, VerifyMethod,
};
use atrs_mock_idp::{defaults, ClaimsChallenge, Endpoint, Fault, MockConfig, MockIdp};
use atrs_office365::delivery::politeness::{MAX_IN_FLIGHT, USER_AGENT};
use atrs_office365::{fields, Office365};

const ACCOUNT: &str = "Reports mailbox";
const REFRESH: &str = "refresh_token";
const DEADLINE: Duration = Duration::from_secs(60);

fn idp() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("the mock identity platform starts")
}

fn form(idp: &MockIdp) -> FormValues {
    FormValues::new()
        .with(fields::ACCOUNT_NAME, ACCOUNT)
        .with(fields::CLIENT_ID, defaults::DESKTOP_CLIENT_ID)
        .with(fields::TENANT_ID, defaults::TENANT_ID)
        .with(fields::AUTHORITY, idp.base_url())
}

/// A plugin with `ACCOUNT` verified by device code and saved, its token cached.
fn saved_account(idp: &MockIdp) -> (MemoryHost, Office365) {
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).expect("the plugin starts");
    let session = plugin
        .start_verification(&form(idp), VerifyMethod::DeviceCode)
        .expect("verification starts");
    let started = Instant::now();
    loop {
        match session.poll(Duration::from_millis(100)) {
            SessionState::Verified(_) => break,
            s if s.is_terminal() => panic!("verification ended with {s:?}"),
            _ => assert!(started.elapsed() < DEADLINE, "no verification"),
        }
    }
    plugin.save(&form(idp)).expect("the verified values save");
    plugin
        .token(ACCOUNT, &TokenRequest::saved_scopes())
        .expect("a token");
    (memory, plugin)
}

fn report() -> DeliveryRequest {
    DeliveryRequest::Mail(MailRequest {
        to: vec!["boss@contoso.com".into()],
        subject: "Monthly report".into(),
        body: "Attached.".into(),
        ..MailRequest::default()
    })
}

/// Deliver through the saved account; the job's end state.
fn deliver(plugin: &Office365) -> DeliveryState {
    let job = plugin
        .start_delivery(ACCOUNT, report())
        .expect("the delivery starts");
    finish(job.as_ref())
}

/// Poll `job` until it ends.
fn finish(job: &dyn DeliveryJob) -> DeliveryState {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match job.poll(Duration::from_millis(200)) {
            DeliveryState::Running { .. } => {
                assert!(
                    Instant::now() < deadline,
                    "the delivery did not end in time"
                )
            }
            end => return end,
        }
    }
}

fn send_mail_calls(idp: &MockIdp) -> usize {
    idp.stats()
        .requests
        .iter()
        .filter(|r| r.path.ends_with("/sendMail"))
        .count()
}

#[test]
fn the_plugin_declares_cp1_when_it_signs_in_and_refreshes() {
    let idp = idp();
    let (_memory, plugin) = saved_account(&idp);
    // Save & Close cached the sign-in's token: a refresh is forced.
    let forced = TokenRequest {
        force_refresh: true,
        ..TokenRequest::saved_scopes()
    };
    plugin.token(ACCOUNT, &forced).expect("a refreshed token");
    let counts = idp.stats().account(defaults::USER_UPN);
    // The device-code redemption and the refresh both declared it.
    assert!(counts.cp1_declared >= 2, "{counts:?}");
    assert_eq!(
        counts.cp1_declared,
        counts.grant_types.values().sum::<u64>(),
        "every token request declares cp1: {counts:?}"
    );
}

#[test]
fn a_challenge_on_send_mail_gets_one_token_request_with_the_claims_one_retry_one_message() {
    let idp = idp();
    let (memory, plugin) = saved_account(&idp);
    idp.arm_claims_challenge(
        defaults::USER_UPN,
        ClaimsChallenge {
            path_contains: Some("sendMail".into()),
            needs_user: false,
        },
    );
    idp.reset_stats();
    match deliver(&plugin) {
        DeliveryState::Done(receipt) => assert!(receipt.summary.starts_with("Sent"), "{receipt:?}"),
        other => panic!("{other:?}"),
    }
    let counts = idp.stats().account(defaults::USER_UPN);
    assert_eq!(counts.claims_challenges, 1, "one challenge: {counts:?}");
    assert_eq!(
        counts.claims_answered, 1,
        "one token request with the claims"
    );
    assert_eq!(
        idp.stats().account_grant_count(defaults::USER_UPN, REFRESH),
        1,
        "no other token request"
    );
    assert_eq!(counts.cp1_declared, 1, "cp1 merged into the claims");
    assert_eq!(
        send_mail_calls(&idp),
        2,
        "the challenged call and one retry"
    );
    assert_eq!(idp.sent_items().len(), 1, "sent once");
    assert_eq!(
        plugin.account_health(ACCOUNT).unwrap().state,
        HealthState::Healthy
    );
    // The token issued for the claims is cached: the next delivery asks for nothing new.
    idp.reset_stats();
    assert!(matches!(deliver(&plugin), DeliveryState::Done(_)));
    let counts = idp.stats().account(defaults::USER_UPN);
    assert!(counts.grant_types.is_empty(), "{counts:?}");
    assert_eq!(
        (counts.claims_challenges, counts.claims_answered),
        (0, 0),
        "{counts:?}"
    );
    assert!(memory
        .log_lines()
        .iter()
        .any(|(_, l)| l.contains("claims challenge")));
}

#[test]
fn a_challenge_the_user_must_answer_needs_sign_in_again_keeps_the_store_and_never_loops() {
    let idp = idp();
    let (memory, plugin) = saved_account(&idp);
    idp.arm_claims_challenge(
        defaults::USER_UPN,
        ClaimsChallenge {
            path_contains: None,
            needs_user: true,
        },
    );
    let secrets = memory.secrets_of(ACCOUNT);
    let settings = memory.settings_of(ACCOUNT).unwrap();
    idp.reset_stats();
    let e = match deliver(&plugin) {
        DeliveryState::Failed(e) => e,
        other => panic!("{other:?}"),
    };
    println!("claims the user must answer: {e}");
    assert_eq!(e.kind(), ErrorKind::AuthorizationRefused, "{e}");
    assert!(e.message().contains("needs to be signed in again"), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("Re-verify")), "{e:?}");
    let counts = idp.stats().account(defaults::USER_UPN);
    assert_eq!(counts.claims_challenges, 1, "{counts:?}");
    assert_eq!(counts.claims_answered, 1, "{counts:?}");
    assert_eq!(
        idp.stats().account_grant_count(defaults::USER_UPN, REFRESH),
        1
    );
    assert!(idp.sent_items().is_empty());
    let health = plugin.account_health(ACCOUNT).unwrap();
    assert_eq!(health.state, HealthState::NeedsSignIn);
    assert!(
        !health.reason.is_empty() && e.message().contains(&health.reason[1..]),
        "{} / {e}",
        health.reason
    );
    // Nothing removed: every secret is kept, every setting but the refresh facts too.
    assert_eq!(memory.secrets_of(ACCOUNT), secrets);
    let after = memory.settings_of(ACCOUNT).unwrap();
    for (k, v) in &settings {
        if !k.starts_with("last_refresh") {
            assert_eq!(after.get(k), Some(v), "{k}");
        }
    }
    // The next delivery is challenged again but asks the provider nothing: the refusal
    // stands until the user signs in.
    assert!(matches!(deliver(&plugin), DeliveryState::Failed(_)));
    let counts = idp.stats().account(defaults::USER_UPN);
    assert_eq!(counts.claims_challenges, 2);
    assert_eq!(counts.claims_answered, 1, "no second token request");
}

/// Verifies `form` by device code; the end state.
fn verify_end(plugin: &mut Office365, form: &FormValues) -> SessionState {
    let session = plugin
        .start_verification(form, VerifyMethod::DeviceCode)
        .expect("verification starts");
    let started = Instant::now();
    loop {
        match session.poll(Duration::from_millis(100)) {
            s if s.is_terminal() => return s,
            _ => assert!(started.elapsed() < DEADLINE, "no verification"),
        }
    }
}

#[test]
fn a_challenge_on_verify_s_me_gets_one_token_request_one_retry_and_its_tokens_are_saved() {
    let idp = idp();
    idp.arm_claims_challenge(
        defaults::USER_UPN,
        ClaimsChallenge {
            path_contains: None,
            needs_user: false,
        },
    );
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    match verify_end(&mut plugin, &form(&idp)) {
        SessionState::Verified(a) => assert_eq!(a.user_principal_name.as_str(), defaults::USER_UPN),
        other => panic!("{other:?}"),
    }
    let counts = idp.stats().account(defaults::USER_UPN);
    assert_eq!(
        counts.claims_challenges, 1,
        "/me challenged once: {counts:?}"
    );
    assert_eq!(
        counts.claims_answered, 1,
        "one token request with the claims"
    );
    assert_eq!(
        idp.stats().account_grant_count(defaults::USER_UPN, REFRESH),
        1,
        "no other refresh"
    );
    assert_eq!(
        idp.stats().count(Endpoint::Graph),
        2,
        "the challenged /me and one retry"
    );
    plugin.save(&form(&idp)).expect("saves");
    // What was saved is the token issued for the claims (and the refresh token that came
    // with it): the first delivery is not challenged and asks the provider nothing.
    idp.reset_stats();
    match deliver(&plugin) {
        DeliveryState::Done(_) => {}
        other => panic!("{other:?}"),
    }
    let counts = idp.stats().account(defaults::USER_UPN);
    assert_eq!(counts.claims_challenges, 0, "{counts:?}");
    assert!(counts.grant_types.is_empty(), "{counts:?}");
    assert!(memory
        .log_lines()
        .iter()
        .any(|(_, l)| l.contains("answered /me with a claims challenge")));
}

#[test]
fn a_challenge_on_verify_s_me_the_user_must_answer_fails_the_verification_with_the_reason() {
    let idp = idp();
    idp.arm_claims_challenge(
        defaults::USER_UPN,
        ClaimsChallenge {
            path_contains: Some("/me".into()),
            needs_user: true,
        },
    );
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    let e = match verify_end(&mut plugin, &form(&idp)) {
        SessionState::Failed(e) => e,
        other => panic!("{other:?}"),
    };
    println!("claims on /me the user must answer: {e}");
    assert_eq!(e.kind(), ErrorKind::AuthorizationRefused, "{e}");
    assert!(e.message().contains("claims challenge"), "{e}");
    assert!(e.message().contains("sign in again"), "{e}");
    assert!(
        e.hint().is_some_and(|h| h.contains("Choose Verify again")),
        "{e:?}"
    );
    assert_eq!(e.provider_code(), Some("AADSTS50076"), "{e:?}");
    let counts = idp.stats().account(defaults::USER_UPN);
    assert_eq!(counts.claims_challenges, 1, "{counts:?}");
    assert_eq!(counts.claims_answered, 1, "one token request, refused");
    assert_eq!(
        idp.stats().count(Endpoint::Graph),
        1,
        "no retry without a new token"
    );
    // Nothing was verified, so nothing can be saved.
    assert!(plugin.save(&form(&idp)).is_err());
    assert!(memory.settings_of(ACCOUNT).is_none());
}

#[test]
fn ten_deliveries_at_once_never_have_more_than_four_requests_in_flight() {
    let idp = idp();
    let (_memory, plugin) = saved_account(&idp);
    // Each Graph request takes a while, so the deliveries pile up at the mock.
    idp.set_fault(Endpoint::Graph, Fault::Delay(Duration::from_millis(300)));
    idp.reset_stats();
    let jobs: Vec<_> = (0..10)
        .map(|_| plugin.start_delivery(ACCOUNT, report()).expect("starts"))
        .collect();
    for job in &jobs {
        assert!(matches!(finish(job.as_ref()), DeliveryState::Done(_)));
    }
    assert_eq!(idp.sent_items().len(), 10);
    let max = idp.stats().account(defaults::USER_UPN).max_in_flight;
    println!("most Graph requests of the account in flight at once: {max} (10 deliveries)");
    assert!(max as usize <= MAX_IN_FLIGHT, "{max} in flight");
    assert!(max >= 2, "the deliveries did run side by side ({max})");
    let graph: Vec<_> = idp
        .stats()
        .requests
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Graph))
        .collect();
    assert_eq!(graph.len(), 10);
    for r in graph {
        assert_eq!(r.user_agent.as_deref(), Some(USER_AGENT), "{}", r.path);
    }
}

/// A mail with one attachment of `len` bytes (a sparse file: nothing is read before the
/// size check).
fn with_attachment(dir: &std::path::Path, len: u64) -> DeliveryRequest {
    let path = dir.join("quarterly.pdf");
    std::fs::File::create(&path).unwrap().set_len(len).unwrap();
    DeliveryRequest::Mail(MailRequest {
        to: vec!["boss@contoso.com".into()],
        subject: "Quarterly report".into(),
        attachments: vec![atrs_host_sdk::Attachment {
            path,
            name: "quarterly.pdf".into(),
            content_type: "application/pdf".into(),
        }],
        ..MailRequest::default()
    })
}

#[test]
fn a_40_mb_attachment_is_refused_at_once_against_the_35_mb_default() {
    const MB: u64 = 1024 * 1024;
    let idp = idp();
    let (memory, plugin) = saved_account(&idp);
    let dir = tempfile::tempdir().unwrap();
    idp.reset_stats();
    let e = plugin
        .start_delivery(ACCOUNT, with_attachment(dir.path(), 40 * MB))
        .err()
        .expect("refused at once");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    println!("{e}\n  fix: {}", e.hint().unwrap_or_default());
    assert!(
        e.message()
            .contains("come to 40 MB (53.3 MB once encoded for mail, as Exchange counts them)"),
        "{e}"
    );
    assert!(e.message().contains("maximum message size of 35 MB"), "{e}");
    assert!(e.message().contains("nothing was sent"), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("150 MB")), "{e:?}");
    let stats = idp.stats();
    assert_eq!(stats.total(), 0, "no request at all: {:?}", stats.requests);
    assert_eq!(idp.upload_counters(), Default::default());
    assert!(idp.drafts().is_empty() && idp.sent_items().is_empty());

    // An account whose administrator raised the limit may send it: the delivery starts.
    let mut settings = memory.settings_of(ACCOUNT).unwrap();
    settings.insert(fields::MAX_MESSAGE_MB.to_owned(), "150".to_owned());
    memory.handle().settings_write(ACCOUNT, &settings).unwrap();
    let job = plugin
        .start_delivery(ACCOUNT, with_attachment(dir.path(), 40 * MB))
        .expect("within the raised limit");
    job.cancel();
    assert!(matches!(finish(job.as_ref()), DeliveryState::Failed(_)));
}

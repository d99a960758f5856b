//! Application accounts in process: nobody signs in. The account verifies directly (client
//! credentials, then Graph proves the mailbox and OneDrive), saves without a refresh token,
//! hands out tokens from its cache (one token request across threads), sends and uploads as
//! its mailbox under `/users/{mailbox}`; each refusal — a sign-in method that does not fit
//! the account kind, no admin consent, a missing role, an Exchange access policy — says
//! what is missing and how to fix it.
//!
//! Nothing here sleeps to wait: sessions and deliveries are polled with a deadline.

use std::time::{Duration, Instant};

use atrs_host_sdk::{
    testing::MemoryHost, DeliveryJob, DeliveryRequest, DeliveryState, ErrorKind, FileRequest,
    FormValues, HealthState, Integration, MailRequest, SessionState, TokenRequest, TokenSource,
    VerifyMethod,
};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use atrs_office365::{fields, Office365};

const ACCOUNT: &str = "Scheduler";
const DEADLINE: Duration = Duration::from_secs(30);
const CLIENT_CREDENTIALS: &str = "client_credentials";

fn idp() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("the mock identity platform starts")
}

fn form(idp: &MockIdp, client_id: &str, mailbox: &str) -> FormValues {
    let mut values = FormValues::new()
        .with(fields::ACCOUNT_NAME, ACCOUNT)
        .with(fields::CLIENT_ID, client_id)
        .with(fields::TENANT_ID, defaults::TENANT_DOMAIN)
        .with(fields::AUTHORITY, idp.base_url())
        .with(fields::SIGN_IN, "application")
        .with(fields::MAILBOX, mailbox);
    values.set_secret(fields::CLIENT_SECRET, defaults::APP_ONLY_CLIENT_SECRET);
    values
}

fn verify(plugin: &mut Office365, values: &FormValues, method: VerifyMethod) -> SessionState {
    let session = plugin
        .start_verification(values, method)
        .expect("verification starts");
    let started = Instant::now();
    loop {
        match session.poll(Duration::from_millis(100)) {
            s if s.is_terminal() => return s,
            _ => assert!(started.elapsed() < DEADLINE, "no verification"),
        }
    }
}

fn failed(state: SessionState) -> atrs_host_sdk::PluginError {
    match state {
        SessionState::Failed(e) => (*e).clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

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

fn report() -> DeliveryRequest {
    DeliveryRequest::Mail(MailRequest {
        to: vec!["boss@fabrikam.com".into()],
        subject: "Nightly report".into(),
        body: "Attached.".into(),
        ..MailRequest::default()
    })
}

fn saved(idp: &MockIdp, client_id: &str) -> (MemoryHost, Office365) {
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    let values = form(idp, client_id, defaults::USER_UPN);
    match verify(&mut plugin, &values, VerifyMethod::Direct) {
        SessionState::Verified(_) => {}
        other => panic!("{other:?}"),
    }
    plugin.save(&values).expect("the verified values save");
    (memory, plugin)
}

#[test]
fn an_application_account_verifies_directly_saves_and_delivers_as_its_mailbox() {
    let idp = idp();
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    assert!(plugin.verify_methods().contains(&VerifyMethod::Direct));
    let values = form(&idp, defaults::APP_ONLY_CLIENT_ID, defaults::USER_UPN);
    let account = match verify(&mut plugin, &values, VerifyMethod::Direct) {
        SessionState::Verified(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        account.headline(&VerifyMethod::Direct),
        format!(
            "connected to Adele Vance, as the app {} ({})",
            defaults::APP_ONLY_CLIENT_ID,
            defaults::USER_MAIL
        )
    );
    assert!(account.missing_scopes.is_empty(), "{account:?}");
    assert!(account
        .granted_scopes
        .iter()
        .any(|s| s.as_str() == "Mail.Send"));
    plugin.save(&values).expect("saves without a refresh token");
    let secrets = memory.secrets_of(ACCOUNT);
    assert!(!secrets.contains_key("refresh_token"), "{secrets:?}");
    assert_eq!(secrets["client_secret"], defaults::APP_ONLY_CLIENT_SECRET);
    let settings = memory.settings_of(ACCOUNT).unwrap();
    assert_eq!(settings[fields::SIGN_IN], "application");
    assert_eq!(settings[fields::MAILBOX], defaults::USER_UPN);
    assert_eq!(idp.stats().grant_count(CLIENT_CREDENTIALS), 1);

    // The token Verify got is cached; a forced one is a new client credentials request.
    let cached = plugin
        .token(ACCOUNT, &TokenRequest::saved_scopes())
        .unwrap();
    assert_eq!(cached.source, TokenSource::Cache);
    let forced = plugin
        .token(ACCOUNT, &TokenRequest::saved_scopes().forced())
        .unwrap();
    assert_eq!(forced.source, TokenSource::Refreshed);
    assert_eq!(idp.stats().grant_count(CLIENT_CREDENTIALS), 2);
    assert_eq!(idp.stats().grant_count("refresh_token"), 0);
    let health = plugin.account_health(ACCOUNT).unwrap();
    assert_eq!(health.state, HealthState::Healthy, "{health:?}");
    assert_eq!(health.lapses_at, None, "nothing lapses after 90 days");

    // Mail as the mailbox, through /users/{mailbox}/sendMail; a file to its OneDrive.
    let job = plugin.start_delivery(ACCOUNT, report()).unwrap();
    assert!(matches!(finish(job.as_ref()), DeliveryState::Done(_)));
    let sent = idp.sent_items();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].from.eq_ignore_ascii_case(defaults::USER_MAIL));
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    std::fs::write(&big, vec![b'x'; 3_500_000]).unwrap();
    let with_attachment = DeliveryRequest::Mail(MailRequest {
        to: vec!["boss@fabrikam.com".into()],
        subject: "With a large attachment".into(),
        attachments: vec![atrs_host_sdk::Attachment {
            path: big.clone(),
            name: "big.csv".into(),
            content_type: "text/csv".into(),
        }],
        ..MailRequest::default()
    });
    let job = plugin.start_delivery(ACCOUNT, with_attachment).unwrap();
    assert!(matches!(finish(job.as_ref()), DeliveryState::Done(_)));
    assert_eq!(idp.sent_items().len(), 2);
    let upload = DeliveryRequest::File(FileRequest {
        source: big,
        folder: "Reports/2026".into(),
        site: None,
        file_name: "nightly.csv".into(),
        conflict: atrs_host_sdk::ConflictBehavior::Replace,
    });
    let job = plugin.start_delivery(ACCOUNT, upload).unwrap();
    assert!(matches!(finish(job.as_ref()), DeliveryState::Done(_)));
    let items = idp.drive_items();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].drive, format!("me:{}", defaults::USER_ID));
    let paths: Vec<String> = idp
        .stats()
        .requests
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        !paths.iter().any(|p| p.starts_with("/v1.0/me")),
        "{paths:?}"
    );
    assert!(paths
        .iter()
        .any(|p| p == &format!("/v1.0/users/{}/sendMail", defaults::USER_UPN)));
    // Still the one token: deliveries used the cache.
    assert_eq!(idp.stats().grant_count(CLIENT_CREDENTIALS), 2);
}

#[test]
fn tokens_of_an_application_account_come_from_one_request_across_threads() {
    let idp = idp();
    let (memory, _verifier) = saved(&idp, defaults::APP_ONLY_CLIENT_ID);
    memory
        .handle()
        .secret_write(ACCOUNT, "access_tokens", "")
        .expect("the cache is emptied");
    idp.reset_stats();
    let plugin = std::sync::Arc::new(Office365::new(memory.handle()).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = plugin.clone();
            std::thread::spawn(move || p.token(ACCOUNT, &TokenRequest::saved_scopes()).unwrap())
        })
        .collect();
    let sources: Vec<TokenSource> = handles
        .into_iter()
        .map(|h| h.join().unwrap().source)
        .collect();
    assert_eq!(
        idp.stats().grant_count(CLIENT_CREDENTIALS),
        1,
        "{sources:?}"
    );
}

#[test]
fn a_method_that_does_not_fit_the_account_kind_is_refused_with_what_to_choose() {
    let idp = idp();
    let mut plugin = Office365::new(MemoryHost::new().handle()).unwrap();
    let app = form(&idp, defaults::APP_ONLY_CLIENT_ID, defaults::USER_UPN);
    for method in [
        VerifyMethod::DeviceCode,
        VerifyMethod::Browser { loopback: true },
    ] {
        let e = plugin.start_verification(&app, method).err().unwrap();
        assert_eq!(e.field(), Some(fields::SIGN_IN));
        assert!(e.message().contains("is an application account"), "{e}");
        assert!(e.hint().unwrap().contains("Verify ▾ Directly"), "{e:?}");
    }
    let user = FormValues::new()
        .with(fields::ACCOUNT_NAME, ACCOUNT)
        .with(fields::CLIENT_ID, defaults::DESKTOP_CLIENT_ID)
        .with(fields::TENANT_ID, defaults::TENANT_ID)
        .with(fields::AUTHORITY, idp.base_url());
    let e = plugin
        .start_verification(&user, VerifyMethod::Direct)
        .err()
        .unwrap();
    assert!(e.message().contains("for application accounts"), "{e}");
    assert!(e.hint().unwrap().contains("Verify (with a code)"), "{e:?}");
    assert_eq!(idp.stats().total(), 0, "nothing was asked of the network");

    // The form's own checks: a secret or certificate, a mailbox, one tenant.
    let mut bare = FormValues::new()
        .with(fields::ACCOUNT_NAME, ACCOUNT)
        .with(fields::CLIENT_ID, defaults::APP_ONLY_CLIENT_ID)
        .with(fields::TENANT_ID, "organizations")
        .with(fields::SIGN_IN, "application");
    let errors = plugin.validate(&bare);
    let fields_at_fault: Vec<&str> = errors.iter().map(|e| e.field()).collect();
    for f in [fields::MAILBOX, fields::TENANT_ID] {
        assert!(fields_at_fault.contains(&f), "{errors:?}");
    }
    // Without a secret or certificate (a saved one is kept when the form leaves it empty),
    // a direct verification is refused before any request.
    let no_credential = form(&idp, defaults::APP_ONLY_CLIENT_ID, defaults::USER_UPN)
        .with(fields::CLIENT_SECRET, "");
    let e = plugin
        .start_verification(&no_credential, VerifyMethod::Direct)
        .err()
        .unwrap();
    assert_eq!(e.field(), Some(fields::CLIENT_SECRET), "{e:?}");
    assert!(e.message().contains("client secret or certificate"), "{e}");
    assert_eq!(idp.stats().total(), 0);
    bare.set(fields::SIGN_IN, "user");
    bare.set(fields::MAILBOX, "reports@contoso.com");
    let errors = plugin.validate(&bare);
    assert!(
        errors.iter().any(|e| e.field() == fields::MAILBOX
            && e.message().contains("only for application accounts")),
        "{errors:?}"
    );
}

#[test]
fn no_admin_consent_a_missing_role_and_an_access_policy_each_say_what_is_missing() {
    let idp = idp();
    let mut plugin = Office365::new(MemoryHost::new().handle()).unwrap();

    let e = failed(verify(
        &mut plugin,
        &form(
            &idp,
            defaults::APP_ONLY_UNGRANTED_CLIENT_ID,
            defaults::USER_UPN,
        ),
        VerifyMethod::Direct,
    ));
    assert_eq!(e.kind(), ErrorKind::AuthorizationRefused, "{e}");
    assert!(
        e.message().contains("no application permissions granted"),
        "{e}"
    );
    let hint = e.hint().unwrap();
    assert!(
        hint.contains(&format!(
            "adminconsent?client_id={}",
            defaults::APP_ONLY_UNGRANTED_CLIENT_ID
        )),
        "{hint}"
    );

    // Mail only: verifies, with the missing permissions named and why they matter.
    let account = match verify(
        &mut plugin,
        &form(&idp, defaults::APP_ONLY_MAIL_CLIENT_ID, defaults::USER_UPN),
        VerifyMethod::Direct,
    ) {
        SessionState::Verified(a) => a,
        other => panic!("{other:?}"),
    };
    let missing: Vec<&str> = account
        .missing_scopes
        .iter()
        .map(|m| m.scope.as_str())
        .collect();
    assert_eq!(
        missing,
        ["Mail.ReadWrite", "Files.ReadWrite.All"],
        "{account:?}"
    );
    assert!(account.missing_scopes[1].hint.contains("OneDrive"));

    // An access policy that leaves the mailbox out.
    idp.restrict_app_mailboxes(
        defaults::APP_ONLY_CLIENT_ID,
        &["someone.else@contoso.onmicrosoft.com"],
    );
    let e = failed(verify(
        &mut plugin,
        &form(&idp, defaults::APP_ONLY_CLIENT_ID, defaults::USER_UPN),
        VerifyMethod::Direct,
    ));
    assert_eq!(e.field(), Some(fields::MAILBOX), "{e:?}");
    assert!(e.message().contains("application access policy"), "{e}");
    assert!(
        e.hint().unwrap().contains(&format!(
            "Test-ApplicationAccessPolicy -Identity {} -AppId {}",
            defaults::USER_UPN,
            defaults::APP_ONLY_CLIENT_ID
        )),
        "{e:?}"
    );
    // A wrong secret is Entra's refusal, named as an application account's.
    let mut wrong = form(&idp, defaults::APP_ONLY_CLIENT_ID, defaults::USER_UPN);
    wrong.set_secret(fields::CLIENT_SECRET, "Wr0ng~secret.value-of-another-app");
    let e = failed(verify(&mut plugin, &wrong, VerifyMethod::Direct));
    assert!(
        e.message().contains("was refused an application token"),
        "{e}"
    );
    assert!(!format!("{e:?}").contains(defaults::APP_ONLY_CLIENT_SECRET));
}

#[test]
fn a_delivery_to_a_mailbox_the_policy_leaves_out_is_refused_with_its_fix() {
    let idp = idp();
    let (_memory, plugin) = saved(&idp, defaults::APP_ONLY_CLIENT_ID);
    idp.restrict_app_mailboxes(defaults::APP_ONLY_CLIENT_ID, &[defaults::USER_MAIL]);
    let as_other = DeliveryRequest::Mail(MailRequest {
        from: Some(defaults::NO_MAIL_USER_UPN.into()),
        to: vec!["boss@fabrikam.com".into()],
        subject: "Nightly report".into(),
        ..MailRequest::default()
    });
    let job = plugin.start_delivery(ACCOUNT, as_other).unwrap();
    let e = match finish(job.as_ref()) {
        DeliveryState::Failed(e) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.kind(), ErrorKind::AuthorizationRefused, "{e}");
    assert!(
        e.message().contains(&format!(
            "application access policy keeps this app from the mailbox {}",
            defaults::NO_MAIL_USER_UPN
        )),
        "{e}"
    );
    assert!(
        e.hint().unwrap().contains("Test-ApplicationAccessPolicy"),
        "{e:?}"
    );
    // Its own mailbox is in the policy: that still works.
    let job = plugin.start_delivery(ACCOUNT, report()).unwrap();
    assert!(matches!(finish(job.as_ref()), DeliveryState::Done(_)));
}

#[test]
fn an_application_account_with_a_certificate_verifies_and_renews_with_client_assertions() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("app.pem");
    std::fs::write(
        &pem,
        format!("{}{}", defaults::CERT_PEM, defaults::CERT_KEY_PEM),
    )
    .unwrap();
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    let values = form(&idp, defaults::CERT_CLIENT_ID, defaults::USER_UPN)
        .with(fields::CLIENT_SECRET, "")
        .with(fields::CERTIFICATE_FILE, pem.to_str().unwrap());
    match verify(&mut plugin, &values, VerifyMethod::Direct) {
        SessionState::Verified(_) => {}
        other => panic!("{other:?}"),
    }
    plugin.save(&values).unwrap();
    let forced = plugin
        .token(ACCOUNT, &TokenRequest::saved_scopes().forced())
        .unwrap();
    assert_eq!(forced.source, TokenSource::Refreshed);
    assert_eq!(idp.stats().grant_count(CLIENT_CREDENTIALS), 2);
    let secrets = memory.secrets_of(ACCOUNT);
    assert!(!secrets.contains_key("client_secret") && !secrets.contains_key("refresh_token"));
    let key_line = defaults::CERT_KEY_PEM.lines().nth(1).unwrap();
    let everything = format!(
        "{:?}{secrets:?}{:?}",
        memory.settings_of(ACCOUNT),
        memory.log_lines()
    );
    assert!(!everything.contains(key_line));
}

#[test]
fn the_deliveries_an_application_s_roles_allow_are_said_after_verify_and_in_its_health() {
    let idp = idp();
    let (memory, plugin) = saved(&idp, defaults::APP_ONLY_MAIL_CLIENT_ID);
    assert!(memory.log_lines().iter().any(|(_, l)| l.contains(
        "Deliveries the granted permissions allow: mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite.All."
    )));
    let health = plugin.account_health(ACCOUNT).unwrap();
    assert_eq!(health.state, HealthState::Healthy, "{health:?}");
    assert_eq!(
        health.reason,
        "Deliveries: mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite.All."
    );
    let fix = health.fix.unwrap();
    assert!(
        fix.contains("application permission(s) Mail.ReadWrite, Files.ReadWrite.All")
            && fix.contains("admin consent"),
        "{fix}"
    );

    // Granted everything: healthy, nothing to add.
    let (_memory, plugin) = saved(&idp, defaults::APP_ONLY_CLIENT_ID);
    let health = plugin.account_health(ACCOUNT).unwrap();
    assert!(
        health.reason.is_empty() && health.fix.is_none(),
        "{health:?}"
    );
}

/// The site an application account writes files to: Verify ▾ Directly finds it and its
/// document library, a file for no site in particular goes there, one naming a site goes
/// where it says; a site that is not there is refused at Verify, on its field.
#[test]
fn an_application_account_with_a_site_verifies_it_and_its_files_go_there() {
    let idp = idp();
    let memory = MemoryHost::new();
    let mut plugin = Office365::new(memory.handle()).unwrap();
    let site = format!("https://{}{}", defaults::SITE_HOST, defaults::SITE_PATH);
    let values = form(&idp, defaults::APP_ONLY_CLIENT_ID, defaults::USER_UPN)
        .with(fields::SITE, format!("{site}/"));
    match verify(&mut plugin, &values, VerifyMethod::Direct) {
        SessionState::Verified(a) => assert!(a.missing_scopes.is_empty(), "{a:?}"),
        other => panic!("{other:?}"),
    }
    let paths = |idp: &MockIdp| -> Vec<String> {
        idp.stats()
            .requests
            .iter()
            .map(|r| r.path.clone())
            .collect()
    };
    assert!(
        paths(&idp).iter().any(|p| p.ends_with(&format!(
            "/sites/{}:{}",
            defaults::SITE_HOST,
            defaults::SITE_PATH
        ))),
        "Verify looked the site up: {:?}",
        paths(&idp)
    );
    plugin.save(&values).unwrap();
    assert_eq!(
        memory.settings_of(ACCOUNT).unwrap()[fields::SITE],
        site,
        "saved without the trailing slash"
    );

    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("nightly.csv");
    std::fs::write(&report, "day,total\n2026-12-06,42\n").unwrap();
    let file = |site: Option<String>| {
        DeliveryRequest::File(FileRequest {
            source: report.clone(),
            folder: "Reports".into(),
            site,
            file_name: "nightly.csv".into(),
            conflict: atrs_host_sdk::ConflictBehavior::Replace,
        })
    };
    let job = plugin.start_delivery(ACCOUNT, file(None)).unwrap();
    match finish(job.as_ref()) {
        DeliveryState::Done(receipt) => assert!(receipt.summary.contains(&site), "{receipt:?}"),
        other => panic!("{other:?}"),
    }
    let items = idp.drive_items();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].drive, defaults::SITE_ID, "to the account's site");

    // A site that is not there: refused at Verify, on its field, with the fix.
    let mut other = Office365::new(MemoryHost::new().handle()).unwrap();
    let wrong = form(&idp, defaults::APP_ONLY_CLIENT_ID, defaults::USER_UPN).with(
        fields::SITE,
        format!("https://{}/sites/Nope", defaults::SITE_HOST),
    );
    let error = failed(verify(&mut other, &wrong, VerifyMethod::Direct));
    assert_eq!(error.field(), Some(fields::SITE), "{error:?}");
    assert!(
        error.message().contains("There is no SharePoint site"),
        "{error:?}"
    );
    // And a value that is no site address at all: refused by the form.
    let not_an_address =
        form(&idp, defaults::APP_ONLY_CLIENT_ID, defaults::USER_UPN).with(fields::SITE, "Reports");
    let problems = other.validate(&not_an_address);
    assert!(
        problems.iter().any(|p| p.field() == fields::SITE),
        "{problems:?}"
    );
}

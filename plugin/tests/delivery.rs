//! Deliveries in process: the plugin's Graph client, mail and drive code against the mock's
//! Graph on 127.0.0.1, with tokens the mock mints for exactly the permissions a test names.
//!
//! Nothing here sleeps to wait: jobs are polled with a deadline.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atrs_host_sdk::{
    Attachment, ConflictBehavior, DeliveryJob, DeliveryReceipt, DeliveryRequest, DeliveryState,
    ErrorKind, FileRequest, MailRequest, PluginError,
};
use atrs_mock_idp::{defaults, DeliveryFaults, Endpoint, Fault, MockConfig, MockIdp};
use atrs_office365::delivery::graph::{Graph, RetryPolicy, TokenFn};
use atrs_office365::delivery::job::Job;
use atrs_office365::delivery::progress::cancel_pair;
use atrs_office365::runtime::Runtime;
use atrs_office365::secret::Secret;
use sha2::{Digest, Sha256};

const MB: u64 = 1024 * 1024;
const DEADLINE: Duration = Duration::from_secs(60);
const ALL: [&str; 4] = [
    "Mail.Send",
    "Mail.ReadWrite",
    "Files.ReadWrite",
    "Sites.ReadWrite.All",
];

fn idp() -> MockIdp {
    MockIdp::spawn(MockConfig::default()).expect("mock starts")
}

/// A file of `len` pseudo-random bytes, written in 1 MiB pieces; its SHA-256.
fn content(dir: &Path, name: &str, len: u64) -> (PathBuf, String) {
    let path = dir.join(name);
    let mut f = File::create(&path).unwrap();
    let mut h = Sha256::new();
    let mut x: u32 = len as u32 ^ 0x9e37_79b9;
    let mut left = len;
    let mut buf = vec![0u8; MB as usize];
    while left > 0 {
        let n = left.min(MB) as usize;
        for b in &mut buf[..n] {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *b = (x >> 24) as u8;
        }
        f.write_all(&buf[..n]).unwrap();
        h.update(&buf[..n]);
        left -= n as u64;
    }
    (path, hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Start `request` as a job with a token for `upn` carrying `scopes`.
fn start(
    idp: &MockIdp,
    runtime: &Runtime,
    upn: &str,
    scopes: &[&str],
    request: DeliveryRequest,
) -> Result<Job, PluginError> {
    start_with(
        idp,
        runtime,
        idp.issue_access_token(upn, scopes).unwrap(),
        request,
    )
}

/// Start `request` as a job with `token`.
fn start_with(
    idp: &MockIdp,
    runtime: &Runtime,
    token: String,
    request: DeliveryRequest,
) -> Result<Job, PluginError> {
    let token = Secret::new(token);
    let token_fn: TokenFn = Arc::new(move |_| Ok(token.clone()));
    let base = url::Url::parse(&idp.base_url()).unwrap();
    let policy = RetryPolicy {
        backoff: Duration::from_millis(100),
        ..RetryPolicy::default()
    };
    Job::start(runtime, request, move |cancel| async move {
        Graph::new(&base, token_fn, policy, cancel, true)
    })
}

/// Poll until the job ends; the highest byte count seen on the way.
fn finish(job: &Job) -> (DeliveryState, u64) {
    let deadline = Instant::now() + DEADLINE;
    let mut seen = 0;
    loop {
        match job.poll(Duration::from_millis(200)) {
            DeliveryState::Running { bytes_sent, .. } => seen = seen.max(bytes_sent),
            end => return (end, seen),
        }
        assert!(
            Instant::now() < deadline,
            "the delivery did not end in time"
        );
    }
}

fn deliver(
    idp: &MockIdp,
    scopes: &[&str],
    request: DeliveryRequest,
) -> Result<DeliveryReceipt, PluginError> {
    deliver_as(idp, defaults::USER_UPN, scopes, request)
}

fn deliver_as(
    idp: &MockIdp,
    upn: &str,
    scopes: &[&str],
    request: DeliveryRequest,
) -> Result<DeliveryReceipt, PluginError> {
    let runtime = Runtime::new();
    let job = start(idp, &runtime, upn, scopes, request)?;
    match finish(&job).0 {
        DeliveryState::Done(r) => Ok(r),
        DeliveryState::Failed(e) => Err(e),
        other => panic!("{other:?}"),
    }
}

fn mail(to: &str, attachments: &[(&Path, &str)]) -> DeliveryRequest {
    DeliveryRequest::Mail(MailRequest {
        to: vec![to.into()],
        subject: "Monthly report".into(),
        body: "Attached.".into(),
        attachments: attachments
            .iter()
            .map(|(p, n)| Attachment {
                path: p.to_path_buf(),
                name: (*n).into(),
                content_type: "application/pdf".into(),
            })
            .collect(),
        ..MailRequest::default()
    })
}

fn file(
    path: &Path,
    folder: &str,
    name: &str,
    conflict: ConflictBehavior,
    site: Option<&str>,
) -> DeliveryRequest {
    DeliveryRequest::File(FileRequest {
        source: path.to_path_buf(),
        folder: folder.into(),
        site: site.map(str::to_owned),
        file_name: name.into(),
        conflict,
    })
}

fn graph_requests(idp: &MockIdp, suffix: &str) -> usize {
    idp.stats()
        .requests
        .iter()
        .filter(|r| r.path.ends_with(suffix))
        .count()
}

#[test]
fn a_small_message_goes_inline_through_send_mail() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (path, sha) = content(dir.path(), "small.pdf", 200_000);
    let r = deliver(
        &idp,
        &["Mail.Send"],
        mail("boss@contoso.com", &[(&path, "small.pdf")]),
    )
    .unwrap();
    assert!(
        r.summary.contains("boss@contoso.com") && r.summary.contains("1 attachment"),
        "{}",
        r.summary
    );
    assert!(r.details.iter().any(|(k, _)| k == "request-id"));
    assert!(r.details.iter().any(|(k, _)| k == "client-request-id"));
    let sent = idp.sent_items();
    assert_eq!(sent[0].via, "sendMail");
    assert_eq!(sent[0].attachments[0].sha256, sha);
    assert_eq!(
        graph_requests(&idp, "/me/messages"),
        0,
        "no draft for a small message"
    );
}

#[test]
fn a_10_mb_attachment_arrives_byte_identical_through_an_upload_session() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (big, big_sha) = content(dir.path(), "big.pdf", 10 * MB);
    let (small, small_sha) = content(dir.path(), "notes.txt", 1000);
    let runtime = Runtime::new();
    let job = start(
        &idp,
        &runtime,
        defaults::USER_UPN,
        &ALL,
        mail(
            "boss@contoso.com",
            &[(&big, "big.pdf"), (&small, "notes.txt")],
        ),
    )
    .unwrap();
    let (end, seen) = finish(&job);
    let DeliveryState::Done(r) = end else {
        panic!("{end:?}")
    };
    assert_eq!(r.bytes, 10 * MB + 1000);
    assert!(seen > 0, "progress was reported");
    let sent = idp.sent_items();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].via, "draft");
    assert_eq!(r.id, sent[0].id);
    let by_name = |n: &str| {
        sent[0]
            .attachments
            .iter()
            .find(|a| a.name == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("big.pdf").sha256, big_sha);
    assert_eq!(by_name("big.pdf").via, "session");
    assert_eq!(by_name("notes.txt").sha256, small_sha);
    assert_eq!(by_name("notes.txt").via, "inline");
    assert!(idp.drafts().is_empty());
    let c = idp.upload_counters();
    assert_eq!(
        c.authorized_puts, 0,
        "upload URLs get no Authorization header"
    );
    assert_eq!(c.bytes_received, 10 * MB);
}

#[test]
fn send_as_goes_through_users_send_mail_or_the_drafts_from() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (big, _) = content(dir.path(), "big.pdf", 4 * MB);
    for attachments in [vec![], vec![(big.as_path(), "big.pdf")]] {
        let mut req = mail("boss@contoso.com", &attachments);
        if let DeliveryRequest::Mail(m) = &mut req {
            m.from = Some(defaults::SEND_AS_MAILBOX.into());
        }
        let r = deliver(&idp, &ALL, req).unwrap();
        assert!(
            r.summary.contains(defaults::SEND_AS_MAILBOX),
            "{}",
            r.summary
        );
    }
    let sent = idp.sent_items();
    assert!(sent.iter().all(|m| m.from == defaults::SEND_AS_MAILBOX));
    assert_eq!(
        graph_requests(
            &idp,
            &format!("/users/{}/sendMail", defaults::SEND_AS_MAILBOX)
        ),
        1
    );
}

#[test]
fn a_60_mb_file_arrives_byte_identical_through_an_upload_session() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (path, sha) = content(dir.path(), "archive.bin", 60 * MB);
    let r = deliver(
        &idp,
        &["Files.ReadWrite"],
        file(
            &path,
            "Reports/2026",
            "archive.bin",
            ConflictBehavior::Fail,
            None,
        ),
    )
    .unwrap();
    let items = idp.drive_items();
    assert_eq!(items[0].sha256, sha);
    assert_eq!(items[0].size, 60 * MB);
    assert_eq!(items[0].via, "session");
    assert_eq!(r.id, items[0].id);
    assert!(r.web_url.unwrap().ends_with("/Reports/2026/archive.bin"));
    assert_eq!(
        idp.upload_counters().bytes_received,
        60 * MB,
        "every byte sent once"
    );
}

#[test]
fn a_failed_fragment_is_resumed_from_the_servers_range_not_restarted() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (path, sha) = content(dir.path(), "r.bin", 30 * MB);
    idp.set_delivery_faults(DeliveryFaults {
        fail_chunk_at: Some(12 * MB),
        ..DeliveryFaults::default()
    });
    deliver(
        &idp,
        &["Files.ReadWrite"],
        file(&path, "Reports", "r.bin", ConflictBehavior::Replace, None),
    )
    .unwrap();
    assert_eq!(idp.drive_items()[0].sha256, sha);
    let c = idp.upload_counters();
    assert_eq!(c.sessions_created, 1, "the same session went on");
    assert_eq!(c.bytes_accepted, 30 * MB);
    let resent = c.bytes_received - 30 * MB;
    assert!(
        resent > 0,
        "the failed fragment's second half was sent again"
    );
    assert!(
        resent <= 5 * MB,
        "only part of one fragment was sent again, not {resent} bytes"
    );
    assert!(graph_requests(&idp, "") > 0);
    let gets = idp
        .stats()
        .requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/upload/"))
        .count();
    assert_eq!(gets, 1, "the resume point came from the server");
}

#[test]
fn a_503_on_a_fragment_is_waited_out_and_resumed() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (path, sha) = content(dir.path(), "r.bin", 12 * MB);
    idp.set_fault_times(
        Endpoint::Upload,
        Fault::Status {
            status: 503,
            retry_after: Some(1),
        },
        1,
    );
    let started = Instant::now();
    deliver(
        &idp,
        &["Files.ReadWrite"],
        file(&path, "", "r.bin", ConflictBehavior::Replace, None),
    )
    .unwrap();
    let uploads: Vec<_> = idp
        .stats()
        .requests
        .into_iter()
        .filter(|r| r.path.starts_with("/upload/"))
        .map(|r| (r.method, r.status, r.fault))
        .collect();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured: {uploads:?}"
    );
    assert_eq!(idp.drive_items()[0].sha256, sha);
}

#[test]
fn a_429_with_retry_after_is_waited_out_then_sent_once() {
    let idp = idp();
    idp.set_fault_times(
        Endpoint::Graph,
        Fault::Status {
            status: 429,
            retry_after: Some(2),
        },
        1,
    );
    let started = Instant::now();
    deliver(&idp, &["Mail.Send"], mail("boss@contoso.com", &[])).unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(2), "waited {waited:?}");
    assert_eq!(graph_requests(&idp, "/me/sendMail"), 2);
    assert_eq!(idp.sent_items().len(), 1);
}

#[test]
fn transient_faults_stop_at_the_stated_bound_and_permanent_ones_are_never_retried() {
    let idp = idp();
    idp.set_fault(
        Endpoint::Graph,
        Fault::Status {
            status: 503,
            retry_after: None,
        },
    );
    let e = deliver(&idp, &["Mail.Send"], mail("boss@contoso.com", &[])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network);
    assert_eq!(
        graph_requests(&idp, "/me/sendMail"),
        RetryPolicy::default().attempts as usize
    );
    idp.clear_faults();
    idp.reset_stats();
    let e = deliver(&idp, &["User.Read"], mail("boss@contoso.com", &[])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
    assert_eq!(
        graph_requests(&idp, "/me/sendMail"),
        1,
        "a 403 is not retried"
    );
}

/// One refusal to reach: what, the token's permissions, the user, the request, Graph's code,
/// and a word the fix must contain.
type Case<'a> = (
    &'a str,
    Vec<&'a str>,
    &'a str,
    DeliveryRequest,
    &'a str,
    &'a str,
);

/// Every mapped refusal: the message, the fix, Graph's code and both request ids.
#[test]
fn every_mapped_error_is_reached_and_says_what_to_do() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (small, _) = content(dir.path(), "a.csv", 1000);
    let (big, _) = content(dir.path(), "big.pdf", 4 * MB);
    let mut from_denied = mail("boss@contoso.com", &[]);
    if let DeliveryRequest::Mail(m) = &mut from_denied {
        m.from = Some(defaults::SEND_AS_DENIED_MAILBOX.into());
    }
    // Taken, for the conflict case.
    deliver(
        &idp,
        &ALL,
        file(&small, "Reports", "a.csv", ConflictBehavior::Replace, None),
    )
    .unwrap();
    let site = format!("https://{}{}", defaults::SITE_HOST, defaults::SITE_PATH);
    let cases: Vec<Case> = vec![
        (
            "no licence",
            vec!["Mail.Send"],
            defaults::NO_MAIL_USER_UPN,
            mail("boss@contoso.com", &[]),
            "MailboxNotEnabledForRESTAPI",
            "licence",
        ),
        (
            "send as denied",
            ALL.to_vec(),
            defaults::USER_UPN,
            from_denied,
            "ErrorSendAsDenied",
            "Send As on",
        ),
        (
            "no Mail.Send",
            vec!["User.Read"],
            defaults::USER_UPN,
            mail("boss@contoso.com", &[]),
            "ErrorAccessDenied",
            "Mail.Send",
        ),
        (
            "no Mail.ReadWrite",
            vec!["Mail.Send"],
            defaults::USER_UPN,
            mail("boss@contoso.com", &[(&big, "big.pdf")]),
            "ErrorAccessDenied",
            "Mail.ReadWrite",
        ),
        (
            "recipient",
            vec!["Mail.Send"],
            defaults::USER_UPN,
            mail(&format!("x@{}", defaults::UNRESOLVED_DOMAIN), &[]),
            "ErrorInvalidRecipients",
            "To, Cc and Bcc",
        ),
        (
            "no Files.ReadWrite",
            vec!["Mail.Send"],
            defaults::USER_UPN,
            file(&small, "Reports", "b.csv", ConflictBehavior::Fail, None),
            "accessDenied",
            "Files.ReadWrite",
        ),
        (
            "no Sites.ReadWrite.All",
            vec!["Files.ReadWrite"],
            defaults::USER_UPN,
            file(
                &small,
                "Reports",
                "b.csv",
                ConflictBehavior::Fail,
                Some(&site),
            ),
            "accessDenied",
            "Sites.ReadWrite.All",
        ),
        (
            "site not found",
            ALL.to_vec(),
            defaults::USER_UPN,
            file(
                &small,
                "Reports",
                "b.csv",
                ConflictBehavior::Fail,
                Some("https://contoso.sharepoint.com/sites/Nope"),
            ),
            "itemNotFound",
            "site address",
        ),
        (
            "name taken",
            ALL.to_vec(),
            defaults::USER_UPN,
            file(&small, "Reports", "a.csv", ConflictBehavior::Fail, None),
            "nameAlreadyExists",
            "--conflict",
        ),
    ];
    for (what, scopes, upn, request, code, fix) in cases {
        let e = deliver_as(&idp, upn, &scopes, request).unwrap_err();
        eprintln!(
            "{what}: {} | {} | {:?}",
            e.message(),
            e.hint().unwrap_or(""),
            e.provider_code()
        );
        assert_eq!(e.provider_code(), Some(code), "{what}: {}", e.message());
        assert!(
            e.hint().unwrap_or("").contains(fix) || e.message().contains(fix),
            "{what}: {}",
            e.hint().unwrap_or("")
        );
        assert!(
            e.trace_id().is_some_and(|s| !s.is_empty()),
            "{what}: request-id kept"
        );
        assert!(
            e.correlation_id().is_some_and(|s| s.len() == 36),
            "{what}: client-request-id kept"
        );
    }
    idp.set_delivery_faults(DeliveryFaults {
        quota_bytes: Some(10),
        locked: ["Reports/locked.csv".to_owned()].into(),
        ..DeliveryFaults::default()
    });
    let e = deliver(
        &idp,
        &ALL,
        file(&small, "Reports", "q.csv", ConflictBehavior::Fail, None),
    )
    .unwrap_err();
    assert_eq!(e.provider_code(), Some("quotaLimitReached"));
    assert!(e.hint().unwrap().contains("quota"));
    let e = deliver(
        &idp,
        &ALL,
        file(
            &small,
            "Reports",
            "locked.csv",
            ConflictBehavior::Replace,
            None,
        ),
    )
    .unwrap_err();
    assert_eq!(e.provider_code(), Some("resourceLocked"));
    assert!(e.message().contains("locked"), "{}", e.message());
    assert!(
        idp.drafts().is_empty(),
        "the refused large message left no draft"
    );
}

#[test]
fn more_than_150_mb_is_refused_before_anything_is_sent() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.bin");
    File::create(&path).unwrap().set_len(151 * MB).unwrap();
    let runtime = Runtime::new();
    let e = start(
        &idp,
        &runtime,
        defaults::USER_UPN,
        &ALL,
        mail("boss@contoso.com", &[(&path, "huge.bin")]),
    )
    .err()
    .expect("refused at once");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.message().contains("150") || e.message().contains("158.3"),
        "{}",
        e.message()
    );
    assert_eq!(idp.stats().total(), 0);
}

#[test]
fn conflict_rename_and_replace_and_a_sharepoint_site() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (small, sha) = content(dir.path(), "a.csv", 5000);
    let site = format!("https://{}{}", defaults::SITE_HOST, defaults::SITE_PATH);
    for conflict in [
        ConflictBehavior::Replace,
        ConflictBehavior::Replace,
        ConflictBehavior::Rename,
    ] {
        deliver(&idp, &ALL, file(&small, "Reports", "a.csv", conflict, None)).unwrap();
    }
    let names: Vec<String> = idp.drive_items().into_iter().map(|i| i.name).collect();
    assert_eq!(names, vec!["a 1.csv", "a.csv"]);
    let r = deliver(
        &idp,
        &ALL,
        file(
            &small,
            "Archive/2026",
            "a.csv",
            ConflictBehavior::Fail,
            Some(&site),
        ),
    )
    .unwrap();
    assert!(r.summary.contains(&site), "{}", r.summary);
    let item = idp
        .drive_items()
        .into_iter()
        .find(|i| i.drive == defaults::SITE_ID)
        .unwrap();
    assert_eq!(item.sha256, sha);
    assert_eq!(item.folder, "Archive/2026");
}

/// Cancel while fragments are going: the job ends within a second and leaves no session or
/// draft behind.
#[test]
fn cancel_mid_upload_stops_within_a_second_and_leaves_nothing_half_sent() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = content(dir.path(), "big.bin", 40 * MB);
    idp.set_fault(Endpoint::Upload, Fault::Delay(Duration::from_millis(300)));
    let requests = [
        file(&path, "Reports", "big.bin", ConflictBehavior::Replace, None),
        mail("boss@contoso.com", &[(&path, "big.bin")]),
    ];
    for request in requests {
        let runtime = Runtime::new();
        let job = start(&idp, &runtime, defaults::USER_UPN, &ALL, request).unwrap();
        let deadline = Instant::now() + DEADLINE;
        loop {
            match job.poll(Duration::from_millis(100)) {
                DeliveryState::Running { bytes_sent, .. } if bytes_sent > 0 => break,
                DeliveryState::Running { .. } => {}
                other => panic!("ended before the cancel: {other:?}"),
            }
            assert!(Instant::now() < deadline);
        }
        let cancelled_at = Instant::now();
        job.cancel();
        let (end, _) = finish(&job);
        let took = cancelled_at.elapsed();
        eprintln!("cancel took {took:?}");
        assert!(took < Duration::from_secs(1), "cancel took {took:?}");
        match end {
            DeliveryState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            idp.open_upload_sessions(),
            0,
            "the upload session was cancelled"
        );
        assert!(idp.drafts().is_empty(), "the draft was deleted");
        assert!(idp.sent_items().is_empty(), "nothing was sent");
        assert!(idp.drive_items().is_empty(), "no file was stored");
    }
}

#[test]
fn the_token_never_shows_in_errors_or_debug() {
    let idp = idp();
    let token = idp
        .issue_access_token(defaults::USER_UPN, &["User.Read"])
        .unwrap();
    let (_switch, cancel) = cancel_pair();
    let secret = Secret::new(token.clone());
    let token_fn: TokenFn = Arc::new(move |_| Ok(secret.clone()));
    let g = Graph::new(
        &url::Url::parse(&idp.base_url()).unwrap(),
        token_fn,
        RetryPolicy::default(),
        cancel,
        true,
    )
    .unwrap();
    assert!(!format!("{g:?}").contains(&token));
    let runtime = Runtime::new();
    let job = start_with(&idp, &runtime, token.clone(), mail("boss@contoso.com", &[])).unwrap();
    let DeliveryState::Failed(e) = finish(&job).0 else {
        panic!("a 403 was expected")
    };
    let shown = format!("{e:?} {} {}", e.message(), e.hint().unwrap_or(""));
    assert!(!shown.contains(&token));
}

#[test]
fn a_message_over_the_tenants_size_limit_is_refused_at_send_and_its_draft_deleted() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let (big, _) = content(dir.path(), "big.pdf", 4 * MB);
    idp.set_delivery_faults(DeliveryFaults {
        max_message_bytes: Some(5 * MB),
        ..DeliveryFaults::default()
    });
    let e = deliver(&idp, &ALL, mail("boss@contoso.com", &[(&big, "big.pdf")])).unwrap_err();
    eprintln!("size: {} | {}", e.message(), e.hint().unwrap_or(""));
    assert_eq!(e.provider_code(), Some("ErrorMessageSizeExceeded"));
    assert!(e.hint().unwrap().contains("150 MB"), "{:?}", e.hint());
    assert!(idp.drafts().is_empty(), "the unsendable draft was deleted");
    assert!(idp.sent_items().is_empty());
}

//! Upload sessions against a hostile server: a small scripted HTTP/1.1 server on 127.0.0.1
//! (not the mock) answers `createUploadSession` and the fragments with bad ranges, bad
//! `uploadUrl`s or not at all. Each case must end in a typed error naming the server within
//! the bound, with the session cancelled (`DELETE uploadUrl`) whenever its URL was usable.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atrs_host_sdk::{Attachment, ConflictBehavior, FileRequest, MailRequest};
use atrs_office365::delivery::delivery_error::DeliveryError;
use atrs_office365::delivery::graph::{Graph, GraphFailure, RetryPolicy, TokenFn};
use atrs_office365::delivery::progress::{cancel_pair, Progress};
use atrs_office365::delivery::upload_check::Violation;
use atrs_office365::secret::Secret;

#[path = "../../tests/src/scripted_server.rs"]
mod scripted_server;
use scripted_server::{Answer, ScriptedServer as Hostile, Seen};

const MIB: u64 = 1024 * 1024;
/// What every case must end within (the server's answers are immediate, or never).
const BOUND: Duration = Duration::from_secs(20);

const UPLOAD: &str = "/upload/s1";
const SESSION: &str = "/v1.0/me/drive/root:/Reports/r.pdf:/createUploadSession";

/// The session answer pointing at `upload_url`.
fn session(upload_url: &str) -> Answer {
    Some((
        200,
        format!(r#"{{"uploadUrl":"{upload_url}","nextExpectedRanges":["0-"]}}"#),
    ))
}

fn ranges(r: &str) -> Answer {
    Some((202, format!(r#"{{"nextExpectedRanges":["{r}"]}}"#)))
}

fn file_of(len: u64) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, vec![7u8; len as usize]).unwrap();
    (dir, path)
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        backoff: Duration::from_millis(10),
        request_timeout: Duration::from_secs(10),
        ..RetryPolicy::default()
    }
}

/// Run `f` against a Graph at `base`; its result and how long it took.
fn against<T>(
    base: &str,
    policy: RetryPolicy,
    f: impl AsyncFnOnce(&Graph, &Progress) -> T,
) -> (T, Duration) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (_switch, cancel) = cancel_pair();
    let token: TokenFn = Arc::new(|_| Ok(Secret::new("token-never-sent-to-uploads")));
    let graph = Graph::new(&url::Url::parse(base).unwrap(), token, policy, cancel, true).unwrap();
    let progress = Progress::new("", 0);
    let started = Instant::now();
    let out = rt.block_on(f(&graph, &progress));
    (out, started.elapsed())
}

/// Upload a 6 MiB file (two drive fragments) through the hostile server.
fn upload(server: &Hostile, policy: RetryPolicy) -> (DeliveryError, Duration) {
    let (_dir, path) = file_of(6 * MIB);
    let request = FileRequest {
        source: path,
        folder: "Reports".into(),
        site: None,
        file_name: "r.pdf".into(),
        conflict: ConflictBehavior::Fail,
    };
    let (out, took) = against(&server.base, policy, async |g, p| {
        atrs_office365::delivery::drive::upload(g, &request, p).await
    });
    let e = out.expect_err("a hostile server must not make an upload succeed");
    assert!(took < BOUND, "took {took:?}");
    (e, took)
}

/// The server's answers for a drive upload, `fragment` scripting the PUTs and GETs on the
/// session.
fn drive_server(fragment: impl Fn(&Seen, usize) -> Answer + Send + Sync + 'static) -> Hostile {
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let server = Hostile::start(move |r, n| match (r.method.as_str(), r.path.as_str()) {
        ("POST", SESSION) => session(&format!("{}{UPLOAD}", b.lock().unwrap())),
        ("DELETE", UPLOAD) => Some((204, String::new())),
        (_, UPLOAD) => fragment(r, n),
        _ => Some((
            404,
            r#"{"error":{"code":"itemNotFound","message":"no"}}"#.into(),
        )),
    });
    *base.lock().unwrap() = server.base.clone();
    server
}

fn violation(e: &DeliveryError) -> (&str, &Violation) {
    match e {
        DeliveryError::UploadSession { host, violation } => (host, violation),
        other => panic!("expected an upload session violation, got {other:?}"),
    }
}

#[test]
fn a_huge_next_range_is_refused_and_the_session_cancelled() {
    let server = drive_server(|_, _| ranges("9223373136366403584-"));
    let (e, _) = upload(&server, policy());
    let (host, v) = violation(&e);
    assert_eq!(host, "127.0.0.1");
    assert!(matches!(v, Violation::PastEnd { .. }), "{v:?}");
    assert!(server.saw("DELETE", UPLOAD), "{:?}", server.seen());
    let shown = e.to_plugin_error();
    assert!(shown.message().contains("127.0.0.1"), "{}", shown.message());
    assert!(shown.message().contains("cancelled"), "{}", shown.message());
}

#[test]
fn a_range_that_wraps_u64_is_refused() {
    let server = drive_server(|_, _| ranges("18446744073709551616-"));
    let (e, _) = upload(&server, policy());
    assert!(matches!(violation(&e).1, Violation::Unreadable { .. }));
    assert!(server.saw("DELETE", UPLOAD));
}

#[test]
fn zero_dash_forever_is_refused_after_the_first_fragment() {
    let server = drive_server(|_, _| ranges("0-"));
    let (e, _) = upload(&server, policy());
    assert_eq!(
        violation(&e).1,
        &Violation::Behind {
            start: 0,
            acknowledged: 5 * MIB
        }
    );
    let puts = server.seen().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 1, "one fragment, then the violation");
    assert!(server.saw("DELETE", UPLOAD));
}

#[test]
fn a_resume_behind_what_was_acknowledged_is_refused() {
    // The first fragment is acknowledged, the second fails, and the resume point goes back.
    let server = drive_server(|r, n| match (r.method.as_str(), n) {
        ("PUT", 0) => ranges("5242880-"),
        ("PUT", _) => Some((
            500,
            r#"{"error":{"code":"generalException","message":"x"}}"#.into(),
        )),
        _ => ranges("1024-"),
    });
    let (e, _) = upload(&server, policy());
    assert_eq!(
        violation(&e).1,
        &Violation::Behind {
            start: 1024,
            acknowledged: 5 * MIB
        }
    );
    assert!(server.saw("DELETE", UPLOAD));
}

#[test]
fn failures_that_resume_at_zero_forever_stop_at_the_retry_bound() {
    let server = drive_server(|r, _| match r.method.as_str() {
        "PUT" => Some((
            503,
            r#"{"error":{"code":"serviceNotAvailable","message":"x"}}"#.into(),
        )),
        _ => ranges("0-"),
    });
    let (e, _) = upload(&server, policy());
    assert!(
        matches!(e, DeliveryError::Stalled { attempts: 5, .. }),
        "{e:?}"
    );
    assert!(server.saw("DELETE", UPLOAD));
}

#[test]
fn a_server_that_never_answers_is_stopped_at_the_delivery_bound() {
    let server = drive_server(|r, _| match r.method.as_str() {
        "PUT" => None,
        _ => ranges("0-"),
    });
    let bound = RetryPolicy {
        delivery_timeout: Duration::from_secs(1),
        ..policy()
    };
    let (e, took) = upload(&server, bound);
    match &e {
        DeliveryError::Graph { failure, .. } => assert!(
            matches!(**failure, GraphFailure::Deadline { .. }),
            "{failure:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(
        e.to_plugin_error().kind(),
        atrs_host_sdk::ErrorKind::TimedOut
    );
    assert!(server.saw("DELETE", UPLOAD));
}

#[test]
fn an_upload_url_with_another_scheme_or_host_is_never_contacted() {
    // A second listener stands for the foreign host: nothing may reach it.
    let foreign = TcpListener::bind("127.0.0.1:0").unwrap();
    foreign.set_nonblocking(true).unwrap();
    let foreign_url = format!("http://{}{UPLOAD}", foreign.local_addr().unwrap());
    for (upload_url, expect) in [
        ("file:///etc/passwd", "scheme"),
        ("ftp://127.0.0.1/upload", "scheme"),
        (foreign_url.as_str(), "host"),
        ("https://169.254.169.254/latest/meta-data", "host"),
    ] {
        let answer = session(upload_url);
        let server = Hostile::start(move |r, _| match r.method.as_str() {
            "POST" => answer.clone(),
            _ => Some((204, String::new())),
        });
        let (e, _) = upload(&server, policy());
        let (host, v) = violation(&e);
        assert_eq!(host, "127.0.0.1", "the Graph that handed it out is named");
        match expect {
            "scheme" => assert!(matches!(v, Violation::Insecure { .. }), "{v:?}"),
            _ => assert!(matches!(v, Violation::ForeignHost { .. }), "{v:?}"),
        }
        let seen = server.seen();
        assert_eq!(seen.len(), 1, "only createUploadSession: {seen:?}");
    }
    assert!(foreign.accept().is_err(), "the foreign host was contacted");
}

#[test]
fn an_attachment_session_is_cancelled_and_its_draft_deleted() {
    const DRAFT_SESSION: &str = "/v1.0/me/messages/d1/attachments/createUploadSession";
    let base = Arc::new(Mutex::new(String::new()));
    let b = base.clone();
    let server = Hostile::start(move |r, _| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/v1.0/me/messages") => Some((201, r#"{"id":"d1"}"#.into())),
        ("POST", DRAFT_SESSION) => session(&format!("{}{UPLOAD}", b.lock().unwrap())),
        ("PUT", UPLOAD) => Some((200, r#"{"nextExpectedRanges":["99999999999"]}"#.into())),
        ("DELETE", _) => Some((204, String::new())),
        _ => Some((404, "{}".into())),
    });
    *base.lock().unwrap() = server.base.clone();
    let (_dir, path) = file_of(4 * MIB);
    let request = MailRequest {
        to: vec!["a@example.com".into()],
        subject: "s".into(),
        body: "b".into(),
        attachments: vec![Attachment {
            path,
            name: "r.pdf".into(),
            content_type: "application/pdf".into(),
        }],
        ..MailRequest::default()
    };
    let (out, took) = against(&server.base, policy(), async |g, p| {
        atrs_office365::delivery::mail::send(g, &request, p).await
    });
    assert!(took < BOUND);
    let e = out.expect_err("refused");
    assert!(matches!(violation(&e).1, Violation::PastEnd { .. }));
    assert!(server.saw("DELETE", UPLOAD), "{:?}", server.seen());
    assert!(server.saw("DELETE", "/v1.0/me/messages/d1"));
    assert!(!server.seen().iter().any(|r| r.path.ends_with("/send")));
}

/// The same server, well behaved: the checks do not get in the way of a real session.
#[test]
fn a_well_behaved_session_succeeds_and_is_not_cancelled() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let server = drive_server(move |r, n| {
        if r.method == "PUT" {
            c.store(n + 1, Ordering::SeqCst);
        }
        match n {
            0 => ranges("5242880-"),
            _ => Some((201, r#"{"id":"item-1","name":"r.pdf"}"#.into())),
        }
    });
    let (_dir, path) = file_of(6 * MIB);
    let request = FileRequest {
        source: path,
        folder: "Reports".into(),
        site: None,
        file_name: "r.pdf".into(),
        conflict: ConflictBehavior::Fail,
    };
    let (out, _) = against(&server.base, policy(), async |g, p| {
        atrs_office365::delivery::drive::upload(g, &request, p).await
    });
    let receipt = out.expect("a well-behaved session succeeds");
    assert_eq!(receipt.id, "item-1");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(!server.seen().iter().any(|r| r.method == "DELETE"));
}

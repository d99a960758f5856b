//! The SDK's second example, `host-sdk/examples/webhook_plugin` — an integration with
//! no sign-in — built as a library and driven against a receiver on 127.0.0.1: the
//! host offers only the direct verification and says "connected to"; `upload` pushes a
//! file without a folder; the signature checks out; and a request blocked on a
//! receiver that never answers is cancelled within the SDK's bound, leaving no thread.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use atrs_e2e::{json_result, plugins_dir, run_host_with_input, webhook_plugin};
use atrs_host_sdk::{
    loader, session::CANCEL_WAIT, testing::MemoryHost, DeliveryRequest, DeliveryState, ErrorKind,
    FormValues, PushRequest, SessionState, VerifyMethod, ACCOUNT_NAME,
};
use ring::hmac;

/// One request as the receiver read it.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    signed_right: bool,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A webhook receiver on a free loopback port: checks each request's signature with
/// `secret`, answers 200 (401 when the signature is wrong) — or, while `silent`,
/// reads the request and never answers.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    silent: Arc<AtomicBool>,
}

impl Receiver {
    fn start(secret: &str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/in", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let silent = Arc::new(AtomicBool::new(false));
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let (r, s) = (received.clone(), silent.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, s, key) = (r.clone(), s.clone(), key.clone());
                std::thread::spawn(move || serve(stream, &key, &r, &s));
            }
        });
        Receiver {
            url,
            received,
            silent,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, key: &hmac::Key, received: &Mutex<Vec<Received>>, silent: &AtomicBool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut headers = Vec::new();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(": ") {
            headers.push((k.to_owned(), v.to_owned()));
        }
    }
    if silent.load(Ordering::SeqCst) {
        // Hold the connection open without answering until the client goes.
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
        return;
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut signed = get("X-ATRS-Timestamp").into_bytes();
    signed.push(b'.');
    signed.extend_from_slice(&body);
    let expected: String = hmac::sign(key, &signed)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signed_right = get("X-ATRS-Signature") == format!("sha256={expected}");
    received.lock().unwrap().push(Received {
        headers,
        body,
        signed_right,
    });
    let status = if signed_right {
        "200 OK"
    } else {
        "401 Unauthorized"
    };
    let _ =
        (&stream).write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
}

#[test]
fn the_host_offers_only_direct_verification_says_connected_and_pushes_a_file_without_a_folder() {
    let receiver = Receiver::start("s3cret");
    let plugins = plugins_dir(&[webhook_plugin()]);
    let store = tempfile::tempdir().unwrap();
    let host = |args: &[&str], input: &str| {
        let mut all = vec![
            "--plugins-dir",
            plugins.path().to_str().unwrap(),
            "--store",
            store.path().to_str().unwrap(),
            "--json",
        ];
        all.extend_from_slice(args);
        run_host_with_input(&all, &[], input)
    };
    let form = json_result(&host(&["form", "webhook"], ""));
    assert_eq!(
        form["verify_methods"],
        serde_json::json!([{"method": "direct"}]),
        "{form}"
    );

    let url = format!("url={}", receiver.url);
    let add = |name: &str, extra: &[&str], secret: &str| {
        let name = format!("account_name={name}");
        let mut args = vec!["add", "webhook", "--set", &name, "--set", &url];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--set-secret", "secret"]);
        host(&args, &format!("{secret}\n"))
    };
    let device = add("Hook", &["--verify", "device"], "s3cret");
    assert_eq!(device.status.code(), Some(2));
    let refused = json_result(&device);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not verify with --verify device"),
        "{refused}"
    );
    assert!(
        receiver.received().is_empty(),
        "nothing sent for a refused method"
    );

    let wrong = add("Hook", &[], "not-the-secret");
    assert_ne!(wrong.status.code(), Some(0));
    let wrong = json_result(&wrong);
    assert_eq!(wrong["error"]["field"], "secret", "{wrong}");
    assert!(!wrong.to_string().contains("not-the-secret"), "{wrong}");

    let added = add("Hook", &[], "s3cret");
    let stderr = String::from_utf8_lossy(&added.stderr);
    assert_eq!(added.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "✓ Verified: connected to 127.0.0.1 ({}).",
            receiver.url
        )),
        "{stderr}"
    );
    let test = receiver.received().pop().unwrap();
    assert!(test.signed_right);
    assert!(String::from_utf8_lossy(&test.body).contains("atrs.test"));

    let report = store.path().join("report.csv");
    std::fs::write(&report, "month,total\n2026-11,42\n").unwrap();
    let uploaded = host(&["upload", "Hook", report.to_str().unwrap()], "");
    let stderr = String::from_utf8_lossy(&uploaded.stderr);
    assert_eq!(uploaded.status.code(), Some(0), "{stderr}");
    let pushed = receiver.received().pop().unwrap();
    assert!(pushed.signed_right, "signed with the saved secret");
    assert_eq!(pushed.body, b"month,total\n2026-11,42\n");
    assert_eq!(pushed.header("X-ATRS-File-Name"), Some("report.csv"));
    assert_eq!(json_result(&uploaded)["receipt"]["kind"], "push");
}

/// Threads of this process named `name` (`/proc/self/task/*/comm`).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .count()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::yield_now();
    }
}

#[test]
fn a_request_blocked_on_a_receiver_that_never_answers_is_cancelled_within_the_bound() {
    let receiver = Receiver::start("s3cret");
    let library = loader::load_file(webhook_plugin()).unwrap();
    let mut hook = library.instantiate(MemoryHost::new()).unwrap();
    let mut values = FormValues::new()
        .with(ACCOUNT_NAME, "Hook")
        .with("url", receiver.url.as_str());
    values.set_secret("secret", "s3cret");

    // Verified and saved while the receiver answers.
    let session = hook
        .start_verification(&values, VerifyMethod::Direct)
        .unwrap();
    let mut end = SessionState::working("");
    wait_until("verified", || {
        end = session.poll(Duration::from_millis(200));
        end.is_terminal()
    });
    assert!(matches!(end, SessionState::Verified(_)), "{end:?}");
    hook.save(&values).unwrap();

    receiver.silent.store(true, Ordering::SeqCst);
    // A verification blocked in its request: the cancel ends it at once.
    let blocked = hook
        .start_verification(&values, VerifyMethod::Direct)
        .unwrap();
    let started = Instant::now();
    blocked.cancel();
    assert!(started.elapsed() < CANCEL_WAIT, "{:?}", started.elapsed());
    match blocked.poll(Duration::ZERO) {
        SessionState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled),
        other => panic!("{other:?}"),
    }

    // A delivery blocked waiting for the answer: the same.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), vec![b'x'; 256 * 1024]).unwrap();
    let request = DeliveryRequest::Push(PushRequest::of_file(file.path()));
    let job = hook.start_delivery("Hook", &request).unwrap();
    wait_until(
        "the body is sent",
        || matches!(job.poll(Duration::from_millis(200)), DeliveryState::Running { bytes_sent, .. } if bytes_sent == 256 * 1024),
    );
    let started = Instant::now();
    job.cancel();
    assert!(started.elapsed() < CANCEL_WAIT, "{:?}", started.elapsed());
    match job.poll(Duration::ZERO) {
        DeliveryState::Failed(e) => assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}"),
        other => panic!("{other:?}"),
    }
    hook.close().unwrap();
    drop((blocked, job, session));
    wait_until("no verification or delivery thread is left", || {
        threads_named("verification") + threads_named("delivery") == 0
    });
}

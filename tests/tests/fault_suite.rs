//! The fault suite: every network fault at every endpoint, end to end through the real
//! host binary and plugin library against the mock over loopback HTTP.
//!
//! Each cell is a fresh mock and store: a clean device sign-in saves the account "Keep"
//! (and `token Keep` puts an access token in the shared cache), then one fault is armed (until cleared, so retries meet it too) and the flow that
//! reaches the endpoint runs. Every cell must end by itself within its stated bound with a
//! typed error (the plugin's error kind, or the host's exit code for a refused paste), a
//! plain message (no library text, no JSON, no secret), no panic, and a store whose "Keep"
//! is exactly as before and which saved nothing else.
//!
//! The table (fault × endpoint → kind, time, first words of the message) is printed:
//! `cargo test -p atrs-e2e --test fault_suite -- --nocapture`.
//!
//! "Refused" is a server that went down: the endpoint's predecessor answers with the
//! mock's `go_down` fault (answer, then stop listening), so the endpoint's own connection
//! is refused. "Delay" holds each answer [`DELAY`] against a request timeout of
//! [`REQUEST_TIMEOUT`] (`ATRS_OFFICE365_REQUEST_TIMEOUT`).

use std::{
    collections::BTreeMap,
    fmt,
    io::{Read, Write},
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use atrs_e2e::sandbox::{Finished, Sandbox, StoreFiles};
use atrs_mock_idp::{Endpoint, Fault};
use serde_json::Value;

/// The plugin's time for one exchange in this suite.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// How long a delayed answer is held: past the request timeout.
const DELAY: Duration = Duration::from_secs(9);
/// How many cells run at once.
const WORKERS: usize = 6;

/// Where a fault is injected: an endpoint, reached through the flow that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// OpenID discovery, the first request of a device sign-in.
    Discovery,
    /// Device authorization.
    DeviceCode,
    /// /authorize, fetched by the (scripted) browser of a browser sign-in with paste-back.
    Authorize,
    /// The token endpoint, polled during a device sign-in.
    Token,
    /// Graph `/me`, which confirms the account after sign-in.
    GraphMe,
    /// The token endpoint, asked by `refresh Keep --force` (refresh token grant).
    Refresh,
    /// Graph `sendMail`, asked by `send Keep …`.
    SendMail,
    /// Graph drive simple upload, asked by `upload Keep small.txt …`.
    DriveUpload,
    /// The upload URL of a drive upload session, asked by `upload Keep big.bin …` (6 MB).
    UploadSession,
}

impl Target {
    const ALL: [Target; 9] = [
        Target::Discovery,
        Target::DeviceCode,
        Target::Authorize,
        Target::Token,
        Target::GraphMe,
        Target::Refresh,
        Target::SendMail,
        Target::DriveUpload,
        Target::UploadSession,
    ];

    fn name(self) -> &'static str {
        match self {
            Target::Discovery => "discovery",
            Target::DeviceCode => "devicecode",
            Target::Authorize => "authorize",
            Target::Token => "token",
            Target::GraphMe => "graph /me",
            Target::Refresh => "refresh",
            Target::SendMail => "sendMail",
            Target::DriveUpload => "drive upload",
            Target::UploadSession => "upload session",
        }
    }

    fn endpoint(self) -> Endpoint {
        match self {
            Target::Discovery => Endpoint::Discovery,
            Target::DeviceCode => Endpoint::DeviceCode,
            Target::Authorize => Endpoint::Authorize,
            Target::Token | Target::Refresh => Endpoint::Token,
            Target::GraphMe | Target::SendMail | Target::DriveUpload => Endpoint::Graph,
            Target::UploadSession => Endpoint::Upload,
        }
    }

    /// The endpoint answered just before this one in its flow (`None`: the test itself
    /// makes the last request before the flow starts).
    fn predecessor(self) -> Option<Endpoint> {
        match self {
            Target::Discovery => None,
            Target::DeviceCode
            | Target::Authorize
            | Target::Refresh
            | Target::SendMail
            | Target::DriveUpload => Some(Endpoint::Discovery),
            Target::Token => Some(Endpoint::DeviceCode),
            Target::GraphMe => Some(Endpoint::Token),
            Target::UploadSession => Some(Endpoint::Graph),
        }
    }

    /// Whether the flow should still succeed: the browser, not the plugin, meets faults at
    /// /authorize, and a slow or cut-short redirect still carries its `Location`; sendMail
    /// answers 202 with no body, which there is nothing of to cut short.
    fn survives(self, kind: Kind) -> bool {
        match self {
            Target::Authorize => {
                matches!(kind, Kind::Delay | Kind::TruncatedJson | Kind::ResetMidBody)
            }
            Target::SendMail => matches!(kind, Kind::TruncatedJson | Kind::ResetMidBody),
            _ => false,
        }
    }

    /// The longest a cell may take, from the faulted flow's start to its end: the tries
    /// the plugin makes times the request timeout, plus the waits its retry bound allows
    /// between them, plus room for a loaded machine. Sign-in requests get one try, except
    /// device-code polls, which ride out two network faults in a row (three tries); a
    /// refresh makes at most 3 tries with no retry later than 20 s after the first; a Graph
    /// call at most 5, waiting 1 + 2 + 4 + 8 s (or `Retry-After`, 1 s here) between them.
    fn bound(self) -> Duration {
        let (tries, waits) = match self {
            Target::Token => (3, 0),
            Target::Refresh => (3, 20),
            Target::SendMail | Target::DriveUpload | Target::UploadSession => (5, 15),
            _ => (1, 0),
        };
        REQUEST_TIMEOUT * tries + Duration::from_secs(waits + 12)
    }

    /// Whether a failure may record itself in the account's settings (a refresh notes
    /// when it last ran and why it failed, for the account's health).
    fn records_refresh(self) -> bool {
        self == Target::Refresh
    }
}

/// A misbehaviour of the network or the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Refused,
    Reset,
    ResetMidBody,
    Delay,
    Status500,
    Status503,
    Status429,
    Html,
    TruncatedJson,
    TenMegabytes,
}

impl Kind {
    const ALL: [Kind; 10] = [
        Kind::Refused,
        Kind::Reset,
        Kind::ResetMidBody,
        Kind::Delay,
        Kind::Status500,
        Kind::Status503,
        Kind::Status429,
        Kind::Html,
        Kind::TruncatedJson,
        Kind::TenMegabytes,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Refused => "refused connection",
            Kind::Reset => "reset before answer",
            Kind::ResetMidBody => "reset mid-body",
            Kind::Delay => "delay past timeout",
            Kind::Status500 => "500",
            Kind::Status503 => "503 Retry-After 1",
            Kind::Status429 => "429 Retry-After 1",
            Kind::Html => "HTML instead of JSON",
            Kind::TruncatedJson => "truncated JSON",
            Kind::TenMegabytes => "10 MB body",
        }
    }

    /// The mock fault (for [`Kind::Refused`], the one armed on the predecessor).
    fn fault(self) -> Fault {
        match self {
            Kind::Refused => Fault::GoDown,
            Kind::Reset => Fault::Reset,
            Kind::ResetMidBody => Fault::ResetMidBody,
            Kind::Delay => Fault::Delay(DELAY),
            Kind::Status500 => Fault::Status {
                status: 500,
                retry_after: None,
            },
            Kind::Status503 => Fault::Status {
                status: 503,
                retry_after: Some(1),
            },
            Kind::Status429 => Fault::Status {
                status: 429,
                retry_after: Some(1),
            },
            Kind::Html => Fault::Html,
            Kind::TruncatedJson => Fault::Truncated,
            Kind::TenMegabytes => Fault::Flood { bytes: 10 << 20 },
        }
    }
}

/// What one cell saw.
#[derive(Debug, Clone)]
struct Outcome {
    /// The plugin's error kind, or `exit N` for an error of the host's own.
    kind: String,
    /// The error message shown.
    message: String,
    /// The faulted flow's time.
    elapsed: Duration,
    /// Every way the cell broke the rules (empty: it passed).
    problems: Vec<String>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.message.split_whitespace().take(7).collect();
        write!(
            f,
            "{} {:.1}s \"{}…\"",
            self.kind,
            self.elapsed.as_secs_f64(),
            words.join(" ")
        )
    }
}

/// Plays the browser: GETs `url` with a deadline; the `Location` of a redirect, if one came.
fn browse(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.split_once('/')?;
    let mut stream = std::net::TcpStream::connect(authority).ok()?;
    stream.set_read_timeout(Some(DELAY * 2)).ok()?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // The head only: a browser shows an error page, it does not need the body.
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?;
    if !status.starts_with('3') {
        return None;
    }
    lines.find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.trim().to_owned())
    })
}

/// Runs one cell and judges it; `files` holds `small.txt` and `big.bin` for uploads.
fn run_cell(kind: Kind, target: Target, files: &Path) -> Outcome {
    let timeout = format!("{}", REQUEST_TIMEOUT.as_secs());
    let sandbox = Sandbox::instant(&[("ATRS_OFFICE365_REQUEST_TIMEOUT", &timeout)]);
    let seed = sandbox.add_device("Keep", &[], Duration::from_secs(60));
    assert!(
        seed.succeeded(),
        "the clean sign-in before {kind:?} at {target:?} failed:\n{}",
        seed.transcript()
    );
    let warm = sandbox.run(&["token", "Keep"], Duration::from_secs(60));
    assert!(
        warm.succeeded(),
        "token Keep failed:\n{}",
        warm.transcript()
    );
    let before = sandbox.files();

    let fault = kind.fault();
    match (kind, target.predecessor()) {
        (Kind::Refused, Some(previous)) => sandbox.mock.set_fault_times(previous, fault, 1),
        (Kind::Refused, None) => {
            // The test's own request is the last one the server answers.
            sandbox.mock.set_fault_times(Endpoint::Discovery, fault, 1);
            let discovery = format!(
                "{}/{}/v2.0/.well-known/openid-configuration",
                sandbox.mock.base_url(),
                atrs_mock_idp::defaults::TENANT_ID
            );
            let _ = browse(&discovery);
        }
        _ => sandbox.mock.set_fault(target.endpoint(), fault),
    }

    let bound = target.bound();
    let file = |name: &str| files.join(name).to_string_lossy().into_owned();
    let finished = match target {
        Target::Authorize => sign_in_by_browser(&sandbox, bound),
        Target::Refresh => sandbox.run(&["refresh", "Keep", "--force"], bound),
        Target::SendMail => sandbox.run(
            &[
                "send",
                "Keep",
                "--to",
                "someone@contoso.onmicrosoft.com",
                "--subject",
                "Report",
                "--body",
                "Attached.",
            ],
            bound,
        ),
        Target::DriveUpload => sandbox.run(
            &[
                "upload",
                "Keep",
                &file("small.txt"),
                "--to-folder",
                "Reports",
            ],
            bound,
        ),
        Target::UploadSession => sandbox.run(
            &["upload", "Keep", &file("big.bin"), "--to-folder", "Reports"],
            bound,
        ),
        _ => sandbox.add_device("New", &[], bound),
    };
    if target.survives(kind) {
        judge_success(&sandbox, &before, &finished, target)
    } else {
        judge(&sandbox, &before, &finished, target)
    }
}

/// The rules for a cell whose flow should succeed despite the fault.
fn judge_success(
    sandbox: &Sandbox,
    before: &StoreFiles,
    run: &Finished,
    target: Target,
) -> Outcome {
    let bound = target.bound();
    let mut problems = Vec::new();
    if !run.succeeded() {
        problems.push(format!("failed ({:?}): {}", run.code, run.transcript()));
    }
    if run.elapsed > bound {
        problems.push(format!("took {:?}, over the bound {bound:?}", run.elapsed));
    }
    match StoreFiles::try_read(sandbox.store()) {
        Err(e) => problems.push(e),
        Ok(after) => {
            if after.settings_of("Keep") != before.settings_of("Keep")
                || after.secrets_of("Keep") != before.secrets_of("Keep")
            {
                problems.push("\"Keep\" changed".into());
            }
            let sent = sandbox.mock.sent_items().len();
            match target {
                Target::SendMail if sent != 1 => {
                    problems.push(format!("{sent} messages sent, not 1"))
                }
                Target::SendMail => {}
                _ if after.settings_of("New").is_null() || after.secrets_of("New").is_null() => {
                    problems.push("\"New\" was not saved whole".into())
                }
                _ => {}
            }
        }
    }
    Outcome {
        kind: if target == Target::SendMail {
            "ok (sent once)".into()
        } else {
            "ok (saved)".into()
        },
        message: String::new(),
        elapsed: run.elapsed,
        problems,
    }
}

/// A browser sign-in with the final address pasted on stdin: whatever the browser is left
/// at is pasted (the redirect when one came, else the sign-in address itself).
fn sign_in_by_browser(sandbox: &Sandbox, bound: Duration) -> Finished {
    let args = sandbox.add_args("New", "browser", &["--paste", "-"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut running = sandbox.spawn(&args);
    if let Some(action) = running.next_of_type("action", bound) {
        let url = action["url"].as_str().unwrap_or_default().to_owned();
        let landed = browse(&url).unwrap_or(url);
        running.write_line(&landed);
    }
    running.finish(bound)
}

/// The rules every cell must keep.
fn judge(sandbox: &Sandbox, before: &StoreFiles, run: &Finished, target: Target) -> Outcome {
    let bound = target.bound();
    let mut problems = Vec::new();
    let result = run.result();
    let error = result
        .as_ref()
        .map(|r| r["error"].clone())
        .unwrap_or(Value::Null);
    // `refresh` reports each account on a line of its own; that line says why.
    let account_line = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "account")
        .and_then(|v| v["line"].as_str().map(str::to_owned));
    let message =
        account_line.unwrap_or_else(|| error["message"].as_str().unwrap_or_default().to_owned());
    let kind = match (error["kind"].as_str(), run.code) {
        (Some(k), _) => k.to_owned(),
        (None, Some(code)) => format!("exit {code}"),
        (None, None) => "killed".to_owned(),
    };
    if run.hung {
        problems.push(format!("hung: killed after {bound:?}"));
    } else if run.elapsed > bound {
        problems.push(format!("took {:?}, over the bound {bound:?}", run.elapsed));
    }
    match run.code {
        Some(0) => problems.push("succeeded despite the fault".into()),
        Some(101) | None if !run.hung => problems.push(format!("crashed ({:?})", run.code)),
        _ => {}
    }
    if run.stderr.contains("panicked") || run.stdout.contains("panicked") {
        problems.push("a panic message was printed".into());
    }
    match &result {
        None => problems.push("no result line".into()),
        Some(r) if r["ok"] != false => problems.push(format!("result not a failure: {r}")),
        Some(_) => {}
    }
    if !run.hung {
        if error["exit_code"].as_i64() != run.code.map(i64::from) {
            problems.push(format!(
                "exit code {:?} differs from the result's {}",
                run.code, error["exit_code"]
            ));
        }
        if kind == "internal" || kind == "killed" {
            problems.push(format!("untyped error: {kind}"));
        }
        problems.extend(plainness(&message));
    }
    match StoreFiles::try_read(sandbox.store()) {
        Err(e) => problems.push(e),
        Ok(after) => {
            let settings = |files: &StoreFiles| {
                let mut s = files.settings_of("Keep").clone();
                if target.records_refresh() {
                    if let Some(map) = s.as_object_mut() {
                        map.retain(|k, _| !k.starts_with("last_refresh"));
                    }
                }
                s
            };
            if settings(&after) != settings(before) {
                problems.push("the settings of \"Keep\" changed".into());
            }
            if after.secrets_of("Keep") != before.secrets_of("Keep") {
                problems.push("the secrets of \"Keep\" changed".into());
            }
            if !after.settings_of("New").is_null() || !after.secrets_of("New").is_null() {
                problems.push("the failed sign-in saved \"New\"".into());
            }
        }
    }
    Outcome {
        kind,
        message,
        elapsed: run.elapsed,
        problems,
    }
}

/// Why `message` is not a plain message for a person, if it is not.
fn plainness(message: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if message.trim().is_empty() {
        problems.push("empty message".into());
    }
    if message.len() > 400 {
        problems.push(format!("message of {} bytes", message.len()));
    }
    let lower = message.to_lowercase();
    for raw in [
        "reqwest",
        "hyper",
        "os error",
        "error sending request",
        "{\"",
        "<html",
        "padding",
        "panicked",
    ] {
        if lower.contains(raw) {
            problems.push(format!("message carries raw text `{raw}`"));
        }
    }
    problems
}

#[test]
fn every_fault_at_every_endpoint_ends_in_a_typed_error_within_its_bound() {
    atrs_e2e::workspace();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("small.txt"), "A small report.\n").unwrap();
    std::fs::write(files.path().join("big.bin"), vec![7u8; 6_000_000]).unwrap();
    let files = Arc::new(files);
    let cells: Vec<(Kind, Target)> = Kind::ALL
        .iter()
        .flat_map(|k| Target::ALL.iter().map(move |t| (*k, *t)))
        .collect();
    let queue = Arc::new(Mutex::new(cells.clone()));
    let results = Arc::new(Mutex::new(BTreeMap::new()));
    let started = std::time::Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let queue = queue.clone();
            let results = results.clone();
            let files = files.clone();
            std::thread::spawn(move || loop {
                let Some((kind, target)) = queue.lock().unwrap().pop() else {
                    return;
                };
                let outcome = run_cell(kind, target, files.path());
                results.lock().unwrap().insert((kind, target), outcome);
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .expect("a cell's set-up failed (see its panic above)");
    }
    let results = results.lock().unwrap();
    print_table(&results);
    println!(
        "{} cells in {:.1}s with {WORKERS} at once",
        cells.len(),
        started.elapsed().as_secs_f64()
    );
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, o)| !o.problems.is_empty())
        .map(|((k, t), o)| {
            format!(
                "{} at {}: {} — {}",
                k.name(),
                t.name(),
                o.problems.join("; "),
                o
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "cells broke the rules:\n{}",
        failures.join("\n")
    );
}

fn print_table(results: &BTreeMap<(Kind, Target), Outcome>) {
    println!(
        "\n| fault | {} |",
        Target::ALL.map(Target::name).join(" | ")
    );
    println!("|---|{}", "---|".repeat(Target::ALL.len()));
    for kind in Kind::ALL {
        let cells: Vec<String> = Target::ALL
            .iter()
            .map(|t| {
                results
                    .get(&(kind, *t))
                    .map_or("—".into(), |o| o.to_string())
            })
            .collect();
        println!("| {} | {} |", kind.name(), cells.join(" | "));
    }
    println!(
        "\nbounds: {}",
        Target::ALL
            .map(|t| format!("{} {}s", t.name(), t.bound().as_secs()))
            .join(", ")
    );
}

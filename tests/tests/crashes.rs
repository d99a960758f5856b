//! What in-process loading cannot contain: a plugin that aborts, overflows its stack or
//! reads through a null pointer inside a call takes the whole host process with it —
//! unlike a panic (caught at the boundary) or a blocking call (cut off by the call
//! timeout). Each test runs the host binary as a child against the `crashes` fixture,
//! asserts the documented outcome (the process ends at once, killed by the signal named
//! in the host-sdk `loader` docs, with no result printed) and prints what happened.

#![cfg(unix)]

use std::{
    os::unix::process::ExitStatusExt,
    process::{Command, Output, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use atrs_e2e::{fixture, host_binary, json_result, plugins_dir};

const SIGABRT: i32 = 6;
const SIGSEGV: i32 = 11;

/// How long a crash may take to end the host; it happens at the first call.
const WITHIN: Duration = Duration::from_secs(30);

/// Runs `validate crashes --set crash=<how>` in a host process; its output and how
/// long it ran. Fails the test if the host is still running after [`WITHIN`].
fn validate_with(how: &str) -> (Output, Duration) {
    let dir = plugins_dir(&[fixture("crashes")]);
    let setting = format!("crash={how}");
    let mut command = Command::new(host_binary());
    command
        .args(["--plugins-dir", dir.path().to_str().unwrap(), "--json"])
        .args(["validate", "crashes", "--set", &setting])
        .env_remove("ATRS_PLUGINS_DIR")
        .env_remove("ATRS_STORE")
        .env_remove("ATRS_STORE_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = command.spawn().expect("host starts");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = rx
        .recv_timeout(WITHIN)
        .unwrap_or_else(|_| panic!("the host was still running {WITHIN:?} after crash={how}"))
        .expect("host output");
    (output, started.elapsed())
}

/// Asserts the host was killed by `signal` without printing a result, and reports it.
fn assert_killed_by(how: &str, signal: i32, output: &Output, took: Duration) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!(
        "crash={how}: {} after {} ms; stderr: {}",
        output.status,
        took.as_millis(),
        stderr.trim()
    );
    assert_eq!(
        output.status.code(),
        None,
        "no exit code: {}",
        output.status
    );
    assert_eq!(output.status.signal(), Some(signal), "{}", output.status);
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("\"type\":\"result\""),
        "the host died before it could print a result"
    );
    stderr
}

#[test]
fn a_plugin_that_aborts_kills_the_host_with_sigabrt() {
    let (output, took) = validate_with("abort");
    assert_killed_by("abort", SIGABRT, &output, took);
}

#[test]
fn a_plugin_that_overflows_its_stack_kills_the_host_with_sigabrt_after_saying_so() {
    let (output, took) = validate_with("stack");
    let stderr = assert_killed_by("stack", SIGABRT, &output, took);
    // The host's Rust runtime recognises the guard page and says which thread it was.
    assert!(
        stderr.contains("has overflowed its stack"),
        "stderr: {stderr}"
    );
}

#[test]
fn a_plugin_that_reads_through_a_null_pointer_kills_the_host_with_sigsegv() {
    let (output, took) = validate_with("null");
    assert_killed_by("null", SIGSEGV, &output, took);
}

#[test]
fn the_same_plugin_answers_normally_when_asked_for_no_crash() {
    // The fixture itself is a working plugin: the crashes above come from the call.
    let (output, _) = validate_with("none");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(json_result(&output)["ok"], true);
}

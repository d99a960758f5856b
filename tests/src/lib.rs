//! Support for the end-to-end tests: build the real libraries and binaries they load,
//! lay out plugin folders, and run the host binary.
//!
//! Every test builds what it loads (once per test binary), so `cargo test` passes
//! from a fresh clone with no earlier build:
//! - the workspace's plugin and host with the same cargo and target folder as the tests;
//! - the deliberately broken fixture plugins (`tests/fixtures`, a workspace of their
//!   own) into `target/fixtures`, so they never sit next to the real host;
//! - the SDK's example plugins ([`hello_plugin`], [`webhook_plugin`]);
//! - the compatibility matrix's hosts and plugins ([`compat`], into `target/compat`);
//! - the Office 365 plugin stamped as two releases, for the drop-in update ([`releases`]).
//!
//! [`elf`] makes damaged copies of real libraries for the loader's preflight.
//! [`proxy`] is the corporate network: a `CONNECT` proxy and an HTTPS origin with a
//! private certificate authority.
//! [`sandbox`] gives a test its own mock, plugins folder and store, with bounded host runs;
//! [`store_churn`] is the known transaction sequence the store crash test kills mid-way.
//! [`tools`] finds the programs a test needs from the machine (gcc, Mono), or skips.

pub mod compat;
pub mod elf;
pub mod json_store;
pub mod proxy;
pub mod releases;
pub mod sandbox;
pub mod scripted_server;
pub mod store_churn;
pub mod tmux;
pub mod tools;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::OnceLock,
};

use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// What one `cargo build` produced, by crate name: libraries and executables.
#[derive(Debug, Default)]
pub struct Artifacts {
    by_name: BTreeMap<String, PathBuf>,
}

impl Artifacts {
    /// The artifact of crate target `name` (a library's `.so`, or an executable).
    pub fn get(&self, name: &str) -> &Path {
        self.by_name.get(name).unwrap_or_else(|| {
            panic!(
                "cargo built no artifact named {name}; built: {:?}",
                self.by_name.keys()
            )
        })
    }
}

impl Artifacts {
    /// Adds what another build produced.
    fn merge(&mut self, other: Artifacts) {
        self.by_name.extend(other.by_name);
    }
}

/// Build-time switches of the Office 365 plugin (see [`releases`]): cleared for every
/// build unless a caller sets them, so a stray variable never stamps the plain build.
const RELEASE_SWITCHES: [&str; 2] = ["ATRS_OFFICE365_VERSION", "ATRS_OFFICE365_SETTINGS_LAYOUT"];

/// Runs `cargo build` with `args` and collects the artifacts from its JSON messages.
fn cargo_build(args: &[&str]) -> Artifacts {
    cargo_build_with_env(args, &[])
}

/// [`cargo_build`] with extra environment variables for the compiler.
fn cargo_build_with_env(args: &[&str], env: &[(&str, &str)]) -> Artifacts {
    // Without the variables cargo set for this test: build scripts that watch them
    // (ring's) would rebuild, with all above them, on each switch between `cargo test`
    // and these builds.
    let mut command = atrs_conformance::cdylib::cargo_command();
    for switch in RELEASE_SWITCHES {
        command.env_remove(switch);
    }
    let output = command
        .envs(env.iter().copied())
        .arg("build")
        .arg("--message-format=json-render-diagnostics")
        .args(args)
        .current_dir(repo_root())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo build {args:?} failed");
    let mut artifacts = Artifacts::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let name = msg["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .replace('-', "_");
        if let Some(exe) = msg["executable"].as_str() {
            artifacts.by_name.insert(name, PathBuf::from(exe));
            continue;
        }
        let cdylib = msg["filenames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|f| f.ends_with(&format!(".{}", std::env::consts::DLL_EXTENSION)));
        if let Some(lib) = cdylib {
            artifacts.by_name.insert(name, PathBuf::from(lib));
        }
    }
    artifacts
}

/// The real Office 365 plugin library, the host binary, the host runtime's C library
/// and its plugin runner, built once.
pub fn workspace() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| {
        cargo_build(&[
            "-p",
            "atrs-office365-cdylib",
            "-p",
            "atrs-test-host",
            "-p",
            "atrs-host-c",
            "-p",
            "atrs-host-runtime",
        ])
    })
}

/// The built `atrs-plugin-runner` (isolated plugins run in it).
pub fn plugin_runner() -> &'static Path {
    workspace().get("atrs_plugin_runner")
}

/// The built `libatrs_host.so` (the host runtime's C library).
pub fn host_c_library() -> &'static Path {
    workspace().get("atrs_host")
}

/// The built `libatrs_office365.so`.
pub fn office365_library() -> &'static Path {
    workspace().get("atrs_office365")
}

/// The built `atrs-test-host` binary.
pub fn host_binary() -> &'static Path {
    workspace().get("atrs_test_host")
}

/// The Office 365 plugin and the host built with the release profile, once: for
/// benchmarks, which should measure what users run.
pub fn release_workspace() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| {
        cargo_build(&[
            "--release",
            "-p",
            "atrs-office365-cdylib",
            "-p",
            "atrs-test-host",
        ])
    })
}

/// The host runtime's C library and plugin runner built with the release profile, once:
/// for the benchmarks of each way a host reaches a plugin.
pub fn release_runtime() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT
        .get_or_init(|| cargo_build(&["--release", "-p", "atrs-host-c", "-p", "atrs-host-runtime"]))
}

/// The SDK's example plugin (`host-sdk/examples/hello_plugin.rs`), built once.
pub fn hello_plugin() -> &'static Path {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT
        .get_or_init(|| cargo_build(&["-p", "atrs-host-sdk", "--example", "hello_plugin"]))
        .get("hello_plugin")
}

/// The SDK's second example plugin (`host-sdk/examples/webhook_plugin`), built once.
pub fn webhook_plugin() -> &'static Path {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT
        .get_or_init(|| cargo_build(&["-p", "atrs-host-sdk", "--example", "webhook_plugin"]))
        .get("webhook_plugin")
}

/// The fixture plugins, built once.
pub fn fixtures() -> &'static Artifacts {
    static BUILT: OnceLock<Artifacts> = OnceLock::new();
    BUILT.get_or_init(|| {
        let manifest = repo_root().join("tests/fixtures/Cargo.toml");
        let target = repo_root().join("target/fixtures");
        cargo_build(&[
            "--manifest-path",
            manifest.to_str().expect("utf-8 path"),
            "--target-dir",
            target.to_str().expect("utf-8 path"),
        ])
    })
}

/// The built library of fixture `name` (e.g. `init-panics`).
pub fn fixture(name: &str) -> &'static Path {
    fixtures().get(&format!("fixture_{}", name.replace('-', "_")))
}

/// A temporary plugins folder holding copies of `libraries` (keeping their file names).
pub fn plugins_dir(libraries: &[&Path]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for lib in libraries {
        let name = lib.file_name().expect("library file name");
        std::fs::copy(lib, dir.path().join(name)).expect("copy library");
    }
    dir
}

/// Runs the host binary with `args`, no stdin, and the given extra environment.
pub fn run_host(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(host_binary());
    command.args(args).stdin(Stdio::null());
    command
        .env_remove("ATRS_PLUGINS_DIR")
        .env_remove("ATRS_STORE")
        .env_remove("ATRS_STORE_DIR")
        .env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("host runs")
}

/// Runs the host binary with `args` and `env`, `input` written to its stdin (then closed).
pub fn run_host_with_input(args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
    use std::io::Write;
    let mut command = Command::new(host_binary());
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
        .env_remove("ATRS_PLUGINS_DIR")
        .env_remove("ATRS_STORE")
        .env_remove("ATRS_STORE_DIR")
        .env_remove("RUST_BACKTRACE");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("host runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // The host may end before reading it all (a refusal): a broken pipe is no failure.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    child.wait_with_output().expect("host runs")
}

/// The JSON lines of a `--json` run's stdout; panics if any line is not JSON.
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The last JSON line (the result) of a `--json` run.
pub fn json_result(output: &Output) -> Value {
    let lines = json_lines(output);
    let last = lines.last().cloned().unwrap_or_else(|| {
        panic!(
            "no JSON on stdout; stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(
        last["type"], "result",
        "the last line is the result: {last}"
    );
    last
}

/// A running host process whose JSON lines are read as they come, with deadlines.
pub struct HostProcess {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stdin: Option<std::process::ChildStdin>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
}

impl HostProcess {
    /// Starts the host binary with `args` and `env`, stdin and stdout piped.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> HostProcess {
        let mut command = Command::new(host_binary());
        command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        command
            .env_remove("ATRS_PLUGINS_DIR")
            .env_remove("ATRS_STORE")
            .env_remove("ATRS_STORE_DIR")
            .env_remove("BROWSER");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("host starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = lines_of(stdout);
        let stdin = child.stdin.take();
        HostProcess {
            child,
            lines,
            stdin,
            seen: Vec::new(),
        }
    }

    /// The next JSON line whose `type` is `kind`, waiting at most `within`.
    pub fn next_of_type(&mut self, kind: &str, within: std::time::Duration) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no `{kind}` line within {within:?}; seen: {:#?}", self.seen)
            });
            self.seen.push(line.clone());
            let value: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if value["type"] == kind {
                return value;
            }
        }
    }

    /// Sends the process SIGINT, as Ctrl-C does.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -INT failed");
    }

    /// Writes one line to the host's stdin.
    pub fn write_line(&mut self, text: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{text}").expect("host reads stdin");
        stdin.flush().expect("flush");
    }

    /// Kills the process (as a crash would) and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits at most `within` for the process to end; its exit code.
    pub fn wait(&mut self, within: std::time::Duration) -> Option<i32> {
        self.stdin = None;
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // The reader thread ends at EOF: keep every line the process printed.
                while let Ok(line) = self.lines.recv_timeout(std::time::Duration::from_secs(5)) {
                    self.seen.push(line);
                }
                return status.code();
            }
            if std::time::Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "host still running after {within:?}; seen: {:#?}",
                    self.seen
                );
            }
            std::thread::park_timeout(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 GET to a loopback URL (no redirect following): status and the
/// `Location` header, if any. For playing the browser's part in tests.
pub fn http_get_location(url: &str) -> (u16, Option<String>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("loopback http URL");
    let (authority, path) = rest
        .split_once('/')
        .map(|(a, p)| (a, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let mut lines = response.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let location = lines.take_while(|l| !l.is_empty()).find_map(|l| {
        l.split_once(':')
            .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.trim().to_owned())
    });
    (status, location)
}

/// The `add office365` command line for signing in against a test server at
/// `authority`: `--set` for each value (plus `--set-secret client_secret` when a secret is
/// given: write it as the first line of the host's standard input, see
/// [`run_host_with_input`]), then `--verify METHOD --timeout 60`. Append further flags to
/// the returned list.
pub fn add_office365_args(
    account: &str,
    client_id: &str,
    tenant: &str,
    client_secret: Option<&str>,
    authority: &str,
    method: &str,
) -> Vec<String> {
    let values = vec![
        format!("account_name={account}"),
        format!("client_id={client_id}"),
        format!("tenant_id={tenant}"),
        format!("authority={authority}"),
    ];
    let mut args = vec!["add".to_owned(), "office365".to_owned()];
    for value in values {
        args.extend(["--set".to_owned(), value]);
    }
    if client_secret.is_some() {
        args.extend(["--set-secret".to_owned(), "client_secret".to_owned()]);
    }
    args.extend(["--verify", method, "--timeout", "60"].map(String::from));
    args
}

/// The lines `stdout` prints, as they come, read on a thread of their own (so a test can
/// wait for one with a deadline).
pub fn lines_of(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

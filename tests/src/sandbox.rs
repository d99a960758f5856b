//! One isolated world for a test that drives the host binary: a mock identity platform,
//! a plugins folder holding the real Office 365 library, an account store of its own, and
//! host runs that are always bounded in time (a run that outlives its bound is killed and
//! reported as hung, never waited on for ever).

use std::{
    io::{Read, Write},
    path::Path,
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc::Receiver,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use serde_json::Value;

use atrs_test_host::store::{key_file, postgres, KeyOptions, PostgresStore, SqliteStore};

use crate::{host_binary, office365_library, plugins_dir};

/// Scopes that let an account send mail and write files (all of them granted by the
/// mock's desktop app, so access tokens are served from the shared cache).
pub const DELIVERY_SCOPES: &str =
    "openid profile offline_access User.Read Mail.Send Files.ReadWrite";

/// A mock, a plugins folder and a store, plus the environment every host run gets.
pub struct Sandbox {
    /// The mock identity platform (and Graph) this sandbox's accounts sign in to.
    pub mock: MockIdp,
    plugins: tempfile::TempDir,
    store: tempfile::TempDir,
    store_url: Option<String>,
    env: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Sandbox {
    /// A mock started with `config`; host runs get `--json` and `env`.
    pub fn new(config: MockConfig, env: &[(&str, &str)]) -> Sandbox {
        Sandbox {
            mock: MockIdp::spawn(config).expect("mock starts"),
            plugins: plugins_dir(&[office365_library()]),
            store: tempfile::tempdir().expect("temp dir"),
            store_url: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            flags: vec!["--json".into()],
        }
    }

    /// A mock that approves device codes at once and lets clients poll without waiting.
    pub fn instant(env: &[(&str, &str)]) -> Sandbox {
        Sandbox::approving(0, env)
    }

    /// A mock that approves device codes at once and asks clients to poll every
    /// `interval_secs`; host runs get `--json` and `env`.
    pub fn approving(interval_secs: u64, env: &[(&str, &str)]) -> Sandbox {
        Sandbox::new(
            MockConfig {
                device_interval_secs: interval_secs,
                auto_approve_delay: Duration::ZERO,
                ..MockConfig::default()
            },
            env,
        )
    }

    /// Adds a global flag (e.g. `-vv`) to every later host run.
    pub fn with_flag(mut self, flag: &str) -> Sandbox {
        self.flags.push(flag.into());
        self
    }

    /// Keeps accounts at `url` (a `postgres://` store) instead of the store folder.
    pub fn with_store_url(mut self, url: &str) -> Sandbox {
        self.store_url = Some(url.to_owned());
        self
    }

    /// How the sandbox's host runs find the store key: the test's environment, with the
    /// sandbox's own variables over it.
    pub fn key_options(&self) -> KeyOptions {
        let mut options = KeyOptions::from_env();
        if !self
            .env
            .iter()
            .any(|(name, _)| name == key_file::KEY_STORE_ENV)
        {
            options.key_store = key_file::KeyStore::File;
        }
        for (name, value) in &self.env {
            if name == key_file::KEY_FILE_ENV {
                options.key_file = Some(value.into());
            } else if name == key_file::PLAINTEXT_ENV {
                options.plaintext = value.trim() == "1";
            } else if name == key_file::KEY_STORE_ENV {
                options.key_store = key_file::KeyStore::parse(value);
            } else if name == "DBUS_SESSION_BUS_ADDRESS" {
                options.secret_service_bus = Some(value.clone());
            }
        }
        options
    }

    /// What every host run is given as `--store`: the store URL, else the folder.
    pub fn store_location(&self) -> &str {
        self.store_url
            .as_deref()
            .unwrap_or_else(|| utf8(self.store.path()))
    }

    /// The store folder.
    pub fn store(&self) -> &Path {
        self.store.path()
    }

    /// The plugins folder (holding the Office 365 library).
    pub fn plugins(&self) -> &Path {
        self.plugins.path()
    }

    /// `--plugins-dir DIR --store DIR`, for tests that run the host their own way.
    pub fn folder_args(&self) -> [&str; 4] {
        [
            "--plugins-dir",
            utf8(self.plugins()),
            "--store",
            utf8(self.store()),
        ]
    }

    /// The host binary with the sandbox's folders, flags and environment, then `args`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut store = vec!["--store", self.store_location()];
        store.extend(args);
        self.command_naming_no_store(&store)
    }

    /// Like [`Sandbox::command`] but with no `--store` and no store variable inherited:
    /// for a test that names the store itself (`ATRS_STORE` set with
    /// [`Command::env`]).
    pub fn command_naming_no_store(&self, args: &[&str]) -> Command {
        let mut command = Command::new(host_binary());
        command
            .arg("--plugins-dir")
            .arg(self.plugins.path())
            .args(&self.flags)
            .args(args);
        for var in [
            "ATRS_PLUGINS_DIR",
            "ATRS_STORE",
            "ATRS_STORE_DIR",
            "RUST_BACKTRACE",
            "BROWSER",
            "SSL_CERT_FILE",
        ] {
            command.env_remove(var);
        }
        // A developer's desktop keyring is never written by a test: a test that wants
        // the Secret Service names it (and a throwaway one) itself.
        command.env(key_file::KEY_STORE_ENV, "file");
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Sets (or replaces) an environment variable of every later host run.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// Starts the host with `args`, stdin, stdout and stderr piped.
    pub fn spawn(&self, args: &[&str]) -> Running {
        Running::start(self.command(args))
    }

    /// Starts the host with `args` as a shell starts a job: in a process group of its
    /// own, so [`Running::interrupt_group`] is Ctrl-C at a terminal (every process of
    /// the group gets SIGINT, a plugin runner the host started included, unless it left
    /// the group).
    pub fn spawn_as_job(&self, args: &[&str]) -> Running {
        let mut command = self.command(args);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        Running::start(command)
    }

    /// Runs the host with `args` and no input, for at most `within`.
    pub fn run(&self, args: &[&str], within: Duration) -> Finished {
        Sandbox::run_command(self.command(args), within)
    }

    /// Runs `command` (one of [`Sandbox::command`]'s, changed by the test) with no
    /// input, for at most `within`.
    pub fn run_command(command: Command, within: Duration) -> Finished {
        let mut running = Running::start(command);
        running.close_stdin();
        running.finish(within)
    }

    /// `add office365 … --verify device` for `account` against this sandbox's mock, with
    /// extra `--set` values and flags.
    pub fn add_device(&self, account: &str, extra: &[&str], within: Duration) -> Finished {
        let args = self.add_args(account, "device", extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(&args, within)
    }

    /// The `add office365` arguments for `account` with `method` (`device` or `browser`).
    pub fn add_args(&self, account: &str, method: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = ["add", "office365"].map(String::from).to_vec();
        for value in [
            format!("account_name={account}"),
            format!("client_id={}", defaults::DESKTOP_CLIENT_ID),
            format!("tenant_id={}", defaults::TENANT_ID),
            format!("authority={}", self.mock.base_url()),
            format!("scopes={DELIVERY_SCOPES}"),
        ] {
            args.extend(["--set".to_owned(), value]);
        }
        args.extend(["--verify", method, "--timeout", "30"].map(String::from));
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Everything the store holds (see [`StoreFiles`]); panics saying why if it cannot
    /// be read.
    pub fn files(&self) -> StoreFiles {
        StoreFiles::read_location(self.store_location(), &self.key_options())
    }
}

/// Everything a store holds, read through the host's own store code (the database
/// opened with the same key the host uses, secrets opened), in the shape the JSON store
/// had: `{"plugins": {plugin: {account: {name: value}}}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreFiles {
    /// The settings.
    pub settings: Value,
    /// The secrets.
    pub secrets: Value,
}

impl StoreFiles {
    /// Reads the store at `dir`; panics saying why it cannot be read.
    pub fn read(dir: &Path) -> StoreFiles {
        StoreFiles::try_read(dir).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Reads the store at `dir` (its key as the environment names it, like the host);
    /// an error says why it cannot be opened or read.
    pub fn try_read(dir: &Path) -> Result<StoreFiles, String> {
        StoreFiles::try_read_with(dir, &KeyOptions::from_env())
    }

    /// Reads the store at `dir` with its key found as `options` say.
    pub fn try_read_with(dir: &Path, options: &KeyOptions) -> Result<StoreFiles, String> {
        StoreFiles::try_read_location(utf8(dir), options)
    }

    /// Reads the store at `location` (a folder, or a `postgres://` URL); panics saying
    /// why it cannot be read.
    pub fn read_location(location: &str, options: &KeyOptions) -> StoreFiles {
        StoreFiles::try_read_location(location, options).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Reads the store at `location` (a folder, or a `postgres://` URL).
    pub fn try_read_location(location: &str, options: &KeyOptions) -> Result<StoreFiles, String> {
        let contents = if postgres::is_url(location) {
            PostgresStore::open(location, options).and_then(|s| s.contents())
        } else {
            SqliteStore::open(location, options).and_then(|s| s.contents())
        }
        .map_err(|e| format!("the store {location} does not read: {e}"))?;
        let shape = |by_plugin| serde_json::json!({ "plugins": by_plugin });
        Ok(StoreFiles {
            settings: shape(contents.settings),
            secrets: shape(contents.secrets),
        })
    }

    /// The settings of `account` (of the Office 365 plugin), `Value::Null` if none.
    pub fn settings_of(&self, account: &str) -> &Value {
        &self.settings["plugins"]["office365"][account]
    }

    /// The secrets of `account` (of the Office 365 plugin), `Value::Null` if none.
    pub fn secrets_of(&self, account: &str) -> &Value {
        &self.secrets["plugins"]["office365"][account]
    }
}

/// A host process being driven: its stdout lines as they come, stderr collected.
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    started: Instant,
}

impl Running {
    fn start(mut command: Command) -> Running {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("host starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = crate::lines_of(stdout);
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            all
        });
        Running {
            stdin: child.stdin.take(),
            child,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
            started: Instant::now(),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ctrl-C at the terminal of a job started with [`Sandbox::spawn_as_job`]: SIGINT
    /// to every process of its group.
    pub fn interrupt_group(&self) {
        let status = Command::new("kill")
            .args(["-INT", "--", &format!("-{}", self.child.id())])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -INT to the job's group failed");
    }

    /// The next stdout JSON line whose `type` is `kind`, waiting at most `within`;
    /// `None` when none came (the process ended or the time passed).
    pub fn next_of_type(&mut self, kind: &str, within: Duration) -> Option<Value> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            self.stdout.push(line.clone());
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                if value["type"] == kind {
                    return Some(value);
                }
            }
        }
    }

    /// Writes one line to stdin (ignoring a process that stopped reading).
    pub fn write_line(&mut self, text: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{text}").and_then(|_| stdin.flush());
        }
    }

    /// Closes stdin (the process sees end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Kills the process at once (SIGKILL) and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits at most `within` (from now) for the process to end; kills it if it does not.
    pub fn finish(mut self, within: Duration) -> Finished {
        self.close_stdin();
        let deadline = Instant::now() + within;
        let (code, hung) = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break (status.code(), false);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let status = self.child.wait().expect("wait after kill");
                break (status.code(), true);
            }
            std::thread::park_timeout(Duration::from_millis(10));
        };
        let elapsed = self.started.elapsed();
        // The reader threads end at EOF, which follows the exit.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Finished {
            code,
            hung,
            elapsed,
            stdout: self.stdout.join("\n"),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a host run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Whether it outlived its bound and was killed.
    pub hung: bool,
    /// From start to end.
    pub elapsed: Duration,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Finished {
    /// The result line (`"type": "result"`), if the run printed one.
    pub fn result(&self) -> Option<Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .rfind(|v| v["type"] == "result")
    }

    /// Whether it ended by itself with exit code 0.
    pub fn succeeded(&self) -> bool {
        !self.hung && self.code == Some(0)
    }

    /// How it ended, stdout and stderr, for failure messages.
    pub fn transcript(&self) -> String {
        let ended = match (self.hung, self.code) {
            (true, _) => "killed, still running at its bound".to_owned(),
            (false, Some(code)) => format!("exit code {code}"),
            (false, None) => "killed by a signal".to_owned(),
        };
        format!(
            "{ended} after {:.1?}\nstdout:\n{}\nstderr:\n{}",
            self.elapsed, self.stdout, self.stderr
        )
    }
}

/// A temporary folder's path as text (they are always UTF-8).
fn utf8(path: &Path) -> &str {
    path.to_str().expect("temporary folders have UTF-8 paths")
}

//! The host's side of isolation: each isolated plugin runs in an `atrs-plugin-runner`
//! process of its own, started on first use. The host sends it protocol requests and
//! answers its service calls from the host's own store ([`ServiceServer`]). When the
//! runner dies — abort, segfault, stack overflow, `exit`, killed — every request in
//! flight gets a typed error naming what happened, the host goes on, and the next
//! request starts a fresh runner. A runner that does not answer within the bound is
//! killed. Its locks are released with it; a store write it asked for was applied by
//! the host in one transaction, or not at all.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Child, ChildStdin, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc, Mutex,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::locked::locked;
use crate::{runner_environment, service_calls::ServiceServer};

/// Why a request to a runner got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunnerError {
    /// The runner process ended (crashed, exited, was killed).
    #[error("The {plugin} plugin stopped unexpectedly ({how}).")]
    Stopped {
        /// The plugin's display name.
        plugin: String,
        /// How it ended, in words: "SIGSEGV: it read memory it may not", "exit code 3".
        how: String,
    },
    /// The runner did not answer within the bound and was stopped.
    #[error("The {plugin} plugin did not answer within {} s and was stopped.", bound.as_secs_f64())]
    Unresponsive {
        /// The plugin's display name.
        plugin: String,
        /// The bound.
        bound: Duration,
    },
    /// The runner could not be started.
    #[error("The {plugin} plugin's runner could not start ({detail}).")]
    Start {
        /// The plugin's display name.
        plugin: String,
        /// What the system said.
        detail: String,
    },
}

impl RunnerError {
    /// How to go on.
    pub fn hint(&self) -> String {
        match self {
            RunnerError::Stopped { .. } | RunnerError::Unresponsive { .. } => "The host is fine: trying again starts the plugin afresh. If it happens again, report it to the plugin's vendor with the steps that led to it.".to_owned(),
            RunnerError::Start { .. } => "Check that atrs-plugin-runner is installed beside the host (or name it with ATRS_PLUGIN_RUNNER or the runtime's `runner` option).".to_owned(),
        }
    }
}

/// What a signal that ended a runner means, in words.
fn signal_words(signal: i32) -> String {
    let (name, meaning) = match signal {
        6 => ("SIGABRT", "it aborted"),
        11 => ("SIGSEGV", "it read or wrote memory it may not"),
        7 => ("SIGBUS", "it read memory that is not there"),
        4 => ("SIGILL", "it ran an invalid instruction"),
        8 => ("SIGFPE", "it divided by zero"),
        9 => ("SIGKILL", "it was killed"),
        15 => ("SIGTERM", "it was asked to stop"),
        2 => ("SIGINT", "it was interrupted"),
        1 => ("SIGHUP", "its terminal went away"),
        13 => ("SIGPIPE", "it wrote to a closed pipe"),
        _ => return format!("signal {signal}"),
    };
    format!("{name}: {meaning}")
}

#[cfg(unix)]
pub(crate) fn how_it_ended(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (_, Some(signal)) => signal_words(signal),
        (Some(code), None) => format!("it exited with code {code}"),
        (None, None) => "it ended".to_owned(),
    }
}

#[cfg(not(unix))]
pub(crate) fn how_it_ended(status: std::process::ExitStatus) -> String {
    match status.code() {
        // Windows reports a crash as an exception code for an exit code.
        Some(code) if code < 0 => format!("exception 0x{:08X}", code as u32),
        Some(code) => format!("it exited with code {code}"),
        None => "it ended".to_owned(),
    }
}

type Waiting = mpsc::SyncSender<Result<Value, RunnerError>>;

/// One running runner process.
struct Process {
    generation: u64,
    child: Mutex<Child>,
    stdin: Mutex<ChildStdin>,
    pending: Mutex<HashMap<u64, Waiting>>,
    ended: Mutex<Option<RunnerError>>,
    next_seq: AtomicU64,
}

impl Process {
    /// Marks the process ended with `why` and fails every request waiting on it.
    fn end(&self, why: RunnerError) {
        locked(&self.ended).get_or_insert(why.clone());
        for (_, waiting) in locked(&self.pending).drain() {
            let _ = waiting.send(Err(why.clone()));
        }
    }

    fn send(&self, line: &Value) -> std::io::Result<()> {
        let mut stdin = locked(&self.stdin);
        writeln!(stdin, "{line}")?;
        stdin.flush()
    }
}

/// How long a caller looks for its answer, giving way to other threads, before it
/// sleeps: longer than a cached token's round trip to the runner (about 80 µs), so the
/// quick answers find the caller awake instead of waking it (and its processor).
const SPIN: Duration = Duration::from_micros(150);

/// The answer from `answered`, waiting at most `bound`: first looked for through
/// [`SPIN`], then asleep.
fn answer_within<T>(
    answered: &mpsc::Receiver<T>,
    bound: Duration,
) -> Result<T, mpsc::RecvTimeoutError> {
    let start = Instant::now();
    while start.elapsed() < SPIN.min(bound) {
        match answered.try_recv() {
            Ok(answer) => return Ok(answer),
            Err(mpsc::TryRecvError::Disconnected) => {
                return Err(mpsc::RecvTimeoutError::Disconnected)
            }
            Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    answered.recv_timeout(bound.saturating_sub(start.elapsed()))
}

/// How to start runners, shared by every isolated plugin of a runtime.
#[derive(Debug, Clone)]
pub struct RunnerCommand {
    /// The `atrs-plugin-runner` executable.
    pub program: PathBuf,
    /// The bound on each call into the plugin, passed to the runner.
    pub call_timeout: Duration,
    /// The plugin log level, passed to the runner.
    pub log_level: Option<String>,
    /// The trusted vendor keys file, passed to the runner: it loads the library only
    /// when signed by one of them.
    pub trusted_keys: Option<PathBuf>,
    /// The plugin's id: of the host's environment, the runner inherits only what
    /// programs need and the plugin's own settings ([`crate::runner_environment`]).
    pub plugin_id: String,
}

impl RunnerCommand {
    /// The runner next to the running executable (`ATRS_PLUGIN_RUNNER` names another).
    pub fn default_program() -> PathBuf {
        if let Some(program) = std::env::var_os("ATRS_PLUGIN_RUNNER") {
            return PathBuf::from(program);
        }
        let name = format!("atrs-plugin-runner{}", std::env::consts::EXE_SUFFIX);
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(&name)))
            .unwrap_or_else(|| PathBuf::from(name))
    }
}

/// One isolated plugin: its library, the server for its service calls, and its runner
/// process while one runs.
pub struct Isolated {
    name: String,
    library: PathBuf,
    command: RunnerCommand,
    server: Arc<ServiceServer>,
    process: Mutex<Option<Arc<Process>>>,
    generations: AtomicU64,
}

impl std::fmt::Debug for Isolated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isolated")
            .field("library", &self.library)
            .finish_non_exhaustive()
    }
}

impl Isolated {
    /// The plugin `name` (its display name, for messages) in `library`, its service
    /// calls answered by `server`.
    pub fn new(
        name: impl Into<String>,
        library: PathBuf,
        command: RunnerCommand,
        server: ServiceServer,
    ) -> Self {
        Isolated {
            name: name.into(),
            library,
            command,
            server: Arc::new(server),
            process: Mutex::default(),
            generations: AtomicU64::new(0),
        }
    }

    /// The plugin's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The runner generation now running (0: none yet); handles of an older generation
    /// belong to a runner that ended.
    pub fn generation(&self) -> u64 {
        locked(&self.process)
            .as_ref()
            .filter(|p| locked(&p.ended).is_none())
            .map_or(0, |p| p.generation)
    }

    /// Why the runner of `generation` ended, if it did.
    pub fn ended(&self, generation: u64) -> Option<RunnerError> {
        let process = locked(&self.process);
        match process.as_ref() {
            Some(p) if p.generation == generation => locked(&p.ended).clone(),
            _ => Some(RunnerError::Stopped {
                plugin: self.name.clone(),
                how: "it was restarted since".to_owned(),
            }),
        }
    }

    /// Sends one request, waiting at most `bound` for its answer; answers the runner
    /// generation that answered.
    pub fn request(&self, request: &Value, bound: Duration) -> Result<(u64, Value), RunnerError> {
        let process = self.running()?;
        let seq = process.next_seq.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = mpsc::sync_channel(1);
        locked(&process.pending).insert(seq, answer);
        if let Some(why) = locked(&process.ended).clone() {
            locked(&process.pending).remove(&seq);
            return Err(why);
        }
        // The store's generation goes with it: the plugin's `store_generation` is
        // answered in the runner, without a round trip back here.
        let generation = self.server.generation();
        // A failed write means the runner is gone: its reader says how it ended.
        let _ = process.send(&json!({
            "type": "request", "seq": seq, "generation": generation, "request": request,
        }));
        match answer_within(&answered, bound) {
            Ok(result) => result.map(|answer| (process.generation, answer)),
            Err(_) => {
                let why = RunnerError::Unresponsive {
                    plugin: self.name.clone(),
                    bound,
                };
                process.end(why.clone());
                let _ = locked(&process.child).kill();
                Err(why)
            }
        }
    }

    /// The running process, started if none runs (or the last one ended).
    fn running(&self) -> Result<Arc<Process>, RunnerError> {
        let mut slot = locked(&self.process);
        if let Some(process) = slot.as_ref() {
            if locked(&process.ended).is_none() {
                return Ok(process.clone());
            }
        }
        let process = self.start()?;
        *slot = Some(process.clone());
        Ok(process)
    }

    fn start(&self) -> Result<Arc<Process>, RunnerError> {
        let start_error = |e: std::io::Error| RunnerError::Start {
            plugin: self.name.clone(),
            detail: format!("{}: {e}", self.command.program.display()),
        };
        let mut args = vec![
            self.library.clone().into_os_string(),
            "--call-timeout-ms".into(),
            self.command.call_timeout.as_millis().to_string().into(),
        ];
        if let Some(level) = &self.command.log_level {
            args.extend(["--log-level".into(), level.into()]);
        }
        let mut command = runner_environment::runner_command(
            &self.command.program,
            Some(&self.command.plugin_id),
            args,
            self.command.trusted_keys.as_deref(),
        );
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().map_err(start_error)?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        // The locks a dead runner held are released before a new one starts.
        self.server.release_locks();
        let process = Arc::new(Process {
            generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            pending: Mutex::default(),
            ended: Mutex::default(),
            next_seq: AtomicU64::new(1),
        });
        let (reader, server, name) = (process.clone(), self.server.clone(), self.name.clone());
        std::thread::Builder::new()
            .name("atrs-runner-reader".into())
            .spawn(move || read(reader, stdout, server, name))
            .map_err(start_error)?;
        Ok(process)
    }

    /// Stops the runner of `generation` (stuck inside the plugin): the next request
    /// starts a fresh one.
    pub fn stop(&self, generation: u64, why: RunnerError) {
        let process = locked(&self.process).clone();
        if let Some(process) = process.filter(|p| p.generation == generation) {
            process.end(why);
            let _ = locked(&process.child).kill();
        }
    }

    /// Ends the runner (its input closes; it closes the plugin and exits).
    pub fn close(&self) {
        if let Some(process) = locked(&self.process).take() {
            drop(locked(&process.stdin));
            let mut child = locked(&process.child);
            // Closing stdin asks it to end; a runner stuck in the plugin is killed.
            let _ = child.kill();
            let _ = child.wait();
        }
        self.server.release_locks();
    }
}

/// Reads the runner's lines until its output ends: answers go to their requests,
/// service calls are served on threads of their own. Then says how it ended.
fn read(
    process: Arc<Process>,
    stdout: std::process::ChildStdout,
    server: Arc<ServiceServer>,
    name: String,
) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let seq = message["seq"].as_u64().unwrap_or(0);
        match message["type"].as_str() {
            Some("answer") => {
                if let Some(waiting) = locked(&process.pending).remove(&seq) {
                    let answer = match message {
                        Value::Object(mut fields) => fields.remove("answer"),
                        _ => None,
                    };
                    let _ = waiting.send(Ok(answer.unwrap_or(Value::Null)));
                }
            }
            Some("call") => {
                let (process, server) = (process.clone(), server.clone());
                std::thread::spawn(move || {
                    let (ok, reply) = match server.serve(&message["call"]) {
                        Ok(reply) => (true, reply),
                        Err(refusal) => (false, refusal.to_reply()),
                    };
                    let _ = process
                        .send(&json!({"type": "reply", "seq": seq, "ok": ok, "reply": reply}));
                });
            }
            _ => {}
        }
    }
    let status = locked(&process.child).wait();
    let how = status.map_or_else(|e| format!("its status is unknown: {e}"), how_it_ended);
    process.end(RunnerError::Stopped { plugin: name, how });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_named_with_what_they_mean() {
        assert_eq!(
            signal_words(11),
            "SIGSEGV: it read or wrote memory it may not"
        );
        assert_eq!(signal_words(6), "SIGABRT: it aborted");
        assert_eq!(signal_words(64), "signal 64");
    }

    #[test]
    fn an_answer_is_taken_while_spinning_or_after_and_the_bound_still_holds() {
        let (tx, rx) = mpsc::sync_channel(1);
        tx.send(1).unwrap();
        assert_eq!(answer_within(&rx, Duration::from_secs(10)), Ok(1));
        // Given long after the spin: the sleeping caller still gets it.
        let late = std::thread::spawn(move || {
            std::thread::sleep(SPIN * 20);
            tx.send(2).unwrap();
            tx
        });
        assert_eq!(answer_within(&rx, Duration::from_secs(10)), Ok(2));
        let tx = late.join().unwrap();
        let start = Instant::now();
        assert_eq!(
            answer_within(&rx, Duration::from_millis(30)),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        assert!(start.elapsed() >= Duration::from_millis(30));
        drop(tx);
        assert_eq!(
            answer_within(&rx, Duration::from_secs(10)),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
    }
}

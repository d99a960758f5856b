//! Ctrl-C as a flag: long waits check it and cancel cleanly instead of dying.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc, OnceLock,
    },
    time::Duration,
};

use crate::{error::CommandError, exit::Exit};

/// How often a wait for a call checks for Ctrl-C.
const CHECK_EVERY: Duration = Duration::from_millis(50);

/// Set once Ctrl-C (SIGINT) or SIGTERM arrives.
#[derive(Debug, Clone)]
pub struct Interrupt {
    flag: Arc<AtomicBool>,
}

impl Interrupt {
    /// The process-wide flag; the first call starts listening for the signals.
    pub fn install() -> Interrupt {
        static FLAG: OnceLock<Interrupt> = OnceLock::new();
        FLAG.get_or_init(|| {
            let interrupt = Interrupt {
                flag: Arc::new(AtomicBool::new(false)),
            };
            let flag = interrupt.flag.clone();
            let listener = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async {
                        #[cfg(unix)]
                        {
                            use tokio::signal::unix::{signal, SignalKind};
                            let Ok(mut term) = signal(SignalKind::terminate()) else {
                                return;
                            };
                            tokio::select! {
                                _ = tokio::signal::ctrl_c() => {}
                                _ = term.recv() => {}
                            }
                        }
                        #[cfg(not(unix))]
                        let _ = tokio::signal::ctrl_c().await;
                        flag.store(true, Ordering::SeqCst);
                    });
                });
            drop(listener);
            interrupt
        })
        .clone()
    }

    /// A flag nobody sets (for tests and embedding).
    pub fn never() -> Interrupt {
        Interrupt {
            flag: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the signal arrived.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Runs `work` (a plugin call) on a thread of its own and waits for it, giving up
    /// with exit 4, "Stopped (Ctrl-C)", as soon as the signal arrives (`doing` says what
    /// was under way, for the hint). The abandoned call ends with the process.
    pub fn run_until<T: Send + 'static>(
        &self,
        doing: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CommandError> {
        self.run_showing(doing, work, || {})
    }

    /// Like [`Interrupt::run_until`], calling `tick` every [`CHECK_EVERY`] while the
    /// call is under way (to redraw a progress line).
    pub fn run_showing<T: Send + 'static>(
        &self,
        doing: &str,
        work: impl FnOnce() -> T + Send + 'static,
        mut tick: impl FnMut(),
    ) -> Result<T, CommandError> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("plugin-call".into())
            .spawn(move || {
                let _ = tx.send(work());
            })
            .map_err(|e| {
                CommandError::new(
                    Exit::Failure,
                    format!("A thread for the plugin call could not be started: {e}."),
                )
                .with_hint("The system is short of resources; try again.")
            })?;
        loop {
            if self.is_set() {
                return Err(stopped(doing));
            }
            match rx.recv_timeout(CHECK_EVERY) {
                Ok(value) => return Ok(value),
                Err(mpsc::RecvTimeoutError::Timeout) => tick(),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(CommandError::new(
                        Exit::Failure,
                        "The plugin call ended without an answer.",
                    )
                    .with_hint(
                        "Run the command again with -vv to see the details, and report them.",
                    ))
                }
            }
        }
    }
}

/// The error of a command stopped by Ctrl-C while `doing`.
pub fn stopped(doing: &str) -> CommandError {
    CommandError::new(Exit::CancelledOrTimedOut, "Stopped (Ctrl-C).").with_hint(format!(
        "Nothing was lost: {doing} was abandoned, and what was saved before stays saved. Run the command again when you want it."
    ))
}

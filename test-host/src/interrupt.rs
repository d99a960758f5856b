//! Ctrl-C as a flag: long waits check it and cancel cleanly instead of dying.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, OnceLock,
};

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
}

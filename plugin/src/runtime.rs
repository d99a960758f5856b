//! The plugin's own tokio runtime: created on first use, owned by the integration and
//! its sessions, never blocking the host's threads.

use std::sync::Arc;

use atrs_host_sdk::PluginError;
use once_cell::sync::OnceCell;
use tokio::runtime::Handle;

/// Worker threads: sign-in traffic is a handful of requests, one is plenty and a
/// second keeps a slow callback from stalling a timer.
const WORKERS: usize = 2;

/// A lazily started multi-thread runtime; clones share it, the last one shuts it down.
#[derive(Clone, Default)]
pub struct Runtime {
    cell: Arc<OnceCell<Owned>>,
}

/// The runtime itself; shut down without waiting when the last owner goes.
struct Owned(Option<tokio::runtime::Runtime>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            // A plain drop blocks until workers stop and panics when it happens inside
            // async code; `shutdown_background` does neither. Tasks still running are
            // cancelled, which is what closing the integration means.
            rt.shutdown_background();
        }
    }
}

impl Runtime {
    /// A runtime that starts its threads on the first [`Runtime::handle`] call.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle for spawning tasks, starting the runtime if needed.
    pub fn handle(&self) -> Result<Handle, PluginError> {
        let owned = self.cell.get_or_try_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .max_blocking_threads(WORKERS)
                .thread_name("atrs-office365")
                .enable_all()
                .build()
                .map(|rt| Owned(Some(rt)))
                .map_err(|e| {
                    PluginError::internal(format!(
                        "The Office 365 plugin could not start its worker threads ({e})."
                    ))
                    .with_hint("The system may be out of threads or memory; close other programs and try again.")
                })
        })?;
        match &owned.0 {
            Some(rt) => Ok(rt.handle().clone()),
            None => Err(PluginError::internal(
                "The Office 365 plugin's worker threads have already been stopped.",
            )),
        }
    }

    /// Whether the worker threads have been started.
    pub fn is_started(&self) -> bool {
        self.cell.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_lazily_and_runs_tasks() {
        let rt = Runtime::new();
        assert!(!rt.is_started());
        let handle = rt.handle().unwrap();
        assert!(rt.is_started());
        let (tx, rx) = std::sync::mpsc::channel();
        handle.spawn(async move { tx.send(7).unwrap() });
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)), Ok(7));
    }

    #[test]
    fn dropping_the_last_owner_inside_a_task_does_not_panic() {
        let rt = Runtime::new();
        let handle = rt.handle().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        handle.spawn(async move {
            drop(rt);
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).is_ok());
    }
}

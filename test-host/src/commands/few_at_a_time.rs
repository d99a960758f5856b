//! Work on many accounts, a few at a time: each item on a thread of its own, at most
//! a fixed number at once, the results handed back in the items' order, and Ctrl-C
//! heard while any of them waits. `refresh --all` renews this way, so a dead server
//! costs about one request timeout for every few accounts, not one per account.

use std::{
    collections::BTreeMap,
    sync::{
        mpsc::{self, RecvTimeoutError},
        Arc, Mutex,
    },
    time::Duration,
};

use crate::{error::CommandError, exit::Exit, interrupt::Interrupt};

/// How often the wait checks for Ctrl-C and redraws progress.
const CHECK_EVERY: Duration = Duration::from_millis(50);

/// The work on item `i` by worker `worker`: `work(worker, i)`.
pub type Work<R> = Arc<dyn Fn(usize, usize) -> R + Send + Sync>;

/// How the run ended early.
#[derive(Debug)]
pub enum Ended {
    /// Ctrl-C arrived after this many results were handed back.
    Interrupted {
        /// Results handed back before it.
        done: usize,
    },
    /// A result handler failed.
    Failed(CommandError),
}

/// Runs `work(worker, i)` for every `i` below `count` on `at_once` workers (`worker`
/// below `at_once`: each worker runs one item at a time, so what it holds — a plugin
/// handle, whose calls take turns — is its own), and calls `done(i, result)` on this
/// thread for each in order of `i` (a result waits for the ones before it).
/// `tick(finished)` runs while waiting, for a progress line.
pub fn run<R: Send + 'static>(
    count: usize,
    at_once: usize,
    work: Work<R>,
    interrupt: &Interrupt,
    mut tick: impl FnMut(usize),
    mut done: impl FnMut(usize, R) -> Result<(), CommandError>,
) -> Result<(), Ended> {
    let next = Arc::new(Mutex::new(0usize));
    let (tx, rx) = mpsc::channel();
    for worker in 0..at_once.clamp(1, count.max(1)) {
        let (next, tx, work) = (next.clone(), tx.clone(), work.clone());
        std::thread::Builder::new()
            .name("few-at-a-time".into())
            .spawn(move || loop {
                let i = {
                    let mut next = next.lock().unwrap_or_else(|p| p.into_inner());
                    let i = *next;
                    *next += 1;
                    i
                };
                if i >= count || tx.send((i, work(worker, i))).is_err() {
                    return;
                }
            })
            .map_err(|e| {
                Ended::Failed(
                    CommandError::new(
                        Exit::Failure,
                        format!("A thread for the work could not be started: {e}."),
                    )
                    .with_hint("The system is short of resources; try again."),
                )
            })?;
    }
    drop(tx);
    let mut waiting: BTreeMap<usize, R> = BTreeMap::new();
    let mut handed = 0;
    while handed < count {
        if interrupt.is_set() {
            return Err(Ended::Interrupted { done: handed });
        }
        match rx.recv_timeout(CHECK_EVERY) {
            Ok((i, result)) => {
                waiting.insert(i, result);
                while let Some(result) = waiting.remove(&handed) {
                    done(handed, result).map_err(Ended::Failed)?;
                    handed += 1;
                }
            }
            Err(RecvTimeoutError::Timeout) => tick(handed + waiting.len()),
            Err(RecvTimeoutError::Disconnected) => {
                return Err(Ended::Failed(
                    CommandError::new(Exit::Failure, "A plugin call ended without an answer.")
                        .with_hint(
                            "Run the command again with -vv to see the details, and report them.",
                        ),
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_come_in_order_with_at_most_the_bound_running_at_once() {
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (r, m) = (running.clone(), most.clone());
        let work: Work<usize> = Arc::new(move |w, i| {
            assert!(w < 4, "worker {w}");
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            // Later items finish first, so order must be restored.
            std::thread::park_timeout(Duration::from_millis(40 - 3 * i as u64));
            r.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        let mut seen = Vec::new();
        run(
            12,
            4,
            work,
            &Interrupt::never(),
            |_| {},
            |i, v| {
                seen.push((i, v));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..12).map(|i| (i, i * 10)).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 4, "{most:?}");
        assert!(most.load(Ordering::SeqCst) >= 2, "ran at once: {most:?}");
    }
}

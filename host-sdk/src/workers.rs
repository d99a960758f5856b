//! The threads that run bounded plugin calls (see [`crate::bounded`]).
//!
//! Starting a thread per call costs tens of microseconds, far more than the call
//! itself. Instead a finished worker waits for its next job: first spinning briefly
//! (a host calling back to back hands the job over without waking a sleeping
//! thread), then asleep on its channel. Idle workers are kept on one stack for the
//! whole process, at most [`MAX_IDLE`] of them; a call that finds none starts a new
//! one. A worker busy with a call — even one the host gave up on — is never on the
//! stack, so a second call at the same time (a `cancel` while a `poll` waits) gets a
//! worker of its own instead of queueing behind the first.

use crate::answer::Awaited;
use std::{
    io,
    sync::{
        mpsc::{self, Receiver, SendError, Sender, TryRecvError},
        Mutex, MutexGuard,
    },
    thread,
    time::{Duration, Instant},
};

/// A call for a worker. It gets `release`, to call as soon as the plugin has
/// answered, so the worker is idle again before the answer reaches the caller (who
/// may send the next call at once).
pub(crate) type Job = Box<dyn FnOnce(&mut dyn FnMut()) + Send>;

/// How many idle workers are kept; more are left to end.
const MAX_IDLE: usize = 4;

/// How long a worker, and a caller waiting for an answer, spin before they sleep.
const SPIN: Duration = Duration::from_micros(50);

/// The idle workers, most recently used last.
static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

fn idle() -> MutexGuard<'static, Vec<Sender<Job>>> {
    // Only pushes and pops happen under the lock, so a poisoned stack is still whole.
    IDLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Hands `job` to an idle worker, or to a new one. Fails only when no thread can be
/// started (the job is dropped).
pub(crate) fn run(mut job: Job) -> io::Result<()> {
    loop {
        let Some(worker) = idle().pop() else {
            return spawn(job);
        };
        match worker.send(job) {
            Ok(()) => return Ok(()),
            // That worker's thread is gone (a host-side panic ended it): try the next.
            Err(SendError(back)) => job = back,
        }
    }
}

fn spawn(job: Job) -> io::Result<()> {
    let (me, jobs) = mpsc::channel::<Job>();
    me.send(job).expect("the receiver is alive");
    thread::Builder::new()
        .name("atrs-plugin-call".into())
        .spawn(move || work(me, jobs))
        .map(drop)
}

fn work(me: Sender<Job>, jobs: Receiver<Job>) {
    loop {
        let next = spin_until(|| match jobs.try_recv() {
            Ok(job) => Some(Some(job)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(None),
        });
        // `me` keeps the channel open, so `recv` waits for a job and never fails.
        let Some(job) = next.unwrap_or_else(|| jobs.recv().ok()) else {
            return;
        };
        let mut rejoined = None;
        job(&mut || {
            rejoined.get_or_insert_with(|| rejoin(&me));
        });
        if !rejoined.unwrap_or_else(|| rejoin(&me)) {
            return;
        }
    }
}

/// Puts the worker back on the idle stack; false when the stack is full and the
/// worker should end.
fn rejoin(me: &Sender<Job>) -> bool {
    let mut idle = idle();
    if idle.len() >= MAX_IDLE {
        return false;
    }
    idle.push(me.clone());
    true
}

/// How many rounds a spin makes between looks at the clock: a look costs more than
/// a round, and [`SPIN`] need not be kept to the nanosecond.
const ROUNDS_PER_CLOCK: u32 = 8;

/// Tries `ready` until it yields something or [`SPIN`] has passed.
pub(crate) fn spin_until<T>(mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    for round in 0_u32.. {
        if let Some(value) = ready() {
            return Some(value);
        }
        if round % ROUNDS_PER_CLOCK == ROUNDS_PER_CLOCK - 1 && start.elapsed() >= SPIN {
            break;
        }
        // The other side may be waiting for this very processor: after a few quick
        // rounds, offer it.
        if round < 16 {
            std::hint::spin_loop();
        } else {
            thread::yield_now();
        }
    }
    None
}

/// Waits up to `limit` for `answer`: spinning first, then asleep.
///
/// The spin looks at the clock only for [`SPIN`]: a limit shorter than that is
/// overrun by at most the spin.
pub(crate) fn wait_for<R>(
    answer: &Awaited<R>,
    limit: Duration,
) -> Result<R, mpsc::RecvTimeoutError> {
    let start = Instant::now();
    let spun = spin_until(|| match answer.try_take() {
        Ok(answer) => Some(Ok(answer)),
        Err(TryRecvError::Empty) => None,
        Err(TryRecvError::Disconnected) => Some(Err(mpsc::RecvTimeoutError::Disconnected)),
    });
    match spun {
        Some(answer) => answer,
        // A limit already passed still takes an answer that is there.
        None => answer.wait(limit.saturating_sub(start.elapsed())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::answer;

    fn call<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
        let (tx, rx) = answer::pair();
        run(Box::new(move |release| {
            let answer = f();
            release();
            tx.send(answer);
        }))
        .unwrap();
        wait_for(&rx, Duration::from_secs(10)).unwrap()
    }

    #[test]
    fn jobs_run_on_named_worker_threads_that_are_reused() {
        let caller = thread::current().id();
        let (first, name) = call(|| {
            (
                thread::current().id(),
                thread::current().name().map(String::from),
            )
        });
        assert_ne!(first, caller);
        assert_eq!(name.as_deref(), Some("atrs-plugin-call"));
        // Other tests share the pool and may take a worker between two of these calls,
        // so "reused" is: far fewer threads than calls.
        let mut threads: Vec<_> = (0..200).map(|_| call(|| thread::current().id())).collect();
        threads.sort_by_key(|t| format!("{t:?}"));
        threads.dedup();
        assert!(
            threads.len() < 50,
            "{} threads for 200 calls",
            threads.len()
        );
    }

    #[test]
    fn a_busy_worker_does_not_hold_up_the_next_job() {
        let (release, blocked) = mpsc::channel::<()>();
        let (answer_tx, answer_rx) = answer::pair();
        run(Box::new(move |done| {
            let _ = blocked.recv();
            done();
            answer_tx.send(());
        }))
        .unwrap();
        // The first job waits for us; the second must still run.
        assert_eq!(call(|| 7), 7);
        release.send(()).unwrap();
        wait_for(&answer_rx, Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn waiting_ends_at_the_limit_or_when_the_sender_goes() {
        let (_tx, rx) = answer::pair::<()>();
        let started = Instant::now();
        assert_eq!(
            wait_for(&rx, Duration::from_millis(20)),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        assert!(started.elapsed() >= Duration::from_millis(20));
        let (tx, rx) = answer::pair::<()>();
        drop(tx);
        assert_eq!(
            wait_for(&rx, Duration::from_secs(10)),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
    }
}

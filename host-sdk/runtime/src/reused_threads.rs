//! Threads that run one job at a time and then wait for the next, so a process that
//! answers requests back to back (a runner) does not start a thread for each. A job that
//! finds no thread idle gets a new one, so a long job (a sign-in's poll) never holds up
//! another (its cancel). At most [`MAX_IDLE`] idle threads are kept.

use std::{
    sync::{
        mpsc::{self, SendError, Sender},
        Arc, Mutex, MutexGuard,
    },
    thread,
};

/// A job. It gets `release`, to call once its work is done and only its answer remains
/// to be sent: the thread is idle again before the answer leaves, so the next job the
/// answer brings finds it.
pub type Job = Box<dyn FnOnce(&mut dyn FnMut()) + Send>;

/// How many idle threads are kept; more end.
const MAX_IDLE: usize = 4;

type Idle = Arc<Mutex<Vec<Sender<Job>>>>;

/// A set of reused threads, named `name`.
pub struct ReusedThreads {
    name: &'static str,
    idle: Idle,
}

fn idle_of(idle: &Idle) -> MutexGuard<'_, Vec<Sender<Job>>> {
    // Only pushes and pops happen under the lock, so a poisoned stack is still whole.
    idle.lock().unwrap_or_else(|p| p.into_inner())
}

impl ReusedThreads {
    /// No threads yet; they start as jobs need them.
    pub fn new(name: &'static str) -> ReusedThreads {
        ReusedThreads {
            name,
            idle: Arc::default(),
        }
    }

    /// Runs `job` on an idle thread, or on a new one. Fails only when no thread can be
    /// started.
    pub fn run(&self, mut job: Job) -> std::io::Result<()> {
        loop {
            let Some(thread) = idle_of(&self.idle).pop() else {
                return self.spawn(job);
            };
            match thread.send(job) {
                Ok(()) => return Ok(()),
                // That thread is gone (its job panicked): try the next.
                Err(SendError(back)) => job = back,
            }
        }
    }

    fn spawn(&self, job: Job) -> std::io::Result<()> {
        let (me, jobs) = mpsc::channel::<Job>();
        me.send(job).expect("the receiver is alive");
        let idle = self.idle.clone();
        thread::Builder::new()
            .name(self.name.into())
            .spawn(move || {
                // `me` keeps the channel open, so `recv` only fails if it is dropped.
                while let Ok(job) = jobs.recv() {
                    let mut rejoined = None;
                    job(&mut || {
                        rejoined.get_or_insert_with(|| rejoin(&idle, &me));
                    });
                    if !rejoined.unwrap_or_else(|| rejoin(&idle, &me)) {
                        return;
                    }
                }
            })
            .map(drop)
    }
}

/// Puts a thread back among the idle; false when enough are idle and it should end.
fn rejoin(idle: &Idle, me: &Sender<Job>) -> bool {
    let mut idle = idle_of(idle);
    if idle.len() >= MAX_IDLE {
        return false;
    }
    idle.push(me.clone());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call<R: Send + 'static>(
        threads: &ReusedThreads,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> R {
        let (tx, rx) = mpsc::sync_channel(1);
        threads
            .run(Box::new(move |release| {
                let answer = f();
                release();
                let _ = tx.send(answer);
            }))
            .unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    #[test]
    fn back_to_back_jobs_reuse_one_named_thread() {
        let threads = ReusedThreads::new("atrs-test-reused");
        let first = call(&threads, || {
            (
                thread::current().id(),
                thread::current().name().map(String::from),
            )
        });
        assert_eq!(first.1.as_deref(), Some("atrs-test-reused"));
        for _ in 0..50 {
            assert_eq!(call(&threads, || thread::current().id()), first.0);
        }
    }

    #[test]
    fn a_job_that_waits_does_not_hold_up_the_next_and_a_panic_costs_one_thread() {
        let threads = ReusedThreads::new("atrs-test-reused");
        let (go, blocked) = mpsc::channel::<()>();
        let (done_tx, done) = mpsc::sync_channel(1);
        threads
            .run(Box::new(move |release| {
                let _ = blocked.recv();
                release();
                let _ = done_tx.send(());
            }))
            .unwrap();
        assert_eq!(call(&threads, || 7), 7);
        go.send(()).unwrap();
        done.recv_timeout(Duration::from_secs(10)).unwrap();
        threads
            .run(Box::new(|_| {
                panic!("a job that panics (expected in this test)")
            }))
            .unwrap();
        for _ in 0..10 {
            assert_eq!(call(&threads, || 8), 8);
        }
    }
}

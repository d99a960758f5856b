//! The threads the caller's callback runs on. Plugin calls run on worker threads the
//! SDK keeps for the whole process; a managed runtime (Mono, .NET) attaches every native
//! thread that enters it, and Mono waits at exit for attached threads that never end.
//! So the callback never runs on those workers: each call is handed to a thread of this
//! runtime's own pool, which grows as calls overlap (a `lock` waiting for an `unlock`
//! must not queue behind it) and whose threads all end, and are joined, when the
//! runtime closes.

use std::{
    sync::{
        mpsc::{self, Sender},
        Mutex, MutexGuard,
    },
    thread::{self, JoinHandle},
};

type Job = Box<dyn FnOnce() + Send>;

/// One runtime's callback threads.
#[derive(Default)]
pub(crate) struct Dispatcher {
    idle: Mutex<Vec<Sender<Option<Job>>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    closed: Mutex<bool>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Dispatcher {
    /// Runs `call` on one of the pool's threads and answers its result; `None` when the
    /// runtime is closing or no thread could be started.
    pub(crate) fn run<R: Send + 'static>(
        self: &std::sync::Arc<Self>,
        call: impl FnOnce() -> R + Send + 'static,
    ) -> Option<R> {
        let (answer, answered) = mpsc::sync_channel(1);
        let mut job: Job = Box::new(move || {
            let _ = answer.send(call());
        });
        loop {
            let Some(worker) = guard(&self.idle).pop() else {
                match self.spawn(job) {
                    Ok(()) => break,
                    Err(_) => return None,
                }
            };
            match worker.send(Some(job)) {
                Ok(()) => break,
                Err(mpsc::SendError(back)) => job = back.expect("a job was sent"),
            }
        }
        answered.recv().ok()
    }

    /// Starts a thread for `job`; it then waits for more until the pool closes.
    fn spawn(self: &std::sync::Arc<Self>, job: Job) -> Result<(), Job> {
        if *guard(&self.closed) {
            return Err(job);
        }
        let (me, jobs) = mpsc::channel::<Option<Job>>();
        me.send(Some(job)).expect("the receiver is alive");
        let pool = std::sync::Arc::downgrade(self);
        let spawned = thread::Builder::new()
            .name("atrs-host-callback".into())
            .spawn(move || {
                // `None` is the pool closing.
                while let Ok(Some(job)) = jobs.recv() {
                    job();
                    let Some(pool) = pool.upgrade() else { return };
                    // Under the `closed` lock, so `close` either sees this worker idle
                    // (and stops it) or this worker sees the pool closed.
                    let closed = guard(&pool.closed);
                    if *closed {
                        return;
                    }
                    guard(&pool.idle).push(me.clone());
                }
            });
        match spawned {
            Ok(handle) => {
                guard(&self.threads).push(handle);
                Ok(())
            }
            Err(_) => Err(Box::new(|| {})),
        }
    }

    /// Ends every thread of the pool, waiting for calls still running.
    pub(crate) fn close(&self) {
        {
            let mut closed = guard(&self.closed);
            *closed = true;
            for worker in guard(&self.idle).drain(..) {
                let _ = worker.send(None);
            }
        }
        let threads: Vec<JoinHandle<()>> = guard(&self.threads).drain(..).collect();
        let me = thread::current().id();
        for handle in threads {
            // A callback that closes the runtime from inside itself cannot wait for its
            // own thread.
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn overlapping_calls_get_threads_of_their_own_and_close_ends_them_all() {
        let pool = Arc::new(Dispatcher::default());
        assert_eq!(pool.run(|| 1 + 1), Some(2));
        // Two calls that must both be running at once (a lock and its unlock).
        let barrier = Arc::new(Barrier::new(2));
        let (a, b) = (barrier.clone(), barrier);
        let p = pool.clone();
        let first = thread::spawn(move || p.run(move || a.wait().is_leader()));
        let second = pool.run(move || b.wait().is_leader());
        let first = first.join().unwrap();
        assert_ne!(first, second);
        let threads = guard(&pool.threads).len();
        assert!(threads >= 2, "{threads}");
        pool.close();
        assert!(guard(&pool.threads).is_empty());
        assert_eq!(pool.run(|| 3), None, "a closed pool runs nothing");
    }
}

//! Threads that take turns reading one input (the leader/follower pattern), so a
//! request is answered on the thread that read it, without waking another on the way.
//!
//! One thread at a time holds the input and reads messages. What is quick to handle
//! (a reply to route) it handles itself and reads on. For a job (a request to answer)
//! it passes the input on to a waiting thread, starting one if none waits, and does the
//! job itself; then it waits for its next turn. The input is never left unread while a
//! job runs, so a job may wait for messages that come later (its replies).
//! At most [`MAX_IDLE`] threads wait; more end.

use std::{
    panic::{self, AssertUnwindSafe},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        mpsc, Arc, Mutex,
    },
    thread,
};

/// How many threads may wait for the input; more end.
pub const MAX_IDLE: usize = 4;

/// What one read from the input gave.
pub enum Read<J> {
    /// A message handled while reading; the reader reads on.
    Handled,
    /// A job to do once the input is passed on.
    Job(J),
    /// The input ended.
    End,
}

/// Reads one message from the input `I`; called only by the thread holding it.
pub type Reader<I, J> = dyn Fn(&mut I) -> Read<J> + Send + Sync;

/// Does one job. It gets `release`, to call once only the answer is left to send: the
/// thread then counts as waiting again, so the next job the answer brings finds it.
pub type Worker<J> = dyn Fn(J, &mut dyn FnMut()) + Send + Sync;

struct Shared<I, J> {
    name: &'static str,
    input: Mutex<I>,
    /// Threads that will take the input next: waiting for it, or about to.
    waiting: AtomicUsize,
    ended: AtomicBool,
    read: Box<Reader<I, J>>,
    work: Box<Worker<J>>,
    /// Told once, by the thread that reads the end.
    end_tx: mpsc::Sender<()>,
}

/// Serves `input` on threads named `name` until it ends; the answer is told when it
/// has (jobs under way may still be running then). Fails only when no first thread
/// can be started.
pub fn serve<I: Send + 'static, J: 'static>(
    name: &'static str,
    input: I,
    read: Box<Reader<I, J>>,
    work: Box<Worker<J>>,
) -> std::io::Result<mpsc::Receiver<()>> {
    let (end_tx, ended) = mpsc::channel();
    let shared = Arc::new(Shared {
        name,
        input: Mutex::new(input),
        waiting: AtomicUsize::new(0),
        ended: AtomicBool::new(false),
        read,
        work,
        end_tx,
    });
    start(&shared)?;
    Ok(ended)
}

/// Starts one more thread waiting for the input.
fn start<I: Send + 'static, J: 'static>(shared: &Arc<Shared<I, J>>) -> std::io::Result<()> {
    shared.waiting.fetch_add(1, Ordering::SeqCst);
    let follower = shared.clone();
    thread::Builder::new()
        .name(shared.name.into())
        .spawn(move || take_turns(&follower))
        .map(drop)
        .inspect_err(|_| {
            shared.waiting.fetch_sub(1, Ordering::SeqCst);
        })
}

/// One thread's life: wait for the input, read until a job comes, pass the input on, do
/// the job, and wait again.
fn take_turns<I: Send + 'static, J: 'static>(shared: &Arc<Shared<I, J>>) {
    loop {
        let job = {
            // Only the reader runs under the lock, and a reader that panicked left no
            // message half-read that matters: a poisoned input is still good.
            let mut input = shared.input.lock().unwrap_or_else(|p| p.into_inner());
            shared.waiting.fetch_sub(1, Ordering::SeqCst);
            loop {
                if shared.ended.load(Ordering::SeqCst) {
                    return;
                }
                match (shared.read)(&mut input) {
                    Read::Handled => {}
                    Read::Job(job) => break job,
                    Read::End => {
                        shared.ended.store(true, Ordering::SeqCst);
                        let _ = shared.end_tx.send(());
                        return;
                    }
                }
            }
        };
        // Someone must hold the input while this job runs. When no thread can be
        // started, the job is dropped (its sender's own bound tells it) and this
        // thread reads on.
        if shared.waiting.load(Ordering::SeqCst) == 0 && start(shared).is_err() {
            drop(job);
            shared.waiting.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let mut released = false;
        // A job that panics costs only itself: the thread waits again.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            (shared.work)(job, &mut || {
                if !released {
                    released = true;
                    shared.waiting.fetch_add(1, Ordering::SeqCst);
                }
            })
        }));
        if !released {
            shared.waiting.fetch_add(1, Ordering::SeqCst);
        }
        // Enough others wait: this thread ends (it no longer counts).
        if shared.waiting.load(Ordering::SeqCst) > MAX_IDLE {
            shared.waiting.fetch_sub(1, Ordering::SeqCst);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{collections::VecDeque, sync::Condvar, time::Duration};

    /// Messages handed in by the test: `Some(n)` is a job, `None` the end.
    #[derive(Default)]
    struct Feed {
        messages: Mutex<VecDeque<Option<u32>>>,
        arrived: Condvar,
    }

    impl Feed {
        fn push(&self, message: Option<u32>) {
            self.messages.lock().unwrap().push_back(message);
            self.arrived.notify_all();
        }

        fn next(&self) -> Option<u32> {
            let mut messages = self.messages.lock().unwrap();
            loop {
                if let Some(message) = messages.pop_front() {
                    return message;
                }
                messages = self.arrived.wait(messages).unwrap();
            }
        }
    }

    /// A job done: its number, and the thread that did it.
    type Finished = (u32, thread::ThreadId, Option<String>);
    type Done = mpsc::Sender<Finished>;

    fn serve_feed(
        feed: Arc<Feed>,
        work: impl Fn(u32, &mut dyn FnMut(), &Done) + Send + Sync + 'static,
    ) -> (mpsc::Receiver<()>, mpsc::Receiver<Finished>) {
        let (done_tx, done) = mpsc::channel();
        let done_tx = Mutex::new(done_tx);
        let ended = serve(
            "atrs-test-turns",
            feed,
            Box::new(|feed: &mut Arc<Feed>| match feed.next() {
                Some(n) => Read::Job(n),
                None => Read::End,
            }),
            Box::new(move |n, release| {
                let done = done_tx.lock().unwrap().clone();
                work(n, release, &done)
            }),
        )
        .unwrap();
        (ended, done)
    }

    fn reply(n: u32, release: &mut dyn FnMut(), done: &Done) {
        release();
        let current = thread::current();
        let _ = done.send((n, current.id(), current.name().map(String::from)));
    }

    const LONG: Duration = Duration::from_secs(10);

    #[test]
    fn jobs_back_to_back_are_done_by_named_threads_and_few_are_started() {
        let feed = Arc::new(Feed::default());
        let (ended, done) = serve_feed(feed.clone(), reply);
        let mut threads = std::collections::HashSet::new();
        for n in 0..200 {
            feed.push(Some(n));
            let (got, id, name) = done.recv_timeout(LONG).unwrap();
            assert_eq!(got, n);
            assert_eq!(name.as_deref(), Some("atrs-test-turns"));
            threads.insert(id);
        }
        // One job at a time needs one thread doing it and one reading, and a thread
        // that released its job waits again: a few at most, not one per job.
        assert!(threads.len() <= MAX_IDLE + 1, "{} threads", threads.len());
        feed.push(None);
        ended.recv_timeout(LONG).unwrap();
    }

    #[test]
    fn a_job_held_up_does_not_hold_up_the_input_and_the_end_is_told() {
        let feed = Arc::new(Feed::default());
        let (go_tx, go) = mpsc::channel::<()>();
        let go = Mutex::new(go);
        let (ended, done) = serve_feed(feed.clone(), move |n, release, done| {
            if n == 0 {
                // Held until job 1 has been read and done by another thread.
                go.lock().unwrap().recv_timeout(LONG).unwrap();
            }
            reply(n, release, done)
        });
        feed.push(Some(0));
        feed.push(Some(1));
        let (first, ..) = done.recv_timeout(LONG).unwrap();
        assert_eq!(first, 1, "the second job is not held up by the first");
        go_tx.send(()).unwrap();
        assert_eq!(done.recv_timeout(LONG).unwrap().0, 0);
        feed.push(None);
        ended.recv_timeout(LONG).unwrap();
    }

    #[test]
    fn many_jobs_at_once_each_get_a_thread_and_a_panicking_job_costs_only_itself() {
        let feed = Arc::new(Feed::default());
        let (release_all_tx, release_all) = mpsc::channel::<()>();
        let release_all = Mutex::new(release_all);
        let (ended, done) = serve_feed(feed.clone(), move |n, release, done| {
            if n == 99 {
                release();
                panic!("a job that panics (expected in this test)");
            }
            if n < 8 {
                let _ = release_all.lock().unwrap().recv_timeout(LONG);
            }
            reply(n, release, done)
        });
        for n in 0..8 {
            feed.push(Some(n));
        }
        feed.push(Some(99));
        // Eight jobs are held at once; the input is still read: the ninth is done.
        feed.push(Some(8));
        assert_eq!(done.recv_timeout(LONG).unwrap().0, 8);
        for _ in 0..8 {
            release_all_tx.send(()).unwrap();
        }
        let mut rest: Vec<u32> = (0..8).map(|_| done.recv_timeout(LONG).unwrap().0).collect();
        rest.sort_unstable();
        assert_eq!(rest, (0..8).collect::<Vec<_>>());
        for n in 100..120 {
            feed.push(Some(n));
            assert_eq!(done.recv_timeout(LONG).unwrap().0, n);
        }
        feed.push(None);
        ended.recv_timeout(LONG).unwrap();
    }
}

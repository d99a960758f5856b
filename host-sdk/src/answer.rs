//! One answer handed from a worker thread to the thread waiting for it (see
//! [`crate::workers`]): a slot and a flag in one allocation of ordinary alignment. A
//! `sync_channel(1)` per call did the same with a cache-padded, over-aligned
//! allocation, the costliest single step of handing a cached token over.
//!
//! The waiting side belongs to the thread that made the pair: it sleeps with
//! `park`, and the answering side wakes that thread.

use std::{
    marker::PhantomData,
    sync::{
        atomic::{AtomicU8, Ordering},
        mpsc::{RecvTimeoutError, TryRecvError},
        Arc, Mutex,
    },
    thread::{self, Thread},
    time::{Duration, Instant},
};

const WAITING: u8 = 0;
const ANSWERED: u8 = 1;
/// The answering side went without answering.
const GONE: u8 = 2;

struct Slot<R> {
    state: AtomicU8,
    value: Mutex<Option<R>>,
    waiter: Thread,
}

/// The side that answers, once; dropped unanswered, the waiter hears it is gone.
pub(crate) struct Answering<R> {
    slot: Arc<Slot<R>>,
    done: bool,
}

/// The side that waits, on the thread that made the pair.
pub(crate) struct Awaited<R> {
    slot: Arc<Slot<R>>,
    /// Waiting parks the thread the pair was made on: not to be sent elsewhere.
    _this_thread: PhantomData<*const ()>,
}

/// A new pair, waited for on the calling thread.
pub(crate) fn pair<R>() -> (Answering<R>, Awaited<R>) {
    let slot = Arc::new(Slot {
        state: AtomicU8::new(WAITING),
        value: Mutex::new(None),
        waiter: thread::current(),
    });
    let answering = Answering {
        slot: slot.clone(),
        done: false,
    };
    let awaited = Awaited {
        slot,
        _this_thread: PhantomData,
    };
    (answering, awaited)
}

impl<R> Answering<R> {
    /// Hands `value` over and wakes the waiter.
    pub(crate) fn send(mut self, value: R) {
        *self.slot.value.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
        self.finish(ANSWERED);
    }

    fn finish(&mut self, state: u8) {
        self.done = true;
        self.slot.state.store(state, Ordering::Release);
        self.slot.waiter.unpark();
    }
}

impl<R> Drop for Answering<R> {
    fn drop(&mut self) {
        if !self.done {
            self.finish(GONE);
        }
    }
}

impl<R> Awaited<R> {
    /// The answer if it is there, without waiting.
    pub(crate) fn try_take(&self) -> Result<R, TryRecvError> {
        match self.slot.state.load(Ordering::Acquire) {
            ANSWERED => self
                .slot
                .value
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .ok_or(TryRecvError::Disconnected),
            GONE => Err(TryRecvError::Disconnected),
            _ => Err(TryRecvError::Empty),
        }
    }

    /// The answer, waiting asleep up to `limit` for it.
    pub(crate) fn wait(&self, limit: Duration) -> Result<R, RecvTimeoutError> {
        let deadline = Instant::now().checked_add(limit);
        loop {
            match self.try_take() {
                Ok(answer) => return Ok(answer),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            // Woken early (a wake-up meant for before, or none at all) the loop looks
            // again; only the deadline ends it.
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    thread::park_timeout(deadline - now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_from_another_thread_wakes_the_waiter_once() {
        for _ in 0..200 {
            let (answering, awaited) = pair();
            let worker = thread::spawn(move || answering.send(42));
            assert_eq!(awaited.wait(Duration::from_secs(10)), Ok(42));
            worker.join().unwrap();
            assert_eq!(awaited.try_take(), Err(TryRecvError::Disconnected));
        }
    }

    #[test]
    fn nothing_yet_then_the_limit_or_a_side_that_went_without_answering() {
        let (answering, awaited) = pair::<u8>();
        assert_eq!(awaited.try_take(), Err(TryRecvError::Empty));
        let started = Instant::now();
        assert_eq!(
            awaited.wait(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout)
        );
        assert!(started.elapsed() >= Duration::from_millis(20));
        thread::spawn(move || drop(answering)).join().unwrap();
        assert_eq!(
            awaited.wait(Duration::MAX),
            Err(RecvTimeoutError::Disconnected)
        );
    }

    #[test]
    fn an_answer_given_before_the_wait_is_there_at_once() {
        let (answering, awaited) = pair();
        answering.send("ready");
        assert_eq!(awaited.wait(Duration::ZERO), Ok("ready"));
    }
}

//! The store generation a host sends with each request to a runner: the plugin's
//! `store_generation` is then answered in the runner without a round trip to the host,
//! so a token from the plugin's memory costs one pipe exchange (the request), not two.
//! It is good while it is fresh: until this side writes to the store or takes a lock
//! (after either, the store may have moved: ask the host), and never longer than
//! [`SentGeneration::FRESH_FOR`] after it came (a long request asks again).

use std::{
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

/// The generation the host sent last, and when it came.
#[derive(Debug, Default)]
pub struct SentGeneration {
    latest: Mutex<Option<(u64, Instant)>>,
}

impl SentGeneration {
    /// How long a sent generation answers for the store.
    pub const FRESH_FOR: Duration = Duration::from_millis(50);

    fn latest(&self) -> MutexGuard<'_, Option<(u64, Instant)>> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The host sent `generation` with a request just now.
    pub fn sent(&self, generation: u64) {
        *self.latest() = Some((generation, Instant::now()));
    }

    /// The generation the host sent, while it is fresh.
    pub fn fresh(&self) -> Option<u64> {
        match *self.latest() {
            Some((generation, at)) if at.elapsed() < Self::FRESH_FOR => Some(generation),
            _ => None,
        }
    }

    /// This side wrote or took a lock: the store may have moved since it was sent.
    pub fn forget(&self) {
        *self.latest() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_generation_answers_until_forgotten_or_stale() {
        let sent = SentGeneration::default();
        assert_eq!(sent.fresh(), None);
        sent.sent(7);
        assert_eq!(sent.fresh(), Some(7));
        sent.forget();
        assert_eq!(sent.fresh(), None);
        sent.sent(8);
        *sent.latest() = Some((8, Instant::now() - SentGeneration::FRESH_FOR));
        assert_eq!(sent.fresh(), None, "older than FRESH_FOR");
    }
}

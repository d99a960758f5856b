//! Graph requests in flight per mailbox, so a test can prove a client never has more than
//! Exchange Online's four concurrent requests per mailbox open. A request counts from the
//! moment it arrives until its answer is ready; the most seen per mailbox goes to
//! [`crate::AccountCounts::max_in_flight`].

use std::collections::HashMap;
use std::sync::Mutex;

use crate::stats::StatsLog;

/// Requests in flight by lower-case UPN.
#[derive(Debug, Default)]
pub(crate) struct InFlight(Mutex<HashMap<String, u64>>);

/// One counted request; dropping it ends it.
pub(crate) struct Counted<'a> {
    table: &'a InFlight,
    upn: String,
}

impl InFlight {
    /// Count a request of `upn` in, noting a new maximum in `stats`.
    pub fn enter<'a>(&'a self, upn: &str, stats: &StatsLog) -> Counted<'a> {
        let upn = upn.to_ascii_lowercase();
        let now = {
            let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let n = map.entry(upn.clone()).or_default();
            *n += 1;
            *n
        };
        stats.note_in_flight(&upn, now);
        Counted { table: self, upn }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        let mut map = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.upn) {
            *n = n.saturating_sub(1);
        }
    }
}

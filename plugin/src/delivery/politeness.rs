//! Graph politeness for a scheduler: how the plugin names itself to Microsoft Graph, and at
//! most [`MAX_IN_FLIGHT`] requests in flight per account — Exchange Online's limit of four
//! concurrent requests per mailbox — across every delivery of that account in this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use once_cell::sync::Lazy;
use tokio::sync::Semaphore;

use crate::config::AccountConfig;

/// Requests one account may have in flight at Graph at once (Exchange Online allows four
/// concurrent requests per mailbox; a fifth is throttled with 429).
pub const MAX_IN_FLIGHT: usize = 4;

/// The `User-Agent` of every Graph request: the ISV format Microsoft asks SharePoint and
/// Graph callers to use, so throttling and support can tell the application apart.
pub const USER_AGENT: &str = concat!("ISV|ATRS|Office365Plugin/", env!("CARGO_PKG_VERSION"));

/// The permits of each account, by [`key`].
static PERMITS: Lazy<Mutex<HashMap<String, Arc<Semaphore>>>> = Lazy::new(Default::default);

/// The account's permits, shared by all its deliveries in this process.
pub fn permits_for(config: &AccountConfig) -> Arc<Semaphore> {
    PERMITS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key(config))
        .or_insert_with(|| Arc::new(Semaphore::new(MAX_IN_FLIGHT)))
        .clone()
}

/// One account of one sign-in service: its name alone could be another store's account.
fn key(config: &AccountConfig) -> String {
    format!(
        "{}|{}|{}|{}",
        config.authority(),
        config.tenant.segment(),
        config.client_id,
        config.account_name
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_agent_is_in_the_isv_format() {
        let parts: Vec<&str> = USER_AGENT.split('|').collect();
        assert_eq!(parts[..2], ["ISV", "ATRS"]);
        assert!(parts[2].starts_with("Office365Plugin/"), "{USER_AGENT}");
        assert!(parts[2].len() > "Office365Plugin/".len());
    }
}

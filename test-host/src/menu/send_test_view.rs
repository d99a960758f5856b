//! The menu's "Send test message" for a saved account: ask for an address, send the short
//! test message through the account, show progress on the status line, and say how it went.

use std::time::Duration;

use atrs_host_sdk::loader::IntegrationHandle;
use atrs_host_sdk::{DeliveryKind, DeliveryRequest, DeliveryState, MailRequest};

use super::prompter::{Key, Prompter};
use crate::present::plugin_error_lines;

/// How long one poll may block the menu.
const POLL: Duration = Duration::from_millis(200);

/// Whether the integration can send mail (so the menu offers the test message).
pub fn can_send(integration: &IntegrationHandle) -> bool {
    integration.delivery_kinds().contains(&DeliveryKind::Mail)
}

/// Ask for an address and send the test message from `account`; Esc cancels.
pub fn send_test(p: &mut dyn Prompter, integration: &IntegrationHandle, account: &str) {
    let Ok(to) = p.input("Send a test message to (e-mail address)", "") else {
        return;
    };
    let to = to.trim();
    if to.is_empty() {
        p.say("No address given; nothing was sent.");
        return;
    }
    let request = DeliveryRequest::Mail(MailRequest::test_message(account, to));
    let job = match integration.start_delivery(account, &request) {
        Ok(job) => job,
        Err(e) => return p.say_all(&plugin_error_lines(&e)),
    };
    p.begin_wait();
    let end = loop {
        if let Some(Key::Cancel) = p.key() {
            job.cancel();
        }
        match job.poll(POLL) {
            DeliveryState::Running { message, .. } => p.status(&format!("{message} (Esc cancels)")),
            end => break end,
        }
    };
    p.end_wait();
    match end {
        DeliveryState::Done(receipt) => p.say(&format!("✓ {}", receipt.summary)),
        DeliveryState::Failed(e) => p.say_all(&plugin_error_lines(&e)),
        _ => p.say("The plugin reported a delivery state this host does not know."),
    }
}

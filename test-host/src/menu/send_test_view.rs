//! The menu's "Send test message" for a saved account: ask for an address, send the short
//! test message through the account, show progress on the status line, and say how it went.

use std::time::Duration;

use atrs_host_runtime::hosted::HostedPlugin;
use atrs_host_sdk::{DeliveryKind, DeliveryRequest, DeliveryState, ErrorKind, MailRequest};

use super::prompter::{Key, Prompter};
use crate::present::plugin_error_lines;

/// How long one poll may block the menu.
const POLL: Duration = Duration::from_millis(200);

/// Whether the integration can send mail (so the menu offers the test message).
pub fn can_send(integration: &HostedPlugin) -> bool {
    integration.delivery_kinds().contains(&DeliveryKind::Mail)
}

/// What the menu offers after a test message was not sent.
const TRY_AGAIN: &str = "Try again";
const OTHER_ADDRESS: &str = "Send to another address";
const BACK: &str = "Back";

/// Ask for an address and send the test message from `account`; Esc cancels. When
/// sending fails, the person may try again (to the same or another address) instead
/// of starting over from the account list.
pub fn send_test(p: &mut dyn Prompter, integration: &HostedPlugin, account: &str) {
    let mut to = String::new();
    let mut ask = true;
    loop {
        if ask {
            let Ok(typed) = p.input("Send a test message to (e-mail address)", &to) else {
                return;
            };
            to = typed.trim().to_owned();
            if to.is_empty() {
                p.say("No address given; nothing was sent.");
                return;
            }
        }
        if send(p, integration, account, &to) != Sent::Failed {
            return;
        }
        let choices = [TRY_AGAIN, OTHER_ADDRESS, BACK].map(String::from);
        match p.select("The message was not sent", &choices, 0) {
            Ok(0) => ask = false,
            Ok(1) => ask = true,
            _ => return,
        }
    }
}

/// How one send ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Done,
    Cancelled,
    Failed,
}

/// Sends the test message to `to` once, showing progress and how it went.
fn send(p: &mut dyn Prompter, integration: &HostedPlugin, account: &str, to: &str) -> Sent {
    let request = DeliveryRequest::Mail(MailRequest::test_message(account, to));
    let job = match integration.start_delivery(account, &request) {
        Ok(job) => job,
        Err(e) => {
            p.say_all(&plugin_error_lines(&e));
            return Sent::Failed;
        }
    };
    p.begin_wait();
    let end = loop {
        if let Some(Key::Cancel) = p.key() {
            job.cancel();
        }
        match job.poll(POLL) {
            DeliveryState::Running { message, .. } => p.status(&format!("{message} · Esc: cancel")),
            end => break end,
        }
    };
    p.end_wait();
    match end {
        DeliveryState::Done(receipt) => {
            p.say(&format!("✓ {}", receipt.summary));
            Sent::Done
        }
        DeliveryState::Failed(e) => {
            p.say_all(&plugin_error_lines(&e));
            if e.kind() == ErrorKind::Cancelled || p.interrupted() {
                Sent::Cancelled
            } else {
                Sent::Failed
            }
        }
        _ => {
            p.say("The plugin reported a delivery state this host does not know.");
            Sent::Failed
        }
    }
}

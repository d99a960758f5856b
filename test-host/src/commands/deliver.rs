//! What `send`, `send-test` and `upload` share: find the saved account's integration, check
//! it offers the kind of delivery, start it, show progress (a bar on a terminal, `progress`
//! events with `--json`), cancel on Ctrl-C, and print the receipt.

use std::time::{Duration, Instant};

use atrs_host_runtime::hosted::HostedPlugin;
use atrs_host_sdk::{DeliveryKind, DeliveryReceipt, DeliveryRequest, DeliveryState};
use serde_json::{json, Map, Value};

use crate::commands::progress_bar::ProgressBar;
use crate::{
    commands::owner::saved_account, context::Context, error::CommandError, exit::Exit,
    interrupt::Interrupt, store::AccountRef,
};

/// How long one poll may block before Ctrl-C is checked and the bar redrawn.
const POLL: Duration = Duration::from_millis(100);
/// How often `--json` prints a `progress` event while bytes move.
const EVENT_EVERY: Duration = Duration::from_millis(250);
/// How long a cancelled delivery may take to clean up before the command gives up on it.
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// The saved account's integration, opened, with the account as saved (see
/// [`saved_account`]).
pub fn open_account(
    ctx: &Context,
    account: &str,
) -> Result<(HostedPlugin, AccountRef), CommandError> {
    let saved = saved_account(&ctx.existing_store()?, account, None)?;
    let catalog = ctx.catalog()?;
    let library = catalog.find(&saved.plugin)?;
    Ok((ctx.open(library)?, saved))
}

/// Deliver `request` through `account` and print the receipt; `command` names the result.
pub fn run(
    ctx: &Context,
    command: &str,
    account: &str,
    request: DeliveryRequest,
) -> Result<(), CommandError> {
    run_opened(ctx, command, open_account(ctx, account)?, request)
}

/// [`run`] through an account already opened with [`open_account`].
pub fn run_opened(
    ctx: &Context,
    command: &str,
    (integration, saved): (HostedPlugin, AccountRef),
    request: DeliveryRequest,
) -> Result<(), CommandError> {
    let (account, plugin) = (saved.account.as_str(), saved.plugin);
    let kind = request.kind();
    if !integration.delivery_kinds().contains(&kind) {
        return Err(CommandError::new(
            Exit::Failure,
            format!(
                "The {plugin} integration cannot deliver {} (it offers: {}).",
                match kind {
                    DeliveryKind::Mail => "e-mail",
                    DeliveryKind::Push => "files to its own endpoint",
                    _ => "files to folders",
                },
                offered(&integration)
            ),
        )
        .with_hint("Update the plugin to a version that supports it, or use an account of another integration."));
    }
    let job = integration.start_delivery(account, &request)?;
    let interrupt = Interrupt::install();
    let mut bar = ProgressBar::for_stderr(!ctx.output.is_json());
    let mut last_event: Option<(Instant, u64)> = None;
    let mut cancelled_at: Option<Instant> = None;
    let end = loop {
        if interrupt.is_set() && cancelled_at.is_none() {
            bar.clear();
            ctx.output.note("Cancelling…");
            job.cancel();
            cancelled_at = Some(Instant::now());
        }
        if cancelled_at.is_some_and(|t| t.elapsed() > CANCEL_GRACE) {
            bar.clear();
            return Err(CommandError::new(
                Exit::CancelledOrTimedOut,
                "Cancelled, but the plugin did not confirm that it stopped.",
            )
            .with_hint("Check the destination for a partial delivery."));
        }
        match job.poll(POLL) {
            DeliveryState::Running {
                message,
                bytes_sent,
                bytes_total,
            } => {
                bar.draw(&message, bytes_sent, bytes_total);
                let due = last_event
                    .is_none_or(|(at, sent)| sent != bytes_sent && at.elapsed() >= EVENT_EVERY);
                if due {
                    ctx.output.event(
                        "progress",
                        json!({"message": message, "bytes_sent": bytes_sent, "bytes_total": bytes_total}),
                    );
                    last_event = Some((Instant::now(), bytes_sent));
                }
            }
            end => break end,
        }
    };
    bar.clear();
    match end {
        DeliveryState::Done(receipt) => {
            ctx.output.event(
                "progress",
                json!({"message": "Done", "bytes_sent": receipt.bytes, "bytes_total": receipt.bytes}),
            );
            show(ctx, command, account, &plugin, &receipt);
            Ok(())
        }
        DeliveryState::Failed(e) => Err(e.into()),
        _ => Err(CommandError::new(
            Exit::Failure,
            "The plugin reported a delivery state this host does not know.",
        )),
    }
}

fn offered(integration: &HostedPlugin) -> String {
    let kinds: Vec<&str> = integration
        .delivery_kinds()
        .into_iter()
        .map(|k| k.name())
        .collect();
    if kinds.is_empty() {
        "nothing".into()
    } else {
        kinds.join(", ")
    }
}

fn show(ctx: &Context, command: &str, account: &str, plugin: &str, r: &DeliveryReceipt) {
    ctx.output.say(&r.summary);
    if !r.id.is_empty() {
        ctx.output.say(format!("  id: {}", r.id));
    }
    if let Some(web) = &r.web_url {
        ctx.output.say(format!("  open: {web}"));
    }
    for (k, v) in &r.details {
        ctx.output.say(format!("  {k}: {v}"));
    }
    let details: Map<String, Value> = r
        .details
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    ctx.output.result(
        command,
        json!({
            "plugin": plugin,
            "account": account,
            "receipt": {
                "kind": r.kind.name(),
                "id": r.id,
                "web_url": r.web_url,
                "summary": r.summary,
                "bytes": r.bytes,
                "details": details,
            }
        }),
    );
}

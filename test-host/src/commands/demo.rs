//! `atrs-test-host demo`: the whole Add → Verify → Save & Close flow against the
//! embedded mock identity platform, with no Microsoft account.
//!
//! By default the menu plays itself (every question and answer is printed) while the
//! mock's simulated user signs in and approves; with `--interactive`, on a terminal, a
//! person drives the same menu with the mock's directory filled in.

use std::time::Duration;

use atrs_host_sdk::FormValues;
use atrs_mock_idp::{defaults, Endpoint, MockConfig, MockIdp};
use serde_json::json;

use crate::{
    context::Context,
    error::CommandError,
    exit::Exit,
    menu::{self, ScriptedAnswer, ScriptedPrompter, TerminalPrompter},
};

/// The account the demo adds.
pub const DEMO_ACCOUNT: &str = "Contoso reports";

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// A person drives the menu instead of the script.
    pub interactive: bool,
    /// How long the simulated user takes to approve the sign-in.
    pub approve_after: Duration,
    /// Use (and keep) the store of `ctx`; otherwise a scratch store removed at the end.
    pub keep_store: bool,
}

/// Runs the demo, in a scratch store unless `options.keep_store`.
pub fn run(ctx: &Context, options: &DemoOptions) -> Result<(), CommandError> {
    if options.keep_store {
        return run_in(ctx, options, false);
    }
    let scratch = tempfile::Builder::new()
        .prefix("atrs-demo-")
        .tempdir()
        .map_err(|e| {
            CommandError::new(
                Exit::Failure,
                format!("Cannot create a scratch folder for the demo: {e}."),
            )
            .with_hint("Pass --store DIR to use a folder of your choice.")
        })?;
    let ctx = Context {
        store_dir: scratch.path().to_owned(),
        isolation: ctx.isolation.as_ref().map(|i| i.afresh()),
        ..ctx.clone()
    };
    run_in(&ctx, options, true)
}

fn run_in(ctx: &Context, options: &DemoOptions, scratch: bool) -> Result<(), CommandError> {
    if options.interactive {
        menu::require_terminal("demo --interactive").map_err(|e| {
            e.with_hint("Run the demo without --interactive to watch it play itself.")
        })?;
    }
    let out = ctx.output;
    let mock = MockIdp::spawn(MockConfig {
        auto_approve_delay: options.approve_after,
        device_interval_secs: 1,
        ..MockConfig::default()
    })
    .map_err(|e| {
        CommandError::new(
            Exit::Unavailable,
            format!("The mock identity platform did not start: {e}."),
        )
        .with_hint("Check that 127.0.0.1 accepts local connections.")
    })?;
    let authority = mock.base_url();
    let catalog = ctx.catalog()?;
    catalog.find("office365")?;
    let prefill = |id: &str| {
        if id == "office365" {
            demo_values(&authority)
        } else {
            FormValues::new()
        }
    };
    let plugins = menu::menu_plugins(ctx, &catalog, prefill);

    out.say("ATRS demo — Integrations → Office 365 → Add → Verify → Save & Close");
    out.say(format!(
        "Sign-in is simulated by a local Microsoft Entra ID look-alike at {authority}"
    ));
    out.say(format!(
        "(tenant {}, app {}, user {} who approves after {} s).\n",
        defaults::TENANT_DOMAIN,
        defaults::DESKTOP_CLIENT_ID,
        defaults::USER_UPN,
        options.approve_after.as_secs()
    ));
    if options.interactive {
        menu::run_interactive(&mut TerminalPrompter::new(ctx.browser.clone()), &plugins)?;
    } else {
        let mut prompter = ScriptedPrompter::narrating(script(&authority), ctx.output);
        menu::run(&mut prompter, &plugins)?;
    }
    summarize(ctx, &mock, scratch)
}

/// The form as the demo fills it in.
pub fn demo_values(authority: &str) -> FormValues {
    FormValues::new()
        .with("account_name", DEMO_ACCOUNT)
        .with("client_id", defaults::DESKTOP_CLIENT_ID)
        .with("tenant_id", defaults::TENANT_ID)
        .with("cloud", "global")
        .with("authority", authority)
}

fn script(authority: &str) -> Vec<ScriptedAnswer> {
    let pick = |s: &str| ScriptedAnswer::Pick(s.into());
    let typed = |s: &str| ScriptedAnswer::Type(s.into());
    vec![
        pick("Office 365"),
        pick("Add"),
        typed(DEMO_ACCOUNT),
        typed(defaults::DESKTOP_CLIENT_ID),
        typed(defaults::TENANT_ID),
        typed(""),
        typed(""),
        pick("Global"),
        pick("Advanced settings"),
        typed(authority),
        typed(""),
        pick("In the address"),
        typed(""),
        typed(""),
        typed(""),
        typed(""),
        pick("A user signs in"),
        typed(""),
        typed(""),
        pick("Verify"),
        pick("Save & Close"),
        pick("Back"),
        pick("Quit"),
    ]
}

fn summarize(ctx: &Context, mock: &MockIdp, scratch: bool) -> Result<(), CommandError> {
    let out = ctx.output;
    let store = ctx.store()?;
    let saved = store.read_settings("office365", DEMO_ACCOUNT)?;
    let stats = mock.stats();
    out.say("\nSummary");
    match &saved {
        Some(settings) => {
            let lifetime = if scratch {
                " (a scratch store, removed when the demo ends; pass --store DIR to keep it)"
            } else {
                ""
            };
            out.say(format!(
                "  ✓ \"{DEMO_ACCOUNT}\" is saved in {}{lifetime}",
                store.info().location
            ));
            // The same account lines as `accounts`: local dates, no internal keys.
            let display = ctx
                .catalog()
                .ok()
                .and_then(|c| ctx.open(c.find("office365").ok()?).ok())
                .map(|h| h.settings_display())
                .unwrap_or_default();
            let lines = crate::present::account_lines(
                "office365",
                DEMO_ACCOUNT,
                settings,
                &display,
                false,
                crate::health_view::unix_now(),
            );
            for line in lines.iter().skip(1) {
                out.say(format!("  {line}"));
            }
            let has_refresh = store
                .read_secret("office365", DEMO_ACCOUNT, "refresh_token")?
                .is_some();
            let info = store.info();
            out.say(format!(
                "    secrets (client secret, refresh token) are {} in {}, owner-only{}",
                if info.sealed {
                    "sealed"
                } else {
                    "in plain text"
                },
                info.location,
                if has_refresh {
                    "; a refresh token is stored"
                } else {
                    ""
                }
            ));
        }
        None => out.say(format!("  ✗ \"{DEMO_ACCOUNT}\" was not saved.")),
    }
    out.say(format!(
        "  mock identity platform: {} requests (discovery {}, devicecode {}, token {}, Graph {})",
        stats.total(),
        stats.count(Endpoint::Discovery),
        stats.count(Endpoint::DeviceCode),
        stats.count(Endpoint::Token),
        stats.count(Endpoint::Graph),
    ));
    if saved.is_none() {
        // The failure is the one result line.
        return Err(
            CommandError::new(Exit::Failure, "The demo ended without saving the account.")
                .with_hint("Run it again with -v to see the plugin's log."),
        );
    }
    ctx.output
        .result("demo", json!({"account_name": DEMO_ACCOUNT, "saved": true}));
    Ok(())
}

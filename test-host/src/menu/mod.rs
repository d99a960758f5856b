//! The interactive Integrations menu: Integrations → a plugin → Add, or an account (each
//! with its health) → Edit / Re-verify / Remove / Send test message → the form → Verify
//! or Verify ▾ With Browser → Save & Close or Close.

mod account_save;
mod form_editor;
mod line_editor;
pub mod prompter;
mod send_test_view;
mod terminal;
mod verify_view;
mod wait_keys;

use std::io::IsTerminal;

use atrs_host_runtime::hosted::HostedPlugin;
use atrs_host_sdk::{FormValues, HealthState, Manifest};

use crate::{
    catalog::Catalog,
    context::Context,
    error::CommandError,
    exit::Exit,
    health_view,
    present::{natural_order, plugin_error_lines},
    store::StoreInfo,
};
use form_editor::Purpose;

pub use prompter::{Back, Key, Prompter, ScriptedAnswer, ScriptedPrompter};
pub use terminal::TerminalPrompter;
pub use verify_view::{drive_session, SessionEnd};

/// What the menu needs of one loaded plugin.
pub struct MenuPlugin<'a> {
    /// Who it is.
    pub manifest: Manifest,
    /// Creates a fresh instance.
    pub open: Box<dyn Fn() -> Result<HostedPlugin, CommandError> + 'a>,
    /// Names of its saved accounts.
    pub accounts: Box<dyn Fn() -> Result<Vec<String>, CommandError> + 'a>,
    /// Where its accounts live (the store, its backend, sealed or not, the key's
    /// source), shown above the accounts and their health.
    pub store: Box<dyn Fn() -> Result<StoreInfo, CommandError> + 'a>,
    /// Values Add starts from (empty, or the demo's pre-filled directory).
    pub prefill: FormValues,
}

/// Runs the menu on the terminal over the plugins of `ctx`.
pub fn run_on_terminal(ctx: &Context) -> Result<(), CommandError> {
    require_terminal("The Integrations menu")?;
    // A damaged store is reported before the menu opens, never as "0 accounts".
    ctx.store()?;
    let catalog = ctx.catalog()?;
    let mut prompter = TerminalPrompter::new(ctx.browser.clone());
    for outcome in catalog.entries() {
        if let Err(r) = &outcome.result {
            prompter.say(&format!("(skipped {}: {r})", outcome.path.display()));
        }
    }
    let plugins = menu_plugins(ctx, &catalog, |_| FormValues::new());
    run_interactive(&mut prompter, &plugins)
}

/// Runs the menu with a person at `prompter`: Ctrl-C ends it as cancelled (exit 4).
pub fn run_interactive(
    p: &mut dyn Prompter,
    plugins: &[MenuPlugin<'_>],
) -> Result<(), CommandError> {
    run(p, plugins)?;
    if p.interrupted() {
        return Err(
            CommandError::new(Exit::CancelledOrTimedOut, "Stopped (Ctrl-C).")
                .with_hint("Nothing unsaved was kept; run the menu again to go on."),
        );
    }
    Ok(())
}

/// `Err` (exit 2) unless stdin and stderr are a terminal, which `what` needs.
pub fn require_terminal(what: &str) -> Result<(), CommandError> {
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        return Ok(());
    }
    Err(CommandError::usage(format!(
        "{what} needs a terminal, and standard input or error is not one."
    ))
    .with_hint(
        "Run it in a terminal, or use the scripted commands (`atrs-test-host --help` lists them).",
    ))
}

/// The menu entries for every loaded plugin of `catalog`; `prefill` gives Add's start values.
pub fn menu_plugins<'a>(
    ctx: &'a Context,
    catalog: &'a Catalog,
    prefill: impl Fn(&str) -> FormValues,
) -> Vec<MenuPlugin<'a>> {
    catalog
        .plugins()
        .map(|p| {
            let id = p.manifest().id.to_string();
            MenuPlugin {
                manifest: p.manifest().clone(),
                prefill: prefill(&id),
                open: Box::new(move || ctx.open(p)),
                accounts: Box::new(move || {
                    let mut names = ctx.store()?.list(&id)?;
                    names.sort_by(|a, b| natural_order(a, b));
                    Ok(names)
                }),
                store: Box::new(move || Ok(ctx.store()?.info())),
            }
        })
        .collect()
}

/// Runs the menu with `prompter` over `plugins` until the user quits.
pub fn run(p: &mut dyn Prompter, plugins: &[MenuPlugin<'_>]) -> Result<(), CommandError> {
    if plugins.is_empty() {
        return Err(CommandError::usage("No integration plugin is loaded, so the menu has nothing to show.")
            .with_hint("Run `atrs-test-host plugins` to see the plugins folder and why libraries were refused."));
    }
    loop {
        let mut items: Vec<String> = Vec::new();
        for plugin in plugins {
            items.push(plugin_line(plugin)?);
        }
        items.push("Quit".into());
        match p.select("Integrations", &items, 0) {
            Ok(i) if i < plugins.len() => integration_screen(p, &plugins[i])?,
            _ => return Ok(()),
        }
    }
}

/// The plugin's accounts, one entry each (with its health), plus Add and Back, under a
/// line saying where they live; an account opens its actions, and the list comes back
/// with that account chosen.
fn integration_screen(p: &mut dyn Prompter, plugin: &MenuPlugin<'_>) -> Result<(), CommandError> {
    p.say(&health_view::store_line(&(plugin.store)()?));
    let can_send = (plugin.open)().is_ok_and(|i| send_test_view::can_send(&i));
    let mut chosen = 0;
    loop {
        let accounts = (plugin.accounts)()?;
        let status = statuses(plugin, &accounts);
        let mut items = vec!["Add".to_owned()];
        items.extend(accounts.iter().zip(&status).map(|(a, s)| format!("{a}{s}")));
        items.push("Back".into());
        let title = format!("Integrations › {}", plugin.manifest.display_name);
        let Ok(choice) = p.select(&title, &items, chosen) else {
            return Ok(());
        };
        chosen = choice;
        match choice {
            0 => {
                let mut integration = (plugin.open)()?;
                let start = plugin.prefill.clone();
                form_editor::edit_account(
                    p,
                    &mut integration,
                    start,
                    Purpose::Add,
                    &plugin.accounts,
                    &plugin.open,
                )?;
            }
            i if i <= accounts.len() => account_screen(p, plugin, &accounts[i - 1], can_send)?,
            _ => return Ok(()),
        }
    }
}

/// What can be done with one saved account.
const EDIT: &str = "Edit";
const RE_VERIFY: &str = "Re-verify";
const REMOVE: &str = "Remove";
const SEND_TEST: &str = "Send test message";
const BACK: &str = "Back";

/// One saved account's actions: Edit, Re-verify, Remove, Send test message, Back.
fn account_screen(
    p: &mut dyn Prompter,
    plugin: &MenuPlugin<'_>,
    account: &str,
    can_send: bool,
) -> Result<(), CommandError> {
    let mut actions = vec![EDIT, RE_VERIFY, REMOVE];
    if can_send {
        actions.push(SEND_TEST);
    }
    actions.push(BACK);
    let items: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
    let title = format!("{} › {account}", plugin.manifest.display_name);
    let Ok(choice) = p.select(&title, &items, 0) else {
        return Ok(());
    };
    match actions[choice] {
        EDIT => edit(p, plugin, account)?,
        RE_VERIFY => {
            let mut integration = (plugin.open)()?;
            if !form_editor::re_verify(p, &mut integration, account)? {
                integration.close()?;
                edit(p, plugin, account)?;
            }
        }
        REMOVE
            if p.confirm(&format!("Remove \"{account}\" and its secrets?"), false) == Ok(true) =>
        {
            let mut integration = (plugin.open)()?;
            match integration.remove_account(account) {
                Ok(()) => p.say(&format!("Removed \"{account}\".")),
                Err(e) => p.say_all(&plugin_error_lines(&e)),
            }
        }
        SEND_TEST => {
            let integration = (plugin.open)()?;
            send_test_view::send_test(p, &integration, account);
        }
        _ => {}
    }
    Ok(())
}

/// Opens the saved `account` in the form editor (Edit, and Re-verify).
fn edit(p: &mut dyn Prompter, plugin: &MenuPlugin<'_>, account: &str) -> Result<(), CommandError> {
    let mut integration = (plugin.open)()?;
    match integration.load_account(account) {
        Ok(values) => form_editor::edit_account(
            p,
            &mut integration,
            values,
            Purpose::Edit(account),
            &plugin.accounts,
            &plugin.open,
        ),
        Err(e) => {
            p.say_all(&plugin_error_lines(&e));
            Ok(())
        }
    }
}

/// The plugin's line in the top list: its name, how many accounts it has, and how
/// many of them need sign-in again (`Office 365 (4 accounts, 1 needs sign-in)`).
fn plugin_line(plugin: &MenuPlugin<'_>) -> Result<String, CommandError> {
    let accounts = (plugin.accounts)()?;
    let count = accounts.len();
    let mut line = format!(
        "{} ({count} account{}",
        plugin.manifest.display_name,
        if count == 1 { "" } else { "s" }
    );
    let need = health_states(plugin, &accounts)
        .into_iter()
        .filter(|s| *s == Some(HealthState::NeedsSignIn))
        .count();
    if need > 0 {
        let verb = if need == 1 { "needs" } else { "need" };
        line.push_str(&format!(", {need} {verb} sign-in"));
    }
    line.push(')');
    Ok(line)
}

/// Each account's health state; `None` where the plugin reports none.
fn health_states(plugin: &MenuPlugin<'_>, accounts: &[String]) -> Vec<Option<HealthState>> {
    if accounts.is_empty() {
        return Vec::new();
    }
    let integration = (plugin.open)().ok();
    accounts
        .iter()
        .map(|a| {
            integration
                .as_ref()
                .and_then(|i| i.account_health(a).ok())
                .map(|h| h.state)
        })
        .collect()
}

/// Each account's health as a suffix for its menu line (` — ✓ healthy`); empty when
/// the plugin does not report health.
fn statuses(plugin: &MenuPlugin<'_>, accounts: &[String]) -> Vec<String> {
    health_states(plugin, accounts)
        .into_iter()
        .map(|state| {
            state
                .map(|s| {
                    format!(
                        " — {} {}",
                        health_view::state_mark(s),
                        health_view::state_words(s)
                    )
                })
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests;

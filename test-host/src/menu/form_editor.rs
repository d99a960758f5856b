//! Add / Edit: fill the form with inline validation, then Verify, Save & Close or Close.
//!
//! Saving an edited account under a new name is a move: one account afterwards, under
//! the new name, with what was verified again ([`super::account_save`]). Saving under
//! the name of another saved account asks first. An Edit that changes nothing saves
//! nothing and needs no verification; one that changes something is "edited", not "not
//! verified": Save & Close saves it with the saved sign-in when the plugin finds nothing
//! the sign-in depends on changed, and otherwise names what did (the host cannot tell
//! in advance: interface 1.2 has no call for it).

use atrs_host_runtime::hosted::HostedPlugin;
use atrs_host_sdk::{ErrorKind, FieldKind, FormField, FormValues, VerifyMethod};

use super::{
    account_save::{save_account, SaveTarget},
    prompter::{Back, Prompter},
    verify_view::{drive_session, SessionEnd},
};
use crate::{
    error::CommandError,
    form_input::{account_name, with_defaults},
    present::plugin_error_lines,
};

const VERIFY: &str = "Verify";
const EDIT: &str = "Edit fields";
const ADVANCED: &str = "Advanced settings";
const SAVE: &str = "Save & Close";
const CLOSE: &str = "Close";

/// The form's state once a saved account's values were edited and not verified since:
/// saving may or may not need a new sign-in, and only the plugin can tell.
pub(super) const EDITED: &str = "edited — Save & Close checks if it needs a new sign-in";
/// Said when the form becomes [`EDITED`].
pub(super) const EDITED_HELP: &str = "  Save & Close keeps the saved sign-in if none of your changes affects it; otherwise it names what needs a new sign-in (then choose Verify).";

const KEEP_SECRET: &str = "Keep the saved one";
const KEEP_TYPED: &str = "Keep the one typed";
const NEW_SECRET: &str = "Type a new one";
const CLEAR_SECRET: &str = "Clear it";

/// What the form is for.
pub(super) enum Purpose<'a> {
    /// A new account.
    Add,
    /// The saved account of this name.
    Edit(&'a str),
}

/// Creates a fresh instance of the plugin.
pub(super) type Open<'a> = dyn Fn() -> Result<HostedPlugin, CommandError> + 'a;

/// Runs the account form for `integration`, starting from `initial`; `saved` lists
/// the names of the saved accounts, and `open` gives another instance (a new
/// verification attempt runs on one while an earlier one is held).
pub(super) fn edit_account(
    p: &mut dyn Prompter,
    integration: &mut HostedPlugin,
    initial: FormValues,
    purpose: Purpose<'_>,
    saved: &dyn Fn() -> Result<Vec<String>, CommandError>,
    open: &Open<'_>,
) -> Result<(), CommandError> {
    let form = integration.describe()?;
    let mut values = with_defaults(initial, &form);
    let as_saved = values.clone();
    // What is saved already: nothing for a new account.
    let saved_values = match purpose {
        Purpose::Edit(_) => as_saved.clone(),
        Purpose::Add => FormValues::new(),
    };
    if fill(p, integration, &form, &mut values, &saved_values, false).is_err()
        && (values == as_saved || leave_anyway(p, "What you typed is not saved."))
    {
        return close(p, integration);
    }
    let mut verified: Option<String> = None;
    let methods = verify_choices(integration);
    // The state the form's title showed last.
    let mut shown = "";
    loop {
        let unchanged = matches!(purpose, Purpose::Edit(_)) && values == as_saved;
        let status = match (&verified, &purpose, unchanged) {
            (Some(_), _, _) => "verified",
            (None, Purpose::Edit(_), true) => "saved, unchanged",
            // Only the plugin knows which edits need a new sign-in; it checks on save.
            (None, Purpose::Edit(_), false) => EDITED,
            (None, Purpose::Add, _) => "not verified",
        };
        if status == EDITED && shown != EDITED {
            p.say(EDITED_HELP);
        }
        shown = status;
        let mut actions: Vec<String> = methods.iter().map(|(label, _)| label.clone()).collect();
        actions.extend([EDIT, ADVANCED, SAVE, CLOSE].map(String::from));
        let Ok(choice) = p.select(
            &format!("Account ({status})"),
            &actions,
            if verified.is_some() || unchanged {
                methods.len() + 2
            } else {
                0
            },
        ) else {
            let lost = match (&verified, values == as_saved) {
                (Some(name), _) => {
                    Some(format!("The verified sign-in of \"{name}\" is not saved."))
                }
                (None, false) => Some("What you typed is not saved.".to_owned()),
                (None, true) => None,
            };
            if lost.is_none_or(|what| leave_anyway(p, &what)) {
                return close(p, integration);
            }
            continue;
        };
        if let Some((_, method)) = methods.get(choice) {
            let method = method.clone();
            verified = match verified.take() {
                None => verify(p, integration, &values, method).verified(),
                Some(held) => verify_again(p, integration, open, &values, method, held)?,
            };
            continue;
        }
        match actions[choice].as_str() {
            EDIT | ADVANCED => {
                let before = values.clone();
                let _ = fill(
                    p,
                    integration,
                    &form,
                    &mut values,
                    &saved_values,
                    actions[choice] == ADVANCED,
                );
                if values != before {
                    verified = None;
                }
            }
            SAVE if unchanged && verified.is_none() => {
                // Read again: another process may have removed it meanwhile.
                let name = account_name(&as_saved).unwrap_or_default();
                if !saved()?.iter().any(|s| s == name) {
                    p.say(&format!(
                        "\"{name}\" is no longer saved (it was removed meanwhile, perhaps by another program). Choose Verify, then Save & Close to save it again."
                    ));
                    continue;
                }
                p.say("Nothing changed; the saved account stays as it was.");
                integration.close()?;
                return Ok(());
            }
            SAVE => {
                let name = verified
                    .clone()
                    .or_else(|| account_name(&values).map(str::to_owned))
                    .unwrap_or_default();
                let previous = match purpose {
                    Purpose::Edit(previous) => Some(previous),
                    Purpose::Add => None,
                };
                let target = SaveTarget {
                    name: &name,
                    previous,
                };
                if target.overwrites(&saved()?)
                    && p.confirm(
                        &format!("An account named \"{name}\" is already saved. Replace it?"),
                        false,
                    ) != Ok(true)
                {
                    p.say("Not saved: choose Edit fields to give the account another name.");
                    continue;
                }
                match save_account(integration, &values, &target) {
                    Ok(()) => {
                        p.say(&target.saved_line());
                        return Ok(());
                    }
                    Err(e) => p.say_all(&plugin_error_lines(&e)),
                }
            }
            _ => return close(p, integration),
        }
    }
}

/// Asks before leaving a form whose work would be lost (`what` says which); Esc or
/// "no" stays. After Ctrl-C nothing is asked: the menu is unwinding.
fn leave_anyway(p: &mut dyn Prompter, what: &str) -> bool {
    p.interrupted() || p.confirm(&format!("Leave without saving? {what}"), false) == Ok(true)
}

/// What Re-verify offers: sign in again straight away, or look at the settings first.
const EDIT_FIRST: &str = "Edit the settings first";
const BACK: &str = "Back";

/// Re-verify: signs `account` in again with its saved values and secret, and saves it
/// when that works, without walking through the form (`Ok(true)`); `Ok(false)` when
/// the person chose to edit the settings first.
pub(super) fn re_verify(
    p: &mut dyn Prompter,
    integration: &mut HostedPlugin,
    account: &str,
) -> Result<bool, CommandError> {
    let values = match integration.load_account(account) {
        Ok(values) => values,
        Err(e) => {
            p.say_all(&plugin_error_lines(&e));
            integration.close()?;
            return Ok(true);
        }
    };
    let methods = verify_choices(integration);
    let mut actions: Vec<String> = methods.iter().map(|(label, _)| label.clone()).collect();
    actions.extend([EDIT_FIRST, BACK].map(String::from));
    let chosen = p.select(
        &format!("Re-verify \"{account}\" with its saved settings"),
        &actions,
        0,
    );
    let method = match chosen {
        Ok(i) if i < methods.len() => methods[i].1.clone(),
        Ok(i) if actions[i] == EDIT_FIRST => return Ok(false),
        _ => {
            integration.close()?;
            return Ok(true);
        }
    };
    if verify(p, integration, &values, method).verified().is_some() {
        let target = SaveTarget {
            name: account,
            previous: Some(account),
        };
        match save_account(integration, &values, &target) {
            Ok(()) => p.say(&target.saved_line()),
            Err(e) => p.say_all(&plugin_error_lines(&e)),
        }
    } else {
        p.say("Not re-verified; the saved account stays as it was. Choose Re-verify to try again, or Edit to change its settings.");
    }
    integration.close()?;
    Ok(true)
}

fn close(p: &mut dyn Prompter, integration: &mut HostedPlugin) -> Result<(), CommandError> {
    integration.close()?;
    p.say("Closed without saving.");
    Ok(())
}

/// The Verify entries for the methods `integration` offers, first one plain
/// "Verify", the others under "Verify ▾": a plugin that offers no browser sign-in shows
/// no "With Browser".
fn verify_choices(integration: &HostedPlugin) -> Vec<(String, VerifyMethod)> {
    verify_labels(integration.verify_methods())
}

fn verify_labels(methods: Vec<VerifyMethod>) -> Vec<(String, VerifyMethod)> {
    methods
        .into_iter()
        .enumerate()
        .map(|(i, method)| {
            let label = match (i, &method) {
                (0, _) => VERIFY.to_owned(),
                (_, VerifyMethod::DeviceCode) => "Verify ▾ With a Code".to_owned(),
                (_, VerifyMethod::Browser { .. }) => "Verify ▾ With Browser".to_owned(),
                (_, VerifyMethod::Direct) => "Verify ▾ Directly".to_owned(),
                (_, other) => format!("Verify ▾ {}", other.name()),
            };
            (label, method)
        })
        .collect()
}

/// How one verification attempt ended.
enum Attempt {
    /// Signed in: the verified account's name.
    Verified(String),
    /// The person cancelled it (Esc, or Ctrl-C).
    Cancelled,
    /// It failed.
    Failed,
}

impl Attempt {
    fn verified(self) -> Option<String> {
        match self {
            Attempt::Verified(name) => Some(name),
            Attempt::Cancelled | Attempt::Failed => None,
        }
    }
}

/// Verifies `values`.
fn verify(
    p: &mut dyn Prompter,
    integration: &mut HostedPlugin,
    values: &FormValues,
    method: VerifyMethod,
) -> Attempt {
    match integration.start_verification(values, method.clone()) {
        Ok(session) => match drive_session(p, &session, &method) {
            SessionEnd::Verified(account) => Attempt::Verified(account.account_name.to_string()),
            SessionEnd::Failed(e) if e.kind() == ErrorKind::Cancelled => Attempt::Cancelled,
            SessionEnd::Failed(_) => Attempt::Failed,
        },
        Err(e) => {
            p.say_all(&plugin_error_lines(&e));
            Attempt::Failed
        }
    }
}

/// Verifies the unchanged `values` again while `integration` holds an earlier
/// verification of them (of the account `held`). The attempt runs on a fresh instance,
/// since a plugin forgets what it verified when a new attempt starts: cancelling it
/// keeps the earlier one; otherwise the fresh instance, verified or not, takes over.
fn verify_again(
    p: &mut dyn Prompter,
    integration: &mut HostedPlugin,
    open: &Open<'_>,
    values: &FormValues,
    method: VerifyMethod,
    held: String,
) -> Result<Option<String>, CommandError> {
    let mut fresh = open()?;
    let attempt = verify(p, &mut fresh, values, method);
    if let Attempt::Cancelled = attempt {
        fresh.close()?;
        p.say(&format!(
            "The earlier verification of \"{held}\" still holds; Save & Close saves it."
        ));
        return Ok(Some(held));
    }
    std::mem::replace(integration, fresh).close()?;
    Ok(attempt.verified())
}

/// Asks every (basic or advanced) field, re-asking one until it validates; Esc goes
/// back one field, and at the first `Err(Back)` (what was typed stays in `values`).
fn fill(
    p: &mut dyn Prompter,
    integration: &HostedPlugin,
    form: &[FormField],
    values: &mut FormValues,
    saved: &FormValues,
    advanced: bool,
) -> Result<(), Back> {
    let fields: Vec<&FormField> = form.iter().filter(|f| f.advanced == advanced).collect();
    let mut i = 0;
    while let Some(field) = fields.get(i) {
        if ask(p, field, values, saved).is_err() {
            match i.checked_sub(1) {
                Some(previous) => i = previous,
                None => return Err(Back),
            }
            continue;
        }
        let errors = integration.validate(values).unwrap_or_default();
        let mine: Vec<_> = errors
            .iter()
            .filter(|e| e.field() == field.key.as_str())
            .collect();
        if mine.is_empty() {
            i += 1;
            continue;
        }
        for e in mine {
            p.say(&format!("  ✗ {}", e.message()));
            if let Some(h) = e.hint() {
                p.say(&format!("    fix: {h}"));
            }
        }
    }
    Ok(())
}

/// Asks `field`; a secret already in `values` may be kept, called "the saved one" only
/// when it is the one in `saved`.
fn ask(
    p: &mut dyn Prompter,
    field: &FormField,
    values: &mut FormValues,
    saved: &FormValues,
) -> Result<(), Back> {
    let key = field.key.as_str();
    let mut label = field.label.to_string();
    if !field.required {
        label.push_str(" (optional)");
    }
    match field.kind() {
        FieldKind::Secret => {
            if values.get(key).is_some_and(|v| !v.is_empty()) {
                let keep = if saved.get(key) == values.get(key) {
                    KEEP_SECRET
                } else {
                    KEEP_TYPED
                };
                let choices = [keep, NEW_SECRET, CLEAR_SECRET].map(String::from);
                match p.select(&format!("{label} (hidden)"), &choices, 0)? {
                    0 => return Ok(()),
                    2 => {
                        values.remove(key);
                        return Ok(());
                    }
                    _ => {}
                }
            }
            let typed = p.secret(&format!("{label} [hidden]"))?;
            if typed.is_empty() {
                values.remove(key);
            } else {
                values.set_secret(key, typed);
            }
        }
        FieldKind::Choice { options } => {
            let labels: Vec<String> = options.iter().map(|o| o.label.to_string()).collect();
            let current = values
                .get(key)
                .and_then(|v| options.iter().position(|o| o.value.as_str() == v))
                .unwrap_or(0);
            let i = p.select(&label, &labels, current)?;
            values.set(key, options[i].value.as_str());
        }
        _ => {
            if let Some(help) = field.help.as_ref().into_option() {
                p.say(&format!("  {help}"));
            }
            let typed = p.input(&label, values.get(key).unwrap_or(""))?;
            if typed.is_empty() {
                values.remove(key);
            } else {
                values.set(key, typed);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_entries_follow_the_methods_the_plugin_offers() {
        let labels = |methods| {
            verify_labels(methods)
                .into_iter()
                .map(|(label, _)| label)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            labels(VerifyMethod::before_1_2()),
            ["Verify", "Verify ▾ With Browser"]
        );
        assert_eq!(labels(vec![VerifyMethod::Direct]), ["Verify"]);
        assert_eq!(
            labels(vec![
                VerifyMethod::Browser { loopback: false },
                VerifyMethod::DeviceCode
            ]),
            ["Verify", "Verify ▾ With a Code"]
        );
    }
}

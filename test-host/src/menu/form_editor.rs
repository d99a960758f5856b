//! Add / Edit: fill the form with inline validation, then Verify, Save & Close or Close.

use atrs_host_sdk::{loader::IntegrationHandle, FieldKind, FormField, FormValues, VerifyMethod};

use super::{
    prompter::{Back, Prompter},
    verify_view::{drive_session, SessionEnd},
};
use crate::{error::CommandError, form_input::with_defaults, present::plugin_error_lines};

const VERIFY: &str = "Verify";
const VERIFY_BROWSER: &str = "Verify ▾ With Browser";
const EDIT: &str = "Edit fields";
const ADVANCED: &str = "Advanced settings";
const SAVE: &str = "Save & Close";
const CLOSE: &str = "Close";

/// Runs the account form for `integration`, starting from `initial`.
pub(super) fn edit_account(
    p: &mut dyn Prompter,
    integration: &mut IntegrationHandle,
    initial: FormValues,
) -> Result<(), CommandError> {
    let form = integration.describe()?;
    let mut values = with_defaults(initial, &form);
    if fill(p, integration, &form, &mut values, false).is_err() {
        return close(p, integration);
    }
    let mut verified = false;
    loop {
        let actions = [VERIFY, VERIFY_BROWSER, EDIT, ADVANCED, SAVE, CLOSE].map(String::from);
        let status = if verified { "verified" } else { "not verified" };
        let Ok(choice) = p.select(
            &format!("Account ({status})"),
            &actions,
            if verified { 4 } else { 0 },
        ) else {
            return close(p, integration);
        };
        match actions[choice].as_str() {
            VERIFY | VERIFY_BROWSER => {
                let method = if choice == 0 {
                    VerifyMethod::DeviceCode
                } else {
                    VerifyMethod::Browser { loopback: true }
                };
                verified = verify(p, integration, &values, method);
            }
            EDIT => {
                let _ = fill(p, integration, &form, &mut values, false);
                verified = false;
            }
            ADVANCED => {
                let _ = fill(p, integration, &form, &mut values, true);
                verified = false;
            }
            SAVE => match integration.save(&values) {
                Ok(()) => {
                    p.say("✓ Saved.");
                    return Ok(());
                }
                Err(e) => p.say_all(&plugin_error_lines(&e)),
            },
            _ => return close(p, integration),
        }
    }
}

fn close(p: &mut dyn Prompter, integration: &mut IntegrationHandle) -> Result<(), CommandError> {
    integration.close()?;
    p.say("Closed without saving.");
    Ok(())
}

fn verify(
    p: &mut dyn Prompter,
    integration: &mut IntegrationHandle,
    values: &FormValues,
    method: VerifyMethod,
) -> bool {
    match integration.start_verification(values, method) {
        Ok(session) => matches!(drive_session(p, &session), SessionEnd::Verified(_)),
        Err(e) => {
            p.say_all(&plugin_error_lines(&e));
            false
        }
    }
}

/// Asks every (basic or advanced) field, re-asking one until it validates.
fn fill(
    p: &mut dyn Prompter,
    integration: &IntegrationHandle,
    form: &[FormField],
    values: &mut FormValues,
    advanced: bool,
) -> Result<(), Back> {
    for field in form.iter().filter(|f| f.advanced == advanced) {
        loop {
            ask(p, field, values)?;
            let errors = integration.validate(values).unwrap_or_default();
            let mine: Vec<_> = errors
                .iter()
                .filter(|e| e.field() == field.key.as_str())
                .collect();
            if mine.is_empty() {
                break;
            }
            for e in mine {
                p.say(&format!("  ✗ {}", e.message()));
                if let Some(h) = e.hint() {
                    p.say(&format!("    fix: {h}"));
                }
            }
        }
    }
    Ok(())
}

fn ask(p: &mut dyn Prompter, field: &FormField, values: &mut FormValues) -> Result<(), Back> {
    let key = field.key.as_str();
    let mut label = field.label.to_string();
    if !field.required {
        label.push_str(" (optional)");
    }
    match field.kind() {
        FieldKind::Secret => {
            let had = values.get(key).is_some_and(|v| !v.is_empty());
            let prompt = if had {
                format!("{label} [hidden; Enter keeps it]")
            } else {
                format!("{label} [hidden]")
            };
            let typed = p.secret(&prompt)?;
            if !typed.is_empty() || !had {
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
            values.set(key, typed);
        }
    }
    Ok(())
}

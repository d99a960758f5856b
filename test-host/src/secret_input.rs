//! Secret form values (`--set-secret KEY`): from a hidden prompt on a terminal, else one
//! line of standard input each, so a secret never appears on the command line (the process
//! list, shell history, CI logs). `--set` refuses secret fields ([`crate::form_input`]).

use std::io::{BufRead, IsTerminal};

use atrs_host_sdk::{FormField, FormValues};

use crate::{
    error::CommandError,
    exit::Exit,
    menu::{Prompter, TerminalPrompter},
    services::Browser,
};

/// Reads the value of each `--set-secret KEY`: a hidden prompt on a terminal, else
/// one line of stdin each.
pub fn read_secrets(
    keys: &[String],
    form: &[FormField],
    values: &mut FormValues,
) -> Result<(), CommandError> {
    if keys.is_empty() {
        return Ok(());
    }
    let on_terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut prompter = on_terminal.then(|| TerminalPrompter::new(Browser::Disabled));
    let mut lines = std::io::stdin().lock().lines();
    for key in keys {
        let Some(field) = form.iter().find(|f| f.key.as_str() == key) else {
            return Err(CommandError::usage(format!(
                "The form has no field `{key}` for --set-secret."
            ))
            .with_hint("Run `atrs-test-host form PLUGIN` to see the field keys."));
        };
        let value = match prompter.as_mut() {
            Some(p) => p
                .secret(&format!("{} [hidden]", field.label))
                .map_err(|_| CommandError::new(Exit::CancelledOrTimedOut, "Cancelled at the secret prompt."))?,
            None => match lines.next() {
                Some(Ok(line)) => line.trim_end_matches('\r').to_owned(),
                _ => {
                    return Err(CommandError::usage(format!(
                        "Standard input ended before the value of --set-secret {key}."
                    ))
                    .with_hint("Give the value on standard input, one line per --set-secret, for example: printf '%s\\n' \"$SECRET\" | atrs-test-host add …"))
                }
            },
        };
        values.set_secret(key.as_str(), value);
    }
    Ok(())
}

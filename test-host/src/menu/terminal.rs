//! The real prompter: dialoguer on the terminal (stderr), Esc to go back.

use dialoguer::{theme::ColorfulTheme, Confirm, Input, Password, Select};

use super::prompter::{Back, Prompter};

/// Asks on the terminal.
pub struct TerminalPrompter {
    theme: ColorfulTheme,
}

impl TerminalPrompter {
    /// A prompter on the current terminal.
    pub fn new() -> Self {
        TerminalPrompter {
            theme: ColorfulTheme::default(),
        }
    }
}

impl Default for TerminalPrompter {
    fn default() -> Self {
        Self::new()
    }
}

impl Prompter for TerminalPrompter {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize, Back> {
        Select::with_theme(&self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(default.min(items.len().saturating_sub(1)))
            .interact_opt()
            .ok()
            .flatten()
            .ok_or(Back)
    }

    fn input(&mut self, prompt: &str, initial: &str) -> Result<String, Back> {
        Input::<String>::with_theme(&self.theme)
            .with_prompt(prompt)
            .with_initial_text(initial)
            .allow_empty(true)
            .interact_text()
            .map_err(|_| Back)
    }

    fn secret(&mut self, prompt: &str) -> Result<String, Back> {
        Password::with_theme(&self.theme)
            .with_prompt(prompt)
            .allow_empty_password(true)
            .interact()
            .map_err(|_| Back)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Back> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact_opt()
            .ok()
            .flatten()
            .ok_or(Back)
    }

    fn say(&mut self, text: &str) {
        eprintln!("{text}");
    }
}

//! The real prompter: dialoguer on the terminal (stderr), Esc to go back.

use std::{io::Write, time::Duration};

use crossterm::{
    event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers},
    terminal,
};
use dialoguer::{theme::ColorfulTheme, Confirm, Input, Password, Select};

use super::prompter::{Back, Key, Prompter};
use crate::services::Browser;

/// Asks on the terminal; while a verification waits, reads single keys in raw mode.
pub struct TerminalPrompter {
    theme: ColorfulTheme,
    browser: Browser,
    raw: bool,
    status_shown: bool,
}

impl TerminalPrompter {
    /// A prompter on the current terminal that opens URLs with `browser`.
    pub fn new(browser: Browser) -> Self {
        TerminalPrompter {
            theme: ColorfulTheme::default(),
            browser,
            raw: false,
            status_shown: false,
        }
    }

    fn clear_status(&mut self) {
        if self.status_shown {
            eprint!("\r\x1b[2K");
            self.status_shown = false;
        }
    }
}

impl Drop for TerminalPrompter {
    fn drop(&mut self) {
        self.end_wait();
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
        self.clear_status();
        // Raw mode needs an explicit carriage return at each line end.
        let text = if self.raw {
            text.replace('\n', "\r\n")
        } else {
            text.to_owned()
        };
        eprint!("{text}{}", if self.raw { "\r\n" } else { "\n" });
    }

    fn begin_wait(&mut self) {
        self.raw = terminal::enable_raw_mode().is_ok();
    }

    fn end_wait(&mut self) {
        self.clear_status();
        if self.raw {
            let _ = terminal::disable_raw_mode();
            self.raw = false;
        }
    }

    fn status(&mut self, line: &str) {
        eprint!("\r\x1b[2K{line}");
        let _ = std::io::stderr().flush();
        self.status_shown = true;
    }

    fn key(&mut self) -> Option<Key> {
        if !self.raw {
            return None;
        }
        while event::poll(Duration::ZERO).unwrap_or(false) {
            let Ok(Event::Key(KeyEvent {
                code,
                modifiers,
                kind: KeyEventKind::Press,
                ..
            })) = event::read()
            else {
                continue;
            };
            match code {
                KeyCode::Esc => return Some(Key::Cancel),
                KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => {
                    return Some(Key::Cancel)
                }
                KeyCode::Char('o' | 'O') => return Some(Key::Open),
                _ => {}
            }
        }
        None
    }

    fn open_url(&mut self, url: &str) -> Result<(), String> {
        self.browser.open(url).map_err(|e| e.to_string())
    }
}

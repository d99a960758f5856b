//! The questions the menu asks, behind a trait so tests can answer them.

use std::collections::VecDeque;

use crate::output::Output;

/// The user backed out (Esc) or input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Back;

/// A key that means something while a verification is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Open the sign-in page in the browser (`O`).
    Open,
    /// Cancel the verification (Esc or Ctrl-C).
    Cancel,
}

/// How the menu talks to a person.
pub trait Prompter {
    /// Picks one of `items`; `Err(Back)` on Esc.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize, Back>;
    /// Reads a line of text, starting from `initial`.
    fn input(&mut self, prompt: &str, initial: &str) -> Result<String, Back>;
    /// Reads a line of text like [`Prompter::input`] (starting empty), but the question
    /// ends by itself, `Ok(None)`, once `settled()` says the answer is no longer needed
    /// (checked before the question and between keys).
    fn input_until(
        &mut self,
        prompt: &str,
        settled: &mut dyn FnMut() -> bool,
    ) -> Result<Option<String>, Back> {
        if settled() {
            return Ok(None);
        }
        self.input(prompt, "").map(Some)
    }
    /// Reads a secret without echoing it; empty keeps the current value.
    fn secret(&mut self, prompt: &str) -> Result<String, Back>;
    /// Asks yes or no.
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Back>;
    /// Shows a line of text.
    fn say(&mut self, text: &str);
    /// Shows several lines of text.
    fn say_all(&mut self, lines: &[String]) {
        for line in lines {
            self.say(line);
        }
    }
    /// A waiting phase starts: from now until [`Prompter::end_wait`], keys are read
    /// with [`Prompter::key`] and a live line with [`Prompter::status`].
    fn begin_wait(&mut self) {}
    /// The waiting phase ends.
    fn end_wait(&mut self) {}
    /// Replaces the live status line (spinner, countdown).
    fn status(&mut self, _line: &str) {}
    /// A key pressed since the last call, if any (only while waiting).
    fn key(&mut self) -> Option<Key> {
        None
    }
    /// Opens `url` in the user's browser.
    fn open_url(&mut self, _url: &str) -> Result<(), String> {
        Err("this prompter cannot open a browser".into())
    }
    /// Whether [`Prompter::key`] reads a person's keys (so the menu may offer them).
    fn reads_keys(&self) -> bool {
        false
    }
    /// Whether [`Prompter::open_url`] may open a browser (not with `--no-browser`).
    fn can_open_browser(&self) -> bool {
        false
    }
    /// Whether the person asked to stop everything (Ctrl-C): from then on every
    /// question backs out, so the menu unwinds and the command ends as cancelled.
    fn interrupted(&self) -> bool {
        false
    }
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedAnswer {
    /// Pick the item whose text starts with this.
    Pick(String),
    /// Type this.
    Type(String),
    /// Answer yes or no.
    Yes(bool),
    /// Press Esc.
    Esc,
    /// Press a key while a verification waits.
    Press(Key),
}

/// A prompter that answers from a script and records what was shown: for tests, and
/// (narrating) for the self-playing demo.
#[derive(Debug, Default)]
pub struct ScriptedPrompter {
    answers: VecDeque<ScriptedAnswer>,
    narrate: Option<Output>,
    /// A question was asked after the answers ran out: the input ended.
    ran_out: bool,
    /// Every line shown and every prompt asked, in order.
    pub transcript: Vec<String>,
}

impl ScriptedPrompter {
    /// A prompter that gives `answers` in order, then backs out of everything.
    pub fn new(answers: impl IntoIterator<Item = ScriptedAnswer>) -> Self {
        ScriptedPrompter {
            answers: answers.into_iter().collect(),
            narrate: None,
            ran_out: false,
            transcript: Vec::new(),
        }
    }

    /// Like [`ScriptedPrompter::new`], but also prints each line and answer with
    /// `out` as a person would see them (on stderr under `--json`).
    pub fn narrating(answers: impl IntoIterator<Item = ScriptedAnswer>, out: Output) -> Self {
        ScriptedPrompter {
            narrate: Some(out),
            ..Self::new(answers)
        }
    }

    fn record(&mut self, line: String) {
        if let Some(out) = self.narrate {
            out.say(&line);
        }
        self.transcript.push(line);
    }

    fn next(&mut self, prompt: &str) -> ScriptedAnswer {
        let answer = self.answers.pop_front().unwrap_or_else(|| {
            self.ran_out = true;
            ScriptedAnswer::Esc
        });
        let shown = match &answer {
            ScriptedAnswer::Pick(p) => format!("? {prompt} › {p}"),
            ScriptedAnswer::Type(t) => format!("? {prompt} › {t}"),
            ScriptedAnswer::Yes(y) => format!("? {prompt} › {}", if *y { "yes" } else { "no" }),
            ScriptedAnswer::Esc | ScriptedAnswer::Press(_) => format!("? {prompt} › (Esc)"),
        };
        self.record(shown);
        answer
    }
}

impl Prompter for ScriptedPrompter {
    fn select(&mut self, prompt: &str, items: &[String], _default: usize) -> Result<usize, Back> {
        match self.next(&format!("{prompt} [{}]", items.join(" | "))) {
            ScriptedAnswer::Pick(prefix) => {
                let found = items.iter().position(|i| i.starts_with(&prefix));
                if found.is_none() {
                    self.record(format!("! no item starts with {prefix:?}"));
                }
                found.ok_or(Back)
            }
            _ => Err(Back),
        }
    }

    fn input(&mut self, prompt: &str, _initial: &str) -> Result<String, Back> {
        match self.next(prompt) {
            ScriptedAnswer::Type(text) => Ok(text),
            _ => Err(Back),
        }
    }

    fn secret(&mut self, prompt: &str) -> Result<String, Back> {
        match self.answers.pop_front().unwrap_or(ScriptedAnswer::Esc) {
            ScriptedAnswer::Type(text) => {
                self.record(format!(
                    "? {prompt} › {}",
                    if text.is_empty() { "" } else { "********" }
                ));
                Ok(text)
            }
            _ => Err(Back),
        }
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Back> {
        match self.next(prompt) {
            ScriptedAnswer::Yes(yes) => Ok(yes),
            ScriptedAnswer::Type(t) if t.is_empty() => Ok(default),
            _ => Err(Back),
        }
    }

    fn say(&mut self, text: &str) {
        self.record(text.to_owned());
    }

    fn key(&mut self) -> Option<Key> {
        match self.answers.front() {
            Some(ScriptedAnswer::Press(key)) => {
                let key = *key;
                self.answers.pop_front();
                self.record(format!("(presses {key:?})"));
                Some(key)
            }
            _ => None,
        }
    }

    fn open_url(&mut self, url: &str) -> Result<(), String> {
        self.record(format!("(opens {url} in the browser)"));
        Ok(())
    }

    /// A test script can press keys; the narrated demo cannot, so it offers none.
    fn reads_keys(&self) -> bool {
        self.narrate.is_none()
    }

    fn can_open_browser(&self) -> bool {
        self.narrate.is_none()
    }

    /// Once the script has run out, every question backs out, as after Ctrl-C, so a
    /// form that asks before leaving cannot ask forever.
    fn interrupted(&self) -> bool {
        self.ran_out
    }
}

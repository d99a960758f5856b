//! The questions the menu asks, behind a trait so tests can answer them.

use std::collections::VecDeque;

/// The user backed out (Esc) or input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Back;

/// How the menu talks to a person.
pub trait Prompter {
    /// Picks one of `items`; `Err(Back)` on Esc.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize, Back>;
    /// Reads a line of text, starting from `initial`.
    fn input(&mut self, prompt: &str, initial: &str) -> Result<String, Back>;
    /// Reads a secret without echoing it; empty keeps the current value.
    fn secret(&mut self, prompt: &str) -> Result<String, Back>;
    /// Asks yes or no.
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Back>;
    /// Shows a line of text.
    fn say(&mut self, text: &str);
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Pick the item whose text starts with this.
    Pick(String),
    /// Type this.
    Type(String),
    /// Answer yes or no.
    Yes(bool),
    /// Press Esc.
    Esc,
}

/// A prompter that answers from a script and records what was shown (for tests).
#[derive(Debug, Default)]
pub struct ScriptedPrompter {
    answers: VecDeque<Answer>,
    /// Every line shown and every prompt asked, in order.
    pub transcript: Vec<String>,
}

impl ScriptedPrompter {
    /// A prompter that gives `answers` in order, then backs out of everything.
    pub fn new(answers: impl IntoIterator<Item = Answer>) -> Self {
        ScriptedPrompter {
            answers: answers.into_iter().collect(),
            transcript: Vec::new(),
        }
    }

    fn next(&mut self, prompt: &str) -> Answer {
        let answer = self.answers.pop_front().unwrap_or(Answer::Esc);
        self.transcript.push(format!("? {prompt} -> {answer:?}"));
        answer
    }
}

impl Prompter for ScriptedPrompter {
    fn select(&mut self, prompt: &str, items: &[String], _default: usize) -> Result<usize, Back> {
        match self.next(&format!("{prompt} {items:?}")) {
            Answer::Pick(prefix) => items
                .iter()
                .position(|i| i.starts_with(&prefix))
                .ok_or(Back)
                .inspect_err(|_| {
                    self.transcript
                        .push(format!("! no item starts with {prefix:?}"))
                }),
            _ => Err(Back),
        }
    }

    fn input(&mut self, prompt: &str, _initial: &str) -> Result<String, Back> {
        match self.next(prompt) {
            Answer::Type(text) => Ok(text),
            _ => Err(Back),
        }
    }

    fn secret(&mut self, prompt: &str) -> Result<String, Back> {
        match self.answers.pop_front().unwrap_or(Answer::Esc) {
            Answer::Type(text) => {
                self.transcript.push(format!("? {prompt} -> <secret>"));
                Ok(text)
            }
            _ => Err(Back),
        }
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Back> {
        match self.next(prompt) {
            Answer::Yes(yes) => Ok(yes),
            Answer::Type(t) if t.is_empty() => Ok(default),
            _ => Err(Back),
        }
    }

    fn say(&mut self, text: &str) {
        self.transcript.push(text.to_owned());
    }
}

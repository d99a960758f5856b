//! What a command prints: human text, or (with `--json`) JSON lines on stdout.
//!
//! With `--json`, stdout carries one JSON object per line and nothing else; the last
//! line is the result (`"type": "result"`). Human text then goes to stderr.
//!
//! Everything printed here loses its control characters first
//! ([`crate::terminal_text`]): plugin and server text never drives the terminal.

use std::io::Write;

use serde_json::{json, Value};

use crate::{
    error::CommandError,
    symbols,
    terminal_text::{printable, printable_json},
};

/// Human text as it reaches a person: without control characters, its symbols as the
/// terminal's locale can show them, and its state marks coloured when `colour`.
fn for_person(text: &str, colour: bool) -> String {
    let text = printable(text);
    let text = symbols::for_terminal(&text);
    match colour {
        true => symbols::colour_marks(&text),
        false => text.into_owned(),
    }
}

/// The printer for one command run.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// A printer; `json` selects JSON lines.
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Whether stdout is JSON lines.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Human text: stdout normally, stderr under `--json`.
    pub fn say(&self, text: impl AsRef<str>) {
        let colour = match self.json {
            true => symbols::colour_on_stderr(),
            false => symbols::colour_on_stdout(),
        };
        let line = format!("{}\n", for_person(text.as_ref(), colour));
        if self.json {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        } else {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }

    /// Human text that is never part of the result (progress, prompts): always stderr.
    pub fn note(&self, text: impl AsRef<str>) {
        let text = for_person(text.as_ref(), symbols::colour_on_stderr());
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// An event line (JSON mode only): `{"type": kind, ...fields}`.
    pub fn event(&self, kind: &str, mut fields: Value) {
        if self.json {
            fields["type"] = json!(kind);
            self.line(&fields);
        }
    }

    /// The result line (JSON mode only): `{"type": "result", "ok": true, ...fields}`.
    pub fn result(&self, command: &str, mut fields: Value) {
        if self.json {
            fields["type"] = json!("result");
            fields["ok"] = json!(true);
            fields["command"] = json!(command);
            self.line(&fields);
        }
    }

    /// A failure: a result line with `"ok": false` under `--json`, else text on stderr.
    pub fn failure(&self, command: &str, error: &CommandError) {
        if self.json {
            self.line(&json!({"type": "result", "ok": false, "command": command, "error": error.to_json()}));
            return;
        }
        let mut text = String::new();
        for f in &error.field_errors {
            text.push_str(&format!("  {}: {}\n", f.field(), f.message()));
            if let Some(h) = f.hint() {
                text.push_str(&format!("      fix: {h}\n"));
            }
        }
        text.push_str(&format!("error: {}\n", error.message));
        if let Some(p) = &error.plugin_error {
            let ids: Vec<String> = [
                p.provider_code().map(|c| format!("code {c}")),
                p.trace_id().map(|t| format!("trace {t}")),
                p.correlation_id().map(|c| format!("correlation {c}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !ids.is_empty() {
                text.push_str(&format!("  ({})\n", ids.join(", ")));
            }
        }
        if let Some(h) = &error.hint {
            text.push_str(&format!("  fix: {h}\n"));
        }
        let text = for_person(&text, symbols::colour_on_stderr());
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    fn line(&self, value: &Value) {
        let mut value = value.clone();
        printable_json(&mut value);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }
}

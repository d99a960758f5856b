//! # atrs-conformance — the checks behind `atrs-test-host check`, for an author's
//! `cargo test`
//!
//! The library is loaded through the SDK's loader and driven the way hosts drive it,
//! and each check reports whether it passed, and if not, why and how to fix it. In a
//! plugin crate, with `atrs-conformance` as a dev-dependency:
//!
//! ```no_run
//! #[test]
//! fn the_plugin_conforms() {
//!     // Build the cdylib first (`cargo build`), then point the checks at it.
//!     let library = std::path::Path::new("target/debug/libmy_plugin.so");
//!     atrs_conformance::run(&atrs_conformance::Options::new(library)).assert_all_passed();
//! }
//! ```
//!
//! Checks, by module: [`manifest`] (loads, manifest complete); [`form`] (keys, secrets,
//! validation of empty required fields); [`lifecycle`] (a verification starts and is
//! cancelled promptly, close releases everything); [`odd_input`] (no call panics or
//! blocks on empty or absurd input). Every call is bounded by the call timeout, so a
//! plugin that blocks fails a check instead of hanging the run.

pub mod form;
pub mod lifecycle;
pub mod manifest;
pub mod odd_input;

use std::{path::PathBuf, time::Duration};

use atrs_host_sdk::{
    loader::{IntegrationHandle, PluginLibrary},
    testing::MemoryHost,
    FieldKind, FormField, FormValues, Manifest, PluginError,
};
use serde_json::{json, Value};

/// What `check` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The library to check.
    pub library: PathBuf,
    /// Values to use instead of the ones the checks make up (`--set KEY=VALUE`).
    pub values: Vec<(String, String)>,
    /// How long one call may take before it counts as blocked.
    pub call_timeout: Duration,
}

impl Options {
    /// Checks `library` with made-up values and a 5-second bound on each call.
    pub fn new(library: impl Into<PathBuf>) -> Self {
        Options {
            library: library.into(),
            values: Vec::new(),
            call_timeout: Duration::from_secs(5),
        }
    }

    /// The same options, using `value` for the form field `key` in the checks that
    /// fill in the form (a test server's address, say).
    pub fn with_value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.push((key.into(), value.into()));
        self
    }
}

/// The result of one check.
#[derive(Debug, Clone)]
pub struct Check {
    /// A stable machine name (`manifest`, `form_keys`, …).
    pub id: &'static str,
    /// What is checked, as a short phrase.
    pub title: &'static str,
    /// Passed or failed.
    pub outcome: Outcome,
}

/// Whether a check passed.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It passed; what was seen.
    Pass(String),
    /// It failed: why, and how to fix it.
    Fail {
        /// What is wrong.
        why: String,
        /// How to fix it.
        fix: String,
    },
}

impl Check {
    fn pass(id: &'static str, title: &'static str, detail: impl Into<String>) -> Check {
        Check {
            id,
            title,
            outcome: Outcome::Pass(detail.into()),
        }
    }

    fn fail(
        id: &'static str,
        title: &'static str,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            id,
            title,
            outcome: Outcome::Fail {
                why: why.into(),
                fix: fix.into(),
            },
        }
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Pass(_))
    }

    /// The check as JSON: id, title, passed, and detail or why and fix.
    pub fn to_json(&self) -> Value {
        match &self.outcome {
            Outcome::Pass(detail) => {
                json!({"id": self.id, "title": self.title, "passed": true, "detail": detail})
            }
            Outcome::Fail { why, fix } => {
                json!({"id": self.id, "title": self.title, "passed": false, "why": why, "fix": fix})
            }
        }
    }
}

/// Every check of one run, in order.
#[derive(Debug)]
pub struct Report {
    /// The library checked.
    pub library: PathBuf,
    /// Its manifest, when it loaded.
    pub manifest: Option<Manifest>,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed()).count()
    }

    /// Panics with every failed check, its why and its fix: for `cargo test`.
    #[track_caller]
    pub fn assert_all_passed(&self) {
        if self.failed() > 0 {
            panic!("{self}");
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: {} of {} checks failed",
            self.library.display(),
            self.failed(),
            self.checks.len()
        )?;
        for check in &self.checks {
            match &check.outcome {
                Outcome::Pass(seen) => writeln!(f, "  pass  {}: {seen}", check.title)?,
                Outcome::Fail { why, fix } => {
                    writeln!(f, "  FAIL  {}: {why}\n        fix: {fix}", check.title)?
                }
            }
        }
        Ok(())
    }
}

/// Runs every check on `options.library`.
pub fn run(options: &Options) -> Report {
    let mut checks = Vec::new();
    let library = match manifest::load(options, &mut checks) {
        Some(library) => library,
        None => {
            return Report {
                library: options.library.clone(),
                manifest: None,
                checks,
            }
        }
    };
    let probe = Probe {
        library: &library,
        options,
    };
    checks.push(manifest::complete(library.manifest()));
    match probe.open().and_then(|i| i.describe_unchecked()) {
        Ok(fields) => {
            checks.push(form::keys(&fields));
            checks.push(form::secrets(&fields));
            checks.push(form::validation(&probe, &fields));
            checks.push(lifecycle::start_and_cancel(&probe, &fields));
            checks.push(lifecycle::close(&probe, &fields));
            checks.push(odd_input::no_panics(&probe, &fields));
        }
        Err(e) => checks.push(Check::fail(
            "form_keys",
            form::KEYS_TITLE,
            format!("describe failed: {}", e.message()),
            "Make `describe` return the form's fields; it must never fail or panic.",
        )),
    }
    Report {
        library: options.library.clone(),
        manifest: Some(library.manifest().clone()),
        checks,
    }
}

/// What every check needs: the loaded library and the options.
pub struct Probe<'a> {
    library: &'a PluginLibrary,
    options: &'a Options,
}

impl Probe<'_> {
    /// A fresh instance over an in-memory host, its calls bounded by the call timeout.
    pub fn open(&self) -> Result<IntegrationHandle, PluginError> {
        let mut integration = self.library.instantiate(MemoryHost::new())?;
        integration.set_call_timeout(Some(self.options.call_timeout));
        Ok(integration)
    }

    /// Values that should pass validation: `--set` values first, then each field's
    /// default, first option, or placeholder, else a made-up word.
    pub fn sample_values(&self, fields: &[FormField]) -> FormValues {
        let mut values = FormValues::new();
        for field in fields {
            let key = field.key.as_str();
            let given = self.options.values.iter().find(|(k, _)| k == key);
            let value = match given {
                Some((_, v)) => v.clone(),
                None => made_up_value(field),
            };
            if field.is_secret() {
                values.set_secret(key, value);
            } else {
                values.set(key, value);
            }
        }
        for (key, value) in &self.options.values {
            if values.get(key).is_none() {
                values.set(key.as_str(), value.as_str());
            }
        }
        values
    }

    /// The call timeout.
    pub fn call_timeout(&self) -> Duration {
        self.options.call_timeout
    }
}

fn made_up_value(field: &FormField) -> String {
    if let Some(default) = field.default.as_ref().into_option() {
        return default.to_string();
    }
    match field.kind() {
        FieldKind::Choice { options } => options
            .first()
            .map(|o| o.value.to_string())
            .unwrap_or_default(),
        FieldKind::Secret if !field.required => String::new(),
        FieldKind::Secret => "conformance-secret".into(),
        // An optional field is left empty, as a person would leave it first; a
        // placeholder is an example, used only where something must be typed.
        _ if !field.required => String::new(),
        _ => match field.placeholder.as_ref().into_option() {
            Some(p) => p.to_string(),
            None => "conformance".into(),
        },
    }
}

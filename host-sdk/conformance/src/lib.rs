//! # atrs-conformance — the checks behind `atrs-test-host check`, for an author's
//! `cargo test`
//!
//! The library is loaded through the SDK's loader and driven the way hosts drive it,
//! and each check reports whether it passed (and what it saw), failed (why, and how to
//! fix it) or did not run (which values to give). In a plugin crate, with
//! `atrs-conformance` as a dev-dependency, in `tests/conformance.rs`:
//!
//! ```no_run
//! use atrs_conformance::{build_this_cdylib, run, Options};
//!
//! #[test]
//! fn the_plugin_conforms() {
//!     // Builds this package's cdylib now (cargo does not rebuild it for its own
//!     // tests) and finds the file, wherever the target folder, profile and system put it.
//!     let library = build_this_cdylib().expect("the plugin builds");
//!     run(&Options::new(library)).assert_no_failures();
//! }
//! ```
//!
//! Never write the library's path by hand (`target/debug/libmy_plugin.so` is wrong in a
//! workspace, with `CARGO_TARGET_DIR`, under `--release` and off Linux, and may be a
//! stale build): [`build_this_cdylib`] runs `cargo build` for the package whose tests
//! run, with their profile, and returns what cargo built; [`CdylibBuild`] names
//! another package (a thin cdylib crate over a library crate), a profile or cargo
//! arguments.
//!
//! ## Checks that need real values
//!
//! Starting a verification reaches whatever the form's values point at, so the checks
//! that start one never make values up: they use [`Options::with_value`]
//! (`--set KEY=VALUE` on the command line), the fields' defaults, a choice's first
//! option, empty optional fields and a made-up account name. When a required field has
//! none of these, they report [`Outcome::NotRun`] with the keys to give, instead of
//! failing or contacting placeholder hosts. [`Report::assert_no_failures`] lets them
//! pass unrun; [`Report::assert_all_passed`] (like `check --strict`, for CI) counts
//! them as failures — give a local test server's values with [`Options::with_value`]:
//!
//! ```no_run
//! # let library = atrs_conformance::build_this_cdylib().unwrap();
//! let options = atrs_conformance::Options::new(library)
//!     .with_value("endpoint", "http://127.0.0.1:8765/hook")
//!     .with_value("shared_secret", "test-secret");
//! atrs_conformance::run(&options).assert_all_passed();
//! ```
//!
//! Checks, by module: [`manifest`] (loads, manifest complete); [`form`] (keys, secrets,
//! validation of empty required fields); [`lifecycle`] (a verification starts and is
//! cancelled promptly, close releases everything); [`odd_input`] (no call panics or
//! blocks on empty or absurd input). Every call is bounded by the call timeout, so a
//! plugin that blocks fails a check instead of hanging the run.

pub mod cdylib;
pub mod form;
pub mod lifecycle;
pub mod manifest;
pub mod odd_input;

use std::{path::PathBuf, time::Duration};

use atrs_host_sdk::{
    loader::{IntegrationHandle, PluginLibrary},
    testing::MemoryHost,
    FieldKind, FormField, FormValues, Manifest, PluginError, ACCOUNT_NAME,
};
use serde_json::{json, Value};

pub use cdylib::{build_this_cdylib, BuildError, CdylibBuild};

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

/// Whether a check passed, failed, or could not run.
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
    /// It did not run: it needs real values (a verification reaches whatever the values
    /// point at, so the check never makes them up) and these were not given.
    NotRun {
        /// Why it did not run.
        why: String,
        /// The form keys to give values for (`--set KEY=VALUE`, or
        /// [`Options::with_value`] in `cargo test`).
        needs: Vec<String>,
    },
}

impl Outcome {
    /// The outcome's stable machine name: `passed`, `failed` or `not_run`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Pass(_) => "passed",
            Outcome::Fail { .. } => "failed",
            Outcome::NotRun { .. } => "not_run",
        }
    }
}

/// What to give so that checks needing `keys` run: `--set KEY=VALUE` for each.
pub fn give_values(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("--set {k}=VALUE"))
        .collect::<Vec<_>>()
        .join(" ")
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

    fn skipped(id: &'static str, title: &'static str, missing: Missing) -> Check {
        Check {
            id,
            title,
            outcome: Outcome::NotRun {
                why: missing.why,
                needs: missing.needs,
            },
        }
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Pass(_))
    }

    /// Whether it failed (a check that did not run has not failed).
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail { .. })
    }

    /// Whether it did not run for want of real values.
    pub fn did_not_run(&self) -> bool {
        matches!(self.outcome, Outcome::NotRun { .. })
    }

    /// The check as JSON: id, title, `outcome` (`passed`, `failed` or `not_run`),
    /// `passed` (true only when it ran and passed), and `detail`; or `why` and `fix`; or
    /// `why`, `needs` (the keys to give) and `give` (the `--set` arguments).
    pub fn to_json(&self) -> Value {
        let (id, title, outcome) = (self.id, self.title, self.outcome.name());
        match &self.outcome {
            Outcome::Pass(detail) => json!({
                "id": id, "title": title, "outcome": outcome, "passed": true, "detail": detail,
            }),
            Outcome::Fail { why, fix } => json!({
                "id": id, "title": title, "outcome": outcome, "passed": false, "why": why, "fix": fix,
            }),
            Outcome::NotRun { why, needs } => json!({
                "id": id, "title": title, "outcome": outcome, "passed": false, "why": why,
                "needs": needs, "give": give_values(needs),
            }),
        }
    }
}

/// Why a check that needs real values cannot run, and the keys it needs.
#[derive(Debug, Clone)]
pub struct Missing {
    /// Why not, as a sentence.
    pub why: String,
    /// The form keys to give values for.
    pub needs: Vec<String>,
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
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed()).count()
    }

    /// How many checks failed: what the plugin gets wrong.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| c.failed()).count()
    }

    /// How many checks did not run for want of real values.
    pub fn not_run(&self) -> usize {
        self.checks.iter().filter(|c| c.did_not_run()).count()
    }

    /// Every key the checks that did not run need a value for, once each, in form order.
    pub fn needs(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        for check in &self.checks {
            if let Outcome::NotRun { needs, .. } = &check.outcome {
                for key in needs {
                    if !keys.contains(key) {
                        keys.push(key.clone());
                    }
                }
            }
        }
        keys
    }

    /// Whether the run counts as a success: nothing failed and, when `strict`, every
    /// check ran (for CI, where a check that did not run must not pass unnoticed).
    pub fn ok(&self, strict: bool) -> bool {
        self.failed() == 0 && (!strict || self.not_run() == 0)
    }

    /// Panics unless every check ran and passed: with every failed check (its why and
    /// fix) and every check that did not run (the values it needs). For `cargo test`
    /// with the values of a test server ([`Options::with_value`]).
    #[track_caller]
    pub fn assert_all_passed(&self) {
        if !self.ok(true) {
            panic!("{self}");
        }
    }

    /// Panics only when a check failed; checks that did not run for want of values do
    /// not count (they are listed when something fails). For `cargo test` without a
    /// test server.
    #[track_caller]
    pub fn assert_no_failures(&self) {
        if !self.ok(false) {
            panic!("{self}");
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} of {} checks failed",
            self.library.display(),
            self.failed(),
            self.checks.len()
        )?;
        match self.not_run() {
            0 => writeln!(f)?,
            n => writeln!(f, ", {n} not run")?,
        }
        for check in &self.checks {
            match &check.outcome {
                Outcome::Pass(seen) => writeln!(f, "  pass     {}: {seen}", check.title)?,
                Outcome::Fail { why, fix } => writeln!(
                    f,
                    "  FAIL     {}: {why}\n           fix: {fix}",
                    check.title
                )?,
                Outcome::NotRun { why, needs } => writeln!(
                    f,
                    "  not run  {}: {why}\n           give: {} (Options::with_value in cargo test)",
                    check.title,
                    give_values(needs)
                )?,
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

    /// Values for the form checks, which never start a verification: `--set` values
    /// first, then each field's default, first option, or placeholder, else a made-up
    /// word. A verification uses [`Probe::live_values`] instead.
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

    /// Values a verification may be started with. A verification reaches whatever its
    /// values point at, so none is made up: `--set` values, each field's default, a
    /// choice's first option, empty optional fields, and for the account name (a label
    /// that reaches nothing) a made-up one. Every other required field must be given;
    /// [`Missing`] names those that were not.
    pub fn live_values(&self, fields: &[FormField]) -> Result<FormValues, Missing> {
        live_values(&self.options.values, fields)
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

/// [`Probe::live_values`] for the values `given` (`--set`).
fn live_values(given: &[(String, String)], fields: &[FormField]) -> Result<FormValues, Missing> {
    let given_value = |key: &str| {
        given
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let needs: Vec<String> = fields
        .iter()
        .filter(|f| given_value(f.key.as_str()).is_none() && live_value(f).is_none())
        .map(|f| f.key.to_string())
        .collect();
    if !needs.is_empty() {
        return Err(Missing {
            why: format!(
                "it starts a verification, which needs real values for {}: made-up ones would be refused, or reach hosts that are not yours",
                quoted_keys(&needs)
            ),
            needs,
        });
    }
    let mut values = FormValues::new();
    for field in fields {
        let key = field.key.as_str();
        let value = match given_value(key) {
            Some(value) => value.to_owned(),
            None => live_value(field).unwrap_or_default(),
        };
        if field.is_secret() {
            values.set_secret(key, value);
        } else {
            values.set(key, value);
        }
    }
    for (key, value) in given {
        if values.get(key).is_none() {
            values.set(key.as_str(), value.as_str());
        }
    }
    Ok(values)
}

/// The value a verification may use for `field` when none was given: its default, a
/// choice's first option, empty when optional, a name for the account name; `None`
/// when only a real value will do.
fn live_value(field: &FormField) -> Option<String> {
    if let Some(default) = field.default.as_ref().into_option() {
        return Some(default.to_string());
    }
    if let FieldKind::Choice { options } = field.kind() {
        if let Some(first) = options.first() {
            return Some(first.value.to_string());
        }
    }
    if !field.required {
        return Some(String::new());
    }
    (field.key.as_str() == ACCOUNT_NAME).then(|| "conformance".to_owned())
}

/// `keys` as `` `a`, `b` ``, for messages.
fn quoted_keys(keys: &[String]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office_like_form() -> Vec<FormField> {
        vec![
            FormField::new(ACCOUNT_NAME, "Account name", FieldKind::Text).required(),
            FormField::new("tenant_id", "Tenant", FieldKind::Text)
                .required()
                .with_placeholder("00000000-0000-0000-0000-000000000000 or contoso.com"),
            FormField::new("client_secret", "Secret", FieldKind::Secret).required(),
            FormField::new("authority", "Authority", FieldKind::Text)
                .required()
                .with_default("https://login.example.invalid"),
            FormField::new("cloud", "Cloud", FieldKind::choice([("global", "Global")])).required(),
            FormField::new("ca_file", "CA file", FieldKind::Text),
        ]
    }

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn live_values_never_use_placeholders_or_made_up_secrets() {
        let missing = live_values(&[], &office_like_form()).unwrap_err();
        assert_eq!(missing.needs, ["tenant_id", "client_secret"]);
        assert!(
            missing.why.contains("`tenant_id`, `client_secret`"),
            "{}",
            missing.why
        );
        let partly = live_values(&given(&[("tenant_id", "contoso.com")]), &office_like_form());
        assert_eq!(partly.unwrap_err().needs, ["client_secret"]);
    }

    #[test]
    fn live_values_take_given_values_defaults_first_options_and_a_made_up_name() {
        let values = live_values(
            &given(&[
                ("tenant_id", "contoso.com"),
                ("client_secret", "s3cret"),
                ("extra", "kept"),
            ]),
            &office_like_form(),
        )
        .unwrap();
        assert_eq!(values.get(ACCOUNT_NAME), Some("conformance"));
        assert_eq!(values.get("tenant_id"), Some("contoso.com"));
        assert_eq!(values.get("client_secret"), Some("s3cret"));
        assert!(values
            .iter()
            .any(|v| v.key() == "client_secret" && v.is_secret()));
        assert_eq!(
            values.get("authority"),
            Some("https://login.example.invalid")
        );
        assert_eq!(values.get("cloud"), Some("global"));
        assert_eq!(values.get("ca_file"), Some(""));
        assert_eq!(values.get("extra"), Some("kept"));
        // The made-up values of the form checks still use the placeholder.
        assert_eq!(
            made_up_value(&office_like_form()[1]),
            "00000000-0000-0000-0000-000000000000 or contoso.com"
        );
    }

    fn report(outcomes: Vec<Outcome>) -> Report {
        Report {
            library: PathBuf::from("/t/libx.so"),
            manifest: None,
            checks: outcomes
                .into_iter()
                .map(|outcome| Check {
                    id: "id",
                    title: "a check",
                    outcome,
                })
                .collect(),
        }
    }

    fn not_run(needs: &[&str]) -> Outcome {
        Outcome::NotRun {
            why: "it needs real values".into(),
            needs: needs.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn a_check_that_did_not_run_fails_only_a_strict_run() {
        let r = report(vec![
            Outcome::Pass("seen".into()),
            not_run(&["client_id", "tenant_id"]),
            not_run(&["tenant_id"]),
        ]);
        assert_eq!((r.passed(), r.failed(), r.not_run()), (1, 0, 2));
        assert!(r.ok(false) && !r.ok(true));
        assert_eq!(r.needs(), ["client_id", "tenant_id"]);
        r.assert_no_failures();
        let panic = std::panic::catch_unwind(|| r.assert_all_passed()).unwrap_err();
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            text.contains("0 of 3 checks failed, 2 not run")
                && text.contains("give: --set client_id=VALUE --set tenant_id=VALUE"),
            "{text}"
        );

        let failing = report(vec![
            Outcome::Fail {
                why: "broken".into(),
                fix: "mend it".into(),
            },
            not_run(&["x"]),
        ]);
        assert!(!failing.ok(false));
        let panic = std::panic::catch_unwind(|| failing.assert_no_failures()).unwrap_err();
        let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            text.contains("FAIL") && text.contains("fix: mend it"),
            "{text}"
        );
    }

    #[test]
    fn json_carries_each_outcome() {
        let r = report(vec![
            Outcome::Pass("seen".into()),
            Outcome::Fail {
                why: "broken".into(),
                fix: "mend it".into(),
            },
            not_run(&["tenant_id"]),
        ]);
        let json: Vec<Value> = r.checks.iter().map(Check::to_json).collect();
        assert_eq!(json[0]["outcome"], "passed");
        assert_eq!(json[0]["passed"], true);
        assert_eq!(json[1]["outcome"], "failed");
        assert_eq!(json[1]["fix"], "mend it");
        assert_eq!(json[2]["outcome"], "not_run");
        assert_eq!(json[2]["passed"], false);
        assert_eq!(json[2]["needs"], json!(["tenant_id"]));
        assert_eq!(json[2]["give"], "--set tenant_id=VALUE");
    }
}

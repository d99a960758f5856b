//! The compatibility matrix's probe host: one source, built against interface 1.0 and
//! 1.1. `compat-host-1-x <library>` loads the library with that SDK's loader, drives
//! every call once, and prints one tab-separated line per step on stdout:
//!
//! ```text
//! host     1.1.0
//! loaded   probe 1.0.0 sdk 1.0.0        (or: refused <code> <message>)
//! form     account_name:text token:secret region:choice homepage:text(unknown kind)
//! call     describe ok                  (or: call <name> <error kind>: <message>)
//! default  help_url                     (a 1.1 call the plugin lacks gave its default)
//! done     10 calls  10 ok  0 internal
//! ```
//!
//! A call that answers with a typed error still works across the boundary; only an
//! internal error (a panic, a timeout) counts as broken. It exits 0 when nothing broke,
//! 3 when the library was refused, 1 otherwise.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use atrs_host_sdk::{
    loader::{self, IntegrationHandle},
    testing::MemoryHost,
    ErrorKind, FieldKind, FormField, FormValues, PluginError, SessionState, VerifyMethod,
    INTERFACE_VERSION,
};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: compat-host <library>");
        return ExitCode::from(2);
    };
    println!("host\t{INTERFACE_VERSION}");
    let library = match loader::load_file(&path) {
        Ok(library) => library,
        Err(refusal) => {
            println!("refused\t{}\t{refusal}", refusal.code());
            return ExitCode::from(3);
        }
    };
    let m = library.manifest();
    println!(
        "loaded\t{} {} sdk {}",
        m.id, m.plugin_version, m.sdk_version
    );
    let mut calls = Calls::default();
    let memory = MemoryHost::new();
    match library.instantiate(memory) {
        Ok(mut integration) => drive(&mut integration, &mut calls),
        Err(e) => {
            calls.count += 1;
            calls.failed("instantiate", &e);
        }
    }
    println!(
        "done\t{} calls\t{} ok\t{} internal",
        calls.count, calls.ok, calls.internal
    );
    if calls.internal == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Counts the calls made, answered with success, and broken.
#[derive(Default)]
struct Calls {
    count: usize,
    ok: usize,
    internal: usize,
}

impl Calls {
    fn record<T>(&mut self, name: &str, result: Result<T, PluginError>) -> Option<T> {
        self.count += 1;
        match result {
            Ok(value) => {
                self.ok += 1;
                println!("call\t{name}\tok");
                Some(value)
            }
            Err(e) => {
                self.failed(name, &e);
                None
            }
        }
    }

    fn failed(&mut self, name: &str, e: &PluginError) {
        if e.kind() == ErrorKind::Internal {
            self.internal += 1;
        }
        println!("call\t{name}\t{}: {}", e.kind(), e.message());
    }
}

fn drive(integration: &mut IntegrationHandle, calls: &mut Calls) {
    if let Some(form) = calls.record("describe", integration.describe()) {
        let shown: Vec<String> = form
            .iter()
            .map(|f| format!("{}:{}", f.key, kind_name(f)))
            .collect();
        println!("form\t{}", shown.join(" "));
    }
    if let Some(errors) = calls.record("validate", integration.validate(&FormValues::new())) {
        let fields: Vec<&str> = errors.iter().map(|e| e.field()).collect();
        println!("validate\tempty form: errors for {}", fields.join(","));
    }
    let values = FormValues::new()
        .with("account_name", "Matrix")
        .with("region", "south");
    if let Some(session) = calls.record(
        "start_verification",
        integration.start_verification(&values, VerifyMethod::DeviceCode),
    ) {
        let state = session.poll(Duration::from_secs(5));
        let outcome = match &state {
            SessionState::Verified(a) => Ok(format!("verified {}", a.account_name)),
            SessionState::Failed(e) => Err((**e).clone()),
            other => Ok(format!("still {other:?}")),
        };
        if let Some(outcome) = calls.record("poll", outcome) {
            println!("verify\t{outcome}");
        }
        session.cancel();
    }
    calls.record("save", integration.save(&values));
    if let Some(loaded) = calls.record("load_account", integration.load_account("Matrix")) {
        println!(
            "loaded_account\tregion={}",
            loaded.get("region").unwrap_or("?")
        );
    }
    if let Some(token) = calls.record("access_token", integration.access_token("Matrix")) {
        println!("token\texpires_at={}", token.expires_at);
    }
    calls.record("remove_account", integration.remove_account("Matrix"));
    ask_what_1_1_added(integration, calls);
    calls.record("close", integration.close());
}

/// Under interface 1.1: the appended call. A 1.0 plugin lacks it, so the SDK answers
/// with the documented default (`None`).
#[cfg(feature = "interface_1_1")]
fn ask_what_1_1_added(integration: &IntegrationHandle, calls: &mut Calls) {
    let url = calls.record("help_url", Ok(integration.help_url()));
    match url.flatten() {
        Some(url) => println!("help_url\t{url}"),
        None => println!("default\thelp_url"),
    }
}

/// Under interface 1.0 there is nothing more to ask.
#[cfg(not(feature = "interface_1_1"))]
fn ask_what_1_1_added(_: &IntegrationHandle, _: &mut Calls) {}

/// The kind as this host shows it; one it does not know falls back to text.
fn kind_name(field: &FormField) -> &'static str {
    if !field.kind_is_known() {
        return "text(unknown kind)";
    }
    match field.kind() {
        FieldKind::Secret => "secret",
        FieldKind::Choice { .. } => "choice",
        #[cfg(feature = "interface_1_1")]
        FieldKind::Url => "url",
        _ => "text",
    }
}

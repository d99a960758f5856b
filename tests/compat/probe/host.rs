//! The compatibility matrix's probe host: one source, built against interface 1.0,
//! 1.1, 1.2 and the stand-in 1.3. `compat-host-1-x <library>` loads the library with that
//! SDK's loader, drives every call its interface has once, and prints one
//! tab-separated line per step on stdout:
//!
//! ```text
//! host                 1.2.0
//! loaded               probe 1.0.0 sdk 1.0.0  (or: refused <code> <message>)
//! form                 account_name:text token:secret region:choice homepage:text(unknown kind)
//! call                 describe ok            (or: call <name> <error kind>: <message>)
//! ended_before_cancel  true                   (1.2 hosts: the session ended before the cancel)
//! stored               region=south secrets=refresh_token; one transaction
//! store_generation     1                      (what the plugin read; `none` on an older host)
//! host_generation      1                      (1.2 hosts: the generation they offer)
//! default              token  unsupported     (a call the plugin lacks gave its default)
//! token_grant          source=cache scopes=probe.read
//! health               expiring_soon lapses_at=… last_refresh_error=timed_out
//! save_replacing       accounts=Matrix renamed; separate writes
//! delivery_kinds       mail,file              (or: none)
//! delivery             mail: running 0/13, lock probe/delivery/Matrix held → done …
//! lock                 released
//! verify_methods       device,direct
//! settings_display     verified_at:Verified:date  (or: none)
//! done                 10 calls  9 ok  1 default  0 internal
//! ```
//!
//! Under `interface_1_1` it also makes the calls 1.1 added; under `interface_1_2` the
//! calls 1.2 added (`verify_methods`, `settings_display`, `ended_before_cancel`, a
//! `Push` delivery when the plugin lists that kind) and offers the plugin a store
//! generation; under `interface_1_3` the stand-in's `help_url`. Calls that cannot fail
//! (`delivery_kinds`, `verify_methods`, `settings_display`, `ended_before_cancel`:
//! the loader answers a missing or failed one with its default) print their answer
//! and are not counted. A call that answers with a typed error still works across the
//! boundary; only an internal error (a panic, a timeout) counts as broken. It exits 0
//! when nothing broke, 3 when the library was refused, 1 otherwise.

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
    #[cfg(feature = "interface_1_2")]
    let services = generation::Counting::new(memory.clone());
    #[cfg(not(feature = "interface_1_2"))]
    let services = memory.clone();
    match library.instantiate(services) {
        Ok(mut integration) => drive(&mut integration, &memory, &mut calls),
        Err(e) => {
            calls.count += 1;
            calls.failed("instantiate", &e);
        }
    }
    println!(
        "done\t{} calls\t{} ok\t{} default\t{} internal",
        calls.count, calls.ok, calls.defaulted, calls.internal
    );
    if calls.internal == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Counts the calls made, answered with success, answered with the SDK's default for
/// a call the plugin lacks, and broken.
#[derive(Default)]
struct Calls {
    count: usize,
    ok: usize,
    defaulted: usize,
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

    /// Like `record`, for a call added after 1.0 (`name` starts with the call's
    /// name): the answer of a plugin built before it (`unsupported`, detail
    /// `missing_call`) is shown as a default, not a failure.
    #[cfg(feature = "interface_1_1")]
    fn record_new<T>(&mut self, name: &str, result: Result<T, PluginError>) -> Option<T> {
        match result {
            Err(e)
                if e.kind() == ErrorKind::Unsupported
                    && missing_call(&e).is_some_and(|call| name.starts_with(call)) =>
            {
                self.count += 1;
                self.defaulted += 1;
                println!("default\t{name}\tunsupported");
                None
            }
            other => self.record(name, other),
        }
    }

    fn failed(&mut self, name: &str, e: &PluginError) {
        if e.kind() == ErrorKind::Internal {
            self.internal += 1;
        }
        println!("call\t{name}\t{}: {}", e.kind(), e.message());
    }
}

/// The call an `unsupported` answer says the plugin lacks.
#[cfg(feature = "interface_1_1")]
fn missing_call(e: &PluginError) -> Option<&str> {
    e.details()
        .find(|(k, _)| *k == "missing_call")
        .map(|(_, v)| v)
}

fn drive(integration: &mut IntegrationHandle, memory: &MemoryHost, calls: &mut Calls) {
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
        // Each poll returns at the next change; the session ends within the deadline.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut state = session.poll(Duration::from_secs(5));
        while !state.is_terminal() && std::time::Instant::now() < deadline {
            state = session.poll(Duration::from_secs(1));
        }
        let outcome = match &state {
            SessionState::Verified(a) => Ok(format!("verified {}", a.account_name)),
            SessionState::Failed(e) => Err((**e).clone()),
            other => Ok(format!("still {other:?}")),
        };
        if let Some(outcome) = calls.record("poll", outcome) {
            println!("verify\t{outcome}");
        }
        session.cancel();
        // 1.2: whether that cancel came after the session had ended (`false` from a
        // plugin built before 1.2, which cannot say).
        #[cfg(feature = "interface_1_2")]
        println!("ended_before_cancel\t{}", session.ended_before_cancel());
    }
    if calls.record("save", integration.save(&values)).is_some() {
        print_stored(memory);
    }
    if let Some(loaded) = calls.record("load_account", integration.load_account("Matrix")) {
        println!(
            "loaded_account\tregion={}",
            loaded.get("region").unwrap_or("?")
        );
        // A 1.2 plugin hands back the store generation it read (any host can show it).
        if let Some(read) = loaded.get("store_generation") {
            println!("store_generation\t{read}");
        }
        #[cfg(feature = "interface_1_2")]
        println!("host_generation\t{}", generation::current());
    }
    if let Some(token) = calls.record("access_token", integration.access_token("Matrix")) {
        println!("token\texpires_at={}", token.expires_at);
    }
    ask_what_1_1_added(integration, memory, &values, calls);
    ask_what_1_2_added(integration);
    ask_what_1_3_added(integration, calls);
    calls.record("remove_account", integration.remove_account("Matrix"));
    calls.record("close", integration.close());
}

/// What the plugin saved for `Matrix` in the host's stores.
fn print_stored(memory: &MemoryHost) {
    let Some(settings) = memory.settings_of("Matrix") else {
        return;
    };
    let settings: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let secrets: Vec<String> = memory.secrets_of("Matrix").into_keys().collect();
    println!(
        "stored\t{} secrets={}{}",
        settings.join(","),
        secrets.join(","),
        how_written(memory)
    );
}

/// Whether the plugin wrote through the one-transaction service 1.1 added.
#[cfg(feature = "interface_1_1")]
fn how_written(memory: &MemoryHost) -> &'static str {
    if memory.account_writes() > 0 {
        "; one transaction"
    } else {
        "; separate writes"
    }
}

/// A 1.0 host cannot tell how the plugin wrote.
#[cfg(not(feature = "interface_1_1"))]
fn how_written(_: &MemoryHost) -> &'static str {
    ""
}

/// Under interface 1.1: every call 1.1 added. A 1.0 plugin lacks them, so the SDK
/// answers with the documented defaults.
#[cfg(feature = "interface_1_1")]
fn ask_what_1_1_added(
    integration: &mut IntegrationHandle,
    memory: &MemoryHost,
    values: &FormValues,
    calls: &mut Calls,
) {
    use atrs_host_sdk::TokenRequest;

    let request = TokenRequest::for_scopes(["probe.read"]);
    for (name, request) in [
        ("token", request.clone()),
        ("token_forced", request.forced()),
    ] {
        let grant = integration.token("Matrix", &request);
        if let Some(grant) = calls.record_new(name, grant) {
            let scopes: Vec<&str> = grant.token.scopes.iter().map(|s| s.as_str()).collect();
            println!(
                "token_grant\tsource={} scopes={}",
                grant.source.name(),
                scopes.join(",")
            );
        }
    }
    let health = integration.account_health("Matrix");
    if let Some(health) = calls.record_new("account_health", health) {
        println!(
            "health\t{} lapses_at={} last_refresh_error={} fix={}",
            health.state.name(),
            health.lapses_at.map_or("-".into(), |t| t.to_string()),
            health
                .last_refresh_error
                .map_or("-".into(), |e| e.kind().to_string()),
            health.fix.as_deref().unwrap_or("-"),
        );
    }
    rename(integration, memory, values, calls);
    let kinds: Vec<&str> = integration
        .delivery_kinds()
        .into_iter()
        .map(|k| k.name())
        .collect();
    println!(
        "delivery_kinds\t{}",
        if kinds.is_empty() {
            "none".to_owned()
        } else {
            kinds.join(",")
        }
    );
    deliver(integration, memory, calls);
}

/// `save_replacing` there and back: a rename is a move, one account afterwards.
#[cfg(feature = "interface_1_1")]
fn rename(
    integration: &mut IntegrationHandle,
    memory: &MemoryHost,
    values: &FormValues,
    calls: &mut Calls,
) {
    let renamed = values.clone().with("account_name", "Matrix renamed");
    let writes = memory.account_writes();
    let moved = integration.save_replacing(&renamed, "Matrix");
    if calls.record("save_replacing", moved).is_some() {
        let accounts = memory.handle().settings_list().unwrap_or_default();
        let how = if memory.account_writes() > writes {
            "one transaction"
        } else {
            "separate writes"
        };
        println!("save_replacing\taccounts={}; {how}", accounts.join(","));
    }
    let back = integration.save_replacing(values, "Matrix renamed");
    calls.record("save_replacing_back", back);
}

/// A mail that runs to its receipt, then a file delivery cancelled at once.
#[cfg(feature = "interface_1_1")]
fn deliver(integration: &IntegrationHandle, memory: &MemoryHost, calls: &mut Calls) {
    use atrs_host_sdk::{Attachment, DeliveryRequest, DeliveryState, FileRequest, MailRequest};

    let content =
        std::env::temp_dir().join(format!("atrs-compat-probe-{}.txt", std::process::id()));
    if let Err(e) = std::fs::write(&content, b"probe report\n") {
        println!("delivery\tcannot write {}: {e}", content.display());
        return;
    }
    let mut mail = MailRequest::test_message("Matrix", "matrix@example.invalid");
    mail.attachments.push(Attachment {
        path: content.clone(),
        name: "report.txt".into(),
        content_type: "text/plain".into(),
    });
    let started = integration.start_delivery("Matrix", &DeliveryRequest::Mail(mail));
    if let Some(job) = calls.record_new("start_delivery", started) {
        let (steps, end) = run_to_receipt(&job, memory);
        report_delivery("mail", steps, end, calls);
        lock_line(memory);
    }
    let file = DeliveryRequest::File(FileRequest {
        source: content.clone(),
        folder: "Reports".into(),
        site: None,
        file_name: "report.txt".into(),
        conflict: Default::default(),
    });
    let started = integration.start_delivery("Matrix", &file);
    if let Some(job) = calls.record_new("start_delivery_file", started) {
        job.cancel();
        match job.poll(Duration::ZERO) {
            DeliveryState::Failed(e) if e.kind() == ErrorKind::Cancelled => {
                println!("delivery\tfile: cancelled");
            }
            other => println!("delivery\tfile: not cancelled: {other:?}"),
        }
        lock_line(memory);
    }
    #[cfg(feature = "interface_1_2")]
    push(integration, memory, &content, calls);
    let _ = std::fs::remove_file(&content);
}

/// Polls `job` until it ends (30 s at most): the steps seen while it ran, with the
/// host locks held, and its receipt or error.
#[cfg(feature = "interface_1_1")]
fn run_to_receipt(
    job: &loader::DeliveryHandle,
    memory: &MemoryHost,
) -> (Vec<String>, Result<atrs_host_sdk::DeliveryReceipt, PluginError>) {
    use atrs_host_sdk::DeliveryState;

    let mut steps = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let end = loop {
        match job.poll(Duration::from_secs(1)) {
            DeliveryState::Running {
                bytes_sent,
                bytes_total,
                ..
            } if std::time::Instant::now() < deadline => {
                let locks: Vec<String> = memory.held_locks().into_iter().collect();
                steps.push(format!(
                    "running {bytes_sent}/{bytes_total}, lock {} held",
                    if locks.is_empty() {
                        "none".to_owned()
                    } else {
                        locks.join(",")
                    }
                ));
            }
            DeliveryState::Done(receipt) => break Ok(receipt),
            DeliveryState::Failed(e) => break Err(e),
            other => {
                break Err(PluginError::new(
                    ErrorKind::TimedOut,
                    format!("still not delivered after 30 s: {other:?}"),
                ))
            }
        }
    };
    (steps, end)
}

/// Prints one `delivery` line: the steps of the delivery of `kind`, then its receipt.
#[cfg(feature = "interface_1_1")]
fn report_delivery(
    kind: &str,
    mut steps: Vec<String>,
    end: Result<atrs_host_sdk::DeliveryReceipt, PluginError>,
    calls: &mut Calls,
) {
    let call = if kind == "mail" {
        "delivery_poll".to_owned()
    } else {
        format!("delivery_poll_{kind}")
    };
    if let Some(receipt) = calls.record(&call, end) {
        steps.push(format!(
            "done {} {} ({} bytes)",
            receipt.kind.name(),
            receipt.summary,
            receipt.bytes
        ));
    }
    println!("delivery\t{kind}: {}", steps.join(" → "));
}

/// Under 1.2: a file pushed to the account's endpoint, run to its receipt — only when
/// the plugin lists [`atrs_host_sdk::DeliveryKind::Push`], as a host offers only the
/// kinds a plugin lists.
#[cfg(feature = "interface_1_2")]
fn push(
    integration: &IntegrationHandle,
    memory: &MemoryHost,
    content: &std::path::Path,
    calls: &mut Calls,
) {
    use atrs_host_sdk::{DeliveryKind, DeliveryRequest, PushRequest};

    if !integration.delivery_kinds().contains(&DeliveryKind::Push) {
        println!("delivery\tpush: not offered");
        return;
    }
    let request = DeliveryRequest::Push(PushRequest {
        source: content.to_owned(),
        file_name: "report.txt".into(),
        content_type: "text/plain".into(),
    });
    let started = integration.start_delivery("Matrix", &request);
    if let Some(job) = calls.record_new("start_delivery_push", started) {
        let (steps, end) = run_to_receipt(&job, memory);
        report_delivery("push", steps, end, calls);
        lock_line(memory);
    }
}

/// Whether the plugin still holds a host lock after its delivery ended.
#[cfg(feature = "interface_1_1")]
fn lock_line(memory: &MemoryHost) {
    let held: Vec<String> = memory.held_locks().into_iter().collect();
    if held.is_empty() {
        println!("lock\treleased");
    } else {
        println!("lock\tstill held: {}", held.join(","));
    }
}

/// Under interface 1.0 there is nothing more to ask.
#[cfg(not(feature = "interface_1_1"))]
fn ask_what_1_1_added(_: &mut IntegrationHandle, _: &MemoryHost, _: &FormValues, _: &mut Calls) {}

/// Under 1.2: the integration calls 1.2 added that cannot fail. A plugin built
/// before 1.2 lacks them, so the loader answers with the documented defaults (the
/// methods hosts offered before 1.2; no display hints).
#[cfg(feature = "interface_1_2")]
fn ask_what_1_2_added(integration: &IntegrationHandle) {
    use atrs_host_sdk::VerifyMethod;

    let methods: Vec<String> = integration
        .verify_methods()
        .iter()
        .map(|m| match m {
            VerifyMethod::Browser { loopback: true } => "browser(loopback)".to_owned(),
            other => other.name().to_owned(),
        })
        .collect();
    println!("verify_methods\t{}", methods.join(","));
    let shown: Vec<String> = integration
        .settings_display()
        .iter()
        .map(|d| format!("{}:{}:{}", d.key, d.label, d.shown_as().name()))
        .collect();
    println!(
        "settings_display\t{}",
        if shown.is_empty() {
            "none".to_owned()
        } else {
            shown.join(" ")
        }
    );
}

/// Below 1.2 there is nothing of 1.2 to ask.
#[cfg(not(feature = "interface_1_2"))]
fn ask_what_1_2_added(_: &IntegrationHandle) {}

/// Under the stand-in 1.3: the appended call. A plugin built before 1.3 lacks it, so
/// the SDK answers with the documented default (`None`).
#[cfg(feature = "interface_1_3")]
fn ask_what_1_3_added(integration: &IntegrationHandle, calls: &mut Calls) {
    calls.count += 1;
    match integration.help_url() {
        Some(url) => {
            calls.ok += 1;
            println!("call\thelp_url\tok");
            println!("help_url\t{url}");
        }
        None => {
            calls.defaulted += 1;
            println!("default\thelp_url\tnone");
        }
    }
}

/// Below 1.3 there is no `help_url` to ask.
#[cfg(not(feature = "interface_1_3"))]
fn ask_what_1_3_added(_: &IntegrationHandle, _: &mut Calls) {}

/// Under 1.2: host services that keep a store generation, as 1.2 lets a host offer.
#[cfg(feature = "interface_1_2")]
mod generation {
    use std::{
        sync::atomic::{AtomicU64, Ordering},
        time::Duration,
    };

    use atrs_host_sdk::{
        testing::MemoryHost, HostServices, LogLevel, PluginError, Secrets, Settings,
    };

    /// The generation: how many writes the stores have taken.
    static GENERATION: AtomicU64 = AtomicU64::new(0);

    /// The generation offered to the plugin now.
    pub fn current() -> u64 {
        GENERATION.load(Ordering::SeqCst)
    }

    /// A [`MemoryHost`] whose every write moves the generation on.
    pub struct Counting(MemoryHost);

    impl Counting {
        /// Counts the writes into `memory`.
        pub fn new(memory: MemoryHost) -> Self {
            Counting(memory)
        }
    }

    /// Moves the generation on after a write that worked.
    fn counted(result: Result<(), PluginError>) -> Result<(), PluginError> {
        if result.is_ok() {
            GENERATION.fetch_add(1, Ordering::SeqCst);
        }
        result
    }

    impl HostServices for Counting {
        fn log(&self, level: LogLevel, message: &str) {
            self.0.log(level, message);
        }

        fn open_url(&self, url: &str) -> Result<(), PluginError> {
            self.0.open_url(url)
        }

        fn settings_list(&self) -> Result<Vec<String>, PluginError> {
            self.0.settings_list()
        }

        fn settings_read(&self, account: &str) -> Result<Option<Settings>, PluginError> {
            self.0.settings_read(account)
        }

        fn settings_write(&self, account: &str, settings: &Settings) -> Result<(), PluginError> {
            counted(self.0.settings_write(account, settings))
        }

        fn settings_remove(&self, account: &str) -> Result<(), PluginError> {
            counted(self.0.settings_remove(account))
        }

        fn secret_read(&self, account: &str, name: &str) -> Result<Option<String>, PluginError> {
            self.0.secret_read(account, name)
        }

        fn secret_write(&self, account: &str, name: &str, value: &str) -> Result<(), PluginError> {
            counted(self.0.secret_write(account, name, value))
        }

        fn secrets_remove(&self, account: &str) -> Result<(), PluginError> {
            counted(self.0.secrets_remove(account))
        }

        fn account_write(
            &self,
            account: &str,
            settings: &Settings,
            secrets: &Secrets,
            replaces: Option<&str>,
        ) -> Result<(), PluginError> {
            counted(self.0.account_write(account, settings, secrets, replaces))
        }

        fn lock(&self, name: &str, wait: Duration) -> Result<u64, PluginError> {
            HostServices::lock(&self.0, name, wait)
        }

        fn unlock(&self, token: u64) {
            self.0.unlock(token);
        }

        fn store_generation(&self) -> Option<u64> {
            Some(current())
        }
    }
}

/// The kind as this host shows it; one it does not know falls back to text.
fn kind_name(field: &FormField) -> &'static str {
    if !field.kind_is_known() {
        return "text(unknown kind)";
    }
    match field.kind() {
        FieldKind::Secret => "secret",
        FieldKind::Choice { .. } => "choice",
        #[cfg(feature = "interface_1_3")]
        FieldKind::Url => "url",
        _ => "text",
    }
}

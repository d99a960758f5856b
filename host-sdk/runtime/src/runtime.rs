//! One host runtime: a plugins folder, an account store and the host services over
//! it, answering the protocol's requests ([`crate::protocol`]). Thread-safe: front
//! ends send requests from any thread, and a long poll holds no lock others need.
//! With `isolate`, every plugin runs in a runner process of its own (the `forward` module, over [`crate::isolation`]).

mod forward;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use atrs_host_sdk::{
    loader::{self, DeliveryHandle, IntegrationHandle, SessionHandle},
    signing::TrustedKeys,
    Attachment, ConflictBehavior, DeliveryRequest, FileRequest, FormValues, LogLevel, MailRequest,
    PushRequest, SessionState, TokenRequest,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::locked::locked;
use crate::{
    catalog::{described::Describer, entry_json, Catalog},
    conformance_run,
    handles::Handles,
    isolation::{Isolated, RunnerCommand},
    media_type::content_type,
    protocol::{
        request::{self, AccountRequest, Method, Request},
        ProtocolError, PROTOCOL_VERSION,
    },
    services::{Browser, LogConfig, LogSink, PluginServices, UrlOpener},
    store::Store,
    wire,
};

/// The bound on a call into a plugin when the options name none.
const DEFAULT_CALL_BOUND: Duration = Duration::from_secs(60);

/// The longest one poll waits for a change.
const MAX_POLL_WAIT: Duration = Duration::from_secs(30);

/// How a runtime is opened (given as JSON by front ends; unknown fields are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RuntimeOptions {
    /// The folder of plugin libraries.
    #[serde(default)]
    pub plugins_dir: PathBuf,
    /// One library alone instead of a folder (a plugin runner's).
    #[serde(skip)]
    pub library: Option<PathBuf>,
    /// The account store's folder (default: the user's configuration folder).
    #[serde(default)]
    pub store: Option<PathBuf>,
    /// The bound on every call into a plugin, in milliseconds (default: 60 000).
    #[serde(default)]
    pub call_timeout_ms: Option<u64>,
    /// Which plugin log lines reach stderr: `error` (default), `warn`, `info`, `debug`.
    #[serde(default)]
    pub log_level: Option<String>,
    /// Whether the runtime may open a browser for a plugin (default: no; the front end
    /// shows the address).
    #[serde(default)]
    pub open_browser: bool,
    /// Run every plugin in a process of its own (`atrs-plugin-runner`): a plugin that
    /// crashes or hangs then ends with a typed error, never the host.
    #[serde(default)]
    pub isolate: bool,
    /// The `atrs-plugin-runner` executable (default: beside the running program, or
    /// `ATRS_PLUGIN_RUNNER`).
    #[serde(default)]
    pub runner: Option<PathBuf>,
    /// A file of trusted vendor public keys: only libraries signed by one of them load,
    /// here and in every runner (which checks the file it opens itself). None: every
    /// library loads unsigned, as a developer's host does.
    #[serde(default)]
    pub trusted_keys: Option<PathBuf>,
}

/// What a front end supplies instead of the runtime's own services: the store (a
/// host's own database), where plugin log lines go, and how URLs are opened.
#[derive(Clone, Default)]
pub struct HostHooks {
    /// The account store; the runtime opens `options.store` when none is given.
    pub store: Option<Store>,
    /// The plugins folder as the front end already read it (from `options.plugins_dir`,
    /// with the same isolation and trusted keys); the runtime reads it when none is
    /// given.
    pub catalog: Option<Arc<Catalog>>,
    /// Where plugin log lines go; stderr when none is given.
    pub log: Option<LogSink>,
    /// How URLs are opened; by `options.open_browser` when none is given.
    pub open_url: Option<UrlOpener>,
}

/// Why a runtime could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The options are not JSON of the right shape.
    #[error("The runtime's options are not valid: {0}.")]
    Options(String),
    /// The plugins folder or the store.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

impl OpenError {
    /// The wire shape of the error.
    pub fn to_json(&self) -> Value {
        match self {
            OpenError::Options(_) => json!({
                "kind": "invalid_request",
                "origin": "host",
                "message": self.to_string(),
                "hint": "Give the options as one JSON object with at least \"plugins_dir\".",
            }),
            OpenError::Protocol(e) => e.to_json(),
        }
    }
}

struct Session {
    plugin: String,
    values: FormValues,
    method: atrs_host_sdk::VerifyMethod,
    handle: SessionHandle,
    last: Mutex<Option<SessionState>>,
}

struct Delivery {
    handle: DeliveryHandle,
}

type Shared<T> = Arc<Mutex<T>>;

/// A host runtime.
pub struct Runtime {
    catalog: Arc<Catalog>,
    store: Store,
    log: LogConfig,
    log_level: Option<String>,
    log_sink: Option<LogSink>,
    browser: Browser,
    call_timeout: Option<Duration>,
    isolate: bool,
    runner: Option<PathBuf>,
    trusted_keys: Option<PathBuf>,
    isolated: Mutex<HashMap<String, Arc<Isolated>>>,
    remote: Handles<forward::Remote>,
    integrations: Mutex<HashMap<String, Shared<IntegrationHandle>>>,
    sessions: Handles<Session>,
    deliveries: Handles<Delivery>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("plugins_dir", &self.catalog.dir())
            .field("store", &self.store.info())
            .finish_non_exhaustive()
    }
}

type Answer = Result<Value, ProtocolError>;

impl Runtime {
    /// Opens a runtime from options given as JSON text.
    pub fn open_json(options: &str, hooks: HostHooks) -> Result<Runtime, OpenError> {
        let options: RuntimeOptions =
            serde_json::from_str(options).map_err(|e| OpenError::Options(e.to_string()))?;
        Runtime::open(options, hooks)
    }

    /// Loads the plugins folder and opens the store (the hooks' own, if given).
    pub fn open(options: RuntimeOptions, hooks: HostHooks) -> Result<Runtime, OpenError> {
        let catalog = match hooks.catalog {
            Some(catalog) => catalog,
            None => Arc::new(Runtime::read_catalog(&options)?),
        };
        let store = match hooks.store {
            Some(store) => store,
            None => {
                let dir = options.store.clone().unwrap_or_else(Store::default_dir);
                Store::open(dir).map_err(ProtocolError::from)?
            }
        };
        store.check().map_err(ProtocolError::from)?;
        let min_level = match options.log_level.as_deref() {
            Some("debug") => LogLevel::Debug,
            Some("info") => LogLevel::Info,
            Some("warn") => LogLevel::Warn,
            _ => LogLevel::Error,
        };
        Ok(Runtime {
            catalog,
            store,
            log: LogConfig { min_level },
            log_level: options.log_level.clone(),
            log_sink: hooks.log,
            browser: match (hooks.open_url, options.open_browser) {
                (Some(open), _) => Browser::Host(open),
                (None, true) => Browser::System,
                (None, false) => Browser::Disabled,
            },
            call_timeout: options.call_timeout_ms.map(Duration::from_millis),
            isolate: options.isolate,
            runner: options.runner.clone(),
            trusted_keys: options.trusted_keys.clone(),
            isolated: Mutex::default(),
            remote: Handles::default(),
            integrations: Mutex::default(),
            sessions: Handles::default(),
            deliveries: Handles::default(),
        })
    }

    /// The plugins folder (or the one library) `options` name: loaded here, or with
    /// `isolate` described by runners so this process opens no library.
    fn read_catalog(options: &RuntimeOptions) -> Result<Catalog, OpenError> {
        let trusted = match &options.trusted_keys {
            Some(path) => Some(TrustedKeys::read(path).map_err(|e| {
                OpenError::Options(format!(
                    "the trusted keys file {} could not be read ({e})",
                    path.display()
                ))
            })?),
            None => None,
        };
        Ok(match &options.library {
            Some(file) => Catalog::file_trusting(file, trusted.as_ref()),
            None if options.plugins_dir.as_os_str().is_empty() => {
                return Err(OpenError::Options("`plugins_dir` is missing".to_owned()))
            }
            // Isolated, the host never opens a library: runners describe them.
            None if options.isolate => Catalog::describe(
                &options.plugins_dir,
                &Describer {
                    program: options
                        .runner
                        .clone()
                        .unwrap_or_else(RunnerCommand::default_program),
                    trusted_keys: options.trusted_keys.clone(),
                    bound: options
                        .call_timeout_ms
                        .map_or(DEFAULT_CALL_BOUND, Duration::from_millis),
                },
            )
            .map_err(ProtocolError::from)?,
            None => Catalog::load_trusting(&options.plugins_dir, trusted.as_ref())
                .map_err(ProtocolError::from)?,
        })
    }

    /// Answers one request given as JSON text, with one JSON text. Never panics on
    /// any input.
    pub fn handle(&self, request: &str) -> String {
        let (id, raw) = request::parse(request);
        self.answer(id, raw).to_string()
    }

    /// Answers one request already read as JSON (a runner reads it with its envelope),
    /// with its answer as JSON.
    pub fn handle_value(&self, request: Value) -> Value {
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        self.answer(id, Ok(request))
    }

    /// The answer, `ok` first, to the request `raw` (or to why it could not be read),
    /// carrying its `id`.
    fn answer(&self, id: Value, raw: Result<Value, ProtocolError>) -> Value {
        let answer = raw.and_then(|raw| {
            let request = request::read(raw.clone())?;
            if self.isolate {
                self.answer_isolated(request, raw)
            } else {
                self.answer_here(request)
            }
        });
        let mut body = match answer {
            Ok(Value::Object(fields)) => {
                let mut body = serde_json::Map::new();
                body.insert("ok".into(), Value::Bool(true));
                body.extend(fields);
                body
            }
            Ok(other) => {
                let mut body = serde_json::Map::new();
                body.insert("ok".into(), Value::Bool(true));
                body.insert("value".into(), other);
                body
            }
            Err(e) => {
                let mut body = serde_json::Map::new();
                body.insert("ok".into(), Value::Bool(false));
                body.insert("error".into(), e.to_json());
                body
            }
        };
        if !id.is_null() {
            body.insert("id".into(), id);
        }
        Value::Object(body)
    }

    /// Answers `request` with the plugins loaded in this process.
    fn answer_here(&self, request: Request) -> Answer {
        match request {
            Request::Hello => Ok(json!({
                "protocol": PROTOCOL_VERSION,
                "interface": loader::host_interface_version(),
                "runtime": env!("CARGO_PKG_VERSION"),
                "requests": request::NAMES,
            })),
            Request::Plugins => Ok(json!({
                "plugins_dir": self.catalog.dir(),
                "plugins": self.catalog.entries().iter().map(entry_json).collect::<Vec<_>>(),
            })),
            Request::Form(r) => {
                let integration = self.integration(&r.plugin)?;
                let integration = locked(&integration);
                let fields = integration.describe()?;
                Ok(json!({
                    "fields": fields.iter().map(wire::field_json).collect::<Vec<_>>(),
                    "verify_methods": integration.verify_methods().iter().map(wire::method_json).collect::<Vec<_>>(),
                    "settings_display": integration.settings_display().iter().map(wire::setting_display_json).collect::<Vec<_>>(),
                    "delivery_kinds": integration.delivery_kinds().iter().map(|k| k.name()).collect::<Vec<_>>(),
                }))
            }
            Request::Validate(r) => {
                let integration = self.integration(&r.plugin)?;
                let integration = locked(&integration);
                let values = self.values(&integration, &r.values)?;
                let errors = integration.validate(&values)?;
                Ok(json!({"field_errors": wire::field_errors_json(&errors)}))
            }
            Request::VerifyStart(r) => self.verify_start(r),
            Request::VerifyPoll(r) => {
                let session = self.session(r.handle)?;
                let wait = Duration::from_millis(r.wait_ms).min(MAX_POLL_WAIT);
                let state = session.handle.poll(wait);
                let answer = wire::session_state_json(&state, &session.method);
                *locked(&session.last) = Some(state);
                Ok(answer)
            }
            Request::VerifySubmit(r) => {
                self.session(r.handle)?.handle.submit(&r.text)?;
                Ok(json!({}))
            }
            Request::VerifyCancel(r) => {
                self.session(r.handle)?.handle.cancel();
                Ok(json!({}))
            }
            Request::VerifyEnd(r) => {
                let session = self
                    .sessions
                    .remove(r.handle)
                    .ok_or(ProtocolError::NoHandle {
                        what: "verification session",
                        handle: r.handle,
                    })?;
                session.handle.cancel();
                Ok(json!({}))
            }
            Request::Save(r) => self.save(r),
            Request::Update(r) => self.update(r),
            Request::Accounts(r) => self.accounts(r),
            Request::Health(r) => {
                let plugin = self.owner(&r)?;
                let health = locked(&*self.integration(&plugin)?).account_health(&r.account)?;
                Ok(
                    json!({"plugin": plugin, "account": r.account, "health": wire::health_json(&health)}),
                )
            }
            Request::Token(r) => {
                let plugin = self.owner(&AccountRequest {
                    account: r.account.clone(),
                    plugin: r.plugin.clone(),
                })?;
                let mut token_request = TokenRequest::for_scopes(r.scopes.clone());
                token_request.force_refresh = r.force;
                let grant =
                    locked(&*self.integration(&plugin)?).token(&r.account, &token_request)?;
                Ok(json!({
                    "plugin": plugin,
                    "account": r.account,
                    "token": grant.token.token.as_str(),
                    "expires_at": grant.token.expires_at,
                    "scopes": grant.token.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    "source": grant.source.name(),
                }))
            }
            Request::Remove(r) => {
                let plugin = self.owner(&r)?;
                locked(&*self.integration(&plugin)?).remove_account(&r.account)?;
                Ok(json!({"plugin": plugin, "account": r.account}))
            }
            Request::Load(r) => {
                let plugin = self.owner(&r)?;
                let values = locked(&*self.integration(&plugin)?).load_account(&r.account)?;
                Ok(json!({
                    "plugin": plugin,
                    "account": r.account,
                    "values": wire::values_json(&values),
                    "secret_keys": wire::secret_keys(&values),
                }))
            }
            Request::Check(r) => Ok(conformance_run::run(&r)),
            Request::DeliveryStart(r) => self.delivery_start(*r),
            Request::DeliveryPoll(r) => {
                let delivery = self.delivery(r.handle)?;
                let wait = Duration::from_millis(r.wait_ms).min(MAX_POLL_WAIT);
                Ok(wire::delivery_state_json(&delivery.handle.poll(wait)))
            }
            Request::DeliveryCancel(r) => {
                self.delivery(r.handle)?.handle.cancel();
                Ok(json!({}))
            }
            Request::DeliveryEnd(r) => {
                let delivery = self
                    .deliveries
                    .remove(r.handle)
                    .ok_or(ProtocolError::NoHandle {
                        what: "delivery",
                        handle: r.handle,
                    })?;
                delivery.handle.cancel();
                Ok(json!({}))
            }
        }
    }

    /// The instance of `plugin`, created on first use and kept.
    fn integration(&self, plugin: &str) -> Result<Shared<IntegrationHandle>, ProtocolError> {
        let mut open = locked(&self.integrations);
        if let Some(handle) = open.get(plugin) {
            return Ok(handle.clone());
        }
        let library = self.catalog.find(plugin)?;
        let services =
            PluginServices::new(plugin, self.store.clone(), self.log, self.browser.clone())
                .with_log_sink(self.log_sink.clone());
        let mut handle = library.instantiate(services)?;
        if self.call_timeout.is_some() {
            handle.set_call_timeout(self.call_timeout);
        }
        let handle = Arc::new(Mutex::new(handle));
        open.insert(plugin.to_owned(), handle.clone());
        Ok(handle)
    }

    /// Values as the plugin reads them: its secret fields marked secret, defaults
    /// filled in.
    fn values(
        &self,
        integration: &IntegrationHandle,
        given: &std::collections::BTreeMap<String, String>,
    ) -> Result<FormValues, ProtocolError> {
        let form = integration.describe()?;
        let mut values = FormValues::new();
        for (key, value) in given {
            if form.iter().any(|f| f.key.as_str() == key && f.is_secret()) {
                values.set_secret(key.as_str(), value.as_str());
            } else {
                values.set(key.as_str(), value.as_str());
            }
        }
        Ok(wire::with_defaults(values, &form))
    }

    fn verify_start(&self, r: request::VerifyStart) -> Answer {
        let integration = self.integration(&r.plugin)?;
        let mut integration = locked(&integration);
        let values = self.values(&integration, &r.values)?;
        let method = match r.method {
            Method::DeviceCode => atrs_host_sdk::VerifyMethod::DeviceCode,
            Method::Browser => atrs_host_sdk::VerifyMethod::Browser {
                loopback: r.loopback,
            },
            Method::Direct => atrs_host_sdk::VerifyMethod::Direct,
        };
        let offered = integration.verify_methods();
        if !offered.iter().any(|m| m.name() == method.name()) {
            return Err(ProtocolError::MethodNotOffered {
                plugin: r.plugin,
                asked: wire::method_name(&method),
                offered: offered.iter().map(wire::method_name).collect(),
            });
        }
        let handle = integration.start_verification(&values, method.clone())?;
        let session = self.sessions.insert(Session {
            plugin: r.plugin,
            values,
            method,
            handle,
            last: Mutex::new(None),
        });
        Ok(json!({"handle": session}))
    }

    fn session(&self, handle: u64) -> Result<Arc<Session>, ProtocolError> {
        self.sessions.get(handle).ok_or(ProtocolError::NoHandle {
            what: "verification session",
            handle,
        })
    }

    fn delivery(&self, handle: u64) -> Result<Arc<Delivery>, ProtocolError> {
        self.deliveries.get(handle).ok_or(ProtocolError::NoHandle {
            what: "delivery",
            handle,
        })
    }

    fn save(&self, r: request::Save) -> Answer {
        let session = self.session(r.handle)?;
        let state = {
            let last = locked(&session.last).clone();
            match last {
                Some(state @ SessionState::Verified(_)) => state,
                _ => session.handle.poll(Duration::ZERO),
            }
        };
        let SessionState::Verified(account) = &state else {
            return Err(ProtocolError::NotVerified {
                session: r.handle,
                state: wire::session_state_json(&state, &session.method)["state"]
                    .as_str()
                    .map(state_name)
                    .unwrap_or("working"),
            });
        };
        let name = account.account_name.to_string();
        let renames = r.replaces.as_deref().filter(|old| *old != name);
        let saved = self.store.list(&session.plugin)?;
        if !r.replace && saved.contains(&name) && r.replaces.as_deref() != Some(name.as_str()) {
            return Err(ProtocolError::AlreadySaved { account: name });
        }
        let integration = self.integration(&session.plugin)?;
        let mut integration = locked(&integration);
        match renames {
            Some(previous) => integration.save_replacing(&session.values, previous)?,
            None => integration.save(&session.values)?,
        }
        self.sessions.remove(r.handle);
        Ok(json!({
            "plugin": session.plugin,
            "account": name,
            "renamed_from": renames,
            "verified": wire::verified_json(account, &session.method),
        }))
    }

    /// An edit of the saved `r.account` that needs no new sign-in: the plugin's
    /// `save_replacing` with the edited values, which refuses one that does.
    fn update(&self, r: request::Update) -> Answer {
        if !self.store.list(&r.plugin)?.contains(&r.account) {
            return Err(ProtocolError::NoAccount { account: r.account });
        }
        let integration = self.integration(&r.plugin)?;
        let mut integration = locked(&integration);
        let values = self.values(&integration, &r.values)?;
        let name = values
            .get_trimmed(atrs_host_sdk::ACCOUNT_NAME)
            .unwrap_or(&r.account)
            .to_owned();
        integration.save_replacing(&values, &r.account)?;
        Ok(json!({
            "plugin": r.plugin,
            "account": name,
            "renamed_from": (name != r.account).then_some(&r.account),
        }))
    }

    fn accounts(&self, r: request::Accounts) -> Answer {
        self.list_accounts(&r, |account| {
            match self
                .integration(&account.plugin)
                .and_then(|i| Ok(locked(&i).account_health(&account.account)?))
            {
                Ok(health) => wire::health_json(&health),
                Err(e) => json!({"error": e.to_json()}),
            }
        })
    }

    /// The saved accounts `r` asks for, with their settings, and with `health(account)`
    /// when it asks for health.
    fn list_accounts(
        &self,
        r: &request::Accounts,
        health: impl Fn(&crate::store::AccountRef) -> Value,
    ) -> Answer {
        let mut listed = Vec::new();
        for account in self.store.all_accounts()? {
            if r.plugin.as_deref().is_some_and(|p| p != account.plugin) {
                continue;
            }
            let settings = self
                .store
                .read_settings(&account.plugin, &account.account)?
                .unwrap_or_default();
            let mut entry = json!({
                "plugin": account.plugin,
                "account": account.account,
                "settings": settings,
            });
            if r.health {
                entry["health"] = health(&account);
            }
            listed.push(entry);
        }
        Ok(json!({"store": self.store.info(), "accounts": listed}))
    }

    /// The plugin that has the account (the one named, or the only one).
    fn owner(&self, r: &AccountRequest) -> Result<String, ProtocolError> {
        let owners: Vec<String> = self
            .store
            .all_accounts()?
            .into_iter()
            .filter(|a| a.account == r.account && r.plugin.as_deref().is_none_or(|p| p == a.plugin))
            .map(|a| a.plugin)
            .collect();
        match owners.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ProtocolError::NoAccount {
                account: r.account.clone(),
            }),
            many => Err(ProtocolError::AmbiguousAccount {
                account: r.account.clone(),
                plugins: many.to_vec(),
            }),
        }
    }

    fn delivery_start(&self, r: request::DeliveryStart) -> Answer {
        let plugin = self.owner(&AccountRequest {
            account: r.account.clone(),
            plugin: r.plugin.clone(),
        })?;
        let request = match (r.mail, r.file, r.push) {
            (Some(mail), _, _) => DeliveryRequest::Mail(mail_request(mail)),
            (_, Some(file), _) => DeliveryRequest::File(file_request(file)?),
            (_, _, Some(push)) => DeliveryRequest::Push(push_request(push)),
            (None, None, None) => {
                unreachable!("the request reader refuses a delivery of no kind")
            }
        };
        let integration = self.integration(&plugin)?;
        let integration = locked(&integration);
        let kind = request.kind();
        let offered = integration.delivery_kinds();
        if !offered.contains(&kind) {
            return Err(ProtocolError::DeliveryKind {
                plugin,
                kind: kind.name(),
                offered: if offered.is_empty() {
                    "nothing".to_owned()
                } else {
                    offered
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            });
        }
        let handle = integration.start_delivery(&r.account, &request)?;
        Ok(json!({"handle": self.deliveries.insert(Delivery { handle })}))
    }

    /// Cancels every session and delivery still running and closes every plugin
    /// instance; the runtime answers nothing afterwards.
    pub fn close(self) {
        for session in self.sessions.drain() {
            session.handle.cancel();
        }
        for delivery in self.deliveries.drain() {
            delivery.handle.cancel();
            let _ = delivery.handle.poll(Duration::ZERO);
        }
        for (_, integration) in locked(&self.integrations).drain() {
            let _ = locked(&integration).close();
        }
        for (_, isolated) in locked(&self.isolated).drain() {
            isolated.close();
        }
    }
}

fn state_name(name: &str) -> &'static str {
    match name {
        "show_code" => "waiting for the code to be entered",
        "open_browser" => "waiting for the browser sign-in",
        "failed" => "failed",
        _ => "working",
    }
}

fn mail_request(mail: request::Mail) -> MailRequest {
    MailRequest {
        from: mail.from,
        to: mail.to,
        cc: mail.cc,
        bcc: mail.bcc,
        subject: mail.subject,
        body: mail.body,
        body_is_html: mail.html,
        attachments: mail
            .attachments
            .into_iter()
            .map(|a| {
                let name = a.name.unwrap_or_else(|| file_name(&a.path));
                Attachment {
                    content_type: a
                        .content_type
                        .unwrap_or_else(|| content_type(&name).to_owned()),
                    name,
                    path: a.path,
                }
            })
            .collect(),
    }
}

fn file_request(file: request::File) -> Result<FileRequest, ProtocolError> {
    let conflict = match file.conflict.as_deref() {
        None | Some("fail") => ConflictBehavior::Fail,
        Some("replace") => ConflictBehavior::Replace,
        Some("rename") => ConflictBehavior::Rename,
        Some(other) => {
            return Err(ProtocolError::Malformed {
                request: "delivery.start".to_owned(),
                detail: format!("`file.conflict` is \"{other}\"; give fail, replace or rename"),
            })
        }
    };
    Ok(FileRequest {
        file_name: file.name.unwrap_or_else(|| file_name(&file.source)),
        source: file.source,
        folder: file.folder,
        site: file.site,
        conflict,
    })
}

fn push_request(push: request::Push) -> PushRequest {
    PushRequest {
        file_name: push.name.unwrap_or_else(|| file_name(&push.source)),
        source: push.source,
        content_type: push.content_type.unwrap_or_default(),
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned())
}

impl Drop for Session {
    fn drop(&mut self) {
        if !matches!(
            locked(&self.last).as_ref(),
            Some(SessionState::Verified(_) | SessionState::Failed(_))
        ) {
            self.handle.cancel();
        }
    }
}

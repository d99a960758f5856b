//! The host services lent to each plugin: store-backed settings and secrets, a log on
//! stderr, and a browser opener.

use std::{
    collections::HashMap,
    io::Write,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use atrs_host_sdk::{ErrorKind, HostServices, LogLevel, PluginError, Secrets, Settings};

use crate::store::{Generation, Store, StoreError, StoreLock};

/// Where plugin log lines go and how many of them.
#[derive(Debug, Clone, Copy)]
pub struct LogConfig {
    /// Lines less important than this are dropped.
    pub min_level: LogLevel,
}

impl LogConfig {
    /// Errors by default (a failure the plugin also returns is then shown once, by the
    /// host); `-v` adds warnings and info, `-vv` debug.
    pub fn from_verbosity(verbose: u8) -> Self {
        let min_level = match verbose {
            0 => LogLevel::Error,
            1 => LogLevel::Info,
            _ => LogLevel::Debug,
        };
        LogConfig { min_level }
    }
}

/// Where a front end of its own sends plugin log lines: plugin id, level, message.
pub type LogSink = Arc<dyn Fn(&str, LogLevel, &str) + Send + Sync>;

/// How a front end of its own opens a URL for a plugin.
pub type UrlOpener = Arc<dyn Fn(&str) -> Result<(), PluginError> + Send + Sync>;

/// How the host opens a URL for a plugin.
#[derive(Clone)]
pub enum Browser {
    /// `$BROWSER` if set (a command; the URL is its last argument), else `xdg-open`.
    System,
    /// Never open anything; the URL is shown to the user instead.
    Disabled,
    /// The front end opens it (the C library's caller, for example).
    Host(UrlOpener),
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Browser::System => "System",
            Browser::Disabled => "Disabled",
            Browser::Host(_) => "Host",
        })
    }
}

impl Browser {
    /// Opens `url` (https, or http on loopback: [`crate::browser_url::check`]), or says why
    /// it could not.
    pub fn open(&self, url: &str) -> Result<(), PluginError> {
        crate::browser_url::check(url)?;
        let cannot = |why: String| {
            PluginError::new(
                atrs_host_sdk::ErrorKind::Unsupported,
                format!("Could not open a browser: {why}."),
            )
            .with_hint("Open the address yourself in any browser.")
        };
        match self {
            Browser::Disabled => Err(cannot(
                "opening a browser is turned off (--no-browser)".into(),
            )),
            Browser::System => {
                let command = std::env::var("BROWSER")
                    .ok()
                    .filter(|b| !b.trim().is_empty());
                let (program, mut args) = match &command {
                    Some(c) => {
                        let mut parts = c.split_whitespace().map(str::to_owned);
                        let program = parts.next().unwrap_or_default();
                        (program, parts.collect::<Vec<_>>())
                    }
                    None => ("xdg-open".to_owned(), Vec::new()),
                };
                args.push(url.to_owned());
                Command::new(&program)
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map(drop)
                    .map_err(|e| cannot(format!("`{program}` did not start ({e})")))
            }
            Browser::Host(open) => open(url),
        }
    }
}

/// The services one plugin instance gets: its own slice of the store, and the
/// store's named locks.
#[derive(Clone)]
pub struct PluginServices {
    plugin_id: String,
    store: Store,
    log: LogConfig,
    log_sink: Option<LogSink>,
    browser: Browser,
    locks: Arc<Mutex<HashMap<u64, StoreLock>>>,
}

impl std::fmt::Debug for PluginServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginServices")
            .field("plugin_id", &self.plugin_id)
            .field("store", &self.store)
            .field("log", &self.log)
            .field("browser", &self.browser)
            .finish_non_exhaustive()
    }
}

/// Lock tokens, unique in the process.
static NEXT_LOCK_TOKEN: AtomicU64 = AtomicU64::new(1);

impl PluginServices {
    /// Services for `plugin_id` over `store`.
    pub fn new(
        plugin_id: impl Into<String>,
        store: Store,
        log: LogConfig,
        browser: Browser,
    ) -> Self {
        PluginServices {
            plugin_id: plugin_id.into(),
            store,
            log,
            log_sink: None,
            browser,
            locks: Arc::default(),
        }
    }

    /// Sends log lines to `sink` instead of stderr (still filtered by level).
    pub fn with_log_sink(mut self, sink: Option<LogSink>) -> Self {
        self.log_sink = sink;
        self
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<u64, StoreLock>> {
        self.locks.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn store_error(e: StoreError) -> PluginError {
    let hint = e.hint();
    let kind = match e {
        _ if e.is_lock_wait() => ErrorKind::TimedOut,
        StoreError::LockName => ErrorKind::InvalidInput,
        StoreError::Unreachable { .. } => ErrorKind::Network,
        _ => ErrorKind::Internal,
    };
    PluginError::new(kind, format!("The host's account store failed: {e}.")).with_hint(hint)
}

/// A level's name in log lines and service calls (`error`, `warn`, `info`, `debug`).
pub fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
        _ => "log",
    }
}

impl HostServices for PluginServices {
    fn log(&self, level: LogLevel, message: &str) {
        if level > self.log.min_level {
            return;
        }
        if let Some(sink) = &self.log_sink {
            sink(&self.plugin_id, level, message);
        } else {
            let line = format!("[{}] {}: {}\n", self.plugin_id, level_name(level), message);
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    fn open_url(&self, url: &str) -> Result<(), PluginError> {
        self.browser.open(url)
    }

    fn settings_list(&self) -> Result<Vec<String>, PluginError> {
        self.store.list(&self.plugin_id).map_err(store_error)
    }

    fn settings_read(&self, account: &str) -> Result<Option<Settings>, PluginError> {
        self.store
            .read_settings(&self.plugin_id, account)
            .map_err(store_error)
    }

    fn settings_write(&self, account: &str, settings: &Settings) -> Result<(), PluginError> {
        self.store
            .write_settings(&self.plugin_id, account, settings)
            .map_err(store_error)
    }

    fn settings_remove(&self, account: &str) -> Result<(), PluginError> {
        self.store
            .remove_settings(&self.plugin_id, account)
            .map_err(store_error)
    }

    fn secret_read(&self, account: &str, name: &str) -> Result<Option<String>, PluginError> {
        self.store
            .read_secret(&self.plugin_id, account, name)
            .map_err(store_error)
    }

    fn secret_write(&self, account: &str, name: &str, value: &str) -> Result<(), PluginError> {
        self.store
            .write_secret(&self.plugin_id, account, name, value)
            .map_err(store_error)
    }

    fn secrets_remove(&self, account: &str) -> Result<(), PluginError> {
        self.store
            .remove_secrets(&self.plugin_id, account)
            .map_err(store_error)
    }

    fn account_write(
        &self,
        account: &str,
        settings: &Settings,
        secrets: &Secrets,
        replaces: Option<&str>,
    ) -> Result<(), PluginError> {
        self.store
            .write_account(&self.plugin_id, account, settings, secrets, replaces)
            .map_err(store_error)
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<u64, PluginError> {
        let lock = self.store.lock_named(name, wait).map_err(store_error)?;
        let token = NEXT_LOCK_TOKEN.fetch_add(1, Ordering::Relaxed);
        self.held().insert(token, lock);
        Ok(token)
    }

    fn unlock(&self, token: u64) {
        self.held().remove(&token);
    }

    fn store_generation(&self) -> Option<u64> {
        // A store that cannot say (the folder), or fails to: the plugin reads anew.
        self.store
            .generation()
            .ok()
            .flatten()
            .map(Generation::as_u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::Host;

    #[test]
    fn each_plugin_sees_only_its_own_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let log = LogConfig::from_verbosity(0);
        let a = Host::from_services(PluginServices::new(
            "a",
            store.clone(),
            log,
            Browser::Disabled,
        ));
        let b = Host::from_services(PluginServices::new("b", store, log, Browser::Disabled));
        a.settings_write("acct", &Settings::new()).unwrap();
        a.secret_write("acct", "s", "v").unwrap();
        assert_eq!(a.settings_list().unwrap(), vec!["acct"]);
        assert!(b.settings_list().unwrap().is_empty());
        assert_eq!(b.secret_read("acct", "s").unwrap(), None);
    }

    #[test]
    fn the_store_generation_reaches_the_plugin_and_moves_with_a_write_from_another_opener() {
        let dir = tempfile::tempdir().unwrap();
        let log = LogConfig::from_verbosity(0);
        let host =
            |store| Host::from_services(PluginServices::new("p", store, log, Browser::Disabled));
        let (mine, theirs) = (
            host(Store::open(dir.path()).unwrap()),
            host(Store::open(dir.path()).unwrap()),
        );
        let before = mine.store_generation().expect("SQLite has a generation");
        assert_eq!(
            mine.store_generation(),
            Some(before),
            "steady while nothing changes"
        );
        theirs.secret_write("acct", "s", "v").unwrap();
        let after = mine.store_generation().unwrap();
        assert_ne!(after, before, "another connection's commit moves it");
        mine.settings_write("acct", &Settings::new()).unwrap();
        assert_ne!(
            mine.store_generation().unwrap(),
            after,
            "its own commit moves it"
        );
    }

    #[test]
    fn an_account_write_is_one_transaction_that_moves_a_renamed_account() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let host = Host::from_services(PluginServices::new(
            "p",
            store.clone(),
            LogConfig::from_verbosity(0),
            Browser::Disabled,
        ));
        let secrets: Secrets = [("client_secret".to_owned(), "s".to_owned())].into();
        host.account_write("Old", &Settings::new(), &secrets, None)
            .unwrap();
        host.account_write("New", &Settings::new(), &Secrets::new(), Some("Old"))
            .unwrap();
        assert_eq!(host.settings_list().unwrap(), vec!["New"]);
        assert_eq!(host.secret_read("Old", "client_secret").unwrap(), None);
        assert_eq!(
            store.read_secret("p", "New", "client_secret").unwrap(),
            None
        );
    }

    #[test]
    fn locks_exclude_other_instances_until_the_guard_drops() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let open = || {
            Host::from_services(PluginServices::new(
                "p",
                store.clone(),
                LogConfig::from_verbosity(0),
                Browser::Disabled,
            ))
        };
        let (a, b) = (open(), open());
        let held = a.lock("p/refresh/A", Duration::ZERO).unwrap();
        let e = b
            .lock("p/refresh/A", Duration::from_millis(20))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        drop(held);
        let _held = b.lock("p/refresh/A", Duration::ZERO).unwrap();
    }

    #[test]
    fn a_disabled_browser_says_what_to_do() {
        let e = Browser::Disabled.open("https://example.test").unwrap_err();
        assert!(e.hint().unwrap().contains("yourself"));
    }
}

//! What every command gets: output, folders, logging and browser settings.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
    time::Duration,
};

use atrs_host_runtime::{
    catalog::described::Describer,
    hosted::{HostedPlugin, RemotePlugin},
    isolation::RunnerCommand,
    HostHooks, Runtime, RuntimeOptions,
};
use atrs_host_sdk::{signing::TrustedKeys, LogLevel};

use crate::{
    catalog::{
        described,
        listing::{self, Listing},
        manifest_cache::ManifestCache,
        Catalog, CatalogPlugin,
    },
    error::CommandError,
    output::Output,
    services::{Browser, LogConfig, PluginServices},
    store::{postgres, KeyOptions, Store},
};

/// Where `plugins` keeps the manifests it read: `ATRS_MANIFEST_CACHE` (empty: nowhere),
/// else `plugin-manifests.json` in this host's folder of the user's cache directory.
pub fn manifest_cache_file() -> Option<PathBuf> {
    match std::env::var_os("ATRS_MANIFEST_CACHE") {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => dirs::cache_dir().map(|d| d.join("atrs-test-host").join("plugin-manifests.json")),
    }
}

/// Whether `line` is said for the first time in this process: a command opens its store
/// more than once (for itself, for each plugin), and a warning about how it was reached
/// is said once.
fn first_time(line: &str) -> bool {
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|p| p.into_inner());
    if said.iter().any(|l| l == line) {
        return false;
    }
    said.push(line.to_owned());
    true
}

/// The settings shared by every command.
#[derive(Debug, Clone)]
pub struct Context {
    /// How to print.
    pub output: Output,
    /// Where plugin libraries are.
    pub plugins_dir: PathBuf,
    /// Where accounts are saved.
    pub store_dir: PathBuf,
    /// Which plugin log lines to show.
    pub log: LogConfig,
    /// How to open URLs.
    pub browser: Browser,
    /// The trusted vendor keys file (`--trusted-keys`): only libraries signed with one of
    /// them load. `None`: every library loads unsigned (a developer's setting).
    pub trusted_keys: Option<PathBuf>,
    /// `--isolate`: every plugin runs in a runner process of its own. `None`: in this
    /// process.
    pub isolation: Option<Isolation>,
}

/// How long a runner may take to describe one library when `--call-timeout` is not
/// given.
const DEFAULT_DESCRIBE_BOUND: Duration = Duration::from_secs(60);

/// How plugins run isolated (`--isolate`): through one runtime per command, opened on
/// first use over the command's store, whose runners live as long as it.
#[derive(Debug, Clone, Default)]
pub struct Isolation {
    /// The bound on each call into a plugin (`--call-timeout`); the runtime's default
    /// when `None`.
    pub call_timeout: Option<Duration>,
    catalog: Arc<OnceLock<Arc<Catalog>>>,
    runtime: Arc<OnceLock<Arc<Runtime>>>,
}

impl Isolation {
    /// Isolation with calls bound by `call_timeout`.
    pub fn new(call_timeout: Option<Duration>) -> Self {
        Isolation {
            call_timeout,
            catalog: Arc::default(),
            runtime: Arc::default(),
        }
    }

    /// The same settings, for a context over another store: its own runtime.
    pub fn afresh(&self) -> Self {
        Isolation::new(self.call_timeout)
    }
}

impl Context {
    /// Loads the plugins folder (only signed libraries when trusted keys are set); with
    /// `--isolate`, runners describe each library and this process opens none.
    /// Described once per command: the isolating runtime shares it.
    pub fn catalog(&self) -> Result<Arc<Catalog>, CommandError> {
        let Some(isolation) = &self.isolation else {
            let trusted = self.trusted_keys()?;
            return Ok(Arc::new(Catalog::load_trusting(
                &self.plugins_dir,
                trusted.as_ref(),
            )?));
        };
        if let Some(catalog) = isolation.catalog.get() {
            return Ok(catalog.clone());
        }
        // Read here only to report a bad keys file as this host does; runners read it.
        self.trusted_keys()?;
        let catalog = Arc::new(Catalog::describe(
            &self.plugins_dir,
            &self.describer(isolation),
        )?);
        Ok(isolation.catalog.get_or_init(|| catalog).clone())
    }

    /// How runners describe libraries for `--isolate`.
    fn describer(&self, isolation: &Isolation) -> Describer {
        Describer {
            program: RunnerCommand::default_program(),
            trusted_keys: self.trusted_keys.clone(),
            bound: isolation.call_timeout.unwrap_or(DEFAULT_DESCRIBE_BOUND),
        }
    }

    /// Lists the plugins folder, opening only the libraries that changed since their
    /// manifests were last read (the manifest cache, [`manifest_cache_file`]); every
    /// other command loads and checks each library it uses.
    pub fn listing(&self) -> Result<Listing, CommandError> {
        let trusted = self.trusted_keys()?;
        let mut cache = ManifestCache::open(manifest_cache_file());
        let listed = match &self.isolation {
            Some(isolation) => described::list(
                &self.plugins_dir,
                trusted.as_ref(),
                &mut cache,
                &self.describer(isolation),
            )?,
            None => listing::list(&self.plugins_dir, trusted.as_ref(), &mut cache)?,
        };
        // A cache that cannot be written costs the next listing a load, nothing more.
        let _ = cache.save();
        Ok(listed)
    }

    fn trusted_keys(&self) -> Result<Option<TrustedKeys>, CommandError> {
        let Some(path) = &self.trusted_keys else {
            return Ok(None);
        };
        TrustedKeys::read(path).map(Some).map_err(|e| {
            CommandError::usage(format!("The trusted vendor keys could not be read: {e}."))
                .with_hint("Point --trusted-keys (or ATRS_TRUSTED_KEYS) at a file of vendor public keys (the .pub files `atrs-test-host keygen --out FILE` writes, one after another).")
        })
    }

    /// Opens the account store and checks it, so a damaged store or one from a newer
    /// version is reported before anything else happens (a sign-in). What opening did
    /// that a person is told once (a JSON store imported, a key file created) goes to
    /// stderr.
    pub fn store(&self) -> Result<Store, CommandError> {
        self.store_with(&KeyOptions::from_env())
    }

    /// The account store for a command that only reads or changes saved accounts: like
    /// [`Context::store`], but a store folder that does not exist is refused, never
    /// created, so a mistyped `--store` is reported instead of showing an
    /// empty store.
    pub fn existing_store(&self) -> Result<Store, CommandError> {
        let location = self.store_dir.to_string_lossy();
        if !postgres::is_url(&location) {
            let shown = self.store_dir.display();
            // A file is reported by the store itself ("… is not a folder").
            if !self.store_dir.exists() {
                return Err(CommandError::usage(format!(
                    "There is no account store at {shown}: the folder does not exist."
                ))
                .with_hint("Check the folder given with --store (or ATRS_STORE); adding the first account creates a store."));
            }
        }
        self.store()
    }

    /// Like [`Context::store`], with the store's key found (and plain text allowed) as
    /// `options` say.
    pub fn store_with(&self, options: &KeyOptions) -> Result<Store, CommandError> {
        let store = Store::open_location(&self.store_dir.to_string_lossy(), options)?;
        for line in store.opened().lines() {
            if first_time(&line) {
                self.output.note(line);
            }
        }
        store.check()?;
        Ok(store)
    }

    /// Creates an instance of `plugin` lending it this host's services: in this
    /// process, or with `--isolate` in its runner.
    pub fn open(&self, plugin: &CatalogPlugin) -> Result<HostedPlugin, CommandError> {
        let id = plugin.manifest().id.as_str();
        if let Some(isolation) = &self.isolation {
            let runtime = self.isolating_runtime(isolation)?;
            return Ok(HostedPlugin::Isolated(RemotePlugin::new(runtime, id)));
        }
        let services = PluginServices::new(id, self.store()?, self.log, self.browser.clone());
        Ok(plugin.instantiate(services)?.into())
    }

    /// The runtime isolated plugins are reached through, opened on first use over this
    /// context's store, folder, trusted keys, log and browser settings.
    fn isolating_runtime(&self, isolation: &Isolation) -> Result<Arc<Runtime>, CommandError> {
        if let Some(runtime) = isolation.runtime.get() {
            return Ok(runtime.clone());
        }
        let log_level = match self.log.min_level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            _ => "error",
        };
        let options = RuntimeOptions {
            plugins_dir: self.plugins_dir.clone(),
            call_timeout_ms: isolation
                .call_timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            log_level: Some(log_level.to_owned()),
            open_browser: matches!(self.browser, Browser::System),
            isolate: true,
            trusted_keys: self.trusted_keys.clone(),
            ..RuntimeOptions::default()
        };
        let hooks = HostHooks {
            store: Some(self.store()?),
            catalog: Some(self.catalog()?),
            open_url: match &self.browser {
                Browser::Host(open) => Some(open.clone()),
                _ => None,
            },
            ..HostHooks::default()
        };
        let runtime = Runtime::open(options, hooks).map_err(|e| {
            let wire = e.to_json();
            CommandError::new(
                crate::exit::Exit::Failure,
                format!("The plugins could not be isolated: {e}"),
            )
            .with_hint(
                wire["hint"]
                    .as_str()
                    .unwrap_or("Run without --isolate to load plugins in this process."),
            )
        })?;
        Ok(isolation.runtime.get_or_init(|| Arc::new(runtime)).clone())
    }
}

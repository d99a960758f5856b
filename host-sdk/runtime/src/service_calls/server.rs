//! The server side of service calls: a host answers the calls of one plugin that runs
//! elsewhere (a runner process) from its own store, log and browser — only for that
//! plugin's own accounts, and releasing every lock it holds when it goes.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Duration,
};

use atrs_host_sdk::{ErrorKind, Host, LogLevel};
use serde_json::{json, Value};

use super::{Refusal, StoreRefusal};
use crate::{
    services::PluginServices,
    store::{Change, Generation, Store, StoreError, StoreLock, Values},
};

/// Answers the service calls of one plugin.
pub struct ServiceServer {
    plugin: String,
    store: Store,
    services: Host,
    locks: Mutex<HashMap<u64, StoreLock>>,
    next_token: AtomicU64,
}

impl std::fmt::Debug for ServiceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceServer")
            .field("plugin", &self.plugin)
            .finish_non_exhaustive()
    }
}

/// The refusal that tells the caller `e`: its kind as the runtime maps store errors
/// (a lock wait that ran out is `timed_out`, a server out of reach `network`), its
/// words, and the error itself where the caller needs more than words to rebuild it.
fn refused(e: StoreError) -> Refusal {
    let kind = match &e {
        _ if e.is_lock_wait() => Some(ErrorKind::TimedOut),
        StoreError::Unreachable { .. } => Some(ErrorKind::Network),
        _ => None,
    };
    Refusal {
        kind: kind.map(|k| k.as_str().to_owned()),
        hint: Some(e.hint()),
        message: e.to_string(),
        store: StoreRefusal::of(&e).map(Box::new),
    }
}

fn text<'a>(call: &'a Value, key: &str) -> Result<&'a str, Refusal> {
    call[key]
        .as_str()
        .ok_or_else(|| Refusal::new(format!("the call has no `{key}` text")))
}

fn values(value: &Value, key: &str) -> Result<Values, Refusal> {
    serde_json::from_value(value[key].clone())
        .map_err(|_| Refusal::new(format!("`{key}` is not an object of texts")))
}

impl ServiceServer {
    /// Serves `plugin` from `services` (its log and browser) and `store`.
    pub fn new(plugin: impl Into<String>, store: Store, services: PluginServices) -> Self {
        ServiceServer {
            plugin: plugin.into(),
            store,
            services: Host::from_services(services),
            locks: Mutex::default(),
            next_token: AtomicU64::new(1),
        }
    }

    /// The store's generation now, as a number ([`Generation::as_u64`]); `None` when
    /// the store cannot tell.
    pub fn generation(&self) -> Option<u64> {
        self.store
            .generation()
            .ok()
            .flatten()
            .map(Generation::as_u64)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<u64, StoreLock>> {
        self.locks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers one call.
    pub fn serve(&self, call: &Value) -> Result<Value, Refusal> {
        let name = text(call, "call")?;
        if let Some(plugin) = call["plugin"].as_str() {
            if plugin != self.plugin {
                return Err(Refusal::new(format!(
                    "the plugin `{}` asked for the accounts of `{plugin}`",
                    self.plugin
                )));
            }
        }
        let plugin = self.plugin.as_str();
        match name {
            "info" => {
                let info = self.store.info();
                Ok(json!({
                    "location": info.location,
                    "sealed": info.sealed,
                    "key_source": info.key_source.to_string(),
                }))
            }
            "check" => self.store.check().map(|()| json!({})).map_err(refused),
            "generation" => {
                let generation = self.store.generation().map_err(refused)?;
                Ok(json!({"generation": generation.map(Generation::as_u64)}))
            }
            "accounts" => {
                let accounts = self.store.all_accounts().map_err(refused)?;
                let mine: Vec<_> = accounts
                    .into_iter()
                    .filter(|a| a.plugin == plugin)
                    .collect();
                Ok(json!({"accounts": mine}))
            }
            "read_settings" => {
                let settings = self
                    .store
                    .read_settings(plugin, text(call, "account")?)
                    .map_err(refused)?;
                Ok(json!({"settings": settings}))
            }
            "read_secret" => {
                let secret = self
                    .store
                    .read_secret(plugin, text(call, "account")?, text(call, "name")?)
                    .map_err(refused)?;
                Ok(json!({"secret": secret}))
            }
            "apply" => {
                self.apply(&call["change"])?;
                Ok(json!({}))
            }
            "lock" => {
                let wait = Duration::from_millis(call["wait_ms"].as_u64().unwrap_or(0));
                let lock = self
                    .store
                    .lock_named(text(call, "name")?, wait)
                    .map_err(refused)?;
                let token = self.next_token.fetch_add(1, Ordering::Relaxed);
                self.held().insert(token, lock);
                Ok(json!({"token": token}))
            }
            "unlock" => {
                if let Some(token) = call["token"].as_u64() {
                    self.held().remove(&token);
                }
                Ok(json!({}))
            }
            "log" => {
                let level = match call["level"].as_str() {
                    Some("error") => LogLevel::Error,
                    Some("warn") => LogLevel::Warn,
                    Some("info") => LogLevel::Info,
                    _ => LogLevel::Debug,
                };
                self.services.log(level, text(call, "message")?);
                Ok(json!({}))
            }
            "open_url" => self
                .services
                .open_url(text(call, "url")?)
                .map(|()| json!({}))
                .map_err(|e| Refusal {
                    kind: Some(e.kind().as_str().to_owned()),
                    message: e.message().to_owned(),
                    hint: e.hint().map(str::to_owned),
                    store: None,
                }),
            other => Err(Refusal::new(format!("there is no service call `{other}`"))),
        }
    }

    fn apply(&self, change: &Value) -> Result<(), Refusal> {
        let plugin = self.plugin.as_str();
        let account = text(change, "account")?;
        let (settings, secrets);
        let change = match text(change, "change")? {
            "settings" => {
                settings = values(change, "values")?;
                Change::Settings {
                    account,
                    values: &settings,
                }
            }
            "remove_settings" => Change::RemoveSettings { account },
            "secret" => Change::Secret {
                account,
                name: text(change, "name")?,
                value: text(change, "value")?,
            },
            "remove_secrets" => Change::RemoveSecrets { account },
            "account" => {
                settings = values(change, "settings")?;
                secrets = values(change, "secrets")?;
                Change::Account {
                    account,
                    settings: &settings,
                    secrets: &secrets,
                    replaces: change["replaces"].as_str(),
                }
            }
            "remove_account" => Change::RemoveAccount { account },
            other => return Err(Refusal::new(format!("there is no change `{other}`"))),
        };
        self.store.apply(plugin, change).map_err(refused)
    }

    /// Releases every lock the plugin still holds (it stopped).
    pub fn release_locks(&self) {
        self.held().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        service_calls::{hooks_over, Caller},
        services::{Browser, LogConfig},
    };
    use std::sync::Arc;

    fn server(dir: &std::path::Path, plugin: &str) -> (Store, Arc<ServiceServer>) {
        let store = Store::open(dir).unwrap();
        let services = PluginServices::new(
            plugin,
            store.clone(),
            LogConfig::from_verbosity(0),
            Browser::Disabled,
        );
        (
            store.clone(),
            Arc::new(ServiceServer::new(plugin, store, services)),
        )
    }

    /// A store reached through calls, served by `server`: the client and the server
    /// round-trip every store operation through JSON.
    fn remote(server: Arc<ServiceServer>) -> Store {
        let caller: Caller = Arc::new(move |call| {
            // Through text, as across a pipe.
            let call: Value = serde_json::from_str(&call.to_string()).unwrap();
            server.serve(&call).map_err(|refusal| {
                let reply: Value = serde_json::from_str(&refusal.to_reply().to_string()).unwrap();
                Refusal::from_reply(&reply, || "no message".into())
            })
        });
        hooks_over(caller, None).store.unwrap()
    }

    #[test]
    fn every_store_operation_round_trips_through_calls() {
        let dir = tempfile::tempdir().unwrap();
        let (local, server) = server(dir.path(), "p");
        let store = remote(server);
        let secrets: Values = [("refresh_token".to_owned(), "rt".to_owned())].into();
        let settings: Values = [("client_id".to_owned(), "c".to_owned())].into();
        store
            .write_account("p", "Old", &settings, &secrets, None)
            .unwrap();
        store
            .write_account("p", "New", &settings, &secrets, Some("Old"))
            .unwrap();
        assert_eq!(local.list("p").unwrap(), ["New"]);
        assert_eq!(
            store
                .read_secret("p", "New", "refresh_token")
                .unwrap()
                .as_deref(),
            Some("rt")
        );
        assert_eq!(store.read_settings("p", "New").unwrap(), Some(settings));
        store.write_secret("p", "New", "cache", "x").unwrap();
        store.remove_secrets("p", "New").unwrap();
        assert_eq!(local.read_secret("p", "New", "cache").unwrap(), None);
        store.remove_account("p", "New").unwrap();
        assert!(store.all_accounts().unwrap().is_empty());
        store.check().unwrap();
        assert_eq!(store.info().backend, "host");
    }

    #[test]
    fn a_plugin_reaches_only_its_own_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let (local, server) = server(dir.path(), "mine");
        local.write_settings("theirs", "A", &Values::new()).unwrap();
        local
            .write_secret("theirs", "A", "s", "their secret")
            .unwrap();
        let store = remote(server);
        assert!(store.all_accounts().unwrap().is_empty());
        let e = store.read_secret("theirs", "A", "s").unwrap_err();
        assert!(
            e.to_string().contains("asked for the accounts of `theirs`"),
            "{e}"
        );
        assert!(store.write_settings("theirs", "B", &Values::new()).is_err());
        assert_eq!(local.list("theirs").unwrap(), ["A"]);
    }

    #[test]
    fn locks_are_held_until_unlocked_or_released_with_the_plugin() {
        let dir = tempfile::tempdir().unwrap();
        let (local, server) = server(dir.path(), "p");
        let store = remote(server.clone());
        let held = store.lock_named("p/refresh/A", Duration::ZERO).unwrap();
        let busy = local
            .lock_named("p/refresh/A", Duration::from_millis(20))
            .unwrap_err();
        assert!(matches!(busy, StoreError::LockBusy { .. }), "{busy}");
        let also_busy = store
            .lock_named("p/refresh/A", Duration::from_millis(20))
            .unwrap_err();
        assert!(
            matches!(also_busy, StoreError::LockBusy { .. }),
            "{also_busy}"
        );
        drop(held);
        let again = store.lock_named("p/refresh/A", Duration::ZERO).unwrap();
        server.release_locks();
        local.lock_named("p/refresh/A", Duration::ZERO).unwrap();
        drop(again);
    }

    #[test]
    fn a_lock_held_elsewhere_reaches_the_plugin_in_the_same_words_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let (local, server) = server(dir.path(), "p");
        let store = remote(server);
        let _held = local.lock_named("p/refresh/A", Duration::ZERO).unwrap();
        let wait = Duration::from_millis(20);
        let in_process = local.lock_named("p/refresh/A", wait).unwrap_err();
        let across = store.lock_named("p/refresh/A", wait).unwrap_err();
        assert!(matches!(across, StoreError::LockBusy { .. }), "{across}");
        assert_eq!(across.to_string(), in_process.to_string());
        assert_eq!(across.hint(), in_process.hint());
        if cfg!(target_os = "linux") {
            let pid = format!("process {}", std::process::id());
            assert!(across.to_string().contains(&pid), "{across}");
        }
    }

    #[test]
    fn a_database_kept_busy_elsewhere_reaches_the_plugin_as_a_time_out_naming_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let plain = crate::store::KeyOptions {
            plaintext: true,
            ..Default::default()
        };
        let mut backend = crate::store::SqliteStore::open(dir.path(), &plain).unwrap();
        backend.set_busy_wait(Duration::from_millis(50)).unwrap();
        let path = backend.path().to_owned();
        let store = Store::over(backend);
        let services = PluginServices::new(
            "p",
            store.clone(),
            LogConfig::from_verbosity(0),
            Browser::Disabled,
        );
        let remote = remote(Arc::new(ServiceServer::new("p", store.clone(), services)));
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let in_process = store.write_settings("p", "A", &Values::new()).unwrap_err();
        let across = remote.write_settings("p", "A", &Values::new()).unwrap_err();
        assert!(matches!(across, StoreError::Busy { .. }), "{across}");
        assert!(across.is_lock_wait());
        assert_eq!(across.to_string(), in_process.to_string());
        assert_eq!(across.hint(), in_process.hint());
        if cfg!(target_os = "linux") {
            let pid = format!("process {}", std::process::id());
            assert!(across.to_string().contains(&pid), "{across}");
        }
        holder.execute_batch("ROLLBACK").unwrap();
        remote.write_settings("p", "A", &Values::new()).unwrap();
    }
}

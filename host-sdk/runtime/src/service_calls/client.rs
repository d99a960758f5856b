//! The client side of service calls: the account store, plugin log lines and opening a
//! URL, each reached through one JSON call to whoever serves them — a C or .NET host's
//! callback, or the host process across a runner's pipe. The calls and their replies
//! are those listed on the C library's `AtrsServiceCallback`.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use atrs_host_sdk::{ErrorKind, PluginError};
use serde_json::{json, Value};

use super::{Caller, Refusal, SentGeneration};
use crate::{
    runtime::HostHooks,
    services::{level_name, LogSink, UrlOpener},
    store::{
        AccountRef, AccountStore, Change, Generation, KeySource, Store, StoreError, StoreInfo,
        StoreLock, Values,
    },
};

/// The hooks a runtime gets from `caller`: store, log and URL opener, all by calls;
/// `sent` is the generation a runner's host sends with each request (none for a C
/// host's callback, which is asked).
pub fn hooks_over(caller: Caller, sent: Option<Arc<SentGeneration>>) -> HostHooks {
    let (for_log, for_url) = (caller.clone(), caller.clone());
    let log: LogSink = Arc::new(move |plugin: &str, level, message: &str| {
        let _ = for_log(json!({
            "call": "log", "plugin": plugin, "level": level_name(level), "message": message,
        }));
    });
    let open_url: UrlOpener = Arc::new(move |url: &str| {
        for_url(json!({"call": "open_url", "url": url}))
            .map(drop)
            .map_err(|r| {
                PluginError::new(
                    ErrorKind::Unsupported,
                    format!("The host could not open a browser: {}.", r.message),
                )
                .with_hint(
                    r.hint
                        .unwrap_or_else(|| "Open the address yourself in any browser.".into()),
                )
            })
    });
    HostHooks {
        store: Some(Store::over(CallStore {
            callback: caller,
            sent,
            no_generation: Arc::default(),
        })),
        log: Some(log),
        open_url: Some(open_url),
        catalog: None,
    }
}

fn store_call(caller: &Caller, call: Value) -> Result<Value, StoreError> {
    let name = call["call"].as_str().unwrap_or_default().to_owned();
    caller(call).map_err(|r| store_error(&name, r))
}

/// The store error a refusal of `call` tells: the one the server sent, else the host's
/// own words.
fn store_error(call: &str, r: Refusal) -> StoreError {
    match r.store {
        Some(store) => (*store).into_error(),
        None => StoreError::Host {
            call: call.to_owned(),
            message: r.message,
            hint: r.hint,
        },
    }
}

/// An account store reached through service calls.
#[derive(Clone)]
struct CallStore {
    callback: Caller,
    /// The generation sent with the request being served (a runner's).
    sent: Option<Arc<SentGeneration>>,
    /// The host does not answer `generation` (a callback from before it): not asked again.
    no_generation: Arc<AtomicBool>,
}

impl CallStore {
    /// The store may have moved: a sent generation no longer answers for it.
    fn moved(&self) {
        if let Some(sent) = &self.sent {
            sent.forget();
        }
    }
}

impl std::fmt::Debug for CallStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallStore")
    }
}

fn malformed(call: &str, detail: &str) -> StoreError {
    StoreError::Host {
        call: call.to_owned(),
        message: format!("its reply {detail}"),
        hint: Some("Reply as atrs_host.h describes for this call.".to_owned()),
    }
}

impl AccountStore for CallStore {
    fn info(&self) -> StoreInfo {
        let reply = (self.callback)(json!({"call": "info"})).unwrap_or_default();
        StoreInfo {
            backend: "host",
            location: reply["location"]
                .as_str()
                .unwrap_or("the host application's own store")
                .to_owned(),
            sealed: reply["sealed"].as_bool().unwrap_or(false),
            key_source: KeySource::Application {
                description: reply["key_source"]
                    .as_str()
                    .unwrap_or("kept by the host application")
                    .to_owned(),
            },
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        store_call(&self.callback, json!({"call": "check"})).map(drop)
    }

    fn accounts(&self, plugin: Option<&str>) -> Result<Vec<AccountRef>, StoreError> {
        let reply = store_call(
            &self.callback,
            json!({"call": "accounts", "plugin": plugin}),
        )?;
        let listed = reply["accounts"]
            .as_array()
            .ok_or_else(|| malformed("accounts", "has no `accounts` array"))?;
        let mut accounts = Vec::with_capacity(listed.len());
        for entry in listed {
            let (Some(p), Some(a)) = (entry["plugin"].as_str(), entry["account"].as_str()) else {
                return Err(malformed(
                    "accounts",
                    "lists an entry without `plugin` and `account`",
                ));
            };
            if plugin.is_none_or(|wanted| wanted == p) {
                accounts.push(AccountRef {
                    plugin: p.to_owned(),
                    account: a.to_owned(),
                });
            }
        }
        accounts.sort_by(|x, y| (&x.plugin, &x.account).cmp(&(&y.plugin, &y.account)));
        Ok(accounts)
    }

    fn read_settings(&self, plugin: &str, account: &str) -> Result<Option<Values>, StoreError> {
        let reply = store_call(
            &self.callback,
            json!({"call": "read_settings", "plugin": plugin, "account": account}),
        )?;
        match &reply["settings"] {
            Value::Null => Ok(None),
            settings => serde_json::from_value(settings.clone())
                .map(Some)
                .map_err(|_| malformed("read_settings", "`settings` is not an object of strings")),
        }
    }

    fn read_secret(
        &self,
        plugin: &str,
        account: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        let reply = store_call(
            &self.callback,
            json!({"call": "read_secret", "plugin": plugin, "account": account, "name": name}),
        )?;
        match &reply["secret"] {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(malformed("read_secret", "`secret` is not a string")),
        }
    }

    fn apply(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError> {
        self.moved();
        store_call(
            &self.callback,
            json!({"call": "apply", "plugin": plugin, "change": change}),
        )
        .map(drop)
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<StoreLock, StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::LockName);
        }
        // Whoever held it may have written: after it, the store is asked again.
        self.moved();
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let reply = (self.callback)(json!({"call": "lock", "name": name, "wait_ms": wait_ms}))
            .map_err(|r| match (&r.store, r.kind.as_deref()) {
                // A host that only says the lock stayed held: nobody named.
                (None, Some("timed_out")) => StoreError::LockBusy {
                    name: name.to_owned(),
                    waited: wait,
                    held_by: None,
                },
                _ => store_error("lock", r),
            })?;
        let token = reply["token"]
            .as_u64()
            .ok_or_else(|| malformed("lock", "has no `token` number"))?;
        Ok(StoreLock::new(
            name,
            HeldLock {
                callback: self.callback.clone(),
                token,
            },
        ))
    }

    /// The generation the runner's host sent with the request, while fresh; else the
    /// host's answer to `generation`; `None` from a host that does not answer it.
    fn generation(&self) -> Result<Option<Generation>, StoreError> {
        if let Some(generation) = self.sent.as_ref().and_then(|s| s.fresh()) {
            return Ok(Some(Generation::from_u64(generation)));
        }
        if self.no_generation.load(Ordering::Relaxed) {
            return Ok(None);
        }
        match (self.callback)(json!({"call": "generation"})) {
            Ok(reply) => Ok(reply["generation"].as_u64().map(Generation::from_u64)),
            Err(_) => {
                self.no_generation.store(true, Ordering::Relaxed);
                Ok(None)
            }
        }
    }
}

/// A lock the host holds for us; dropping it asks the host to release it.
struct HeldLock {
    callback: Caller,
    token: u64,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = (self.callback)(json!({"call": "unlock", "token": self.token}));
    }
}

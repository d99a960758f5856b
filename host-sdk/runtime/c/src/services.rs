//! Host services from the caller: one callback answers every service call — the
//! account store's reads, its one-transaction writes and named locks, plugin log lines,
//! and opening a URL — each call and each reply one JSON object, like the protocol.
//! The calls and their replies are listed on [`AtrsServiceCallback`] (and so in the
//! header).

use std::{
    ffi::{c_char, c_void, CString},
    sync::Arc,
    time::Duration,
};

use crate::dispatch::Dispatcher;
use atrs_host_runtime::{
    services::{level_name, LogSink, UrlOpener},
    store::{AccountRef, AccountStore, Change, Store, StoreError, StoreInfo, StoreLock, Values},
    HostHooks,
};
use atrs_host_sdk::{ErrorKind, PluginError};
use serde_json::{json, Value};

/// Where a callback puts its reply: set it with `atrs_reply_set`, at most once per call.
pub struct AtrsReply {
    text: Option<String>,
}

/// The caller's service callback: `context` as given at open, the call as JSON, and the
/// reply slot. Returns 0 when the call succeeded. It is called from any thread, several
/// at once: it must be thread-safe. The strings it gets live only for the call.
///
/// Calls (`call` names them) and their replies, set with `atrs_reply_set`:
/// - `info` → `{"location": "…", "sealed": true|false}`, where accounts live;
/// - `check` → `{}` when the store can be used;
/// - `accounts` (`plugin`, or null for all) → `{"accounts": [{"plugin", "account"}]}`;
/// - `read_settings` (`plugin`, `account`) → `{"settings": {"key": "value"} | null}`;
/// - `read_secret` (`plugin`, `account`, `name`) → `{"secret": "…" | null}`;
/// - `apply` (`plugin`, `change`) → `{}`: ONE transaction. `change.change` is
///   `settings` (`account`, `values`), `remove_settings` (`account`), `secret`
///   (`account`, `name`, `value`), `remove_secrets` (`account`), `account` (`account`,
///   `settings`, `secrets`, `replaces`: a rename's old name, removed with its secrets),
///   or `remove_account` (`account`);
/// - `lock` (`name`, `wait_ms`) → `{"token": N}`: a named lock shared by every process
///   using the store, or an error of kind `timed_out` when it stayed held; `unlock`
///   (`token`) releases it;
/// - `log` (`plugin`, `level`, `message`) and `open_url` (`url`).
///
/// A failed call returns non-zero and may reply `{"error": {"message", "hint", "kind"}}`.
pub type AtrsServiceCallback = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        call_json: *const c_char,
        reply: *mut AtrsReply,
    ) -> i32,
>;

/// The callback and its context, shareable between threads as the caller promised.
#[derive(Clone, Copy)]
struct Function {
    function: unsafe extern "C" fn(*mut c_void, *const c_char, *mut AtrsReply) -> i32,
    context: *mut c_void,
}

// SAFETY: the caller's contract (atrs_host.h) requires the callback and its context to
// be usable from any thread at once.
unsafe impl Send for Function {}
// SAFETY: as above.
unsafe impl Sync for Function {}

/// The caller's callback, called on the runtime's own callback threads ([`Dispatcher`]).
#[derive(Clone)]
pub(crate) struct Callback {
    function: Function,
    threads: Arc<Dispatcher>,
}

/// What a failed call said.
#[derive(Debug)]
struct Refusal {
    kind: Option<String>,
    message: String,
    hint: Option<String>,
}

impl Callback {
    /// The callback, if the caller gave one.
    pub(crate) fn new(
        function: AtrsServiceCallback,
        context: *mut c_void,
        threads: Arc<Dispatcher>,
    ) -> Option<Callback> {
        function.map(|function| Callback {
            function: Function { function, context },
            threads,
        })
    }

    /// Makes one call on a callback thread; answers the reply object (empty when none
    /// was set).
    fn call(&self, call: Value) -> Result<Value, Refusal> {
        let function = self.function;
        self.threads
            .run(move || function.call(call))
            .unwrap_or_else(|| {
                Err(Refusal {
                    kind: None,
                    message: "the runtime is closing".to_owned(),
                    hint: None,
                })
            })
    }

    fn store_call(&self, call: Value) -> Result<Value, StoreError> {
        let name = call["call"].as_str().unwrap_or_default().to_owned();
        self.call(call).map_err(|r| StoreError::Host {
            call: name,
            message: r.message,
            hint: r.hint,
        })
    }

    /// The hooks a runtime gets from this callback: store, log and URL opener.
    pub(crate) fn hooks(self) -> HostHooks {
        let (for_log, for_url) = (self.clone(), self.clone());
        let log: LogSink = Arc::new(move |plugin: &str, level, message: &str| {
            let _ = for_log.call(json!({
                "call": "log", "plugin": plugin, "level": level_name(level), "message": message,
            }));
        });
        let open_url: UrlOpener = Arc::new(move |url: &str| {
            for_url
                .call(json!({"call": "open_url", "url": url}))
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
            store: Some(Store::over(CallbackStore { callback: self })),
            log: Some(log),
            open_url: Some(open_url),
        }
    }
}

impl Function {
    fn call(&self, call: Value) -> Result<Value, Refusal> {
        let name = call["call"].as_str().unwrap_or("service").to_owned();
        let text = CString::new(call.to_string()).map_err(|_| Refusal {
            kind: None,
            message: "a value holds a NUL character".to_owned(),
            hint: None,
        })?;
        let mut reply = AtrsReply { text: None };
        // SAFETY: the function and context are the caller's, valid for the runtime's
        // life; `text` and `reply` outlive the call.
        let status = unsafe { (self.function)(self.context, text.as_ptr(), &mut reply) };
        let value: Value = match reply.text.as_deref() {
            None | Some("") => json!({}),
            Some(text) => serde_json::from_str(text).map_err(|e| Refusal {
                kind: None,
                message: format!("its reply to `{name}` is not JSON ({e})"),
                hint: None,
            })?,
        };
        if status == 0 {
            return Ok(value);
        }
        let error = &value["error"];
        Err(Refusal {
            kind: error["kind"].as_str().map(str::to_owned),
            message: error["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("it returned {status} for `{name}`")),
            hint: error["hint"].as_str().map(str::to_owned),
        })
    }
}

/// The account store of the host application, reached through its callback.
#[derive(Clone)]
struct CallbackStore {
    callback: Callback,
}

impl std::fmt::Debug for CallbackStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackStore")
    }
}

fn malformed(call: &str, detail: &str) -> StoreError {
    StoreError::Host {
        call: call.to_owned(),
        message: format!("its reply {detail}"),
        hint: Some("Reply as atrs_host.h describes for this call.".to_owned()),
    }
}

impl AccountStore for CallbackStore {
    fn info(&self) -> StoreInfo {
        let reply = self
            .callback
            .call(json!({"call": "info"}))
            .unwrap_or_default();
        StoreInfo {
            backend: "host",
            location: reply["location"]
                .as_str()
                .unwrap_or("the host application's own store")
                .to_owned(),
            sealed: reply["sealed"].as_bool().unwrap_or(false),
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        self.callback.store_call(json!({"call": "check"})).map(drop)
    }

    fn accounts(&self, plugin: Option<&str>) -> Result<Vec<AccountRef>, StoreError> {
        let reply = self
            .callback
            .store_call(json!({"call": "accounts", "plugin": plugin}))?;
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
        let reply = self
            .callback
            .store_call(json!({"call": "read_settings", "plugin": plugin, "account": account}))?;
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
        let reply = self.callback.store_call(
            json!({"call": "read_secret", "plugin": plugin, "account": account, "name": name}),
        )?;
        match &reply["secret"] {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(malformed("read_secret", "`secret` is not a string")),
        }
    }

    fn apply(&self, plugin: &str, change: Change<'_>) -> Result<(), StoreError> {
        self.callback
            .store_call(json!({"call": "apply", "plugin": plugin, "change": change}))
            .map(drop)
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<StoreLock, StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::LockName);
        }
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let reply = self
            .callback
            .call(json!({"call": "lock", "name": name, "wait_ms": wait_ms}))
            .map_err(|r| match r.kind.as_deref() {
                Some("timed_out") => StoreError::LockBusy {
                    name: name.to_owned(),
                    waited: wait,
                },
                _ => StoreError::Host {
                    call: "lock".to_owned(),
                    message: r.message,
                    hint: r.hint,
                },
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
}

/// A lock the host holds for us; dropping it asks the host to release it.
struct HeldLock {
    callback: Callback,
    token: u64,
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self
            .callback
            .call(json!({"call": "unlock", "token": self.token}));
    }
}

/// Sets the reply of a service call (copied; the caller keeps its string). Returns 0,
/// or -1 when `reply` or `json` is NULL or not UTF-8.
///
/// # Safety
/// `reply` is the pointer the callback was given, during that call; `json` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn atrs_reply_set(reply: *mut AtrsReply, json: *const c_char) -> i32 {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: the caller's contract above.
        let (Some(reply), Ok(text)) = (unsafe { reply.as_mut() }, unsafe {
            crate::text::borrowed(json, "json")
        }) else {
            return -1;
        };
        reply.text = Some(text.to_owned());
        0
    });
    result.unwrap_or(-1)
}

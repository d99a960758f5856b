//! Host services from the caller: one callback answers every service call — the
//! account store's reads, its one-transaction writes and named locks, plugin log lines,
//! and opening a URL — each call and each reply one JSON object, like the protocol.
//! The calls and their replies are listed on [`AtrsServiceCallback`] (and so in the
//! header).

use std::{
    ffi::{c_char, c_void, CString},
    sync::Arc,
};

use atrs_host_runtime::{
    service_calls::{hooks_over, Caller, Refusal},
    HostHooks,
};
use serde_json::{json, Value};

use crate::dispatch::Dispatcher;

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
/// - `log` (`plugin`, `level`, `message`) and `open_url` (`url`);
/// - optional, `generation` → `{"generation": N | null}`: a number that changes with
///   every write to the store (by any process), so plugins keep what they read while
///   it stands; a callback that refuses it just has plugins read anew each time.
///
/// A failed call returns non-zero and may reply `{"error": {"message", "hint", "kind"}}`,
/// and optionally `store`, the store's error itself, which the plugin then reports in
/// the runtime's own words and kind: `{"refused": "lock_busy", "name", "waited_ms",
/// "held_by"}` (a named lock stayed held: `timed_out`), `{"refused": "busy", "path",
/// "waited_ms", "held_by"}` (the database's write lock stayed held: `timed_out`), or
/// `{"refused": "unreachable", "location", "detail"}` (the database server is out of
/// reach: `network`); `held_by` is `{"pid": N, "command": "…" | null}` (with
/// `"connection": "…"` for a lock on a database server) or null. An unknown `refused` is
/// ignored.
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
                    store: None,
                })
            })
    }

    /// The hooks a runtime gets from this callback: store, log and URL opener, each by
    /// a service call on a callback thread.
    pub(crate) fn hooks(self) -> HostHooks {
        let caller: Caller = Arc::new(move |call| self.call(call));
        hooks_over(caller, None)
    }
}

impl Function {
    fn call(&self, call: Value) -> Result<Value, Refusal> {
        let name = call["call"].as_str().unwrap_or("service").to_owned();
        let text = CString::new(call.to_string()).map_err(|_| Refusal {
            kind: None,
            message: "a value holds a NUL character".to_owned(),
            hint: None,
            store: None,
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
                store: None,
            })?,
        };
        if status == 0 {
            return Ok(value);
        }
        Err(Refusal::from_reply(&value, || {
            format!("it returned {status} for `{name}`")
        }))
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

//! The exported C functions. Each catches panics, checks its pointers, and answers in
//! the protocol's JSON shape.

use std::{
    ffi::{c_char, c_void, CString},
    panic::{catch_unwind, AssertUnwindSafe},
    ptr,
    sync::Arc,
};

use atrs_host_runtime::{protocol::PROTOCOL_VERSION, HostHooks, Runtime};

use crate::{
    dispatch::Dispatcher,
    services::{AtrsServiceCallback, Callback},
    text::{borrowed, error_answer, owned},
};

/// An open host runtime (opaque to C).
pub struct AtrsHost {
    runtime: Runtime,
    /// The threads the caller's callback runs on, ended after the runtime closes.
    callback_threads: Option<Arc<Dispatcher>>,
}

const PANICKED: &str =
    "The ATRS host runtime failed inside (a bug, caught before it could reach your program).";
const REPORT: &str = "Report it with the request that caused it; the runtime goes on working.";

/// Stores `text` in `*out` when `out` is not NULL (freed with `atrs_host_free`).
///
/// # Safety
/// `out` is NULL or valid for one write.
unsafe fn put(out: *mut *mut c_char, text: String) {
    // SAFETY: the caller's contract above.
    if let Some(out) = unsafe { out.as_mut() } {
        *out = owned(text);
    }
}

/// # Safety
/// As for [`atrs_host_open_with_services`].
unsafe fn open(
    options_json: *const c_char,
    hooks: HostHooks,
    callback_threads: Option<Arc<Dispatcher>>,
    error_out: *mut *mut c_char,
) -> *mut AtrsHost {
    // SAFETY: the caller's contract: NULL or writable.
    if let Some(out) = unsafe { error_out.as_mut() } {
        *out = ptr::null_mut();
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller's contract.
        let options = unsafe { borrowed(options_json, "options_json") }.map_err(|e| {
            error_answer(
                "invalid_request",
                &format!("The runtime's options are missing: {e}."),
                "Pass the options as a JSON text such as {\"plugins_dir\": \"…\"}.",
            )
        })?;
        Runtime::open_json(options, hooks)
            .map_err(|e| serde_json::json!({"ok": false, "error": e.to_json()}).to_string())
    }));
    let result = outcome.unwrap_or_else(|_| Err(error_answer("internal", PANICKED, REPORT)));
    match result {
        Ok(runtime) => Box::into_raw(Box::new(AtrsHost {
            runtime,
            callback_threads,
        })),
        Err(answer) => {
            if let Some(threads) = callback_threads {
                threads.close();
            }
            // SAFETY: the caller's contract.
            unsafe { put(error_out, answer) };
            ptr::null_mut()
        }
    }
}

/// Opens a runtime over its own account store. `options_json` is a JSON object:
/// `plugins_dir` (required), `store` (a folder; default: the user's configuration
/// folder), `call_timeout_ms`, `log_level` (`error`, `warn`, `info`, `debug`; lines go
/// to stderr), `open_browser` (default false), `isolate` (run each plugin in an
/// `atrs-plugin-runner` process of its own, so a crash or hang ends one request with a
/// typed error, never the host; default false), `runner` (that program's path;
/// default beside the host program, or `ATRS_PLUGIN_RUNNER`) and `trusted_keys` (a file
/// of vendor public keys: only libraries signed by one of them load, and each runner
/// checks the file it opens). Returns NULL on failure and, when
/// `error_out` is not NULL, stores there an answer-shaped JSON error (`ok` false,
/// `error`) to free with `atrs_host_free`; on success `*error_out` is set to NULL.
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string; `error_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn atrs_host_open(
    options_json: *const c_char,
    error_out: *mut *mut c_char,
) -> *mut AtrsHost {
    // SAFETY: the caller's contract.
    unsafe { open(options_json, HostHooks::default(), None, error_out) }
}

/// Opens a runtime whose host services — the account store, plugin log lines, opening
/// a URL — come from `services`, called with `context` (the calls are listed at
/// `AtrsServiceCallback`). Otherwise as `atrs_host_open`; a NULL `services` is the same
/// as `atrs_host_open`.
///
/// # Safety
/// As `atrs_host_open`; `services` and `context` stay valid, and usable from any thread
/// at once, until `atrs_host_close` returns.
#[no_mangle]
pub unsafe extern "C" fn atrs_host_open_with_services(
    options_json: *const c_char,
    services: AtrsServiceCallback,
    context: *mut c_void,
    error_out: *mut *mut c_char,
) -> *mut AtrsHost {
    let threads = services.map(|_| Arc::new(Dispatcher::default()));
    let hooks = threads
        .clone()
        .and_then(|threads| Callback::new(services, context, threads))
        .map(Callback::hooks)
        .unwrap_or_default();
    // SAFETY: the caller's contract.
    unsafe { open(options_json, hooks, threads, error_out) }
}

/// Answers one request (a JSON object as text) with one JSON text, which the caller
/// frees with `atrs_host_free`. Never NULL unless memory ran out. A poll with
/// `wait_ms` blocks this thread only.
///
/// # Safety
/// `host` is NULL or a runtime from `atrs_host_open*` not yet closed; `request_json` is
/// NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn atrs_host_request(
    host: *const AtrsHost,
    request_json: *const c_char,
) -> *mut c_char {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller's contract.
        let Some(host) = (unsafe { host.as_ref() }) else {
            return error_answer(
                "invalid_request",
                "No runtime was given (the handle is NULL).",
                "Open a runtime with atrs_host_open first, and check what it returned.",
            );
        };
        // SAFETY: the caller's contract.
        match unsafe { borrowed(request_json, "request_json") } {
            Ok(text) => host.runtime.handle(text),
            Err(e) => error_answer(
                "invalid_request",
                &format!("The request is missing: {e}."),
                "Pass the request as a JSON text such as {\"request\": \"hello\"}.",
            ),
        }
    }));
    owned(answer.unwrap_or_else(|_| error_answer("internal", PANICKED, REPORT)))
}

/// Frees a text this library returned. NULL is ignored.
///
/// # Safety
/// `text` is NULL or a text from this library, not freed before.
#[no_mangle]
pub unsafe extern "C" fn atrs_host_free(text: *mut c_char) {
    if !text.is_null() {
        // SAFETY: made by CString::into_raw in this library, freed once.
        drop(unsafe { CString::from_raw(text) });
    }
}

/// Cancels what still runs, closes every plugin instance and frees the runtime. NULL is
/// ignored.
///
/// # Safety
/// `host` is NULL or a runtime from `atrs_host_open*`; no other call uses it during or
/// after this one.
#[no_mangle]
pub unsafe extern "C" fn atrs_host_close(host: *mut AtrsHost) {
    if host.is_null() {
        return;
    }
    // SAFETY: made by Box::into_raw in `open`, closed once.
    let host = unsafe { Box::from_raw(host) };
    let _ = catch_unwind(AssertUnwindSafe(move || {
        let AtrsHost {
            runtime,
            callback_threads,
        } = *host;
        runtime.close();
        if let Some(threads) = callback_threads {
            threads.close();
        }
    }));
}

/// The protocol version this library speaks (`MAJOR.MINOR`), a static string.
#[no_mangle]
pub extern "C" fn atrs_host_protocol_version() -> *const c_char {
    static VERSION: std::sync::OnceLock<CString> = std::sync::OnceLock::new();
    VERSION
        .get_or_init(|| CString::new(PROTOCOL_VERSION).unwrap_or_default())
        .as_ptr()
}

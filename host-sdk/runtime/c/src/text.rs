//! Strings across the C boundary: borrowed UTF-8 in, owned NUL-terminated JSON out.

use std::{
    ffi::{c_char, CStr, CString},
    ptr,
};

use serde_json::{json, Value};

/// Reads a caller's NUL-terminated UTF-8 string; `what` names it in the error.
///
/// # Safety
/// `text` is null or points to a NUL-terminated string that lives for the call.
pub unsafe fn borrowed<'a>(text: *const c_char, what: &str) -> Result<&'a str, String> {
    if text.is_null() {
        return Err(format!("{what} is NULL"));
    }
    // SAFETY: not null, and NUL-terminated by the caller's contract.
    unsafe { CStr::from_ptr(text) }
        .to_str()
        .map_err(|_| format!("{what} is not UTF-8"))
}

/// Hands `text` to the caller, who frees it with `atrs_host_free`. A NUL inside the
/// text (impossible in serialised JSON) is escaped away rather than truncating it.
pub fn owned(text: String) -> *mut c_char {
    let text = if text.contains('\0') {
        text.replace('\0', "\\u0000")
    } else {
        text
    };
    CString::new(text).map_or(ptr::null_mut(), CString::into_raw)
}

/// An answer-shaped error made by this library itself (kind `invalid_request` for bad
/// arguments, `internal` for a caught panic).
pub fn error_answer(kind: &str, message: &str, hint: &str) -> String {
    let answer: Value = json!({
        "ok": false,
        "error": {
            "kind": kind,
            "origin": "host",
            "message": message,
            "hint": hint,
            "field": null,
            "provider_code": null,
            "trace_id": null,
            "correlation_id": null,
        }
    });
    answer.to_string()
}

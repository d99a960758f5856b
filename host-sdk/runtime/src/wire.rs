//! How the SDK's values look as JSON, wherever a front end shows them to a machine:
//! form fields, verification states, verified accounts, health, delivery states and
//! errors. One shape each, shared by the protocol and the test host's `--json`.

use atrs_host_sdk::{
    loader::CallFailure, AccountHealth, DeliveryReceipt, DeliveryState, FieldError, FieldKind,
    FormField, FormValues, PluginError, SessionState, SettingDisplay, VerifiedAccount,
    VerifyMethod,
};
use serde_json::{json, Value};

/// The kind's short name (`text`, `secret`, `choice`).
pub fn kind_name(field: &FormField) -> &'static str {
    if !field.kind_is_known() {
        return "text";
    }
    match field.kind() {
        FieldKind::Secret => "secret",
        FieldKind::Choice { .. } => "choice",
        _ => "text",
    }
}

/// One form field.
pub fn field_json(field: &FormField) -> Value {
    let options: Vec<Value> = match field.kind() {
        FieldKind::Choice { options } => options
            .iter()
            .map(|o| json!({"value": o.value.as_str(), "label": o.label.as_str()}))
            .collect(),
        _ => Vec::new(),
    };
    json!({
        "key": field.key.as_str(),
        "label": field.label.as_str(),
        "kind": kind_name(field),
        "options": options,
        "required": field.required,
        "default": field.default.as_ref().map(|d| d.as_str()).into_option(),
        "placeholder": field.placeholder.as_ref().map(|d| d.as_str()).into_option(),
        "help": field.help.as_ref().map(|d| d.as_str()).into_option(),
        "advanced": field.advanced,
    })
}

/// Adds each field's default where no value was given.
pub fn with_defaults(mut values: FormValues, form: &[FormField]) -> FormValues {
    for field in form {
        if values.get(field.key.as_str()).is_none() {
            if let Some(default) = field.default.as_ref().into_option() {
                values.set(field.key.as_str(), default.as_str());
            }
        }
    }
    values
}

/// Form values as one object of strings, secrets included: only for the host that
/// saved them (a `load` answer), never for a log.
pub fn values_json(values: &FormValues) -> Value {
    Value::Object(
        values
            .iter()
            .map(|v| (v.key().to_owned(), json!(v.value())))
            .collect(),
    )
}

/// The keys of the secret values among `values`.
pub fn secret_keys(values: &FormValues) -> Vec<&str> {
    values
        .iter()
        .filter(|v| v.is_secret())
        .map(|v| v.key())
        .collect()
}

/// Per-field problems.
pub fn field_errors_json(errors: &[FieldError]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|e| json!({"field": e.field(), "message": e.message(), "hint": e.hint()}))
            .collect(),
    )
}

/// Who made an error: the host (it stopped waiting, refused a call) or the plugin.
pub fn origin(error: &PluginError) -> &'static str {
    if CallFailure::of(error).is_host_side() {
        "host"
    } else {
        "plugin"
    }
}

/// A plugin's (or the host's) error, with everything a person or a program needs.
pub fn error_json(error: &PluginError) -> Value {
    json!({
        "kind": error.kind().as_str(),
        "origin": origin(error),
        "message": error.message(),
        "hint": error.hint(),
        "field": error.field(),
        "provider_code": error.provider_code(),
        "trace_id": error.trace_id(),
        "correlation_id": error.correlation_id(),
    })
}

/// Who verified, and what was granted.
pub fn verified_json(account: &VerifiedAccount, method: &VerifyMethod) -> Value {
    json!({
        "headline": account.headline(method),
        "account_name": account.account_name.as_str(),
        "user_principal_name": account.user_principal_name.as_str(),
        "display_name": account.display_name.as_str(),
        "tenant_id": account.tenant_id.as_str(),
        "granted_scopes": account.granted_scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "missing_scopes": account
            .missing_scopes
            .iter()
            .map(|m| json!({"scope": m.scope.as_str(), "hint": m.hint.as_str()}))
            .collect::<Vec<_>>(),
    })
}

/// A verification method's name in requests (`device_code`, `browser`, `direct`).
pub fn method_name(method: &VerifyMethod) -> &'static str {
    match method {
        VerifyMethod::DeviceCode => "device_code",
        VerifyMethod::Browser { .. } => "browser",
        VerifyMethod::Direct => "direct",
        _ => "unknown",
    }
}

/// A method a plugin offers: `method`, and for `browser` whether it can listen on
/// loopback.
pub fn method_json(method: &VerifyMethod) -> Value {
    match method {
        VerifyMethod::Browser { loopback } => json!({"method": "browser", "loopback": loopback}),
        other => json!({"method": method_name(other)}),
    }
}

/// How a plugin wants one saved setting shown: `key`, `label`, `shown_as`.
pub fn setting_display_json(display: &SettingDisplay) -> Value {
    json!({
        "key": display.key.as_str(),
        "label": display.label.as_str(),
        "shown_as": display.shown_as().name(),
    })
}

/// A verification session's state: `state` names it, the rest depends on it.
/// `method` is how the session verifies (a verified account's `headline` follows it).
pub fn session_state_json(state: &SessionState, method: &VerifyMethod) -> Value {
    match state {
        SessionState::Working { message } => {
            json!({"state": "working", "message": message.as_str()})
        }
        SessionState::ShowCode {
            user_code,
            verification_uri,
            message,
            expires_at,
        } => json!({
            "state": "show_code",
            "user_code": user_code.as_str(),
            "verification_uri": verification_uri.as_str(),
            "message": message.as_str(),
            "expires_at": expires_at,
        }),
        SessionState::OpenBrowser {
            url,
            message,
            expires_at,
            listening,
        } => json!({
            "state": "open_browser",
            "url": url.as_str(),
            "message": message.as_str(),
            "expires_at": expires_at,
            "listening": listening.as_ref().map(|l| l.as_str()).into_option(),
        }),
        SessionState::Verified(account) => {
            json!({"state": "verified", "account": verified_json(account, method)})
        }
        SessionState::Failed(error) => json!({"state": "failed", "error": error_json(error)}),
        _ => json!({"state": "working", "message": "Working…"}),
    }
}

/// A saved account's health.
pub fn health_json(health: &AccountHealth) -> Value {
    json!({
        "state": health.state.name(),
        "reason": health.reason,
        "fix": health.fix,
        "verified_at": health.verified_at,
        "access_token_expires_at": health.access_token_expires_at,
        "last_refresh_at": health.last_refresh_at,
        "last_refresh_error": health.last_refresh_error.as_ref().map(error_json),
        "refresh_token_rotated_at": health.refresh_token_rotated_at,
        "lapses_at": health.lapses_at,
        "secret_expires_at": health.secret_expires_at,
    })
}

/// What a finished delivery left behind.
pub fn receipt_json(receipt: &DeliveryReceipt) -> Value {
    let details: serde_json::Map<String, Value> = receipt
        .details
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "kind": receipt.kind.name(),
        "id": receipt.id,
        "web_url": receipt.web_url,
        "summary": receipt.summary,
        "bytes": receipt.bytes,
        "details": details,
    })
}

/// A delivery's state: `state` is `running`, `done` or `failed`.
pub fn delivery_state_json(state: &DeliveryState) -> Value {
    match state {
        DeliveryState::Running {
            message,
            bytes_sent,
            bytes_total,
        } => json!({
            "state": "running",
            "message": message,
            "bytes_sent": bytes_sent,
            "bytes_total": bytes_total,
        }),
        DeliveryState::Done(receipt) => json!({"state": "done", "receipt": receipt_json(receipt)}),
        DeliveryState::Failed(error) => json!({"state": "failed", "error": error_json(error)}),
        _ => json!({"state": "running", "message": "Working…", "bytes_sent": 0, "bytes_total": 0}),
    }
}

//! The protocol's answers read back into the SDK's types: the inverse of
//! [`crate::wire`], for a front end that holds an isolated plugin through the same API
//! as a loaded one. What the wire does not carry comes back empty (a verified
//! account's user id, a receipt's detail order).

use atrs_host_sdk::{
    AccessToken, AccountHealth, ChoiceOption, DeliveryKind, DeliveryReceipt, DeliveryState,
    ErrorKind, FieldError, FieldKind, FormField, FormValues, HealthState, PluginError,
    SessionState, SettingDisplay, ShownAs, TokenGrant, TokenSource, VerifiedAccount, VerifyMethod,
};
use serde_json::Value;

/// The detail the SDK marks a call the host could not make with (read back by
/// `CallFailure::of` as `HostFailed`): an error the runtime made itself — a runner
/// that died or stopped answering — is the host's, never the plugin's.
const HOST_GAVE_UP: (&str, &str) = ("host_gave_up", "failed");

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

fn optional_text(value: &Value, key: &str) -> Option<String> {
    value[key].as_str().map(str::to_owned)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const KINDS: [ErrorKind; 8] = [
    ErrorKind::InvalidInput,
    ErrorKind::Network,
    ErrorKind::AuthorizationRefused,
    ErrorKind::Provider,
    ErrorKind::Cancelled,
    ErrorKind::TimedOut,
    ErrorKind::Unsupported,
    ErrorKind::Internal,
];

/// An error answer; `call` names the request it answered. An unknown kind (the
/// protocol's `invalid_request` included) reads as `internal`, as the evolution rules
/// ask of every reader.
pub fn error(value: &Value, call: &str) -> PluginError {
    let name = value["kind"].as_str().unwrap_or_default();
    let kind = KINDS
        .into_iter()
        .find(|k| k.as_str() == name)
        .unwrap_or(ErrorKind::Internal);
    let message = match value["message"].as_str() {
        Some(m) if !m.trim().is_empty() => m.to_owned(),
        _ => format!("The `{call}` request failed without saying why."),
    };
    let mut error = PluginError::new(kind, message);
    if let Some(hint) = optional_text(value, "hint") {
        error = error.with_hint(hint);
    }
    if let Some(field) = optional_text(value, "field") {
        error = error.with_field(field);
    }
    if let Some(code) = optional_text(value, "provider_code") {
        error = error.with_provider_code(code);
    }
    if let Some(id) = optional_text(value, "trace_id") {
        error = error.with_trace_id(id);
    }
    if let Some(id) = optional_text(value, "correlation_id") {
        error = error.with_correlation_id(id);
    }
    if value["origin"] == "host" {
        error = error
            .with_detail(HOST_GAVE_UP.0, HOST_GAVE_UP.1)
            .with_detail("call", call);
    }
    error
}

/// One form field.
pub fn field(value: &Value) -> FormField {
    let kind = match value["kind"].as_str() {
        Some("secret") => FieldKind::Secret,
        Some("choice") => FieldKind::Choice {
            options: value["options"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| ChoiceOption::new(text(o, "value"), text(o, "label")))
                .collect(),
        },
        _ => FieldKind::Text,
    };
    let mut field = FormField::new(text(value, "key"), text(value, "label"), kind);
    field.required = value["required"] == true;
    field.advanced = value["advanced"] == true;
    if let Some(default) = optional_text(value, "default") {
        field = field.with_default(default);
    }
    if let Some(placeholder) = optional_text(value, "placeholder") {
        field = field.with_placeholder(placeholder);
    }
    if let Some(help) = optional_text(value, "help") {
        field = field.with_help(help);
    }
    field
}

/// Per-field problems.
pub fn field_errors(value: &Value) -> Vec<FieldError> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let error = FieldError::new(text(e, "field"), text(e, "message"));
            match optional_text(e, "hint") {
                Some(hint) => error.with_hint(hint),
                None => error,
            }
        })
        .collect()
}

/// A verification method a plugin offers; `None` for one this host does not know.
pub fn method(value: &Value) -> Option<VerifyMethod> {
    match value["method"].as_str()? {
        "device_code" => Some(VerifyMethod::DeviceCode),
        "browser" => Some(VerifyMethod::Browser {
            loopback: value["loopback"] == true,
        }),
        "direct" => Some(VerifyMethod::Direct),
        _ => None,
    }
}

/// How a plugin wants one saved setting shown.
pub fn setting_display(value: &Value) -> SettingDisplay {
    let shown_as = match value["shown_as"].as_str() {
        Some("date") => ShownAs::Date,
        Some("url") => ShownAs::Url,
        Some("hidden") => ShownAs::Hidden,
        _ => ShownAs::Text,
    };
    SettingDisplay::new(text(value, "key"), text(value, "label"), shown_as)
}

/// A delivery kind by its name; `None` for one this host does not know.
pub fn delivery_kind(name: &str) -> Option<DeliveryKind> {
    [DeliveryKind::Mail, DeliveryKind::File, DeliveryKind::Push]
        .into_iter()
        .find(|k| k.name() == name)
}

/// Who verified, and what was granted.
pub fn verified(value: &Value) -> VerifiedAccount {
    let mut account = VerifiedAccount::new(
        text(value, "account_name"),
        text(value, "user_principal_name"),
        text(value, "display_name"),
        text(value, "tenant_id"),
    )
    .with_granted_scopes(strings(&value["granted_scopes"]));
    for missing in value["missing_scopes"].as_array().into_iter().flatten() {
        account = account.with_missing_scope(text(missing, "scope"), text(missing, "hint"));
    }
    account
}

/// A verification session's state; `call` names the request that answered it.
pub fn session_state(value: &Value, call: &str) -> SessionState {
    match value["state"].as_str() {
        Some("show_code") => SessionState::ShowCode {
            user_code: text(value, "user_code").into(),
            verification_uri: text(value, "verification_uri").into(),
            message: text(value, "message").into(),
            expires_at: value["expires_at"].as_i64().unwrap_or_default(),
        },
        Some("open_browser") => SessionState::OpenBrowser {
            url: text(value, "url").into(),
            message: text(value, "message").into(),
            expires_at: value["expires_at"].as_i64().unwrap_or_default(),
            listening: optional_text(value, "listening").map(Into::into).into(),
        },
        Some("verified") => SessionState::verified(verified(&value["account"])),
        Some("failed") => SessionState::failed(error(&value["error"], call)),
        // `working`, and any state this host does not know: poll again.
        _ => SessionState::working(match value["message"].as_str() {
            Some(m) if !m.is_empty() => m,
            _ => "Working…",
        }),
    }
}

/// A saved account's health.
pub fn health(value: &Value) -> AccountHealth {
    let state = match value["state"].as_str() {
        Some("healthy") => HealthState::Healthy,
        Some("expiring_soon") => HealthState::ExpiringSoon,
        Some("credential_expired") => HealthState::CredentialExpired,
        // `needs_sign_in`, and a state this host does not know: it needs a person.
        _ => HealthState::NeedsSignIn,
    };
    let mut health = AccountHealth::new(state);
    health.reason = text(value, "reason");
    health.fix = optional_text(value, "fix");
    health.verified_at = value["verified_at"].as_i64();
    health.access_token_expires_at = value["access_token_expires_at"].as_i64();
    health.last_refresh_at = value["last_refresh_at"].as_i64();
    health.last_refresh_error = value["last_refresh_error"]
        .is_object()
        .then(|| error(&value["last_refresh_error"], "health"));
    health.refresh_token_rotated_at = value["refresh_token_rotated_at"].as_i64();
    health.lapses_at = value["lapses_at"].as_i64();
    health.secret_expires_at = value["secret_expires_at"].as_i64();
    health
}

/// A `token` answer.
pub fn token_grant(value: &Value) -> TokenGrant {
    TokenGrant {
        token: AccessToken::new(
            text(value, "token"),
            value["expires_at"].as_i64().unwrap_or_default(),
            strings(&value["scopes"]),
        ),
        source: match value["source"].as_str() {
            Some("cache") => TokenSource::Cache,
            _ => TokenSource::Refreshed,
        },
    }
}

/// A `load` answer's values, its secrets marked secret.
pub fn values(value: &Value) -> FormValues {
    let secret_keys = strings(&value["secret_keys"]);
    let mut values = FormValues::new();
    for (key, v) in value["values"].as_object().into_iter().flatten() {
        let v = v.as_str().unwrap_or_default();
        if secret_keys.iter().any(|s| s == key) {
            values.set_secret(key.as_str(), v);
        } else {
            values.set(key.as_str(), v);
        }
    }
    values
}

/// A delivery's state; `call` names the request that answered it.
pub fn delivery_state(value: &Value, call: &str) -> DeliveryState {
    match value["state"].as_str() {
        Some("done") => {
            let receipt = &value["receipt"];
            DeliveryState::Done(DeliveryReceipt {
                kind: receipt["kind"]
                    .as_str()
                    .and_then(delivery_kind)
                    .unwrap_or(DeliveryKind::Mail),
                id: text(receipt, "id"),
                web_url: optional_text(receipt, "web_url"),
                summary: text(receipt, "summary"),
                bytes: receipt["bytes"].as_u64().unwrap_or_default(),
                details: receipt["details"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect(),
            })
        }
        Some("failed") => DeliveryState::Failed(error(&value["error"], call)),
        _ => DeliveryState::Running {
            message: text(value, "message"),
            bytes_sent: value["bytes_sent"].as_u64().unwrap_or_default(),
            bytes_total: value["bytes_total"].as_u64().unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use atrs_host_sdk::{loader::CallFailure, FieldKind};

    use super::*;
    use crate::wire;

    #[test]
    fn an_error_reads_back_as_it_was_written_and_the_host_s_own_is_marked_so() {
        let original = PluginError::new(ErrorKind::AuthorizationRefused, "Refused.")
            .with_hint("Ask an admin.")
            .with_field("client_id")
            .with_provider_code("AADSTS700016")
            .with_trace_id("t-1")
            .with_correlation_id("c-1");
        let read = error(&wire::error_json(&original), "token");
        assert_eq!(wire::error_json(&read), wire::error_json(&original));
        assert!(!CallFailure::of(&read).is_host_side());

        let mut host = wire::error_json(&PluginError::internal("The runner stopped."));
        host["origin"] = "host".into();
        let read = error(&host, "token");
        assert!(CallFailure::of(&read).is_host_side(), "{read:?}");
        assert_eq!(wire::origin(&read), "host");

        let odd = serde_json::json!({"kind": "invalid_request", "message": ""});
        let read = error(&odd, "load");
        assert_eq!(read.kind(), ErrorKind::Internal);
        assert!(read.message().contains("`load`"), "{}", read.message());
    }

    #[test]
    fn fields_states_and_health_read_back_as_written() {
        let field = FormField::new(
            "tenant",
            "Tenant",
            FieldKind::choice([("common", "Any"), ("organizations", "Work")]),
        )
        .required()
        .advanced()
        .with_default("common")
        .with_help("Which accounts may sign in.");
        assert_eq!(
            wire::field_json(&self::field(&wire::field_json(&field))),
            wire::field_json(&field)
        );

        let account = VerifiedAccount::new("Reports", "adele@contoso.com", "Adele", "contoso")
            .with_granted_scopes(["Mail.Send"])
            .with_missing_scope("Files.ReadWrite", "Ask an admin.");
        let method = VerifyMethod::DeviceCode;
        let state = SessionState::verified(account);
        let json = wire::session_state_json(&state, &method);
        assert_eq!(
            wire::session_state_json(&session_state(&json, "verify.poll"), &method),
            json
        );

        let mut health = AccountHealth::new(HealthState::ExpiringSoon)
            .because("The secret expires in 3 days.", "Create a new secret.");
        health.secret_expires_at = Some(1_900_000_000);
        health.last_refresh_error = Some(PluginError::network("Unreachable."));
        let json = wire::health_json(&health);
        assert_eq!(wire::health_json(&self::health(&json)), json);
    }

    #[test]
    fn what_this_host_does_not_know_reads_as_the_rules_say() {
        let unknown = serde_json::json!({"state": "thinking", "message": ""});
        assert!(matches!(
            session_state(&unknown, "verify.poll"),
            SessionState::Working { .. }
        ));
        let health = health(&serde_json::json!({"state": "on_fire"}));
        assert_eq!(health.state, HealthState::NeedsSignIn);
        assert_eq!(method(&serde_json::json!({"method": "telepathy"})), None);
        assert_eq!(delivery_kind("fax"), None);
    }
}

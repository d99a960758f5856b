//! How an account's health reads for a person (the `accounts` and `refresh` lines, the
//! menu's status) and as JSON, and where the accounts live (`accounts`, the menu).

use atrs_host_sdk::{AccountHealth, HealthState};
use serde_json::{json, Value};

use crate::{
    present::{local_time, relative_time},
    store::StoreInfo,
};

/// Where accounts live, in one line: the store, its backend, whether secrets are sealed
/// and where the key comes from (never the key).
pub fn store_line(info: &StoreInfo) -> String {
    let secrets = if info.sealed {
        format!("secrets sealed (XChaCha20-Poly1305), {}", info.key_source)
    } else {
        "secrets in PLAIN TEXT (allowed by ATRS_STORE_PLAINTEXT=1)".to_owned()
    };
    format!(
        "Accounts live in {} ({}; {secrets}).",
        info.location, info.backend
    )
}

/// The state in words.
pub fn state_words(state: HealthState) -> &'static str {
    match state {
        HealthState::Healthy => "healthy",
        HealthState::ExpiringSoon => "expiring soon",
        HealthState::NeedsSignIn => "needs sign-in again",
        HealthState::CredentialExpired => "app credential expired",
        _ => "unknown",
    }
}

/// A mark for the state: `✓`, `!`, `✗`.
pub fn state_mark(state: HealthState) -> &'static str {
    match state {
        HealthState::Healthy => "✓",
        HealthState::ExpiringSoon => "!",
        _ => "✗",
    }
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `secs` as a local date and how far from `now`: `2026-12-01 22:30 (+01:00) (in 3 days)`.
pub fn when(secs: i64, now: i64) -> String {
    format!("{} ({})", local_time(secs), relative_time(secs, now))
}

/// The health as indented lines under an account's name.
pub fn lines(h: &AccountHealth, now: i64) -> Vec<String> {
    let mut out = vec![match h.reason.is_empty() {
        true => format!(
            "    health: {} {}",
            state_mark(h.state),
            state_words(h.state)
        ),
        false => format!(
            "    health: {} {} — {}",
            state_mark(h.state),
            state_words(h.state),
            h.reason
        ),
    }];
    if let Some(fix) = &h.fix {
        out.push(format!("    fix: {fix}"));
    }
    let mut at = |label: &str, t: Option<i64>| {
        if let Some(t) = t {
            out.push(format!("    {label}: {}", when(t, now)));
        }
    };
    at("verified", h.verified_at);
    at("access token valid until", h.access_token_expires_at);
    at("refresh token rotated", h.refresh_token_rotated_at);
    at("sign-in lapses if unused", h.lapses_at);
    at("client secret expires", h.secret_expires_at);
    if let Some(t) = h.last_refresh_at {
        let outcome = match &h.last_refresh_error {
            None => "ok".to_owned(),
            Some(e) => format!("failed — {}", e.message()),
        };
        out.push(format!("    last refresh: {} {outcome}", when(t, now)));
    }
    out
}

/// The health as JSON (times in Unix seconds).
pub fn to_json(h: &AccountHealth) -> Value {
    json!({
        "state": h.state.name(),
        "reason": h.reason,
        "fix": h.fix,
        "verified_at": h.verified_at,
        "access_token_expires_at": h.access_token_expires_at,
        "last_refresh_at": h.last_refresh_at,
        "last_refresh_error": h.last_refresh_error.as_ref().map(|e| json!({
            "kind": e.kind().as_str(),
            "message": e.message(),
            "hint": e.hint(),
            "provider_code": e.provider_code(),
        })),
        "refresh_token_rotated_at": h.refresh_token_rotated_at,
        "lapses_at": h.lapses_at,
        "secret_expires_at": h.secret_expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_needs_sign_in_account_reads_state_reason_and_fix() {
        let h = AccountHealth::new(HealthState::NeedsSignIn).because("Revoked.", "Re-verify.");
        let lines = lines(&h, 0);
        assert_eq!(lines[0], "    health: ✗ needs sign-in again — Revoked.");
        assert_eq!(lines[1], "    fix: Re-verify.");
        assert_eq!(to_json(&h)["state"], "needs_sign_in");
        assert!(
            when(90_000, 0).ends_with("(in 1 day)"),
            "{}",
            when(90_000, 0)
        );
        assert!(when(0, 120).ends_with("(2 min ago)"));
    }

    #[test]
    fn an_expired_credential_reads_as_its_own_state() {
        let h = AccountHealth::new(HealthState::CredentialExpired).because(
            "The client secret expired on 2026-01-01.",
            "Create a new client secret.",
        );
        assert_eq!(
            lines(&h, 0)[0],
            "    health: ✗ app credential expired — The client secret expired on 2026-01-01."
        );
        assert_eq!(to_json(&h)["state"], "credential_expired");
    }
}

//! The health of a saved account, from what the store holds (no network): healthy,
//! expiring soon (the sign-in lapses within [`LAPSE_WARNING_DAYS`] unless used, or the
//! client secret expires within [`SECRET_WARNING_DAYS`]), or needs signing in again.

use atrs_host_sdk::{Host, PluginError, Settings};

use crate::{
    clock::unix_now,
    fields,
    refresh_facts::RefreshFacts,
    saved::{self, SECRET_REFRESH_TOKEN},
    token_cache::{TokenCache, SECRET_ACCESS_TOKENS},
    verified::FACT_VERIFIED_AT,
};

/// A refresh token lapses when unused this long (Entra: 90 days).
pub const LAPSE_DAYS: i64 = 90;
/// "Expiring soon" this many days before the sign-in lapses; `refresh` renews such accounts.
pub const LAPSE_WARNING_DAYS: i64 = 14;
/// "Expiring soon" this many days before the client secret expires.
pub const SECRET_WARNING_DAYS: i64 = 30;

const DAY: i64 = 24 * 3600;

/// The state of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Works, nothing due.
    Healthy,
    /// Works, but needs attention soon.
    ExpiringSoon,
    /// Does not work until it is signed in again.
    NeedsSignIn,
}

/// An account's health; times are Unix seconds.
#[derive(Debug, Clone)]
pub struct Health {
    /// The state.
    pub state: State,
    /// Why, in one sentence ("" when healthy).
    pub reason: String,
    /// What to do.
    pub fix: Option<String>,
    /// When it was verified.
    pub verified_at: Option<i64>,
    /// Until when the cached access token is valid.
    pub access_token_expires_at: Option<i64>,
    /// When a refresh was last tried.
    pub last_refresh_at: Option<i64>,
    /// Why the last refresh failed (`None`: it succeeded, or none yet).
    pub last_refresh_error: Option<PluginError>,
    /// When the refresh token last rotated.
    pub refresh_token_rotated_at: Option<i64>,
    /// When the saved sign-in lapses if unused.
    pub lapses_at: Option<i64>,
    /// When the client secret expires, when the user said.
    pub secret_expires_at: Option<i64>,
}

/// The health of `account` now.
pub fn of(host: &Host, account: &str) -> Result<Health, PluginError> {
    let settings = saved::read(host, account)?.ok_or_else(|| saved::not_found(account))?;
    let cache = TokenCache::parse(host.secret_read(account, SECRET_ACCESS_TOKENS)?.as_deref());
    let has_refresh_token = host.secret_read(account, SECRET_REFRESH_TOKEN)?.is_some();
    Ok(assess(
        &settings,
        cache.valid_until(),
        has_refresh_token,
        unix_now(),
    ))
}

/// The health from the stored facts at `now`.
pub fn assess(
    settings: &Settings,
    access_token_expires_at: Option<i64>,
    has_refresh_token: bool,
    now: i64,
) -> Health {
    let time = |key: &str| settings.get(key).and_then(|v| v.parse::<i64>().ok());
    let facts = RefreshFacts::read(settings);
    let verified_at = time(FACT_VERIFIED_AT);
    let lapses_at = facts
        .last_refresh_ok_at
        .max(verified_at)
        .map(|t| t + LAPSE_DAYS * DAY);
    let secret_expires_at = settings
        .get(fields::CLIENT_SECRET_EXPIRES)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp());
    let mut health = Health {
        state: State::Healthy,
        reason: String::new(),
        fix: None,
        verified_at,
        access_token_expires_at,
        last_refresh_at: facts.last_refresh_at,
        last_refresh_error: facts.last_failure.as_ref().map(|f| f.to_error()),
        refresh_token_rotated_at: facts.rotated_at,
        lapses_at,
        secret_expires_at,
    };
    let re_verify = "Re-verify the account (sign in again); its name and settings are kept.";
    let new_secret = "Create a new client secret (Azure portal → App registrations → your app → Certificates & secrets), enter its Value and its expiry, then Re-verify the account.";
    let (state, reason, fix) = if let Some(failure) = facts.needs_sign_in() {
        (
            State::NeedsSignIn,
            match failure.reason.is_empty() {
                true => failure.message.clone(),
                false => failure.reason.clone(),
            },
            failure.hint.clone(),
        )
    } else if !has_refresh_token {
        (
            State::NeedsSignIn,
            "No saved sign-in is stored for this account.".to_owned(),
            Some(re_verify.to_owned()),
        )
    } else if let Some(at) = lapses_at.filter(|at| *at <= now) {
        (
            State::NeedsSignIn,
            format!(
                "The saved sign-in lapsed on {}, after {LAPSE_DAYS} days unused.",
                day(at)
            ),
            Some(re_verify.to_owned()),
        )
    } else if let Some(at) = secret_expires_at.filter(|at| *at <= now) {
        (
            State::NeedsSignIn,
            format!("The client secret expired on {}.", day(at)),
            Some(new_secret.to_owned()),
        )
    } else if let Some(at) = lapses_at.filter(|at| at - now <= LAPSE_WARNING_DAYS * DAY) {
        (
            State::ExpiringSoon,
            format!(
                "The saved sign-in lapses on {} unless it is used before.",
                day(at)
            ),
            Some(
                "Run `refresh` (or let a scheduled `refresh --all` do it) to renew it.".to_owned(),
            ),
        )
    } else if let Some(at) = secret_expires_at.filter(|at| at - now <= SECRET_WARNING_DAYS * DAY) {
        (
            State::ExpiringSoon,
            format!("The client secret expires on {}.", day(at)),
            Some(new_secret.to_owned()),
        )
    } else {
        (State::Healthy, String::new(), None)
    };
    health.state = state;
    health.reason = reason;
    health.fix = fix;
    health
}

/// `YYYY-MM-DD` (UTC) of Unix seconds.
pub fn day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refresh_facts::StoredFailure;
    use atrs_host_sdk::ErrorKind;

    const NOW: i64 = 1_800_000_000;

    fn verified(days_ago: i64) -> Settings {
        Settings::from([(
            FACT_VERIFIED_AT.to_owned(),
            (NOW - days_ago * DAY).to_string(),
        )])
    }

    #[test]
    fn fresh_accounts_are_healthy_and_lapse_ninety_days_after_their_last_use() {
        let h = assess(&verified(1), Some(NOW + 3000), true, NOW);
        assert_eq!(h.state, State::Healthy);
        assert_eq!(h.lapses_at, Some(NOW - DAY + 90 * DAY));
        assert_eq!(h.access_token_expires_at, Some(NOW + 3000));
        assert!(h.reason.is_empty() && h.fix.is_none());
    }

    #[test]
    fn close_to_lapsing_is_expiring_soon_and_past_it_needs_sign_in() {
        let soon = assess(&verified(80), None, true, NOW);
        assert_eq!(soon.state, State::ExpiringSoon);
        assert!(
            soon.reason.starts_with("The saved sign-in lapses on "),
            "{}",
            soon.reason
        );
        let mut refreshed = verified(80);
        let mut facts = RefreshFacts::default();
        facts.succeeded(NOW - DAY, true);
        facts.write(&mut refreshed);
        assert_eq!(assess(&refreshed, None, true, NOW).state, State::Healthy);
        let lapsed = assess(&verified(91), None, true, NOW);
        assert_eq!(lapsed.state, State::NeedsSignIn);
        assert!(
            lapsed.reason.contains("after 90 days unused"),
            "{}",
            lapsed.reason
        );
    }

    #[test]
    fn a_secret_expiring_within_thirty_days_warns() {
        let mut s = verified(1);
        s.insert(fields::CLIENT_SECRET_EXPIRES.into(), day(NOW + 20 * DAY));
        let h = assess(&s, None, true, NOW);
        assert_eq!(h.state, State::ExpiringSoon);
        assert!(h.fix.unwrap().contains("Certificates & secrets"));
        s.insert(fields::CLIENT_SECRET_EXPIRES.into(), day(NOW - DAY));
        assert_eq!(assess(&s, None, true, NOW).state, State::NeedsSignIn);
    }

    #[test]
    fn a_refusal_for_good_needs_sign_in_with_its_reason_and_fix() {
        let mut s = verified(1);
        let e = PluginError::new(
            ErrorKind::AuthorizationRefused,
            "\"R\" needs to be signed in again: revoked.",
        )
        .with_hint("Re-verify.");
        let mut facts = RefreshFacts::default();
        facts.failed(NOW, StoredFailure::new(&e, "Revoked.", true));
        facts.write(&mut s);
        let h = assess(&s, None, true, NOW);
        assert_eq!(h.state, State::NeedsSignIn);
        assert_eq!(h.reason, "Revoked.");
        assert_eq!(h.fix.as_deref(), Some("Re-verify."));
        assert_eq!(h.last_refresh_error.unwrap().message(), e.message());
        assert_eq!(
            assess(&verified(1), None, false, NOW).state,
            State::NeedsSignIn
        );
    }
}

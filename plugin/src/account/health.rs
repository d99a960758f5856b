//! The health of a saved account, from what the store holds (no network): healthy,
//! expiring soon (the sign-in lapses within [`LAPSE_WARNING_DAYS`] unless used, or the
//! client secret or the certificate expires within [`SECRET_WARNING_DAYS`]), needs
//! signing in again, or the app's credential (client secret or certificate) expired. A
//! healthy account whose granted permissions leave deliveries out says which
//! ([`with_deliveries`]).

use atrs_host_sdk::{AccountHealth, HealthState, Host, PluginError, Settings};

use crate::{
    account::refresh_facts::RefreshFacts,
    account::saved::{
        self, FACT_GRANTED_SCOPES, FACT_VERIFIED_AT, SECRET_ACCESS_TOKENS,
        SECRET_CERTIFICATE_PASSWORD, SECRET_REFRESH_TOKEN,
    },
    account::secret_expiry,
    account::token_cache::TokenCache,
    authority::aadsts,
    authority::delivery_permissions::Summary,
    certificate,
    clock::unix_now,
    fields,
    secret::Secret,
    sign_in_kind::SignIn,
};

/// A refresh token lapses when unused this long (Entra: 90 days).
pub const LAPSE_DAYS: i64 = 90;
/// "Expiring soon" this many days before the sign-in lapses; `refresh` renews such accounts.
pub const LAPSE_WARNING_DAYS: i64 = 14;
/// "Expiring soon" this many days before the client secret expires.
pub const SECRET_WARNING_DAYS: i64 = 30;

const DAY: i64 = 24 * 3600;

/// The health of `account` now.
pub fn of(host: &Host, account: &str) -> Result<AccountHealth, PluginError> {
    let settings = saved::read(host, account)?.ok_or_else(|| saved::not_found(account))?;
    let cache = TokenCache::parse(host.secret_read(account, SECRET_ACCESS_TOKENS)?.as_deref());
    let has_refresh_token = host.secret_read(account, SECRET_REFRESH_TOKEN)?.is_some();
    let now = unix_now();
    let health = assess(&settings, cache.valid_until(), has_refresh_token, now);
    let certificate_expires_at = match settings.get(fields::CERTIFICATE_FILE) {
        Some(path) => {
            let password = host
                .secret_read(account, SECRET_CERTIFICATE_PASSWORD)?
                .map(Secret::new);
            certificate::expiry_of_file(std::path::Path::new(path), password.as_ref())
        }
        None => None,
    };
    let health = with_certificate(health, certificate_expires_at, now);
    Ok(with_deliveries(health, &settings))
}

/// A healthy account's `health` with the deliveries its granted permissions do not allow:
/// the reason names each delivery ("Deliveries: mail ✓, attachments over 3 MB need
/// Mail.ReadWrite, files need Files.ReadWrite."), the fix how to allow them. Unchanged
/// when all are allowed, when what was granted is not known, or when the account needs
/// attention for another reason (that comes first).
pub fn with_deliveries(mut health: AccountHealth, settings: &Settings) -> AccountHealth {
    if health.state != HealthState::Healthy {
        return health;
    }
    let granted: Vec<String> = settings
        .get(FACT_GRANTED_SCOPES)
        .map(|g| g.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if granted.is_empty() {
        return health;
    }
    let kind = settings
        .get(fields::SIGN_IN)
        .and_then(|k| SignIn::parse(k))
        .unwrap_or_default();
    let deliveries = Summary::of(kind, &granted);
    if let Some(fix) = deliveries.fix() {
        health.reason = format!("Deliveries: {}.", deliveries.text());
        health.fix = Some(fix);
    }
    health
}

/// `health` with the certificate credential's expiry weighed in: expired needs a new
/// certificate, within [`SECRET_WARNING_DAYS`] is expiring soon — unless the account
/// already needs attention for another reason.
pub fn with_certificate(
    mut health: AccountHealth,
    expires_at: Option<i64>,
    now: i64,
) -> AccountHealth {
    let Some(at) = expires_at else {
        return health;
    };
    let new_certificate = "Create a new certificate, upload it under Azure portal → App registrations → your app → Certificates & secrets → Certificates, put it with its key in the account's Certificate file, then Re-verify the account.";
    let needs_person = matches!(
        health.state,
        HealthState::NeedsSignIn | HealthState::CredentialExpired
    );
    let (state, reason) = if at <= now && !needs_person {
        (
            HealthState::CredentialExpired,
            format!("The certificate expired on {}.", day(at)),
        )
    } else if at - now <= SECRET_WARNING_DAYS * DAY && health.state == HealthState::Healthy {
        (
            HealthState::ExpiringSoon,
            format!("The certificate expires on {}.", day(at)),
        )
    } else {
        return health;
    };
    health.state = state;
    health.reason = reason;
    health.fix = Some(new_certificate.to_owned());
    health
}

/// The health from the stored facts at `now`.
pub fn assess(
    settings: &Settings,
    access_token_expires_at: Option<i64>,
    has_refresh_token: bool,
    now: i64,
) -> AccountHealth {
    let time = |key: &str| settings.get(key).and_then(|v| v.parse::<i64>().ok());
    let facts = RefreshFacts::read(settings);
    let verified_at = time(FACT_VERIFIED_AT);
    // An application account has no sign-in to lapse: each token comes from the app's
    // own credential (client credentials), so only that credential can expire.
    let application =
        settings.get(fields::SIGN_IN).and_then(|k| SignIn::parse(k)) == Some(SignIn::Application);
    let lapses_at = match application {
        true => None,
        false => facts
            .last_refresh_ok_at
            .max(verified_at)
            .map(|t| t.saturating_add(LAPSE_DAYS * DAY)),
    };
    let secret_expires_at = settings
        .get(fields::CLIENT_SECRET_EXPIRES)
        .and_then(|d| secret_expiry::expires_at(d));
    let mut health = AccountHealth {
        state: HealthState::Healthy,
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
    let new_secret = secret_expiry::NEW_SECRET;
    let (state, reason, fix) = if let Some(failure) = facts.needs_sign_in() {
        (
            match failure.provider_code.as_deref() {
                Some(code) if aadsts::is_expired_secret(code) => HealthState::CredentialExpired,
                _ => HealthState::NeedsSignIn,
            },
            match failure.reason.is_empty() {
                true => failure.message.clone(),
                false => failure.reason.clone(),
            },
            failure.hint.clone(),
        )
    } else if !has_refresh_token && !application {
        (
            HealthState::NeedsSignIn,
            "No saved sign-in is stored for this account.".to_owned(),
            Some(re_verify.to_owned()),
        )
    } else if let Some(at) = lapses_at.filter(|at| *at <= now) {
        (
            HealthState::NeedsSignIn,
            format!(
                "The saved sign-in lapsed on {}, after {LAPSE_DAYS} days unused.",
                day(at)
            ),
            Some(re_verify.to_owned()),
        )
    } else if let Some(at) = secret_expires_at.filter(|at| *at <= now) {
        (
            HealthState::CredentialExpired,
            format!("The client secret expired on {}.", day(at)),
            Some(new_secret.to_owned()),
        )
    } else if let Some(at) =
        lapses_at.filter(|at| at.saturating_sub(now) <= LAPSE_WARNING_DAYS * DAY)
    {
        (
            HealthState::ExpiringSoon,
            format!(
                "The saved sign-in lapses on {} unless it is used before.",
                day(at)
            ),
            Some(
                "Run `refresh` (or let a scheduled `refresh --all` do it) to renew it.".to_owned(),
            ),
        )
    } else if let Some(at) =
        secret_expires_at.filter(|at| at.saturating_sub(now) <= SECRET_WARNING_DAYS * DAY)
    {
        (
            HealthState::ExpiringSoon,
            format!("The client secret expires on {}.", day(at)),
            Some(new_secret.to_owned()),
        )
    } else {
        (HealthState::Healthy, String::new(), None)
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
    use crate::account::refresh_facts::StoredFailure;
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
        assert_eq!(h.state, HealthState::Healthy);
        assert_eq!(h.lapses_at, Some(NOW - DAY + 90 * DAY));
        assert_eq!(h.access_token_expires_at, Some(NOW + 3000));
        assert!(h.reason.is_empty() && h.fix.is_none());
    }

    #[test]
    fn an_application_account_has_no_refresh_token_and_never_lapses() {
        let mut settings = verified(400);
        settings.insert(fields::SIGN_IN.into(), "application".into());
        let h = assess(&settings, Some(NOW + 3000), false, NOW);
        assert_eq!(h.state, HealthState::Healthy, "{h:?}");
        assert_eq!(h.lapses_at, None);
        let user = assess(&verified(400), None, false, NOW);
        assert_eq!(
            user.state,
            HealthState::NeedsSignIn,
            "a user account does lapse"
        );
    }

    #[test]
    fn a_healthy_account_says_which_deliveries_its_permissions_leave_out() {
        let mut user = verified(1);
        user.insert(FACT_GRANTED_SCOPES.into(), "User.Read Mail.Send".into());
        let h = with_deliveries(assess(&user, None, true, NOW), &user);
        assert_eq!(h.state, HealthState::Healthy);
        assert_eq!(
            h.reason,
            "Deliveries: mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite."
        );
        assert!(h.fix.as_deref().unwrap().contains("Scopes"), "{h:?}");

        let mut app = verified(1);
        app.insert(fields::SIGN_IN.into(), "application".into());
        app.insert(FACT_GRANTED_SCOPES.into(), "Mail.Send User.Read.All".into());
        let h = with_deliveries(assess(&app, None, false, NOW), &app);
        assert_eq!(
            h.reason,
            "Deliveries: mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite.All."
        );
        assert!(h.fix.as_deref().unwrap().contains("admin consent"), "{h:?}");

        // Everything allowed, nothing known, or a more urgent reason: unchanged.
        user.insert(
            FACT_GRANTED_SCOPES.into(),
            "User.Read Mail.Send Mail.ReadWrite Files.ReadWrite".into(),
        );
        let h = with_deliveries(assess(&user, None, true, NOW), &user);
        assert!(h.reason.is_empty() && h.fix.is_none(), "{h:?}");
        let h = with_deliveries(assess(&verified(1), None, true, NOW), &verified(1));
        assert!(h.reason.is_empty(), "{h:?}");
        let mut lapsing = verified(80);
        lapsing.insert(FACT_GRANTED_SCOPES.into(), "User.Read".into());
        let h = with_deliveries(assess(&lapsing, None, true, NOW), &lapsing);
        assert_eq!(h.state, HealthState::ExpiringSoon);
        assert!(h.reason.contains("lapses"), "{h:?}");
    }

    #[test]
    fn close_to_lapsing_is_expiring_soon_and_past_it_needs_sign_in() {
        let soon = assess(&verified(80), None, true, NOW);
        assert_eq!(soon.state, HealthState::ExpiringSoon);
        assert!(
            soon.reason.starts_with("The saved sign-in lapses on "),
            "{}",
            soon.reason
        );
        let mut refreshed = verified(80);
        let mut facts = RefreshFacts::default();
        facts.succeeded(NOW - DAY, true);
        facts.write(&mut refreshed);
        assert_eq!(
            assess(&refreshed, None, true, NOW).state,
            HealthState::Healthy
        );
        let lapsed = assess(&verified(91), None, true, NOW);
        assert_eq!(lapsed.state, HealthState::NeedsSignIn);
        assert!(
            lapsed.reason.contains("after 90 days unused"),
            "{}",
            lapsed.reason
        );
    }

    #[test]
    fn a_certificate_expiring_within_thirty_days_warns_and_an_expired_one_needs_a_new_one() {
        let healthy = assess(&verified(1), Some(NOW + 3600), true, NOW);
        assert_eq!(healthy.state, HealthState::Healthy);
        let far = with_certificate(healthy.clone(), Some(NOW + 31 * DAY), NOW);
        assert_eq!(far.state, HealthState::Healthy);
        let soon = with_certificate(healthy.clone(), Some(NOW + 29 * DAY), NOW);
        assert_eq!(soon.state, HealthState::ExpiringSoon);
        assert!(
            soon.reason.starts_with("The certificate expires on "),
            "{}",
            soon.reason
        );
        assert!(soon
            .fix
            .unwrap()
            .contains("Certificates & secrets → Certificates"));
        let gone = with_certificate(healthy, Some(NOW - DAY), NOW);
        assert_eq!(gone.state, HealthState::CredentialExpired);
        assert!(gone.reason.starts_with("The certificate expired on "));
        let lapsed = assess(&verified(100), None, true, NOW);
        let kept = with_certificate(lapsed.clone(), Some(NOW + DAY), NOW);
        assert_eq!(
            kept.reason, lapsed.reason,
            "another reason to act comes first"
        );
    }

    #[test]
    fn a_secret_expiring_within_thirty_days_warns() {
        let mut s = verified(1);
        s.insert(fields::CLIENT_SECRET_EXPIRES.into(), day(NOW + 20 * DAY));
        let h = assess(&s, None, true, NOW);
        assert_eq!(h.state, HealthState::ExpiringSoon);
        assert!(h.fix.unwrap().contains("Certificates & secrets"));
        s.insert(fields::CLIENT_SECRET_EXPIRES.into(), day(NOW - DAY));
        let expired = assess(&s, None, true, NOW);
        assert_eq!(expired.state, HealthState::CredentialExpired);
        assert_eq!(expired.state.name(), "credential_expired");
        assert_eq!(
            expired.reason,
            format!("The client secret expired on {}.", day(NOW - DAY))
        );
        assert!(expired.fix.unwrap().contains("New client secret"));
        let mut lapsed = verified(100);
        lapsed.insert(fields::CLIENT_SECRET_EXPIRES.into(), day(NOW - DAY));
        assert_eq!(
            assess(&lapsed, None, true, NOW).state,
            HealthState::NeedsSignIn,
            "a lapsed sign-in is said first"
        );
    }

    #[test]
    fn a_refresh_refused_for_an_expired_secret_is_an_expired_credential() {
        let mut s = verified(1);
        let e = PluginError::new(ErrorKind::InvalidInput, "The client secret has expired.")
            .with_provider_code("AADSTS7000222");
        let mut facts = RefreshFacts::default();
        facts.failed(
            NOW,
            StoredFailure::new(&e, "The client secret has expired.", true),
        );
        facts.write(&mut s);
        let h = assess(&s, None, true, NOW);
        assert_eq!(h.state, HealthState::CredentialExpired);
        assert_eq!(h.reason, "The client secret has expired.");
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
        assert_eq!(h.state, HealthState::NeedsSignIn);
        assert_eq!(h.reason, "Revoked.");
        assert_eq!(h.fix.as_deref(), Some("Re-verify."));
        assert_eq!(h.last_refresh_error.unwrap().message(), e.message());
        assert_eq!(
            assess(&verified(1), None, false, NOW).state,
            HealthState::NeedsSignIn
        );
    }
}

//! The client secret's expiry date as the person gives it (`YYYY-MM-DD`, the Expires
//! column of Certificates & secrets): when the secret counts as expired, what to do
//! then, and the form's check that the date is not already past.

use atrs_host_sdk::{FieldError, FormValues};

use crate::fields;

/// What to do about a client secret that expired or is about to.
pub const NEW_SECRET: &str = "Create a new client secret in the Microsoft Entra admin center (App registrations → your app → Certificates & secrets → New client secret), then edit the account: enter the new secret's Value and its Expires date, verify and save.";

/// When (Unix seconds) a secret that expires on `day` counts as expired: the start of
/// that day, UTC. `None` when `day` is not a `YYYY-MM-DD` date.
pub fn expires_at(day: &str) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// The form's warning for an expiry date already past at `now`: a secret past its
/// expiry no longer signs in, so the account would need a new one straight away.
pub fn check(values: &FormValues, now: i64) -> Option<FieldError> {
    let day = values.get(fields::CLIENT_SECRET_EXPIRES)?.trim();
    let at = expires_at(day)?;
    (at <= now).then(|| {
        FieldError::new(
            fields::CLIENT_SECRET_EXPIRES,
            format!("The client secret expired on {day}: an expired secret no longer signs in."),
        )
        .with_hint(format!(
            "{NEW_SECRET} If the date is mistyped, correct it (YYYY-MM-DD), or leave the field empty."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000; // 2027-01-15 08:00 UTC

    #[test]
    fn a_past_date_is_flagged_with_what_to_do_and_a_later_one_is_not() {
        let past = FormValues::new().with(fields::CLIENT_SECRET_EXPIRES, "2026-12-31");
        let e = check(&past, NOW).unwrap();
        assert_eq!(e.field(), fields::CLIENT_SECRET_EXPIRES);
        assert_eq!(
            e.message(),
            "The client secret expired on 2026-12-31: an expired secret no longer signs in."
        );
        assert!(e.hint().unwrap().contains("New client secret"), "{e:?}");
        let today = FormValues::new().with(fields::CLIENT_SECRET_EXPIRES, "2027-01-15");
        assert!(check(&today, NOW).is_some(), "expired from the day's start");
        let later = FormValues::new().with(fields::CLIENT_SECRET_EXPIRES, "2027-01-16");
        assert!(check(&later, NOW).is_none());
        assert!(check(&FormValues::new(), NOW).is_none());
        let not_a_date = FormValues::new().with(fields::CLIENT_SECRET_EXPIRES, "soon");
        assert!(check(&not_a_date, NOW).is_none(), "parse reports that one");
    }
}

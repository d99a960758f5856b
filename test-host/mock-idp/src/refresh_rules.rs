//! How refresh tokens behave: lifetimes, rotation, and refusals armed per account.
//!
//! The mock's "account" is the signed-in user (by UPN): every refresh token minted for that
//! user, whichever app it belongs to, is refused the way an armed [`RefreshFailure`] says.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::errors::EntraError;

/// Lifetimes and rotation, changeable while the server runs (`POST /_mock/refresh-policy`).
///
/// As JSON, every field optional (missing fields keep their value):
/// `{"access_token_secs":60,"refresh_token_secs":7776000,"rotate":true,"refuse_rotated":true}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPolicy {
    /// `expires_in` of access tokens, in seconds (Entra: 3599).
    pub access_token_secs: u64,
    /// How long a refresh token may go unused before it is refused with AADSTS700082
    /// (Entra: 90 days).
    pub refresh_token_secs: u64,
    /// Whether a refresh answers with a new refresh token (Entra always rotates).
    pub rotate: bool,
    /// Whether a refresh token that was replaced by rotation is refused afterwards
    /// (AADSTS70008); Entra keeps it valid until it lapses.
    pub refuse_rotated: bool,
}

/// Entra's refresh-token inactivity lifetime: 90 days.
pub const NINETY_DAYS_SECS: u64 = 90 * 24 * 3600;

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            access_token_secs: 3599,
            refresh_token_secs: NINETY_DAYS_SECS,
            rotate: true,
            refuse_rotated: false,
        }
    }
}

/// The JSON of `POST /_mock/refresh-policy`: the fields to change.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PolicyChange {
    access_token_secs: Option<u64>,
    refresh_token_secs: Option<u64>,
    rotate: Option<bool>,
    refuse_rotated: Option<bool>,
}

impl From<RefreshPolicy> for PolicyChange {
    fn from(p: RefreshPolicy) -> Self {
        PolicyChange {
            access_token_secs: Some(p.access_token_secs),
            refresh_token_secs: Some(p.refresh_token_secs),
            rotate: Some(p.rotate),
            refuse_rotated: Some(p.refuse_rotated),
        }
    }
}

impl PolicyChange {
    /// `policy` with the given fields replaced.
    pub fn apply(&self, mut policy: RefreshPolicy) -> RefreshPolicy {
        if let Some(v) = self.access_token_secs {
            policy.access_token_secs = v;
        }
        if let Some(v) = self.refresh_token_secs {
            policy.refresh_token_secs = v;
        }
        if let Some(v) = self.rotate {
            policy.rotate = v;
        }
        if let Some(v) = self.refuse_rotated {
            policy.refuse_rotated = v;
        }
        policy
    }
}

/// How a refresh is refused.
///
/// As JSON, tagged by `kind`: `{"kind":"aadsts","code":700082}` (one of
/// [`RefreshFailure::CODES`]), `{"kind":"invalid_grant"}` (an `invalid_grant` with a code no
/// table lists), `{"kind":"interaction_required"}`, or
/// `{"kind":"status","status":503,"retry_after":2}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FailureWire", into = "FailureWire")]
pub enum RefreshFailure {
    /// Entra's answer for this AADSTS code.
    Aadsts(u32),
    /// `invalid_grant` with an AADSTS code that is in no table (AADSTS9002341 in the mock).
    InvalidGrant,
    /// `interaction_required` with an AADSTS code that is in no table (AADSTS50158).
    InteractionRequired,
    /// A transient failure: this status (e.g. 503, 429) with `Retry-After` when given.
    Status {
        /// HTTP status.
        status: u16,
        /// Seconds for `Retry-After`.
        retry_after: Option<u64>,
    },
}

impl RefreshFailure {
    /// The AADSTS codes [`RefreshFailure::Aadsts`] knows.
    pub const CODES: [u32; 10] = [
        700082, 70008, 50173, 70043, 50076, 50079, 65001, 53003, 7000215, 7000222,
    ];

    /// Entra's error answer for this failure.
    pub(crate) fn error(self, client_id: &str, app_name: &str) -> EntraError {
        match self {
            RefreshFailure::Aadsts(code) => aadsts_error(code, client_id, app_name),
            RefreshFailure::InvalidGrant => EntraError::bad(
                "invalid_grant",
                9002341,
                "The user is required to permit single sign-on for this resource.",
            ),
            RefreshFailure::InteractionRequired => EntraError::bad(
                "interaction_required",
                50158,
                "External security challenge not satisfied. User will be redirected to another page or authentication provider to satisfy additional authentication challenges.",
            ),
            RefreshFailure::Status {
                status,
                retry_after,
            } => EntraError::injected(
                StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                retry_after,
            ),
        }
    }
}

/// Entra's words for each code in [`RefreshFailure::CODES`].
fn aadsts_error(code: u32, client_id: &str, app_name: &str) -> EntraError {
    match code {
        700082 => EntraError::refresh_expired("2026-01-01T00:00:00.0000000Z"),
        70008 => EntraError::code_expired(),
        50173 => EntraError::bad(
            "invalid_grant",
            50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
        ),
        70043 => EntraError::bad(
            "invalid_grant",
            70043,
            "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.",
        ),
        50076 => EntraError::bad(
            "invalid_grant",
            50076,
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
        )
        .with_suberror("basic_action"),
        50079 => EntraError::bad(
            "interaction_required",
            50079,
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access the resource.",
        ),
        65001 => EntraError::consent_required(client_id, app_name),
        53003 => EntraError::bad(
            "invalid_grant",
            53003,
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        ),
        7000215 => EntraError::wrong_secret(client_id),
        _ => EntraError::expired_secret(client_id),
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FailureWire {
    Aadsts {
        code: u32,
    },
    InvalidGrant,
    InteractionRequired,
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<u64>,
    },
}

impl TryFrom<FailureWire> for RefreshFailure {
    type Error = String;
    fn try_from(w: FailureWire) -> Result<Self, String> {
        Ok(match w {
            FailureWire::Aadsts { code } if RefreshFailure::CODES.contains(&code) => {
                RefreshFailure::Aadsts(code)
            }
            FailureWire::Aadsts { code } => {
                return Err(format!(
                    "AADSTS{code} is not one the mock can inject; use one of {:?}",
                    RefreshFailure::CODES
                ))
            }
            FailureWire::InvalidGrant => RefreshFailure::InvalidGrant,
            FailureWire::InteractionRequired => RefreshFailure::InteractionRequired,
            FailureWire::Status {
                status,
                retry_after,
            } => {
                StatusCode::from_u16(status)
                    .map_err(|_| format!("{status} is not an HTTP status"))?;
                RefreshFailure::Status {
                    status,
                    retry_after,
                }
            }
        })
    }
}

impl From<RefreshFailure> for FailureWire {
    fn from(f: RefreshFailure) -> Self {
        match f {
            RefreshFailure::Aadsts(code) => FailureWire::Aadsts { code },
            RefreshFailure::InvalidGrant => FailureWire::InvalidGrant,
            RefreshFailure::InteractionRequired => FailureWire::InteractionRequired,
            RefreshFailure::Status {
                status,
                retry_after,
            } => FailureWire::Status {
                status,
                retry_after,
            },
        }
    }
}

#[derive(Debug)]
struct Armed {
    failure: RefreshFailure,
    /// Refreshes left to refuse; `None` = until cleared.
    remaining: Option<u32>,
}

/// The policy and the failures armed per account (lower-case UPN).
#[derive(Debug)]
pub(crate) struct RefreshRules {
    policy: Mutex<RefreshPolicy>,
    failures: Mutex<HashMap<String, Armed>>,
}

impl RefreshRules {
    /// Rules starting from `policy`, with nothing armed.
    pub fn new(policy: RefreshPolicy) -> Self {
        RefreshRules {
            policy: Mutex::new(policy),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The current policy.
    pub fn policy(&self) -> RefreshPolicy {
        *self.policy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change the policy; returns the new one.
    pub fn change(&self, change: &PolicyChange) -> RefreshPolicy {
        let mut p = self.policy.lock().unwrap_or_else(|e| e.into_inner());
        *p = change.apply(*p);
        *p
    }

    /// Refuse the next `times` refreshes of `upn` (`None` = until cleared).
    pub fn arm(&self, upn: &str, failure: RefreshFailure, times: Option<u32>) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                upn.to_ascii_lowercase(),
                Armed {
                    failure,
                    remaining: times,
                },
            );
    }

    /// Forget the failure armed for `upn`, or every one.
    pub fn clear(&self, upn: Option<&str>) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match upn {
            Some(u) => {
                map.remove(&u.to_ascii_lowercase());
            }
            None => map.clear(),
        }
    }

    /// The failure this refresh of `upn` suffers, counting it against the armed number.
    pub fn take(&self, upn: &str) -> Option<RefreshFailure> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let key = upn.to_ascii_lowercase();
        let armed = map.get_mut(&key)?;
        let failure = armed.failure;
        if let Some(n) = armed.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&key);
            }
        }
        Some(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_round_trip_through_json_and_unknown_codes_are_refused() {
        for f in [
            RefreshFailure::Aadsts(50173),
            RefreshFailure::InvalidGrant,
            RefreshFailure::InteractionRequired,
            RefreshFailure::Status {
                status: 429,
                retry_after: Some(2),
            },
        ] {
            let text = serde_json::to_string(&f).unwrap();
            assert_eq!(serde_json::from_str::<RefreshFailure>(&text).unwrap(), f);
        }
        let e = serde_json::from_str::<RefreshFailure>(r#"{"kind":"aadsts","code":1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("AADSTS1 is not one"), "{e}");
    }

    #[test]
    fn every_code_answers_with_itself() {
        for code in RefreshFailure::CODES {
            let e = RefreshFailure::Aadsts(code).error("cid", "App");
            assert_eq!(e.code, Some(code));
        }
        assert_eq!(
            RefreshFailure::Aadsts(7000222).error("c", "A").error,
            "invalid_client"
        );
    }

    #[test]
    fn armed_failures_are_per_account_and_run_down() {
        let rules = RefreshRules::new(RefreshPolicy::default());
        rules.arm("Ada@Contoso", RefreshFailure::InvalidGrant, Some(1));
        assert_eq!(rules.take("bob@contoso"), None);
        assert_eq!(
            rules.take("ada@contoso"),
            Some(RefreshFailure::InvalidGrant)
        );
        assert_eq!(rules.take("ada@contoso"), None);
        rules.arm("ada@contoso", RefreshFailure::InvalidGrant, None);
        rules.clear(None);
        assert_eq!(rules.take("ada@contoso"), None);
        let p = rules.change(&PolicyChange {
            rotate: Some(false),
            ..PolicyChange::default()
        });
        assert!(!p.rotate && p.access_token_secs == 3599);
    }
}

//! Claims challenges (Continuous Access Evaluation), armed per account: Graph answers that
//! account's requests `401` with `WWW-Authenticate: Bearer … error="insufficient_claims",
//! claims="<base64>"` until a token is presented that was issued for those claims. A token
//! request whose `claims` parameter answers the challenge gets such a token — or, when the
//! challenge needs the user ([`ClaimsChallenge::needs_user`]), `interaction_required`.
//!
//! The claims are `{"access_token":{"nbf":{"essential":true,"value":"<unix seconds>"}}}`, as
//! Entra sends after a revocation event: a token issued before that instant no longer counts.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A claims challenge to arm for one account (`POST /_mock/claims-challenges` takes it as
/// JSON with the account's `upn`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimsChallenge {
    /// Only Graph requests whose path contains this (any case) are challenged, e.g.
    /// `sendMail`; `None`: every Graph request of the account.
    pub path_contains: Option<String>,
    /// The token request that carries the claims is refused with `interaction_required`
    /// (AADSTS50076): the user must sign in again.
    pub needs_user: bool,
}

/// What a token request's `claims` parameter means for the account's armed challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// No challenge armed, or the claims do not answer it: an ordinary token.
    Unrelated,
    /// The claims answer the challenge: the token issued satisfies it (`nbf` value).
    Satisfies(u64),
    /// The claims answer a challenge that needs the user: refuse.
    NeedsUser,
}

#[derive(Debug)]
struct Armed {
    challenge: ClaimsChallenge,
    /// The `nbf` value the claims name.
    nbf: u64,
}

/// The challenges armed, by lower-case UPN.
#[derive(Debug, Default)]
pub(crate) struct ClaimsTable {
    armed: Mutex<HashMap<String, Armed>>,
    /// The last `nbf` handed out: each arming names a later instant than the one before.
    last: Mutex<u64>,
}

impl ClaimsTable {
    /// Arm `challenge` for `upn` (replacing one armed before).
    pub fn arm(&self, upn: &str, challenge: ClaimsChallenge) {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let nbf = {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            *last = now.max(*last + 1);
            *last
        };
        self.lock()
            .insert(upn.to_ascii_lowercase(), Armed { challenge, nbf });
    }

    /// Forget the challenge of `upn`, or every one (`None`).
    pub fn clear(&self, upn: Option<&str>) {
        match upn {
            Some(u) => {
                self.lock().remove(&u.to_ascii_lowercase());
            }
            None => self.lock().clear(),
        }
    }

    /// The base64 claims to challenge a Graph request at `path` by `upn` with, when a
    /// challenge is armed there and the token (issued for `token_nbf`) does not satisfy it.
    pub fn challenge(&self, upn: &str, path: &str, token_nbf: Option<u64>) -> Option<String> {
        let armed = self.lock();
        let a = armed.get(&upn.to_ascii_lowercase())?;
        let applies = a
            .challenge
            .path_contains
            .as_deref()
            .is_none_or(|p| path.to_ascii_lowercase().contains(&p.to_ascii_lowercase()));
        let satisfied = token_nbf.is_some_and(|n| n >= a.nbf);
        (applies && !satisfied).then(|| STANDARD.encode(claims_json(a.nbf).to_string()))
    }

    /// What the `claims` parameter of a token request for `upn` means.
    pub fn answer(&self, upn: &str, claims: Option<&str>) -> Answer {
        let Some(nbf) = claims.and_then(requested_nbf) else {
            return Answer::Unrelated;
        };
        match self.lock().get(&upn.to_ascii_lowercase()) {
            Some(a) if nbf >= a.nbf && a.challenge.needs_user => Answer::NeedsUser,
            Some(a) if nbf >= a.nbf => Answer::Satisfies(nbf),
            _ => Answer::Unrelated,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Armed>> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The claims of a challenge naming `nbf`.
fn claims_json(nbf: u64) -> Value {
    json!({"access_token": {"nbf": {"essential": true, "value": nbf.to_string()}}})
}

/// The `access_token.nbf.value` a `claims` parameter names.
pub(crate) fn requested_nbf(claims: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(claims).ok()?;
    let value = &v["access_token"]["nbf"]["value"];
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_u64())
}

/// Whether a `claims` parameter declares the client capability `cp1` (CAE).
pub(crate) fn declares_cp1(claims: &str) -> bool {
    serde_json::from_str::<Value>(claims).is_ok_and(|v| {
        v["access_token"]["xms_cc"]["values"]
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c == "cp1"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_answered_only_by_claims_naming_its_instant() {
        let t = ClaimsTable::default();
        assert_eq!(t.challenge("a@b", "/v1.0/me/sendMail", None), None);
        t.arm(
            "A@b",
            ClaimsChallenge {
                path_contains: Some("sendmail".into()),
                needs_user: false,
            },
        );
        assert_eq!(t.challenge("a@b", "/v1.0/me/drive", None), None);
        let b64 = t.challenge("a@b", "/v1.0/me/sendMail", None).unwrap();
        let claims = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        let nbf = requested_nbf(&claims).unwrap();
        assert_eq!(t.answer("a@b", Some(&claims)), Answer::Satisfies(nbf));
        assert_eq!(t.challenge("a@b", "/v1.0/me/sendMail", Some(nbf)), None);
        assert_eq!(t.answer("a@b", Some("{}")), Answer::Unrelated);
        assert_eq!(t.answer("a@b", None), Answer::Unrelated);
        t.arm(
            "a@b",
            ClaimsChallenge {
                path_contains: None,
                needs_user: true,
            },
        );
        let again = t.challenge("a@b", "/v1.0/me/drive", Some(nbf)).unwrap();
        let claims = String::from_utf8(STANDARD.decode(again).unwrap()).unwrap();
        assert_eq!(t.answer("a@b", Some(&claims)), Answer::NeedsUser);
        t.clear(None);
        assert_eq!(t.challenge("a@b", "/v1.0/me/drive", None), None);
    }

    #[test]
    fn cp1_is_read_from_xms_cc() {
        assert!(declares_cp1(
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#
        ));
        assert!(!declares_cp1(r#"{"access_token":{}}"#));
        assert!(!declares_cp1("not json"));
    }
}

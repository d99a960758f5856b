//! Stable forms of the 1.1 account types ([`crate::account`]), converted once at the
//! boundary.

use abi_stable::{
    std_types::{ROption, RString, RVec},
    StableAbi,
};

use crate::{
    account::{AccountHealth, HealthState, HealthState_NE, TokenGrant, TokenRequest},
    account::{TokenSource, TokenSource_NE},
    error::PluginError,
    form::KeyValue,
    verify::AccessToken,
};

/// [`TokenRequest`] as it crosses the boundary; `details` leaves room for options
/// later minor versions add (rule 5: this struct is frozen for 1.x).
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq, Eq)]
pub struct TokenRequestAbi {
    pub scopes: RVec<RString>,
    pub force_refresh: bool,
    pub details: RVec<KeyValue>,
}

impl From<&TokenRequest> for TokenRequestAbi {
    fn from(r: &TokenRequest) -> Self {
        TokenRequestAbi {
            scopes: r.scopes.iter().map(|s| RString::from(s.as_str())).collect(),
            force_refresh: r.force_refresh,
            details: RVec::new(),
        }
    }
}

impl From<&TokenRequestAbi> for TokenRequest {
    fn from(r: &TokenRequestAbi) -> Self {
        TokenRequest {
            scopes: r.scopes.iter().map(|s| s.to_string()).collect(),
            force_refresh: r.force_refresh,
        }
    }
}

/// [`TokenGrant`] as it crosses the boundary; `details` leaves room for facts later
/// minor versions add.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct TokenGrantAbi {
    pub token: AccessToken,
    pub source: TokenSource_NE,
    pub details: RVec<KeyValue>,
}

impl From<TokenGrant> for TokenGrantAbi {
    fn from(g: TokenGrant) -> Self {
        TokenGrantAbi {
            token: g.token,
            source: TokenSource_NE::new(g.source),
            details: RVec::new(),
        }
    }
}

impl From<TokenGrantAbi> for TokenGrant {
    fn from(g: TokenGrantAbi) -> Self {
        TokenGrant {
            token: g.token,
            // A source this host does not know: say the token is fresh, the
            // cautious reading for a caller deciding whether to retry.
            source: g
                .source
                .as_enum()
                .copied()
                .unwrap_or(TokenSource::Refreshed),
        }
    }
}

/// [`AccountHealth`] as it crosses the boundary; `details` leaves room for facts
/// later minor versions add.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, PartialEq)]
pub struct AccountHealthAbi {
    pub state: HealthState_NE,
    pub reason: RString,
    pub fix: ROption<RString>,
    pub verified_at: ROption<i64>,
    pub access_token_expires_at: ROption<i64>,
    pub last_refresh_at: ROption<i64>,
    pub last_refresh_error: ROption<PluginError>,
    pub refresh_token_rotated_at: ROption<i64>,
    pub lapses_at: ROption<i64>,
    pub secret_expires_at: ROption<i64>,
    pub details: RVec<KeyValue>,
}

impl From<AccountHealth> for AccountHealthAbi {
    fn from(h: AccountHealth) -> Self {
        AccountHealthAbi {
            state: HealthState_NE::new(h.state),
            reason: h.reason.into(),
            fix: h.fix.map(RString::from).into(),
            verified_at: h.verified_at.into(),
            access_token_expires_at: h.access_token_expires_at.into(),
            last_refresh_at: h.last_refresh_at.into(),
            last_refresh_error: h.last_refresh_error.into(),
            refresh_token_rotated_at: h.refresh_token_rotated_at.into(),
            lapses_at: h.lapses_at.into(),
            secret_expires_at: h.secret_expires_at.into(),
            details: RVec::new(),
        }
    }
}

impl From<AccountHealthAbi> for AccountHealth {
    fn from(h: AccountHealthAbi) -> Self {
        AccountHealth {
            // A state this host does not know needs a person's attention, but may
            // still work: shown as expiring soon, with the plugin's reason.
            state: h
                .state
                .as_enum()
                .copied()
                .unwrap_or(HealthState::ExpiringSoon),
            reason: h.reason.into(),
            fix: h.fix.into_option().map(String::from),
            verified_at: h.verified_at.into_option(),
            access_token_expires_at: h.access_token_expires_at.into_option(),
            last_refresh_at: h.last_refresh_at.into_option(),
            last_refresh_error: h.last_refresh_error.into_option(),
            refresh_token_rotated_at: h.refresh_token_rotated_at.into_option(),
            lapses_at: h.lapses_at.into_option(),
            secret_expires_at: h.secret_expires_at.into_option(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_round_trips() {
        let mut h = AccountHealth::new(HealthState::NeedsSignIn).because("lapsed", "Re-verify");
        h.lapses_at = Some(7);
        h.last_refresh_error = Some(PluginError::invalid_input("x"));
        let back = AccountHealth::from(AccountHealthAbi::from(h.clone()));
        assert_eq!(back, h);
    }

    #[test]
    fn token_request_round_trips() {
        let r = TokenRequest::for_scopes(["a", "b"]).forced();
        assert_eq!(TokenRequest::from(&TokenRequestAbi::from(&r)), r);
    }
}

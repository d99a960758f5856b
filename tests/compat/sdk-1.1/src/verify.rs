//! Verification: how a sign-in is started, what the user must do, and how it ends.

// abi_stable's StableAbi derive for non-exhaustive enums puts trait impls inside
// a const block, which this lint flags; the code is abi_stable's, not ours.
#![allow(non_local_definitions)]

use std::fmt;

use abi_stable::{
    std_types::{RBox, ROption, RString, RVec},
    StableAbi,
};

use crate::error::PluginError;

/// How the user wants to verify the account (the Verify button and its ▾ menu).
#[repr(u8)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
#[sabi(kind(WithNonExhaustive(size = [u64; 4], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum VerifyMethod {
    /// Show a code and a URL; the user signs in on any device.
    DeviceCode,
    /// Sign in in a browser, then paste the final address back.
    Browser {
        /// Also listen on a loopback port so the redirect is caught without a paste.
        loopback: bool,
    },
}

impl VerifyMethod {
    /// The name used on command lines and in JSON (`device`, `browser`).
    pub fn name(&self) -> &'static str {
        match self {
            VerifyMethod::DeviceCode => "device",
            VerifyMethod::Browser { .. } => "browser",
        }
    }
}

/// Where a verification stands, and what the user must do now.
///
/// Non-exhaustive across the ABI: a state this host does not know is shown as
/// [`SessionState::Working`] with a generic message.
#[repr(u8)]
#[derive(StableAbi, Clone, PartialEq, Debug)]
// 256 bytes of storage: room for later states with more to show.
#[sabi(kind(WithNonExhaustive(size = [u64; 32], traits(Debug, Clone, PartialEq))))]
#[non_exhaustive]
pub enum SessionState {
    /// The plugin is busy (contacting the provider, confirming the account).
    Working {
        /// What it is doing, for a status line.
        message: RString,
    },
    /// The user must enter `user_code` at `verification_uri` before `expires_at`.
    ShowCode {
        /// The short code to type.
        user_code: RString,
        /// The page to open.
        verification_uri: RString,
        /// The provider's own instructions.
        message: RString,
        /// Unix time (seconds) when the code stops working.
        expires_at: i64,
    },
    /// The user must sign in at `url` in a browser, then paste the final address
    /// (unless `listening` is set and the redirect is caught by itself).
    OpenBrowser {
        /// The sign-in address.
        url: RString,
        /// Instructions for the user.
        message: RString,
        /// Unix time (seconds) when this sign-in attempt stops being accepted.
        expires_at: i64,
        /// The loopback redirect address being listened on, if any.
        listening: ROption<RString>,
    },
    /// Signed in and confirmed; the values may now be saved.
    Verified(RBox<VerifiedAccount>),
    /// Ended without success (declined, expired, cancelled, provider error …).
    Failed(RBox<PluginError>),
}

impl SessionState {
    /// The verified end state.
    pub fn verified(account: VerifiedAccount) -> Self {
        SessionState::Verified(RBox::new(account))
    }

    /// The failed end state.
    pub fn failed(error: PluginError) -> Self {
        SessionState::Failed(RBox::new(error))
    }

    /// Whether the session has ended.
    pub fn is_terminal(&self) -> bool {
        matches!(self, SessionState::Verified(_) | SessionState::Failed(_))
    }
}

/// A requested permission the provider did not grant, and how to get it granted.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
pub struct MissingScope {
    /// The permission (`Mail.Send`).
    pub scope: RString,
    /// How to get it granted.
    pub hint: RString,
}

/// Who signed in, and what was granted.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Debug)]
pub struct VerifiedAccount {
    /// The account name from the form.
    pub account_name: RString,
    /// The signed-in user's principal name (or mail).
    pub user_principal_name: RString,
    /// The signed-in user's display name.
    pub display_name: RString,
    /// The provider's stable id for the user, if known.
    pub user_id: ROption<RString>,
    /// The tenant the account belongs to.
    pub tenant_id: RString,
    /// Permissions granted.
    pub granted_scopes: RVec<RString>,
    /// Permissions requested but not granted.
    pub missing_scopes: RVec<MissingScope>,
}

/// An access token for a saved account; `Debug` never shows the token.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token.
    pub token: RString,
    /// Unix time (seconds) when it expires.
    pub expires_at: i64,
    /// The permissions it carries.
    pub scopes: RVec<RString>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &crate::secret::REDACTED)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_debug_is_redacted() {
        let t = AccessToken {
            token: "eyJ-very-secret".into(),
            expires_at: 1,
            scopes: RVec::new(),
        };
        let shown = format!("{t:?}");
        assert!(!shown.contains("eyJ-very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn terminal_states() {
        let failed = SessionState::Failed(RBox::new(PluginError::cancelled("x")));
        assert!(failed.is_terminal());
        let working = SessionState::Working {
            message: "x".into(),
        };
        assert!(!working.is_terminal());
        assert_eq!(VerifyMethod::Browser { loopback: true }.name(), "browser");
    }
}

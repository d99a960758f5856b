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
        /// In [`crate::Integration::verify_methods`]: the plugin can listen (`true`)
        /// or takes only a paste (`false`).
        loopback: bool,
    },
    /// Added in 1.2: check the form's credentials or endpoint directly — a test
    /// request, an app's own sign-in — with nobody signing in. Hosts word the result
    /// "connected to …" instead of "signed in as …" (see
    /// [`VerifiedAccount::connection`]).
    ///
    /// A host built before 1.2 never asks for it: it offers device code and browser
    /// to every plugin, so a plugin that only verifies directly should treat any
    /// method it is asked for as this one.
    Direct,
}

impl VerifyMethod {
    /// The name used on command lines and in JSON (`device`, `browser`, `direct`).
    pub fn name(&self) -> &'static str {
        match self {
            VerifyMethod::DeviceCode => "device",
            VerifyMethod::Browser { .. } => "browser",
            VerifyMethod::Direct => "direct",
        }
    }

    /// What plugins built before 1.2 offer (they cannot say): device code, and a
    /// browser with a loopback listener.
    pub fn before_1_2() -> Vec<VerifyMethod> {
        vec![
            VerifyMethod::DeviceCode,
            VerifyMethod::Browser { loopback: true },
        ]
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
    /// The busy state, with `message` for a status line.
    pub fn working(message: impl Into<String>) -> Self {
        SessionState::Working {
            message: message.into().into(),
        }
    }

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

impl VerifiedAccount {
    /// Who signed in: the account name from the form, the user's principal name and
    /// display name, and their tenant; nothing granted or missing yet.
    pub fn new(
        account_name: impl Into<String>,
        user_principal_name: impl Into<String>,
        display_name: impl Into<String>,
        tenant_id: impl Into<String>,
    ) -> Self {
        VerifiedAccount {
            account_name: account_name.into().into(),
            user_principal_name: user_principal_name.into().into(),
            display_name: display_name.into().into(),
            user_id: ROption::RNone,
            tenant_id: tenant_id.into().into(),
            granted_scopes: RVec::new(),
            missing_scopes: RVec::new(),
        }
    }

    /// Added in 1.2: what a direct verification ([`VerifyMethod::Direct`]) reached —
    /// the account name from the form, the endpoint or app that answered
    /// (`https://hooks.example.com/atrs`, an app id), and what it calls itself
    /// (`Example Webhooks`). Kept in the same fields as a sign-in (`reached` as the
    /// principal name, no tenant), so hosts of any 1.x version can show it.
    pub fn connection(
        account_name: impl Into<String>,
        reached: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        VerifiedAccount::new(account_name, reached, display_name, "")
    }

    /// The line a host shows for this result of verifying with `method`, without
    /// a leading mark: "signed in as Adele Vance (adele@contoso.com) in tenant
    /// contoso.com", or for [`VerifyMethod::Direct`] "connected to Example Webhooks
    /// (`https://hooks.example.com/atrs`)". Parts the plugin left empty are left out.
    pub fn headline(&self, method: &VerifyMethod) -> String {
        let (name, reached) = (self.display_name.trim(), self.user_principal_name.trim());
        let who = match (name, reached) {
            ("", r) => r.to_owned(),
            (n, "") => n.to_owned(),
            (n, r) if n == r => n.to_owned(),
            (n, r) => format!("{n} ({r})"),
        };
        match (method, self.tenant_id.trim()) {
            (VerifyMethod::Direct, _) => format!("connected to {who}"),
            (_, "") => format!("signed in as {who}"),
            (_, tenant) => format!("signed in as {who} in tenant {tenant}"),
        }
    }

    /// The same account with the provider's stable user id.
    pub fn with_user_id(mut self, id: impl Into<String>) -> Self {
        self.user_id = ROption::RSome(id.into().into());
        self
    }

    /// The same account with the permissions that were granted.
    pub fn with_granted_scopes<S: Into<String>>(
        mut self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        self.granted_scopes = scopes.into_iter().map(|s| s.into().into()).collect();
        self
    }

    /// The same account with one more requested permission that was not granted.
    pub fn with_missing_scope(mut self, scope: impl Into<String>, hint: impl Into<String>) -> Self {
        self.missing_scopes.push(MissingScope {
            scope: scope.into().into(),
            hint: hint.into().into(),
        });
        self
    }
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

impl AccessToken {
    /// A bearer token valid until `expires_at` (Unix seconds) for `scopes`.
    pub fn new<S: Into<String>>(
        token: impl Into<String>,
        expires_at: i64,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        AccessToken {
            token: token.into().into(),
            expires_at,
            scopes: scopes.into_iter().map(|s| s.into().into()).collect(),
        }
    }
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
        assert_eq!(VerifyMethod::Direct.name(), "direct");
    }

    #[test]
    fn a_headline_says_signed_in_or_connected_and_leaves_out_what_is_empty() {
        let signed_in = VerifiedAccount::new("Reports", "adele@contoso.com", "Adele Vance", "t1");
        assert_eq!(
            signed_in.headline(&VerifyMethod::DeviceCode),
            "signed in as Adele Vance (adele@contoso.com) in tenant t1"
        );
        let no_tenant = VerifiedAccount::new("Reports", "adele@example.org", "", "");
        assert_eq!(
            no_tenant.headline(&VerifyMethod::Browser { loopback: false }),
            "signed in as adele@example.org"
        );
        let hook = VerifiedAccount::connection(
            "Hook",
            "https://hooks.example.com/atrs",
            "Example Webhooks",
        );
        assert_eq!(
            hook.headline(&VerifyMethod::Direct),
            "connected to Example Webhooks (https://hooks.example.com/atrs)"
        );
        assert_eq!(hook.tenant_id, "");
        let bare = VerifiedAccount::connection("Hook", "https://h.example", "https://h.example");
        assert_eq!(
            bare.headline(&VerifyMethod::Direct),
            "connected to https://h.example"
        );
        assert_eq!(VerifyMethod::before_1_2().len(), 2);
    }
}

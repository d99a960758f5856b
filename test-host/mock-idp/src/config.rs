//! How a mock server is set up: port, approval mode, directory and lifetimes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::directory::Directory;
use crate::refresh_rules::RefreshPolicy;

/// How the simulated user behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ApproveMode {
    /// The user approves on their own: device codes after `auto_approve_delay`, `/authorize` at once.
    #[default]
    Auto,
    /// A person uses the HTML pages (sign in, MFA code, approve or decline).
    Manual,
}

/// What the simulated user does with a sign-in in auto mode.
///
/// As JSON (for `/_mock/outcome`): `{"outcome":"approve"}`, `{"outcome":"decline"}`,
/// `{"outcome":"ignore"}` or `{"outcome":"approve_as","upn":"…"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "upn", rename_all = "snake_case")]
pub enum DeviceOutcome {
    /// Approve as the directory's first user.
    #[default]
    Approve,
    /// Decline (device: `authorization_declined`; browser: `access_denied` AADSTS65004).
    Decline,
    /// Never finish (device: the code expires; browser: the sign-in page is shown and left).
    Ignore,
    /// Approve as the user with this UPN.
    ApproveAs(String),
}

/// Settings for a [`crate::MockIdp`].
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Auto or manual approval.
    pub approve: ApproveMode,
    /// Tenants, apps and users.
    pub directory: Directory,
    /// Device-code polling `interval` in seconds (Entra: 5).
    pub device_interval_secs: u64,
    /// Device-code lifetime `expires_in` in seconds (Entra: 900).
    pub device_expires_in_secs: u64,
    /// How long the auto-mode user takes to approve a device code.
    pub auto_approve_delay: Duration,
    /// How long an authorization code can be redeemed (Entra: about 10 minutes).
    pub code_lifetime: Duration,
    /// Access- and refresh-token lifetimes and rotation (changeable while running).
    pub refresh_policy: RefreshPolicy,
    /// Treat every refresh token as expired from inactivity (AADSTS700082).
    pub refresh_tokens_expired: bool,
    /// Write a line per request and per sign-in event to stderr.
    pub verbose: bool,
    /// The `prompt` values discovery advertises (`prompt_values_supported`) and /authorize
    /// accepts; any other value is refused with `error=invalid_request`. Leaving out
    /// `select_account` makes a server like the OpenID providers that lack it.
    pub prompt_values_supported: Vec<String>,
    /// RFC 9207: put `iss` in every authorization response and advertise
    /// `authorization_response_iss_parameter_supported` (Entra does neither).
    pub authorization_response_iss: bool,
    /// Serve HTTPS with a certificate generated at start (see [`crate::MockIdp::ca_file`]).
    pub tls: bool,
}

/// The `prompt` values Entra accepts.
pub const ENTRA_PROMPT_VALUES: [&str; 5] = ["none", "login", "consent", "select_account", "create"];

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            port: 0,
            approve: ApproveMode::Auto,
            directory: Directory::default(),
            device_interval_secs: 5,
            device_expires_in_secs: 900,
            auto_approve_delay: Duration::from_secs(2),
            code_lifetime: Duration::from_secs(600),
            refresh_policy: RefreshPolicy::default(),
            refresh_tokens_expired: false,
            verbose: false,
            prompt_values_supported: ENTRA_PROMPT_VALUES.iter().map(|v| v.to_string()).collect(),
            authorization_response_iss: false,
            tls: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_have_a_readable_json_form() {
        let o: DeviceOutcome = serde_json::from_str(r#"{"outcome":"decline"}"#).unwrap();
        assert_eq!(o, DeviceOutcome::Decline);
        let o: DeviceOutcome =
            serde_json::from_str(r#"{"outcome":"approve_as","upn":"a@b.c"}"#).unwrap();
        assert_eq!(o, DeviceOutcome::ApproveAs("a@b.c".into()));
        assert_eq!(
            serde_json::to_string(&DeviceOutcome::Ignore).unwrap(),
            r#"{"outcome":"ignore"}"#
        );
    }
}

//! A sign-in in progress, as the shared state keeps it: what it is for (a validated
//! authorization request or a device code) and which page the person is on.

use crate::directory::{Platform, Segment};
use crate::redirect::Target;
use crate::scopes::{Grant, Requested};

/// A validated authorization request.
#[derive(Clone, Debug)]
pub(crate) struct AuthorizeRequest {
    /// The app.
    pub client_id: String,
    /// The tenant segment.
    pub segment: Segment,
    /// Where the answer goes.
    pub target: Target,
    /// The platform of the matched redirect registration.
    pub platform: Platform,
    /// OIDC nonce.
    pub nonce: Option<String>,
    /// PKCE challenge and method.
    pub challenge: Option<(String, String)>,
    /// Scopes asked for.
    pub requested: Requested,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `prompt`.
    pub prompt: Option<String>,
}

/// What the sign-in is for.
#[derive(Clone, Debug)]
pub(crate) enum Purpose {
    /// A browser sign-in that ends in a redirect to the app.
    Authorize(Box<AuthorizeRequest>),
    /// A device code approval.
    Device {
        /// The device code being approved.
        device_code: String,
    },
}

/// Which page the person is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// User name and password.
    Password,
    /// MFA code.
    Mfa,
    /// Consent (browser) or "Are you trying to sign in?" (device).
    Consent,
}

/// A sign-in in progress.
#[derive(Clone, Debug)]
pub(crate) struct Login {
    /// What it is for.
    pub purpose: Purpose,
    /// The app.
    pub client_id: String,
    /// The tenant segment.
    pub segment: Segment,
    /// The signed-in user's object id, after the password step.
    pub user: Option<String>,
    /// The current page.
    pub step: Step,
    /// What approving will grant (set at the consent step).
    pub grant: Grant,
}

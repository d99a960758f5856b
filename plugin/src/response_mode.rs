//! How a browser sign-in asks for its answer: OAuth 2.0's `response_mode`, as the form
//! offers it.

/// How the browser hands the sign-in back to the loopback listener (OAuth 2.0
/// `response_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the address's query: the browser ends on an address that can also be pasted.
    Query,
    /// An auto-submitted form POST to the listener (RFC 9700 §4.3.1 prefers it): the code
    /// stays out of the address bar and history, and nothing can be pasted.
    FormPost,
}

impl ResponseMode {
    /// Every mode, in the order the form lists them.
    pub const ALL: [ResponseMode; 2] = [ResponseMode::Query, ResponseMode::FormPost];

    /// The OAuth value, also stored in settings.
    pub fn key(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::FormPost => "form_post",
        }
    }

    /// What the form shows.
    pub fn label(self) -> &'static str {
        match self {
            ResponseMode::Query => "In the address (a paste works too)",
            ResponseMode::FormPost => "Posted to the loopback listener (no paste)",
        }
    }
}

//! Who signs in to an account: a user (device code or browser; the default), or nobody — an
//! application account that proves itself with its own credential (the OAuth 2.0 client
//! credentials grant) and acts for a configured mailbox.

/// The kind of account, as the form offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignIn {
    /// A user signs in (device code or browser) and the account acts as that user.
    #[default]
    User,
    /// No user signs in: the app's client secret or certificate gets application tokens
    /// (client credentials), and the account acts for the mailbox the form names.
    Application,
}

impl SignIn {
    /// Every kind, in the order the form lists them.
    pub const ALL: [SignIn; 2] = [SignIn::User, SignIn::Application];

    /// The value stored in settings.
    pub fn key(self) -> &'static str {
        match self {
            SignIn::User => "user",
            SignIn::Application => "application",
        }
    }

    /// What the form shows.
    pub fn label(self) -> &'static str {
        match self {
            SignIn::User => "A user signs in (device code or browser)",
            SignIn::Application => "Application — no user signs in",
        }
    }

    /// The kind a stored or typed value names (`None`: not a kind).
    pub fn parse(value: &str) -> Option<SignIn> {
        SignIn::ALL
            .into_iter()
            .find(|k| k.key().eq_ignore_ascii_case(value.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_user_is_the_default() {
        for k in SignIn::ALL {
            assert_eq!(SignIn::parse(k.key()), Some(k));
        }
        assert_eq!(SignIn::parse(" Application "), Some(SignIn::Application));
        assert_eq!(SignIn::parse("robot"), None);
        assert_eq!(SignIn::default(), SignIn::User);
    }
}

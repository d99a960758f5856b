//! National clouds: where each one signs in, and where its Microsoft Graph lives.

use std::fmt;

/// A Microsoft cloud instance. Tokens never cross clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// The global cloud (also US GCC "moderate").
    Global,
    /// US Government (GCC High / L4).
    UsGovernment,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    /// Every cloud, in the order the form lists them.
    pub const ALL: [Cloud; 3] = [Cloud::Global, Cloud::UsGovernment, Cloud::China];

    /// The value stored in settings and accepted on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGovernment => "usgov",
            Cloud::China => "china",
        }
    }

    /// What the form shows.
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Global => "Global (login.microsoftonline.com)",
            Cloud::UsGovernment => "US Government (login.microsoftonline.us)",
            Cloud::China => "China, 21Vianet (login.partner.microsoftonline.cn)",
        }
    }

    /// The sign-in authority, without a tenant.
    pub fn authority(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGovernment => "https://login.microsoftonline.us",
            Cloud::China => "https://login.partner.microsoftonline.cn",
        }
    }

    /// Parses a stored or typed value (`global`, `usgov`, `china`, case-insensitive).
    pub fn parse(value: &str) -> Option<Cloud> {
        let v = value.trim().to_ascii_lowercase();
        Cloud::ALL.into_iter().find(|c| {
            c.key() == v
                || match c {
                    Cloud::Global => v == "public" || v == "azurepublic",
                    Cloud::UsGovernment => {
                        v == "usgovernment" || v == "us-government" || v == "gcchigh"
                    }
                    Cloud::China => v == "21vianet" || v == "azurechina",
                }
        })
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_aliases_parse() {
        for c in Cloud::ALL {
            assert_eq!(Cloud::parse(c.key()), Some(c));
        }
        assert_eq!(Cloud::parse(" USGov "), Some(Cloud::UsGovernment));
        assert_eq!(Cloud::parse("21vianet"), Some(Cloud::China));
        assert_eq!(Cloud::parse("mars"), None);
    }
}

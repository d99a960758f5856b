//! Request parameters from a form body or a query string.

use crate::errors::EntraError;

/// Decoded `name=value` pairs, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parse an `application/x-www-form-urlencoded` body or a query string.
    pub fn parse(bytes: &[u8]) -> Self {
        Params(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, if present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`, or Entra's "must contain the parameter" error (AADSTS900144).
    pub fn require(&self, name: &str) -> Result<&str, EntraError> {
        self.get(name).ok_or_else(|| EntraError::missing(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_treats_blank_as_missing() {
        let p = Params::parse(b"scope=openid%20User.Read&client_id=&x=a+b");
        assert_eq!(p.get("scope"), Some("openid User.Read"));
        assert_eq!(p.get("x"), Some("a b"));
        assert_eq!(p.get("client_id"), None);
        assert_eq!(p.require("client_id").unwrap_err().code, Some(900144));
    }
}

//! E-mail addresses as a person types them on the command line: a flag may hold a list
//! separated by commas or semicolons, and every address is checked before anything is
//! sent, so a mistyped one is named here instead of being handed to the mail service.

use crate::error::CommandError;

/// The addresses given with `flag` (each value split on `,` and `;`, spaces around
/// each left out); an error names every value that is not an e-mail address.
pub fn addresses(flag: &str, values: &[String]) -> Result<Vec<String>, CommandError> {
    let mut found = Vec::new();
    let mut wrong = Vec::new();
    for value in values {
        let parts: Vec<&str> = value.split([',', ';']).map(str::trim).collect();
        if parts.iter().all(|p| p.is_empty()) {
            wrong.push(format!("{flag} was given an empty address"));
            continue;
        }
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            match problem(part) {
                None => found.push(part.to_owned()),
                Some(why) => wrong.push(format!("{flag} \"{part}\" {why}")),
            }
        }
    }
    if wrong.is_empty() {
        return Ok(found);
    }
    Err(CommandError::usage(format!("{}.", wrong.join("; "))).with_hint(format!(
        "Give whole addresses such as name@example.com; several go in one {flag} separated by commas, or in one {flag} each."
    )))
}

/// Why `address` is not an e-mail address, or `None` when it looks like one: one `@`
/// with something before it and a domain with a dot after it, no spaces or brackets.
fn problem(address: &str) -> Option<&'static str> {
    if address
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\"".contains(c))
    {
        return Some("has spaces or brackets in it (give the address alone)");
    }
    let Some((local, domain)) = address.split_once('@') else {
        return Some("has no @ (it needs a domain, as in name@example.com)");
    };
    if local.is_empty() {
        return Some("has nothing before the @");
    }
    if domain.contains('@') {
        return Some("has more than one @");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Some("has no domain with a dot after the @ (as in example.com)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(values: &[&str]) -> Result<Vec<String>, CommandError> {
        addresses(
            "--to",
            &values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn lists_are_split_on_commas_and_semicolons() {
        assert_eq!(
            given(&["a@b.com, c@d.com", "e@f.org;g@h.io;"]).unwrap(),
            ["a@b.com", "c@d.com", "e@f.org", "g@h.io"]
        );
    }

    #[test]
    fn every_wrong_address_is_named() {
        let e = given(&["adele", "", "x@y.com", "@b.com", "a@b", "a b@c.com"]).unwrap_err();
        for part in [
            "\"adele\" has no @",
            "empty address",
            "\"@b.com\"",
            "\"a@b\"",
            "\"a b@c.com\"",
        ] {
            assert!(e.message.contains(part), "{part}: {}", e.message);
        }
        assert!(!e.message.contains("x@y.com"), "{}", e.message);
    }
}

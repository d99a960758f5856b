//! Granted versus requested permissions: which requested ones are missing, and how
//! to get each granted.

use atrs_host_sdk::MissingScope;

/// Scopes Entra does not echo in a token's `scope` the way they were asked for.
const OIDC: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// Graph resource prefixes, one per cloud; `https://graph.microsoft.com/X` means `X`.
const GRAPH_PREFIXES: [&str; 4] = [
    "https://graph.microsoft.com/",
    "https://graph.microsoft.us/",
    "https://dod-graph.microsoft.us/",
    "https://microsoftgraph.chinacloudapi.cn/",
];

/// What was granted, as the provider named it, and what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The scopes the token carries.
    pub granted: Vec<String>,
    /// Requested scopes the token does not carry, with how to get them.
    pub missing: Vec<MissingScope>,
}

/// Compares the token's `scope` with `requested`; `graph_host` is the discovered Graph
/// host (so its full scope URIs match short names too).
///
/// A token without `scope` was granted exactly what was requested (RFC 6749 §5.1).
pub fn compare(
    requested: &[String],
    granted: Option<&str>,
    graph_host: Option<&str>,
) -> Comparison {
    let Some(granted) = granted.map(str::trim).filter(|s| !s.is_empty()) else {
        return Comparison {
            granted: requested.to_vec(),
            missing: Vec::new(),
        };
    };
    let granted: Vec<String> = granted.split_whitespace().map(str::to_owned).collect();
    let have: Vec<String> = granted.iter().map(|s| normalize(s, graph_host)).collect();
    let missing = requested
        .iter()
        .filter(|s| !is_oidc(s) && !s.ends_with("/.default"))
        .filter(|s| !have.contains(&normalize(s, graph_host)))
        .map(|s| MissingScope {
            scope: s.as_str().into(),
            hint: how_to_grant(s).into(),
        })
        .collect();
    Comparison { granted, missing }
}

/// Whether `scope` is an OpenID Connect scope (never listed in a token's scopes).
pub fn is_oidc(scope: &str) -> bool {
    OIDC.iter().any(|o| o.eq_ignore_ascii_case(scope))
}

/// The form two scopes are compared in: lower-cased, any cloud's Graph prefix removed.
pub fn key(scope: &str) -> String {
    normalize(scope, None)
}

/// Whether `a` and `b` name the same permission (their [`key`]s are equal), compared
/// in place: the token path asks this for every scope of every cache lookup.
pub fn same(a: &str, b: &str) -> bool {
    without_graph_prefix(a).eq_ignore_ascii_case(without_graph_prefix(b))
}

/// `scope` after the first Graph prefix it starts with (in any case), or all of it.
fn without_graph_prefix(scope: &str) -> &str {
    GRAPH_PREFIXES
        .iter()
        .find_map(|prefix| {
            let head = scope.as_bytes().get(..prefix.len())?;
            // The prefixes are ASCII, so a match ends on a character boundary.
            head.eq_ignore_ascii_case(prefix.as_bytes())
                .then(|| &scope[prefix.len()..])
        })
        .unwrap_or(scope)
}

/// Lower-cased, with a Graph resource prefix removed.
fn normalize(scope: &str, graph_host: Option<&str>) -> String {
    let lower = scope.to_ascii_lowercase();
    let discovered = graph_host.map(|h| format!("https://{}/", h.to_ascii_lowercase()));
    let prefixes = GRAPH_PREFIXES.iter().copied().chain(discovered.as_deref());
    for prefix in prefixes {
        if let Some(short) = lower.strip_prefix(prefix) {
            return short.to_owned();
        }
    }
    lower
}

/// How to get `scope` granted: which permissions need an administrator and where.
fn how_to_grant(scope: &str) -> String {
    let short = scope.rsplit('/').next().unwrap_or(scope);
    let needs_admin = short.to_ascii_lowercase().ends_with(".all");
    if needs_admin {
        format!(
            "{short} usually needs an administrator: in Azure portal → App registrations → your app → API permissions, add {short} (Microsoft Graph, Delegated) and click \"Grant admin consent\", then choose Verify again."
        )
    } else {
        format!(
            "In Azure portal → App registrations → your app → API permissions, add {short} (Microsoft Graph, Delegated); if your organization does not let users consent, an administrator must click \"Grant admin consent\". Then choose Verify again and accept the permission prompt."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    fn missing(c: &Comparison) -> Vec<&str> {
        c.missing.iter().map(|m| m.scope.as_str()).collect()
    }

    #[test]
    fn oidc_scopes_are_not_reported_missing() {
        let c = compare(
            &req("openid profile offline_access User.Read Mail.Send"),
            Some("User.Read Mail.Send"),
            None,
        );
        assert!(c.missing.is_empty(), "{c:?}");
        assert_eq!(c.granted, req("User.Read Mail.Send"));
    }

    #[test]
    fn same_agrees_with_comparing_keys() {
        let scopes = [
            "User.Read",
            "user.read",
            "USER.READ",
            "https://graph.microsoft.com/User.Read",
            "HTTPS://GRAPH.MICROSOFT.COM/user.read",
            "https://graph.microsoft.us/User.Read",
            "https://dod-graph.microsoft.us/user.READ",
            "https://microsoftgraph.chinacloudapi.cn/User.Read",
            "https://graph.microsoft.com/",
            "https://graph.microsoft.co",
            "https://outlook.office.com/SMTP.Send",
            "https://outlook.office.com/smtp.send",
            "Mail.Send",
            "Ünïcode.Read",
            "ünïcode.read",
            "",
        ];
        for a in scopes {
            for b in scopes {
                assert_eq!(same(a, b), key(a) == key(b), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn case_and_graph_prefixes_do_not_matter() {
        let c = compare(
            &req("offline_access https://graph.microsoft.com/Mail.Send user.read"),
            Some("https://graph.microsoft.com/User.Read mail.send"),
            None,
        );
        assert!(c.missing.is_empty(), "{c:?}");
        let c = compare(
            &req("offline_access https://127.0.0.1:4000/Mail.Send"),
            Some("Mail.Send"),
            Some("127.0.0.1:4000"),
        );
        assert!(c.missing.is_empty(), "{c:?}");
    }

    #[test]
    fn each_missing_scope_is_named_with_a_way_to_grant_it() {
        let c = compare(
            &req("openid offline_access User.Read Mail.Send Sites.ReadWrite.All"),
            Some("User.Read openid profile"),
            None,
        );
        assert_eq!(missing(&c), vec!["Mail.Send", "Sites.ReadWrite.All"]);
        assert!(c.missing[0].hint.contains("API permissions"));
        assert!(c.missing[1].hint.contains("Grant admin consent"));
        assert!(c.missing[1].hint.contains("administrator"));
    }

    #[test]
    fn no_scope_in_the_token_means_all_granted() {
        let requested = req("openid offline_access User.Read");
        let c = compare(&requested, None, None);
        assert!(c.missing.is_empty());
        assert_eq!(c.granted, requested);
    }

    #[test]
    fn dot_default_is_never_missing() {
        let c = compare(
            &req("offline_access https://graph.microsoft.com/.default"),
            Some("User.Read"),
            None,
        );
        assert!(c.missing.is_empty());
    }
}

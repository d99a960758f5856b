//! Scope strings: parsing, Microsoft Graph's permission names, and what gets granted.

use std::collections::BTreeSet;

use crate::directory::AppRegistration;
use crate::errors::EntraError;

/// OpenID Connect scopes, in the order Entra lists them in a token response.
const OIDC: [&str; 4] = ["profile", "openid", "email", "offline_access"];

/// Delegated Microsoft Graph permissions the mock knows (canonical spelling).
const GRAPH: &[&str] = &[
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "Mail.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "Mail.Send.Shared",
    "Files.Read",
    "Files.ReadWrite",
    "Files.Read.All",
    "Files.ReadWrite.All",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Contacts.Read",
    "Directory.Read.All",
];

/// Graph's well-known application id, usable as a scope prefix.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The Outlook resource (Exchange Online's SMTP, IMAP and POP), a resource apart from Graph.
pub(crate) const OUTLOOK: &str = "https://outlook.office.com";
/// Outlook's delegated permissions the mock knows (canonical spelling).
const OUTLOOK_SCOPES: &[&str] = &["SMTP.Send", "IMAP.AccessAsUser.All", "POP.AccessAsUser.All"];

/// Why a `scope` value is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ScopeError {
    /// Malformed, unknown, or `.default` mixed with others (AADSTS70011).
    Invalid(String),
    /// Permissions of more than one resource (AADSTS28000).
    MultipleResources(String),
}

impl From<ScopeError> for EntraError {
    fn from(e: ScopeError) -> Self {
        match e {
            ScopeError::Invalid(raw) => EntraError::invalid_scope(&raw),
            ScopeError::MultipleResources(raw) => EntraError::multiple_resources(&raw),
        }
    }
}

/// A parsed `scope` parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Requested {
    /// OIDC scopes asked for (canonical).
    pub oidc: BTreeSet<&'static str>,
    /// Graph permissions asked for (canonical, request order, no duplicates).
    pub graph: Vec<&'static str>,
    /// `.default`: everything configured on the registration.
    pub default: bool,
    /// Outlook permissions asked for (canonical short names), instead of Graph's.
    pub outlook: Vec<&'static str>,
}

/// What a token is valid for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Grant {
    /// OIDC scopes granted.
    pub oidc: BTreeSet<&'static str>,
    /// Graph permissions granted.
    pub graph: Vec<String>,
}

impl Grant {
    /// The `scope` value of a token response: Graph permissions, then `profile openid email`.
    /// `offline_access` is never listed, as with Entra.
    pub fn scope_string(&self) -> String {
        let oidc = OIDC
            .iter()
            .filter(|s| **s != "offline_access" && self.oidc.contains(*s))
            .map(|s| s.to_string());
        self.graph
            .iter()
            .cloned()
            .chain(oidc)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether a refresh token is issued (`offline_access` was asked for).
    pub fn offline(&self) -> bool {
        self.oidc.contains("offline_access")
    }

    /// Whether an ID token is issued (`openid` was asked for).
    pub fn openid(&self) -> bool {
        self.oidc.contains("openid")
    }

    /// Whether this grant includes `scope` (case-insensitive).
    pub fn has(&self, scope: &str) -> bool {
        self.graph.iter().any(|s| s.eq_ignore_ascii_case(scope))
            || self.oidc.iter().any(|s| s.eq_ignore_ascii_case(scope))
    }
}

/// Parse a space-separated `scope` value.
pub(crate) fn parse(raw: &str, graph_host: &str) -> Result<Requested, ScopeError> {
    let invalid = || ScopeError::Invalid(raw.to_owned());
    let mut out = Requested::default();
    let mut other_graph = false;
    for word in raw.split_whitespace() {
        if let Some(o) = OIDC.iter().find(|o| o.eq_ignore_ascii_case(word)) {
            out.oidc.insert(o);
            continue;
        }
        if let Some(name) = strip_prefix_ignoring_case(word, &format!("{OUTLOOK}/")) {
            let canonical = OUTLOOK_SCOPES
                .iter()
                .find(|o| o.eq_ignore_ascii_case(name))
                .ok_or_else(invalid)?;
            if !out.outlook.contains(canonical) {
                out.outlook.push(canonical);
            }
            continue;
        }
        let name = strip_graph_prefix(word, graph_host).ok_or_else(invalid)?;
        if name.eq_ignore_ascii_case(".default") {
            out.default = true;
            continue;
        }
        let canonical = GRAPH
            .iter()
            .find(|g| g.eq_ignore_ascii_case(name))
            .ok_or_else(invalid)?;
        other_graph = true;
        if !out.graph.contains(canonical) {
            out.graph.push(canonical);
        }
    }
    if out.default && other_graph {
        return Err(invalid());
    }
    if (out.default || other_graph) && !out.outlook.is_empty() {
        return Err(ScopeError::MultipleResources(raw.to_owned()));
    }
    Ok(out)
}

/// `word` without `prefix` (compared ignoring case), when it starts with it and goes on.
fn strip_prefix_ignoring_case<'a>(word: &'a str, prefix: &str) -> Option<&'a str> {
    (word.len() > prefix.len()
        && word.is_char_boundary(prefix.len())
        && word[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &word[prefix.len()..])
}

/// The permission name of a Graph scope written short or as a resource URI.
fn strip_graph_prefix<'a>(word: &'a str, graph_host: &str) -> Option<&'a str> {
    let prefixes = [
        "https://graph.microsoft.com/".to_owned(),
        format!("https://{graph_host}/"),
        format!("http://{graph_host}/"),
        format!("{GRAPH_APP_ID}/"),
    ];
    if let Some(rest) = prefixes
        .iter()
        .find_map(|p| strip_prefix_ignoring_case(word, p))
    {
        return Some(rest);
    }
    if word.contains('/') || word.contains(':') {
        None
    } else {
        Some(word)
    }
}

/// What an interactive sign-in grants: permissions the app is configured for and that need no
/// missing admin consent. Others are silently left out, so the client sees them missing.
pub(crate) fn interactive(app: &AppRegistration, req: &Requested) -> Grant {
    let graph = wanted(app, req)
        .into_iter()
        .filter(|s| app.configured(s) && !app.blocked_by_admin_consent(s))
        .collect();
    Grant {
        oidc: req.oidc.clone(),
        graph,
    }
}

/// What a silent request (refresh, `prompt=none`) grants; `Err` when some permission lacks consent.
pub(crate) fn silent(
    app: &AppRegistration,
    consented: &BTreeSet<String>,
    req: &Requested,
) -> Result<Grant, ()> {
    let mut graph = Vec::new();
    for s in wanted(app, req) {
        if !app.configured(&s) {
            continue;
        }
        if app.blocked_by_admin_consent(&s) || !consented.contains(&s) {
            return Err(());
        }
        graph.push(s);
    }
    Ok(Grant {
        oidc: req.oidc.clone(),
        graph,
    })
}

/// The permissions a request names, with `.default` expanded to the configured ones;
/// Outlook's by their full URI, as the app's configuration and token answers list them.
fn wanted(app: &AppRegistration, req: &Requested) -> Vec<String> {
    if !req.outlook.is_empty() {
        return req
            .outlook
            .iter()
            .map(|s| format!("{OUTLOOK}/{s}"))
            .collect();
    }
    if req.default {
        app.scopes
            .iter()
            .filter(|s| !OIDC.iter().any(|o| o.eq_ignore_ascii_case(s)) && !s.contains("://"))
            .cloned()
            .collect()
    } else {
        req.graph.iter().map(|s| s.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults;

    fn app(id: &str) -> AppRegistration {
        crate::directory::Directory::default()
            .app(id)
            .unwrap()
            .clone()
    }

    #[test]
    fn parses_short_names_uris_and_oidc_case_insensitively() {
        let r = parse(
            "openid Profile offline_access user.read https://graph.microsoft.com/Mail.Send",
            "127.0.0.1:1",
        )
        .unwrap();
        assert_eq!(r.graph, vec!["User.Read", "Mail.Send"]);
        assert!(r.oidc.contains("profile") && r.oidc.contains("offline_access"));
        assert!(parse("https://127.0.0.1:1/User.Read", "127.0.0.1:1").is_ok());
    }

    #[test]
    fn unknown_or_mixed_default_scopes_are_invalid() {
        assert!(parse("openid User.Fly", "h").is_err());
        assert!(parse("https://example.com/Thing.Do", "h").is_err());
        assert!(parse("https://graph.microsoft.com/.default User.Read", "h").is_err());
        assert!(
            parse("https://graph.microsoft.com/.default", "h")
                .unwrap()
                .default
        );
    }

    #[test]
    fn outlook_scopes_are_a_resource_of_their_own() {
        let r = parse(
            "openid offline_access https://outlook.office.com/smtp.send",
            "h",
        )
        .unwrap();
        assert_eq!(r.outlook, vec!["SMTP.Send"]);
        let g = interactive(&app(defaults::DESKTOP_CLIENT_ID), &r);
        assert_eq!(g.graph, vec!["https://outlook.office.com/SMTP.Send"]);
        assert!(parse("https://outlook.office.com/Fly.Away", "h").is_err());
        for mixed in [
            "User.Read https://outlook.office.com/SMTP.Send",
            "https://graph.microsoft.com/.default https://outlook.office.com/IMAP.AccessAsUser.All",
        ] {
            assert!(
                matches!(parse(mixed, "h"), Err(ScopeError::MultipleResources(_))),
                "{mixed}"
            );
        }
    }

    #[test]
    fn scope_string_lists_graph_first_and_never_offline_access() {
        let r = parse("offline_access openid profile email User.Read", "h").unwrap();
        let g = interactive(&app(defaults::DESKTOP_CLIENT_ID), &r);
        assert_eq!(g.scope_string(), "User.Read profile openid email");
        assert!(g.offline() && g.openid());
    }

    #[test]
    fn admin_only_scope_is_left_out_interactively_and_refused_silently() {
        let a = app(defaults::ADMIN_CONSENT_CLIENT_ID);
        let r = parse("openid User.Read Mail.Send", "h").unwrap();
        let g = interactive(&a, &r);
        assert_eq!(g.graph, vec!["User.Read"]);
        let consented: BTreeSet<String> = ["User.Read".to_owned()].into();
        assert!(silent(&a, &consented, &r).is_err());
        let r = parse("User.Read", "h").unwrap();
        assert_eq!(silent(&a, &consented, &r).unwrap().graph, vec!["User.Read"]);
    }
}

//! National clouds: where each one signs in, and where its Microsoft Graph lives.
//!
//! The host lists are MSAL's known authorities (their aliases included): a host here is
//! Microsoft's sign-in service, which gets Microsoft's own authorize parameters, and two
//! hosts of one cloud may hand a sign-in to each other.

use std::fmt;

use url::Url;

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

    /// The host names of this cloud's sign-in service (the first is [`Cloud::authority`]'s).
    pub fn sign_in_hosts(self) -> &'static [&'static str] {
        match self {
            Cloud::Global => &[
                "login.microsoftonline.com",
                "login.windows.net",
                "login.microsoft.com",
                "sts.windows.net",
            ],
            Cloud::UsGovernment => &["login.microsoftonline.us", "login.usgovcloudapi.net"],
            Cloud::China => &["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
        }
    }

    /// The host names of this cloud's Microsoft Graph.
    pub fn graph_hosts(self) -> &'static [&'static str] {
        match self {
            Cloud::Global => &["graph.microsoft.com"],
            Cloud::UsGovernment => &["graph.microsoft.us", "dod-graph.microsoft.us"],
            Cloud::China => &["microsoftgraph.chinacloudapi.cn"],
        }
    }

    /// Where this cloud's upload sessions live, besides its Graph hosts: exact host names,
    /// and domain suffixes (starting with `.`) for tenant hosts such as
    /// `contoso-my.sharepoint.com`. Drive sessions point at SharePoint (OneDrive for Business)
    /// or `*.up.1drv.com` (personal OneDrive); attachment sessions at Outlook.
    pub fn upload_hosts(self) -> &'static [&'static str] {
        match self {
            Cloud::Global => &[
                ".sharepoint.com",
                ".1drv.com",
                "outlook.office.com",
                "outlook.office365.com",
            ],
            Cloud::UsGovernment => &[
                ".sharepoint.us",
                ".sharepoint-mil.us",
                "outlook.office365.us",
            ],
            Cloud::China => &[".sharepoint.cn", "partner.outlook.cn"],
        }
    }

    /// The cloud whose Microsoft Graph `host` is, if it is Microsoft's.
    pub fn of_graph_host(host: &str) -> Option<Cloud> {
        let host = host.trim_end_matches('.');
        Cloud::ALL
            .into_iter()
            .find(|c| c.graph_hosts().iter().any(|h| h.eq_ignore_ascii_case(host)))
    }

    /// Whether `host` may serve an upload session of this cloud: one of its Graph hosts, or
    /// an [`Cloud::upload_hosts`] entry (a suffix matches whole labels only).
    pub fn serves_uploads(self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.graph_hosts().iter().any(|h| *h == host)
            || self.upload_hosts().iter().any(|h| {
                if h.starts_with('.') {
                    host.len() > h.len() && host.ends_with(h)
                } else {
                    host == *h
                }
            })
    }

    /// The cloud whose sign-in service `host` is, if it is Microsoft's.
    pub fn of_sign_in_host(host: &str) -> Option<Cloud> {
        Cloud::ALL.into_iter().find(|c| {
            c.sign_in_hosts()
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host.trim_end_matches('.')))
        })
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

/// Whether `a` and `b` are the same sign-in service: the same scheme, host and port, or
/// two of Microsoft's sign-in hosts of one cloud (https both).
pub fn same_sign_in_service(a: &Url, b: &Url) -> bool {
    if a.scheme() == b.scheme()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.host_str()
            .zip(b.host_str())
            .is_some_and(|(x, y)| x.eq_ignore_ascii_case(y))
    {
        return true;
    }
    let cloud = |u: &Url| {
        (u.scheme() == "https" && u.port_or_known_default() == Some(443))
            .then(|| u.host_str().and_then(Cloud::of_sign_in_host))
            .flatten()
    };
    cloud(a).is_some_and(|c| cloud(b) == Some(c))
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

    #[test]
    fn sign_in_hosts_name_their_cloud() {
        for c in Cloud::ALL {
            let host = c.authority().trim_start_matches("https://");
            assert_eq!(c.sign_in_hosts()[0], host);
            assert_eq!(Cloud::of_sign_in_host(host), Some(c));
        }
        assert_eq!(
            Cloud::of_sign_in_host("LOGIN.windows.net"),
            Some(Cloud::Global)
        );
        assert_eq!(
            Cloud::of_sign_in_host("login.microsoftonline.com.evil.test"),
            None
        );
        assert_eq!(Cloud::of_sign_in_host("127.0.0.1"), None);
    }

    #[test]
    fn upload_hosts_are_the_clouds_own_and_suffixes_match_whole_labels() {
        assert_eq!(
            Cloud::of_graph_host("GRAPH.microsoft.com"),
            Some(Cloud::Global)
        );
        assert_eq!(Cloud::of_graph_host("graph.microsoft.com.evil.test"), None);
        let g = Cloud::Global;
        assert!(g.serves_uploads("graph.microsoft.com"));
        assert!(g.serves_uploads("contoso-my.sharepoint.com"));
        assert!(g.serves_uploads("sn3302.up.1drv.com"));
        assert!(g.serves_uploads("outlook.office.com"));
        assert!(!g.serves_uploads("sharepoint.com"));
        assert!(!g.serves_uploads("evilsharepoint.com"));
        assert!(!g.serves_uploads("contoso.sharepoint.com.evil.test"));
        assert!(!g.serves_uploads("contoso.sharepoint.us"));
        assert!(Cloud::UsGovernment.serves_uploads("contoso.sharepoint.us"));
        assert!(!Cloud::China.serves_uploads("graph.microsoft.com"));
    }

    #[test]
    fn one_service_is_one_origin_or_one_microsoft_cloud() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_sign_in_service(
            &u("http://127.0.0.1:9/a"),
            &u("http://127.0.0.1:9/b")
        ));
        assert!(!same_sign_in_service(
            &u("http://127.0.0.1:9/"),
            &u("http://127.0.0.1:8/")
        ));
        assert!(!same_sign_in_service(
            &u("http://127.0.0.1:9/"),
            &u("https://127.0.0.1:9/")
        ));
        assert!(same_sign_in_service(
            &u("https://login.windows.net/x"),
            &u("https://login.microsoftonline.com/y")
        ));
        assert!(!same_sign_in_service(
            &u("https://login.microsoftonline.us/"),
            &u("https://login.microsoftonline.com/")
        ));
        assert!(!same_sign_in_service(
            &u("https://login.microsoftonline.com/"),
            &u("https://login.microsoftonline.co/")
        ));
    }
}

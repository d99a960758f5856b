//! Endpoints from the tenant's OpenID discovery document, as MSAL reads them, so every
//! national cloud and any standards-compliant provider works without code changes.
//!
//! The document is trusted only as far as it stays with the authority asked for: its
//! issuer must be that authority's tenant ([`Issuer::of_discovery`]), and every endpoint
//! that receives a code, a secret or a token must be on the authority's own host —
//! or, for Microsoft's clouds, on another sign-in host (or the Graph) of the same cloud.
//! A mistyped authority therefore never receives a client secret or a code.

use atrs_host_sdk::{ErrorKind, PluginError};
use serde::Deserialize;
use url::Url;

use crate::{
    authority::aadsts::ProviderError,
    authority::issuer::Issuer,
    config::{is_guid, AccountConfig},
    fields,
    net::cloud::{same_sign_in_service, Cloud},
    net::http::{host_of, is_loopback, parse_json, Http, HttpError, HttpResponse},
};

/// What the sign-in service supports, as its discovery document says (and, where
/// Microsoft's documents are silent, as Microsoft's service is known to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Server {
    /// The cloud, when the authority is one of Microsoft's sign-in hosts: only then are
    /// Microsoft's own parameters sent.
    pub microsoft: Option<Cloud>,
    /// `prompt_values_supported`.
    pub prompt_values: Option<Vec<String>>,
    /// `response_modes_supported`.
    pub response_modes: Option<Vec<String>>,
    /// `code_challenge_methods_supported`.
    pub code_challenge_methods: Option<Vec<String>>,
    /// RFC 9207's `authorization_response_iss_parameter_supported`: every authorization
    /// response carries `iss`, so one without it is refused.
    pub iss_in_responses: bool,
    /// OpenID Connect Discovery's `claims_parameter_supported`.
    pub claims_parameter: bool,
}

impl Server {
    /// Whether token requests carry the `claims` parameter with the client capability
    /// `cp1` ([`crate::authority::claims`]): Microsoft's extension, so only for Microsoft's sign-in
    /// hosts, or a server whose document says it takes `claims` (a local stand-in).
    pub fn takes_claims(&self) -> bool {
        self.microsoft.is_some() || self.claims_parameter
    }

    /// Whether the server takes `prompt=value`: when its document lists it, or it is
    /// Microsoft's (whose documents do not list prompt values).
    pub fn supports_prompt(&self, value: &str) -> bool {
        match &self.prompt_values {
            Some(values) => values.iter().any(|v| v == value),
            None => self.microsoft.is_some(),
        }
    }

    /// Whether the server names `mode` among its response modes (Microsoft's: query,
    /// fragment and form_post). Without a list only the defaults (query, fragment) are
    /// known, and are best left implicit.
    pub fn names_response_mode(&self, mode: &str) -> bool {
        match &self.response_modes {
            Some(modes) => modes.iter().any(|m| m == mode),
            None => self.microsoft.is_some(),
        }
    }

    /// Refuses a server that does not offer PKCE with S256 (RFC 7636; RFC 9700 §2.1.1
    /// requires PKCE). Microsoft's documents omit the list, but its service has S256;
    /// for any other server a missing list means no PKCE (RFC 8414 §2).
    pub fn require_s256(&self, host: &str) -> Result<(), PluginError> {
        let offered = match &self.code_challenge_methods {
            Some(methods) => methods.iter().any(|m| m == "S256"),
            None => self.microsoft.is_some(),
        };
        if offered {
            return Ok(());
        }
        let what = match &self.code_challenge_methods {
            Some(methods) if methods.is_empty() => "lists no PKCE method".to_owned(),
            Some(methods) => format!(
                "lists only {}",
                methods
                    .iter()
                    .map(|m| m
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric())
                        .take(20)
                        .collect::<String>())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "does not list code_challenge_methods_supported".to_owned(),
        };
        Err(PluginError::unsupported(format!(
            "The sign-in service at {host} does not offer PKCE with S256 (its discovery document {what}), which the browser sign-in requires."
        ))
        .with_hint("Use Verify (device code) instead, or ask the sign-in service's administrator to enable PKCE with S256 (RFC 7636)."))
    }
}

/// The endpoints a sign-in needs, checked to be absolute and secure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Where a browser sign-in starts.
    pub authorization: Url,
    /// Where codes are redeemed for tokens.
    pub token: Url,
    /// Where a device code is asked for; absent when the provider has no device flow.
    pub device_authorization: Option<Url>,
    /// The OpenID userinfo endpoint, if any.
    pub userinfo: Option<Url>,
    /// The Microsoft Graph base (`https://graph.microsoft.com`), when the provider names one.
    pub graph: Option<Url>,
    /// The tenant GUID, when the issuer names a concrete one.
    pub tenant_id: Option<String>,
    /// The issuer, checked to belong to the authority and tenant.
    pub issuer: Issuer,
    /// What the server supports.
    pub server: Server,
}

/// The fields of the discovery document we use.
#[derive(Debug, Deserialize)]
struct Document {
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    device_authorization_endpoint: Option<String>,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    msgraph_host: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    prompt_values_supported: Option<Vec<String>>,
    #[serde(default)]
    response_modes_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
    #[serde(default)]
    claims_parameter_supported: Option<bool>,
}

/// The discovery document's address for `config`: `{authority}/{tenant}/v2.0/.well-known/openid-configuration`.
pub fn document_url(config: &AccountConfig) -> Result<Url, PluginError> {
    let raw = format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        config.authority(),
        config.tenant.segment()
    );
    Url::parse(&raw).map_err(|_| {
        PluginError::invalid_input("The authority URL and Tenant ID do not form a valid address.")
            .with_field(fields::AUTHORITY)
            .with_hint(
                "Enter only the scheme and host, for example https://login.microsoftonline.com.",
            )
    })
}

/// Fetches and checks the discovery document for `config`.
pub async fn discover(http: &Http, config: &AccountConfig) -> Result<Endpoints, PluginError> {
    let url = document_url(config)?;
    let host = host_of(url.as_str());
    let response = http
        .get_json(&url, None)
        .await
        .map_err(|e| e.to_plugin_error())?;
    endpoints_from(&response, config, &host)
}

/// Checks the answer `host` gave to the discovery request for `config`: an error
/// object or status, or a document whose endpoints must belong to the authority. The
/// part of [`discover`] that reads what the server sent (also what the fuzz target
/// `discovery` drives).
pub fn endpoints_from(
    response: &HttpResponse,
    config: &AccountConfig,
    host: &str,
) -> Result<Endpoints, PluginError> {
    let host = host.to_owned();
    if !response.status().is_success() {
        // Entra answers an unknown tenant with an OAuth error object (AADSTS90002).
        if let Ok(provider) = serde_json::from_slice::<ProviderError>(response.body()) {
            if !provider.error.is_empty() {
                return Err(provider.to_plugin_error());
            }
        }
        let status = response.status().as_u16();
        if status == 404 {
            return Err(PluginError::new(
                ErrorKind::Provider,
                format!(
                    "{host} has no sign-in configuration for the tenant `{}`.",
                    config.tenant.segment()
                ),
            )
            .with_field(fields::TENANT_ID)
            .with_hint("Check the Tenant ID, the cloud and the authority URL."));
        }
        return Err(HttpError::Status { host, status }.to_plugin_error());
    }
    let doc: Document = parse_json(response, &host).map_err(|e| e.to_plugin_error())?;
    let authority = authority_url(config)?;
    let issuer = Issuer::of_discovery(doc.issuer.as_deref(), &authority, &config.tenant, &host)?;
    let microsoft = authority.host_str().and_then(Cloud::of_sign_in_host);
    let place = Place {
        authority: &authority,
        loopback_http: config
            .authority_override
            .as_ref()
            .is_some_and(|u| u.scheme() == "http" && is_loopback(u)),
        microsoft,
        host: &host,
    };
    let optional = |name: &str, raw: &Option<String>, allowed: Allowed| match raw
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => place.endpoint(name, raw, allowed).map(Some),
        None => Ok(None),
    };
    Ok(Endpoints {
        authorization: place.endpoint(
            "authorization_endpoint",
            &doc.authorization_endpoint,
            Allowed::SignIn,
        )?,
        token: place.endpoint("token_endpoint", &doc.token_endpoint, Allowed::SignIn)?,
        device_authorization: optional(
            "device_authorization_endpoint",
            &doc.device_authorization_endpoint,
            Allowed::SignIn,
        )?,
        userinfo: optional(
            "userinfo_endpoint",
            &doc.userinfo_endpoint,
            Allowed::SignInOrGraph,
        )?,
        graph: place.graph_base(doc.msgraph_host.as_deref())?,
        tenant_id: tenant_of_issuer(issuer.as_str()),
        issuer,
        server: Server {
            microsoft,
            prompt_values: doc.prompt_values_supported,
            response_modes: doc.response_modes_supported,
            code_challenge_methods: doc.code_challenge_methods_supported,
            iss_in_responses: doc.authorization_response_iss_parameter_supported == Some(true),
            claims_parameter: doc.claims_parameter_supported == Some(true),
        },
    })
}

/// The authority in effect, as an address.
fn authority_url(config: &AccountConfig) -> Result<Url, PluginError> {
    Url::parse(&config.authority()).map_err(|_| {
        PluginError::invalid_input("The authority URL is not a valid address.")
            .with_field(fields::AUTHORITY)
            .with_hint(
                "Enter only the scheme and host, for example https://login.microsoftonline.com.",
            )
    })
}

/// Which hosts an endpoint may be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Allowed {
    /// The authority's sign-in service (codes, secrets and device codes go there).
    SignIn,
    /// That, or the cloud's Microsoft Graph (Entra's userinfo is on the Graph).
    SignInOrGraph,
}

/// Where a discovery document came from, to check the addresses it names.
struct Place<'a> {
    authority: &'a Url,
    loopback_http: bool,
    microsoft: Option<Cloud>,
    host: &'a str,
}

impl Place<'_> {
    /// `raw` as the endpoint `name`: absolute, https (or http on a loopback authority),
    /// and on a host it may be on.
    fn endpoint(&self, name: &str, raw: &str, allowed: Allowed) -> Result<Url, PluginError> {
        let url = checked(name, raw, self.loopback_http, self.host)?;
        let on_graph = allowed == Allowed::SignInOrGraph
            && url.scheme() == "https"
            && self.microsoft.is_some_and(|c| {
                url.host_str()
                    .is_some_and(|h| c.graph_hosts().iter().any(|g| g.eq_ignore_ascii_case(h)))
            });
        if same_sign_in_service(&url, self.authority) || on_graph {
            return Ok(url);
        }
        Err(PluginError::new(
            ErrorKind::Provider,
            format!(
                "The sign-in configuration from {} sends `{name}` to {}, another host than the authority {}.",
                self.host,
                host_of(url.as_str()),
                host_of(self.authority.as_str()),
            ),
        )
        .with_field(fields::AUTHORITY)
        .with_hint("ATRS sends sign-in codes, secrets and tokens only to the authority's own sign-in service. Check the authority URL (a typing mistake can point at another service); for Microsoft's clouds leave it empty and choose the cloud."))
    }

    /// `https://{msgraph_host}` — one of the cloud's Graph hosts for Microsoft's service,
    /// the authority's own host otherwise (a local mock reports `127.0.0.1:PORT`, and
    /// keeps the authority's scheme).
    fn graph_base(&self, msgraph_host: Option<&str>) -> Result<Option<Url>, PluginError> {
        let Some(graph) = msgraph_host.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let scheme = if self.loopback_http { "http" } else { "https" };
        let url = Url::parse(&format!("{scheme}://{graph}"))
            .ok()
            .filter(|u| u.path() == "/" && u.query().is_none() && u.username().is_empty());
        let allowed = |u: &Url| match self.microsoft {
            Some(cloud) => {
                u.port().is_none()
                    && u.host_str().is_some_and(|h| {
                        cloud
                            .graph_hosts()
                            .iter()
                            .any(|g| g.eq_ignore_ascii_case(h))
                    })
            }
            None => same_sign_in_service(u, self.authority),
        };
        match url {
            Some(u) if allowed(&u) => Ok(Some(u)),
            _ => Err(PluginError::new(
                ErrorKind::Provider,
                format!(
                    "The sign-in configuration from {} names an unusable Microsoft Graph host.",
                    self.host
                ),
            )
            .with_field(fields::AUTHORITY)
            .with_hint("Check the authority URL and the cloud: Microsoft Graph must be the cloud's own (or, for a local test server, on the authority's host).")),
        }
    }
}

/// An endpoint must be https, or http on loopback when the authority itself is.
fn checked(name: &str, raw: &str, loopback_http: bool, host: &str) -> Result<Url, PluginError> {
    let bad = |why: &str| {
        PluginError::new(
            ErrorKind::Provider,
            format!("The sign-in configuration from {host} has an unusable `{name}` ({why})."),
        )
        .with_hint("Check the authority URL: it must point at a Microsoft identity platform (or compatible) sign-in service.")
    };
    let url = Url::parse(raw.trim()).map_err(|_| bad("not an absolute address"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback_http && is_loopback(&url) => Ok(url),
        "http" => Err(bad("plain http")),
        _ => Err(bad("not a web address")),
    }
}

/// The tenant GUID in an issuer such as `https://login.microsoftonline.com/{guid}/v2.0`.
fn tenant_of_issuer(issuer: &str) -> Option<String> {
    let url = Url::parse(issuer).ok()?;
    url.path_segments()?
        .find(|s| is_guid(s))
        .map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use atrs_host_sdk::FormValues;

    fn config(authority: Option<&str>) -> AccountConfig {
        let mut v = FormValues::new()
            .with(fields::ACCOUNT_NAME, "Reports")
            .with(fields::CLIENT_ID, "4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
            .with(fields::TENANT_ID, "Contoso.onmicrosoft.com");
        if let Some(a) = authority {
            v = v.with(fields::AUTHORITY, a);
        }
        AccountConfig::parse(&v).unwrap()
    }

    #[test]
    fn document_address_follows_authority_and_tenant() {
        assert_eq!(
            document_url(&config(None)).unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
        );
        assert_eq!(
            document_url(&config(Some("http://127.0.0.1:8080/")))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8080/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
        );
    }

    #[test]
    fn endpoints_must_be_https_unless_the_authority_is_loopback_http() {
        assert!(checked("token_endpoint", "https://x.test/t", false, "h").is_ok());
        assert!(checked("token_endpoint", "http://x.test/t", false, "h").is_err());
        assert!(checked("token_endpoint", "http://127.0.0.1:9/t", true, "h").is_ok());
        assert!(checked("token_endpoint", "http://evil.test/t", true, "h").is_err());
        let e = checked("token_endpoint", "/relative", false, "h").unwrap_err();
        assert!(e.message().contains("token_endpoint"), "{e}");
    }

    fn place<'a>(authority: &'a Url, loopback_http: bool) -> Place<'a> {
        Place {
            authority,
            loopback_http,
            microsoft: authority.host_str().and_then(Cloud::of_sign_in_host),
            host: "h",
        }
    }

    #[test]
    fn graph_is_the_cloud_s_own_or_on_the_authority() {
        let ms = Url::parse("https://login.microsoftonline.com").unwrap();
        let graph = |p: &Place<'_>, raw| p.graph_base(Some(raw)).map(|u| u.map(String::from));
        assert_eq!(
            graph(&place(&ms, false), "graph.microsoft.com")
                .unwrap()
                .as_deref(),
            Some("https://graph.microsoft.com/")
        );
        assert!(
            graph(&place(&ms, false), "graph.microsoft.us").is_err(),
            "another cloud's"
        );
        assert!(graph(&place(&ms, false), "graph.evil.test").is_err());
        let mock = Url::parse("http://127.0.0.1:4000").unwrap();
        assert_eq!(
            graph(&place(&mock, true), "127.0.0.1:4000")
                .unwrap()
                .as_deref(),
            Some("http://127.0.0.1:4000/")
        );
        assert!(graph(&place(&mock, true), "127.0.0.1:4001").is_err());
        assert!(place(&ms, false).graph_base(None).unwrap().is_none());
        assert!(graph(&place(&ms, false), "graph.test/evil?x").is_err());
    }

    #[test]
    fn endpoints_stay_on_the_authority_s_service() {
        let ms = Url::parse("https://login.microsoftonline.com").unwrap();
        let p = place(&ms, false);
        assert!(p
            .endpoint(
                "token_endpoint",
                "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                Allowed::SignIn
            )
            .is_ok());
        assert!(p
            .endpoint(
                "token_endpoint",
                "https://login.windows.net/t/oauth2/v2.0/token",
                Allowed::SignIn
            )
            .is_ok());
        let e = p
            .endpoint(
                "token_endpoint",
                "https://login.microsoftonline.co/t",
                Allowed::SignIn,
            )
            .unwrap_err();
        assert!(
            e.message().contains("another host than the authority"),
            "{e}"
        );
        assert_eq!(e.field(), Some(fields::AUTHORITY));
        assert!(p
            .endpoint(
                "userinfo_endpoint",
                "https://graph.microsoft.com/oidc/userinfo",
                Allowed::SignInOrGraph
            )
            .is_ok());
        assert!(p
            .endpoint(
                "token_endpoint",
                "https://graph.microsoft.com/t",
                Allowed::SignIn
            )
            .is_err());
        let other = Url::parse("https://idp.example").unwrap();
        let p = place(&other, false);
        assert!(p
            .endpoint(
                "userinfo_endpoint",
                "https://graph.microsoft.com/oidc/userinfo",
                Allowed::SignInOrGraph
            )
            .is_err());
    }

    #[test]
    fn only_microsoft_is_assumed_to_know_what_it_does_not_list() {
        let standard = Server::default();
        assert!(!standard.supports_prompt("select_account"));
        assert!(!standard.names_response_mode("form_post"));
        let e = standard.require_s256("idp.example").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(
            e.message()
                .contains("does not list code_challenge_methods_supported"),
            "{e}"
        );
        let plain_only = Server {
            code_challenge_methods: Some(vec!["plain".into()]),
            ..Server::default()
        };
        assert!(plain_only
            .require_s256("h")
            .unwrap_err()
            .message()
            .contains("lists only plain"));
        let microsoft = Server {
            microsoft: Some(Cloud::Global),
            ..Server::default()
        };
        assert!(microsoft.takes_claims(), "cp1 goes to Microsoft");
        assert!(!Server::default().takes_claims(), "not to a bare server");
        assert!(Server {
            claims_parameter: true,
            ..Server::default()
        }
        .takes_claims());
        assert!(microsoft.supports_prompt("select_account"));
        assert!(microsoft.names_response_mode("form_post"));
        assert!(microsoft.require_s256("h").is_ok());
        let listed = Server {
            prompt_values: Some(vec!["login".into()]),
            microsoft: Some(Cloud::Global),
            ..Server::default()
        };
        assert!(
            !listed.supports_prompt("select_account"),
            "a list is believed"
        );
    }

    #[test]
    fn tenant_id_comes_from_a_concrete_issuer_only() {
        assert_eq!(
            tenant_of_issuer(
                "https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-2D7CD011DB47/v2.0"
            ),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47".into())
        );
        assert_eq!(
            tenant_of_issuer("https://login.microsoftonline.com/{tenantid}/v2.0"),
            None
        );
    }
}

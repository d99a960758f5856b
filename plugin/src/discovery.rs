//! Endpoints from the tenant's OpenID discovery document, as MSAL reads them, so every
//! national cloud and any standards-compliant provider works without code changes.

use atrs_host_sdk::{ErrorKind, PluginError};
use serde::Deserialize;
use url::Url;

use crate::{
    aadsts::ProviderError,
    config::{is_guid, is_loopback, AccountConfig},
    fields,
    http::{host_of, parse_json, Http, HttpError},
};

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
    let doc: Document = parse_json(&response, &host).map_err(|e| e.to_plugin_error())?;
    let loopback_http = config
        .authority_override
        .as_ref()
        .is_some_and(|u| u.scheme() == "http" && is_loopback(u));
    let endpoint = |name: &str, raw: &str| checked(name, raw, loopback_http, &host);
    let optional = |name: &str, raw: &Option<String>| -> Result<Option<Url>, PluginError> {
        match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(raw) => endpoint(name, raw).map(Some),
            None => Ok(None),
        }
    };
    Ok(Endpoints {
        authorization: endpoint("authorization_endpoint", &doc.authorization_endpoint)?,
        token: endpoint("token_endpoint", &doc.token_endpoint)?,
        device_authorization: optional(
            "device_authorization_endpoint",
            &doc.device_authorization_endpoint,
        )?,
        userinfo: optional("userinfo_endpoint", &doc.userinfo_endpoint)?,
        graph: graph_base(doc.msgraph_host.as_deref(), loopback_http, &host)?,
        tenant_id: doc.issuer.as_deref().and_then(tenant_of_issuer),
    })
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

/// `https://{msgraph_host}`; plain http only when the authority is a loopback http URL
/// (a local mock reports `127.0.0.1:PORT`).
fn graph_base(
    msgraph_host: Option<&str>,
    loopback_http: bool,
    host: &str,
) -> Result<Option<Url>, PluginError> {
    let Some(graph) = msgraph_host.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let scheme = if loopback_http { "http" } else { "https" };
    let url = Url::parse(&format!("{scheme}://{graph}"))
        .ok()
        .filter(|u| u.path() == "/" && u.query().is_none() && u.username().is_empty());
    match url {
        Some(u) if scheme == "https" || is_loopback(&u) => Ok(Some(u)),
        _ => Err(PluginError::new(
            ErrorKind::Provider,
            format!(
                "The sign-in configuration from {host} names an unusable Microsoft Graph host."
            ),
        )
        .with_hint("Check the authority URL and the cloud.")),
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

    #[test]
    fn graph_base_takes_the_scheme_of_a_loopback_authority() {
        assert_eq!(
            graph_base(Some("graph.microsoft.com"), false, "h")
                .unwrap()
                .unwrap()
                .as_str(),
            "https://graph.microsoft.com/"
        );
        assert_eq!(
            graph_base(Some("127.0.0.1:4000"), true, "h")
                .unwrap()
                .unwrap()
                .as_str(),
            "http://127.0.0.1:4000/"
        );
        assert!(graph_base(None, false, "h").unwrap().is_none());
        assert!(graph_base(Some("graph.test/evil?x"), false, "h").is_err());
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

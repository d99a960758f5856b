//! The issuer: which sign-in service the discovery document, an authorization response
//! (RFC 9207's `iss`) and an ID token say they come from — and whether it is the one
//! the user's authority and tenant name.

use atrs_host_sdk::{ErrorKind, PluginError};
use url::Url;

use crate::{
    config::{is_guid, Tenant},
    fields,
    net::cloud::same_sign_in_service,
};

/// Entra's placeholder for the tenant in the issuer of `common` and `organizations`.
const TENANT_TEMPLATE: &str = "{tenantid}";

/// A discovery document's `issuer`, checked to belong to the authority asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    /// Checks `raw` (the document's `issuer`, from `host`) against the authority and
    /// tenant asked for. It must be on the authority's service, and its path must be
    /// `/{tenant}/v2.0` (OpenID Connect Discovery §4.3: the address the document was
    /// fetched under) — except that Entra names a domain's tenant by its GUID, and
    /// `common` / `organizations` / `consumers` by its template or a GUID.
    pub fn of_discovery(
        raw: Option<&str>,
        authority: &Url,
        tenant: &Tenant,
        host: &str,
    ) -> Result<Issuer, PluginError> {
        let refused = |why: String| {
            PluginError::new(
                ErrorKind::Provider,
                format!("The sign-in configuration from {host} {why}, so it is not the sign-in service for this authority and tenant."),
            )
            .with_field(fields::AUTHORITY)
            .with_hint("Check the authority URL and the Tenant ID: a mistyped authority can point at another service, which must never receive a sign-in code or secret. For Microsoft's clouds leave the authority empty and choose the cloud.")
        };
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Err(refused("names no issuer".to_owned()));
        };
        let shown: String = raw
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(120)
            .collect();
        let url = Url::parse(raw).map_err(|_| {
            refused(format!(
                "names the issuer `{shown}`, which is not an address"
            ))
        })?;
        if !same_sign_in_service(&url, authority) {
            return Err(refused(format!(
                "names the issuer {shown}, on another host than the authority {}",
                authority.as_str().trim_end_matches('/')
            )));
        }
        let segments: Vec<&str> = url.path().trim_matches('/').split('/').collect();
        let belongs = match segments.as_slice() {
            [segment, "v2.0"] => {
                // The address keeps `{` and `}` percent-encoded.
                let segment = segment
                    .to_ascii_lowercase()
                    .replace("%7b", "{")
                    .replace("%7d", "}");
                segment == tenant.segment()
                    || match tenant {
                        Tenant::Id(_) => false,
                        Tenant::Domain(_) => is_guid(&segment),
                        Tenant::Audience(_) => is_guid(&segment) || segment == TENANT_TEMPLATE,
                    }
            }
            _ => false,
        };
        if !belongs {
            return Err(refused(format!(
                "names the issuer {shown}, which is not the tenant `{}`",
                tenant.segment()
            )));
        }
        Ok(Issuer(raw.to_owned()))
    }

    /// The issuer as the document wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` names this issuer: exactly, or — for Entra's `{tenantid}`
    /// template — with the template filled by `tenant_id` (by any GUID when it is not
    /// known, as in an authorization response).
    pub fn matches(&self, candidate: &str, tenant_id: Option<&str>) -> bool {
        if candidate == self.0 {
            return true;
        }
        let Some((before, after)) = self.0.split_once(TENANT_TEMPLATE) else {
            return false;
        };
        let Some(filled) = candidate
            .strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
        else {
            return false;
        };
        match tenant_id {
            Some(tid) => filled.eq_ignore_ascii_case(tid) && is_guid(filled),
            None => is_guid(filled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const OTHER: &str = "4b1a9d2e-7c3f-4e85-9a60-2f1d8c7b5e34";

    fn authority(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn issuer(raw: &str, authority_url: &str, tenant: Tenant) -> Result<Issuer, PluginError> {
        Issuer::of_discovery(Some(raw), &authority(authority_url), &tenant, "h")
    }

    #[test]
    fn the_issuer_must_be_the_tenant_on_the_authority() {
        let ms = "https://login.microsoftonline.com";
        let id = || Tenant::Id(GUID.into());
        assert!(issuer(&format!("{ms}/{GUID}/v2.0"), ms, id()).is_ok());
        assert!(issuer(&format!("https://login.windows.net/{GUID}/v2.0"), ms, id()).is_ok());
        let e = issuer(&format!("{ms}/{OTHER}/v2.0"), ms, id()).unwrap_err();
        assert!(e.message().contains("not the tenant"), "{e}");
        let e = issuer(&format!("https://evil.test/{GUID}/v2.0"), ms, id()).unwrap_err();
        assert!(e.message().contains("another host"), "{e}");
        assert_eq!(e.field(), Some(fields::AUTHORITY));
        let domain = || Tenant::Domain("contoso.com".into());
        assert!(issuer(&format!("{ms}/{OTHER}/v2.0"), ms, domain()).is_ok());
        assert!(issuer(&format!("{ms}/contoso.com/v2.0"), ms, domain()).is_ok());
        assert!(issuer(&format!("{ms}/{{tenantid}}/v2.0"), ms, domain()).is_err());
        let common = || Tenant::Audience("common");
        assert!(issuer(&format!("{ms}/{{tenantid}}/v2.0"), ms, common()).is_ok());
        assert!(issuer(&format!("{ms}/common/v2.0/extra"), ms, common()).is_err());
        assert!(Issuer::of_discovery(None, &authority(ms), &common(), "h").is_err());
        assert!(issuer(
            "https://idp.example/contoso.com/v2.0",
            "https://idp.example",
            domain()
        )
        .is_ok());
    }

    #[test]
    fn the_tenant_template_is_filled_by_a_guid() {
        let plain = Issuer(format!("https://login.microsoftonline.com/{GUID}/v2.0"));
        assert!(plain.matches(plain.as_str(), None));
        assert!(!plain.matches(
            &format!("https://login.microsoftonline.com/{OTHER}/v2.0"),
            None
        ));
        let template = Issuer("https://login.microsoftonline.com/{tenantid}/v2.0".into());
        let filled = format!("https://login.microsoftonline.com/{GUID}/v2.0");
        assert!(template.matches(&filled, Some(GUID)));
        assert!(template.matches(&filled, None));
        assert!(!template.matches(&filled, Some(OTHER)));
        assert!(!template.matches("https://login.microsoftonline.com/evil/v2.0", None));
        assert!(!template.matches(&format!("https://evil.test/{GUID}/v2.0"), None));
    }
}

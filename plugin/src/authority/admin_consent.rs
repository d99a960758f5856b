//! The admin-consent address to hand to an administrator when permissions need one:
//! `{authority}/{tenant}/v2.0/adminconsent?client_id=…&scope=…&redirect_uri=…`.

use url::Url;

use crate::{
    authority::redirect::RedirectUri, authority::scopes, config::AccountConfig, net::cloud::Cloud,
};

/// Microsoft Graph's resource address in `cloud`, for full scope names.
fn graph_resource(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Global => "https://graph.microsoft.com/",
        Cloud::UsGovernment => "https://graph.microsoft.us/",
        Cloud::China => "https://microsoftgraph.chinacloudapi.cn/",
    }
}

/// The permissions of `config` that consent is about (OpenID scopes need none), as
/// full scope names.
pub fn permissions(config: &AccountConfig) -> Vec<String> {
    config
        .scopes
        .iter()
        .filter(|s| !scopes::is_oidc(s))
        .map(|s| match s.contains("://") {
            true => s.clone(),
            false => format!("{}{s}", graph_resource(config.cloud)),
        })
        .collect()
}

/// The admin-consent address for `config`'s app and permissions.
pub fn address(config: &AccountConfig) -> String {
    let base = format!(
        "{}/{}/v2.0/adminconsent",
        config.authority(),
        config.tenant.segment()
    );
    let redirect = RedirectUri::for_paste(&config.authority());
    match Url::parse(&base) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .append_pair("client_id", &config.client_id)
                .append_pair("scope", &permissions(config).join(" "))
                .append_pair("redirect_uri", redirect.as_str());
            url.to_string()
        }
        Err(_) => base,
    }
}

/// The admin-consent address for an application account's app: every application
/// permission configured on it, granted for the tenant at once
/// (`{authority}/{tenant}/adminconsent?client_id=…`).
pub fn app_address(config: &AccountConfig) -> String {
    let base = format!(
        "{}/{}/adminconsent",
        config.authority(),
        config.tenant.segment()
    );
    match Url::parse(&base) {
        Ok(mut url) => {
            url.query_pairs_mut()
                .append_pair("client_id", &config.client_id);
            url.to_string()
        }
        Err(_) => base,
    }
}

/// What to tell the user when consent is missing: the permissions and the address.
pub fn fix(config: &AccountConfig) -> String {
    let names: Vec<&str> = config
        .scopes
        .iter()
        .filter(|s| !scopes::is_oidc(s))
        .map(|s| s.rsplit('/').next().unwrap_or(s))
        .collect();
    format!(
        "An administrator must grant consent to {} for this app: give them this address to open and approve: {} — then Re-verify the account.",
        names.join(", "),
        address(config)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields;
    use atrs_host_sdk::FormValues;

    #[test]
    fn the_address_names_app_permissions_and_redirect() {
        let config = AccountConfig::parse(
            &FormValues::new()
                .with(fields::ACCOUNT_NAME, "Reports")
                .with(fields::CLIENT_ID, "4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
                .with(fields::TENANT_ID, "contoso.onmicrosoft.com"),
        )
        .unwrap();
        let url = Url::parse(&address(&config)).unwrap();
        assert_eq!(url.path(), "/contoso.onmicrosoft.com/v2.0/adminconsent");
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["client_id"], "4a1aa1d5-c567-49d0-ad0b-cd957a47f842");
        assert_eq!(
            q["scope"],
            "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Send"
        );
        assert!(q["redirect_uri"].ends_with("/common/oauth2/nativeclient"));
        let fix = fix(&config);
        assert!(fix.contains("User.Read, Mail.Send"), "{fix}");
        assert!(fix.contains("adminconsent?client_id="), "{fix}");
    }
}

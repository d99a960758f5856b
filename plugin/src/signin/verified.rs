//! What a successful sign-in leaves: the account shown to the user, and the exact
//! values verified with the refresh token and facts that Save stores.

use atrs_host_sdk::{ErrorKind, Host, MissingScope, PluginError, VerifiedAccount};

use crate::{
    account::saved::VerifiedFacts,
    account::token_cache::CachedToken,
    authority::delivery_permissions::{self, Summary},
    authority::discovery::Endpoints,
    authority::scopes,
    authority::token::Tokens,
    clock::unix_now,
    config::{AccountConfig, Tenant},
    net::http::{host_of, Http},
    secret::Secret,
    sign_in_kind::SignIn,
    signin::claims_answer,
    signin::confirm::Account,
    signin::id_token::{self, Claims},
};

/// The exact values verified and what saving them needs.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The configuration that was verified.
    pub config: AccountConfig,
    /// The refresh token obtained, if any.
    pub refresh_token: Option<Secret>,
    /// Non-secret facts to save with the settings (who signed in, …).
    pub facts: VerifiedFacts,
    /// The access token the sign-in brought, cached when the account is saved so the
    /// first token asked for after Save & Close needs no refresh.
    pub access_token: Option<CachedToken>,
}

/// Confirms who signed in with `tokens` and what was granted, for `config`; the ID
/// token must pass [`id_token::check`] (with `nonce`, the one the browser sign-in sent).
pub async fn conclude(
    http: &Http,
    host: &Host,
    config: &AccountConfig,
    endpoints: &Endpoints,
    tokens: Tokens,
    nonce: Option<&Secret>,
) -> Result<(VerifiedAccount, Verified), PluginError> {
    let refresh_token = tokens.refresh_token.clone().ok_or_else(|| {
        PluginError::new(
            ErrorKind::Provider,
            "The sign-in succeeded, but no refresh token came with it, so ATRS could not send reports while you are away.",
        )
        .with_hint("Keep offline_access in the Scopes field and make sure your organization allows it, then choose Verify again.")
    })?;
    let claims = checked_claims(config, endpoints, &tokens, nonce)?;
    // A claims challenge on `/me` is answered with one token request; the tokens saved are
    // then the ones that satisfied it.
    let (account, tokens) =
        claims_answer::confirm(http, host, config, endpoints, tokens, claims).await?;
    let refresh_token = tokens.refresh_token.clone().unwrap_or(refresh_token);
    let graph_host = endpoints.graph.as_ref().and_then(|g| {
        g.host_str().map(|h| match g.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_owned(),
        })
    });
    let granted = scopes::compare(
        &config.scopes,
        tokens.scope.as_deref(),
        graph_host.as_deref(),
    );
    let tenant_id = account
        .tenant_id
        .clone()
        .or_else(|| match &config.tenant {
            Tenant::Id(id) => Some(id.clone()),
            _ => None,
        })
        .unwrap_or_else(|| config.tenant.segment().to_owned());
    let deliveries = Summary::of(SignIn::User, &granted.granted);
    let shown = VerifiedAccount {
        account_name: config.account_name.as_str().into(),
        user_principal_name: account.user_principal_name.as_str().into(),
        display_name: account.display_name.as_str().into(),
        user_id: account.user_id.clone().map(Into::into).into(),
        tenant_id: tenant_id.as_str().into(),
        granted_scopes: granted.granted.iter().map(|s| s.as_str().into()).collect(),
        missing_scopes: with_deliveries(granted.missing, &deliveries).into(),
    };
    host.info(&format!(
        "Deliveries the granted permissions allow: {}.",
        deliveries.text()
    ));
    host.info(&format!(
        "Confirmed the account from {}: {} ({} scope(s) granted, {} missing).",
        account.source,
        account.user_principal_name,
        shown.granted_scopes.len(),
        shown.missing_scopes.len()
    ));
    let access_token = CachedToken::issued(
        tokens.access_token.clone(),
        tokens.expires_in,
        tokens.scope.as_deref(),
        &config.scopes,
        unix_now(),
    );
    let verified = Verified {
        config: config.clone(),
        refresh_token: Some(refresh_token),
        facts: facts(&account, &tenant_id, &granted.granted),
        access_token: Some(access_token),
    };
    Ok((shown, verified))
}

/// `missing` (requested, not granted) with each permission a delivery needs but the
/// sign-in did not grant: one named already gets the delivery's purpose before its hint,
/// one not asked for is added with how to ask for it.
fn with_deliveries(mut missing: Vec<MissingScope>, deliveries: &Summary) -> Vec<MissingScope> {
    for d in deliveries.refused() {
        let key = scopes::key(d.permission);
        match missing.iter_mut().find(|m| scopes::key(&m.scope) == key) {
            Some(m) => m.hint = format!("{} {}", d.purpose, m.hint).into(),
            None => missing.push(MissingScope {
                scope: d.permission.into(),
                hint: format!(
                    "{} {}",
                    d.purpose,
                    delivery_permissions::user_fix(d.permission)
                )
                .into(),
            }),
        }
    }
    missing
}

/// The ID token's claims, checked; an `openid` sign-in without one is refused, since
/// its nonce (and who issued it) could not be checked.
fn checked_claims(
    config: &AccountConfig,
    endpoints: &Endpoints,
    tokens: &Tokens,
    nonce: Option<&Secret>,
) -> Result<Option<Claims>, PluginError> {
    let token_host = host_of(endpoints.token.as_str());
    let Some(token) = &tokens.id_token else {
        if config.scopes.iter().any(|s| s == "openid") {
            return Err(PluginError::new(
                ErrorKind::Provider,
                format!("{token_host} answered the openid sign-in without an ID token, so who signed in cannot be checked."),
            )
            .with_hint("Check the authority URL: it must point at an OpenID Connect sign-in service."));
        }
        return Ok(None);
    };
    let expected = id_token::Expected {
        issuer: &endpoints.issuer,
        client_id: &config.client_id,
        nonce: nonce.map(Secret::expose),
        now: unix_now(),
    };
    id_token::check(token, &expected, &token_host).map(Some)
}

fn facts(account: &Account, tenant_id: &str, granted: &[String]) -> VerifiedFacts {
    VerifiedFacts {
        user_principal_name: account.user_principal_name.clone(),
        display_name: account.display_name.clone(),
        mail: account.mail.clone(),
        user_id: account.user_id.clone(),
        tenant_id: tenant_id.to_owned(),
        granted_scopes: granted.to_vec(),
        verified_at: unix_now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields;
    use atrs_host_sdk::FormValues;

    #[test]
    fn debug_output_never_shows_the_refresh_token_or_client_secret() {
        let config = AccountConfig::parse(
            &FormValues::new()
                .with(fields::ACCOUNT_NAME, "Reports")
                .with(fields::CLIENT_ID, "4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
                .with(fields::TENANT_ID, "contoso.onmicrosoft.com")
                .with(fields::CLIENT_SECRET, "cs~SECRET-value"),
        )
        .unwrap();
        let v = Verified {
            config,
            refresh_token: Some(Secret::new("rt-SECRET-value")),
            facts: VerifiedFacts::default(),
            access_token: Some(CachedToken::issued(
                Secret::new("at-SECRET-value"),
                None,
                None,
                &[],
                0,
            )),
        };
        let shown = format!("{v:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn facts_fall_back_and_carry_no_secret() {
        let account = Account {
            user_principal_name: "u@x.test".into(),
            display_name: "U".into(),
            mail: "u@x.test".into(),
            user_id: None,
            tenant_id: None,
            source: "id_token",
        };
        let f = facts(&account, "t-1", &["User.Read".into()]);
        assert_eq!(f.tenant_id, "t-1");
        assert_eq!(f.granted_scopes, vec!["User.Read".to_owned()]);
        assert_eq!(f.user_id, None);
        assert!(f.verified_at > 0);
    }
}

//! A claims challenge on Verify's `/me` (Continuous Access Evaluation: the tenant's policy
//! wants more than the fresh sign-in's token carries — a stronger authentication, a
//! compliant device, a session re-checked after a revocation). As deliveries do: exactly one
//! token request carrying the challenge's claims (with `cp1`), redeeming the sign-in's
//! refresh token, and `/me` asked once more with the new token. When the sign-in service
//! answers that the claims need the user (`interaction_required` and the like), or Graph
//! challenges the new token too, the verification fails with the reason; nothing loops.

use atrs_host_sdk::{ErrorKind, Host, PluginError};

use crate::{
    account::refresh::{self, RetryBound},
    account::refresh_error::RefreshError,
    authority::claims,
    authority::discovery::Endpoints,
    authority::token::Tokens,
    clock::unix_now,
    config::AccountConfig,
    net::http::{host_of, Http},
    signin::confirm::{self, Account, Confirmation},
    signin::id_token::Claims,
};

/// Confirms who signed in with `tokens`, answering one claims challenge on the way; the
/// account and the tokens that confirmed it (new ones when a challenge was answered, to be
/// saved instead of the sign-in's).
pub async fn confirm(
    http: &Http,
    host: &Host,
    config: &AccountConfig,
    endpoints: &Endpoints,
    tokens: Tokens,
    id_claims: Option<Claims>,
) -> Result<(Account, Tokens), PluginError> {
    let challenge =
        match confirm::confirm(http, host, endpoints, &tokens, id_claims.clone()).await? {
            Confirmation::Account(account) => return Ok((account, tokens)),
            Confirmation::ClaimsChallenge(challenge) => challenge,
        };
    let renewed = answer(http, host, config, endpoints, &tokens, &challenge).await?;
    match confirm::confirm(http, host, endpoints, &renewed, id_claims).await? {
        Confirmation::Account(account) => Ok((account, renewed)),
        Confirmation::ClaimsChallenge(_) => Err(PluginError::new(
            ErrorKind::AuthorizationRefused,
            "Microsoft Graph challenged the sign-in for more claims (Continuous Access Evaluation), and again after a token was issued for them.",
        )
        .with_hint("Choose Verify again in a few minutes; if it keeps happening, ask your administrator which Conditional Access policy applies to this app and sign-in.")),
    }
}

/// The one token request answering `challenge`: the sign-in's refresh token redeemed with
/// the claims; the tokens it brought (the sign-in's refresh token kept when none came).
async fn answer(
    http: &Http,
    host: &Host,
    config: &AccountConfig,
    endpoints: &Endpoints,
    tokens: &Tokens,
    challenge: &str,
) -> Result<Tokens, PluginError> {
    let refresh_token = tokens.refresh_token.as_ref().ok_or_else(|| {
        needs_user(
            config,
            "the sign-in brought no refresh token to ask for them with",
        )
    })?;
    host.info(&format!(
        "Asking {} for a token with the claims Microsoft Graph asked for (one request).",
        host_of(endpoints.token.as_str())
    ));
    let claims = claims::request_claims(Some(challenge), endpoints.server.takes_claims());
    let renewed = refresh::renew(
        http,
        &endpoints.token,
        config,
        refresh_token,
        (&config.scopes, claims.as_deref()),
        RetryBound::default(),
    )
    .await
    .map_err(|e| match &e {
        RefreshError::SignInAgain(_) => {
            let provider = e.to_plugin_error(config);
            let refusal = needs_user(config, &e.reason());
            match provider.provider_code() {
                Some(code) => refusal.with_provider_code(code),
                None => refusal,
            }
        }
        _ => e.to_plugin_error(config),
    })?;
    let lifetime = renewed.token.expires_at.saturating_sub(unix_now()).max(0);
    Ok(Tokens {
        access_token: renewed.token.token.clone(),
        refresh_token: renewed
            .refresh_token
            .clone()
            .or_else(|| tokens.refresh_token.clone()),
        id_token: tokens.id_token.clone(),
        scope: Some(renewed.token.scopes.join(" ")),
        expires_in: Some(std::time::Duration::from_secs(lifetime as u64)),
    })
}

/// The failure when the claims need the user: `reason` is the sign-in service's.
fn needs_user(config: &AccountConfig, reason: &str) -> PluginError {
    PluginError::new(
        ErrorKind::AuthorizationRefused,
        format!(
            "Microsoft Graph asked for more than this sign-in gave (a claims challenge: Continuous Access Evaluation), and the sign-in service wants \"{}\" to sign in again for it: {}",
            config.account_name,
            reason.trim_end_matches('.')
        ) + ".",
    )
    .with_hint("Choose Verify again and complete everything the sign-in page asks (for example multi-factor authentication, or signing in from a compliant device); if it is refused again, ask your administrator which Conditional Access policy applies.")
}

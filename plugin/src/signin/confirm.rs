//! Who signed in: Microsoft Graph `/me` where the provider names a Graph host, else the
//! userinfo endpoint, else the ID token's claims. A `/me` answered with a claims challenge
//! (Continuous Access Evaluation) is handed back to the caller, which answers it with one
//! token request and asks once more ([`Confirmation::ClaimsChallenge`]).

use atrs_host_sdk::{ErrorKind, Host, PluginError};
use serde::Deserialize;
use url::Url;

use crate::{
    authority::discovery::Endpoints,
    authority::token::Tokens,
    net::http::{host_of, parse_json, Http},
    signin::id_token::Claims,
};

/// The signed-in account, as confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user principal name (or, without one, the best sign-in name known).
    pub user_principal_name: String,
    /// The display name (the UPN when none is known).
    pub display_name: String,
    /// The mailbox address; Graph's `mail` may be null, then the UPN.
    pub mail: String,
    /// The provider's stable user id.
    pub user_id: Option<String>,
    /// The tenant the token was issued by.
    pub tenant_id: Option<String>,
    /// Where the facts came from (`graph`, `userinfo`, `id_token`).
    pub source: &'static str,
}

/// Graph's `/me` with the properties we read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    id: Option<String>,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    mail: Option<String>,
}

/// Graph's error body: `{"error":{"code":…,"message":…,"innerError":{…}}}`.
#[derive(Debug, Default, Deserialize)]
struct GraphErrorBody {
    #[serde(default)]
    error: GraphError,
}

#[derive(Debug, Default, Deserialize)]
struct GraphError {
    #[serde(default)]
    code: String,
    #[serde(default, rename = "innerError")]
    inner: Option<GraphInner>,
}

#[derive(Debug, Default, Deserialize)]
struct GraphInner {
    #[serde(default, rename = "request-id")]
    request_id: Option<String>,
    #[serde(default, rename = "client-request-id")]
    client_request_id: Option<String>,
}

/// What confirming found: the account, or a claims challenge Graph answered `/me` with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Who signed in.
    Account(Account),
    /// Graph's `401` with `error="insufficient_claims"`: the claims (JSON) a new token must
    /// be issued for before `/me` answers.
    ClaimsChallenge(String),
}

/// Confirms who signed in with `tokens`, using the best source `endpoints` offer;
/// `claims` are the ID token's, already checked ([`crate::signin::id_token::check`]).
pub async fn confirm(
    http: &Http,
    host: &Host,
    endpoints: &Endpoints,
    tokens: &Tokens,
    claims: Option<Claims>,
) -> Result<Confirmation, PluginError> {
    let token_tenant = claims
        .as_ref()
        .and_then(|c| c.tid.clone())
        .or_else(|| endpoints.tenant_id.clone());
    let mut graph_refusal = None;
    if let Some(graph) = &endpoints.graph {
        match graph_me(http, graph, tokens).await {
            Ok(me) => return from_me(me, claims.as_ref(), token_tenant).map(Confirmation::Account),
            Err(LookupFailure::Challenged(challenge)) => {
                host.info("Microsoft Graph answered /me with a claims challenge (Continuous Access Evaluation).");
                return Ok(Confirmation::ClaimsChallenge(challenge));
            }
            // Without User.Read Graph refuses; the other sources may still say who it is.
            Err(LookupFailure::Denied(e)) => {
                host.warn(&format!(
                    "Microsoft Graph refused /me ({}); trying other sources.",
                    e.message()
                ));
                graph_refusal = Some(e);
            }
            Err(LookupFailure::Failed(e)) => return Err(e),
        }
    }
    if let Some(userinfo) = &endpoints.userinfo {
        match userinfo_claims(http, userinfo, tokens).await {
            Ok(info) => {
                if let Some(account) =
                    from_claims(&info, claims.as_ref(), token_tenant.clone(), "userinfo")
                {
                    return Ok(Confirmation::Account(account));
                }
            }
            Err(LookupFailure::Denied(e)) => graph_refusal = graph_refusal.or(Some(e)),
            Err(LookupFailure::Failed(e)) => return Err(e),
            Err(LookupFailure::Challenged(_)) => {}
        }
    }
    if let Some(c) = &claims {
        if let Some(account) = from_claims(c, None, token_tenant, "id_token") {
            return Ok(Confirmation::Account(account));
        }
    }
    Err(graph_refusal.unwrap_or_else(|| {
        PluginError::new(ErrorKind::Provider, "The sign-in succeeded, but the sign-in service did not say who signed in.")
            .with_hint("Add the openid and profile scopes (and User.Read for Microsoft Graph), then choose Verify again.")
    }))
}

/// Why a source gave no answer: refused (try the next), failed (stop), or challenged for
/// claims (answer the challenge, then ask again).
enum LookupFailure {
    Denied(PluginError),
    Failed(PluginError),
    Challenged(String),
}

async fn graph_me(http: &Http, graph: &Url, tokens: &Tokens) -> Result<Me, LookupFailure> {
    let url = graph.join("v1.0/me").map_err(|_| {
        LookupFailure::Failed(PluginError::internal(
            "The Graph address could not be built.",
        ))
    })?;
    let host = host_of(url.as_str());
    let response = http
        .get_json(&url, Some(&tokens.access_token))
        .await
        .map_err(|e| LookupFailure::Failed(e.to_plugin_error()))?;
    let status = response.status().as_u16();
    if status == 200 {
        return parse_json(&response, &host)
            .map_err(|e| LookupFailure::Failed(e.to_plugin_error()));
    }
    if status == 401 {
        let challenge = response
            .headers()
            .get(oauth2::http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::authority::claims::challenge_claims);
        if let Some(challenge) = challenge {
            return Err(LookupFailure::Challenged(challenge));
        }
    }
    let body: GraphErrorBody = serde_json::from_slice(response.body()).unwrap_or_default();
    let error = graph_error(status, &body.error, &host);
    match status {
        401 | 403 => Err(LookupFailure::Denied(error)),
        _ => Err(LookupFailure::Failed(error)),
    }
}

fn graph_error(status: u16, e: &GraphError, host: &str) -> PluginError {
    let code: String = e
        .code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(60)
        .collect();
    let (kind, message, hint) = match status {
        401 => (
            ErrorKind::AuthorizationRefused,
            format!("Microsoft Graph ({host}) did not accept the new sign-in's token."),
            "Check that the cloud matches your tenant (tokens do not cross clouds), then choose Verify again.",
        ),
        403 => (
            ErrorKind::AuthorizationRefused,
            format!("Microsoft Graph ({host}) refused to say who signed in."),
            "Add the User.Read permission (Microsoft Graph, Delegated) under API permissions, then choose Verify again.",
        ),
        429 | 503 => (
            ErrorKind::Network,
            format!("Microsoft Graph ({host}) is busy (HTTP {status})."),
            "Try again in a minute.",
        ),
        _ => (
            ErrorKind::Provider,
            format!("Microsoft Graph ({host}) answered HTTP {status} when asked who signed in."),
            "Try again in a few minutes; if it keeps happening, check the cloud setting.",
        ),
    };
    let mut error = PluginError::new(kind, message).with_hint(hint);
    if !code.is_empty() {
        error = error.with_provider_code(code);
    }
    if let Some(inner) = &e.inner {
        if let Some(id) = crate::net::provider_text::clean_opt(inner.request_id.as_deref()) {
            error = error.with_trace_id(id);
        }
        if let Some(id) = crate::net::provider_text::clean_opt(inner.client_request_id.as_deref()) {
            error = error.with_correlation_id(id);
        }
    }
    error
}

async fn userinfo_claims(http: &Http, url: &Url, tokens: &Tokens) -> Result<Claims, LookupFailure> {
    let host = host_of(url.as_str());
    let response = http
        .get_json(url, Some(&tokens.access_token))
        .await
        .map_err(|e| LookupFailure::Failed(e.to_plugin_error()))?;
    let status = response.status().as_u16();
    match status {
        200 => parse_json(&response, &host).map_err(|e| LookupFailure::Failed(e.to_plugin_error())),
        401 | 403 => Err(LookupFailure::Denied(
            PluginError::new(
                ErrorKind::AuthorizationRefused,
                format!("{host} refused to say who signed in (userinfo, HTTP {status})."),
            )
            .with_hint("Add the openid and profile scopes, then choose Verify again."),
        )),
        _ => Err(LookupFailure::Failed(
            crate::net::http::HttpError::Status { host, status }.to_plugin_error(),
        )),
    }
}

fn from_me(
    me: Me,
    claims: Option<&Claims>,
    tenant_id: Option<String>,
) -> Result<Account, PluginError> {
    let upn = non_empty(me.user_principal_name)
        .or_else(|| claims.and_then(sign_in_name))
        .ok_or_else(|| {
            PluginError::new(ErrorKind::Provider, "Microsoft Graph did not give the signed-in user's principal name.")
                .with_hint("Try again; if it keeps happening, the account may not have a mailbox-capable identity.")
        })?;
    let mail = non_empty(me.mail).unwrap_or_else(|| upn.clone());
    Ok(Account {
        display_name: non_empty(me.display_name).unwrap_or_else(|| upn.clone()),
        mail,
        user_id: non_empty(me.id).or_else(|| claims.and_then(|c| c.oid.clone())),
        tenant_id,
        user_principal_name: upn,
        source: "graph",
    })
}

/// An account from OpenID claims (`primary`), filling gaps from the ID token's.
fn from_claims(
    primary: &Claims,
    id_token: Option<&Claims>,
    tenant_id: Option<String>,
    source: &'static str,
) -> Option<Account> {
    let upn = sign_in_name(primary).or_else(|| id_token.and_then(sign_in_name))?;
    let name = non_empty(primary.name.clone())
        .or_else(|| id_token.and_then(|c| non_empty(c.name.clone())))
        .unwrap_or_else(|| upn.clone());
    let mail = non_empty(primary.email.clone())
        .or_else(|| id_token.and_then(|c| non_empty(c.email.clone())))
        .unwrap_or_else(|| upn.clone());
    let user_id = primary
        .oid
        .clone()
        .or_else(|| id_token.and_then(|c| c.oid.clone()))
        .or_else(|| primary.sub.clone());
    Some(Account {
        user_principal_name: upn,
        display_name: name,
        mail,
        user_id,
        tenant_id: primary.tid.clone().or(tenant_id),
        source,
    })
}

fn sign_in_name(c: &Claims) -> Option<String> {
    non_empty(c.upn.clone())
        .or_else(|| non_empty(c.preferred_username.clone()))
        .or_else(|| non_empty(c.email.clone()))
}

/// A claim or Graph property as shown: without control characters, `None` when empty.
fn non_empty(s: Option<String>) -> Option<String> {
    crate::net::provider_text::clean_opt(s.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_comes_from_id_token_claims() {
        let c: Claims = serde_json::from_str(
            r#"{"oid":"u-1","tid":"t-1","preferred_username":"adele@contoso.com","name":"Adele Vance"}"#,
        )
        .unwrap();
        assert_eq!(c.oid.as_deref(), Some("u-1"));
        assert_eq!(c.tid.as_deref(), Some("t-1"));
        let a = from_claims(&c, None, None, "id_token").unwrap();
        assert_eq!(a.user_principal_name, "adele@contoso.com");
        assert_eq!(a.display_name, "Adele Vance");
        assert_eq!(a.mail, "adele@contoso.com");
        assert_eq!(a.tenant_id.as_deref(), Some("t-1"));
    }

    #[test]
    fn graph_mail_may_be_null_then_the_upn_is_used() {
        let me: Me = serde_json::from_str(
            r#"{"id":"u-2","displayName":"Alex Wilber","userPrincipalName":"alex@contoso.com","mail":null}"#,
        )
        .unwrap();
        let a = from_me(me, None, Some("t".into())).unwrap();
        assert_eq!(a.mail, "alex@contoso.com");
        assert_eq!(a.display_name, "Alex Wilber");
        assert_eq!(a.user_id.as_deref(), Some("u-2"));
        assert_eq!(a.source, "graph");
    }

    #[test]
    fn graph_errors_keep_request_ids_and_name_the_fix() {
        let body: GraphErrorBody = serde_json::from_str(
            r#"{"error":{"code":"accessDenied","message":"x","innerError":{"date":"d","request-id":"r-1","client-request-id":"c-1"}}}"#,
        )
        .unwrap();
        let e = graph_error(403, &body.error, "graph.test");
        assert_eq!(e.kind(), ErrorKind::AuthorizationRefused);
        assert_eq!(e.provider_code(), Some("accessDenied"));
        assert_eq!(e.trace_id(), Some("r-1"));
        assert_eq!(e.correlation_id(), Some("c-1"));
        assert!(e.hint().unwrap().contains("User.Read"));
    }
}

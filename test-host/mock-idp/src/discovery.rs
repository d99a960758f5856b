//! OpenID discovery (`/{tenant}/v2.0/.well-known/openid-configuration`), signing keys and logout.

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::directory::Segment;
use crate::errors::EntraError;
use crate::state::{overridden, Shared};
use crate::{ids, pages, reply};

/// The tenant id Entra uses for personal Microsoft accounts.
const CONSUMERS_TENANT_ID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    let Some(seg) = shared.dir().segment(&tenant) else {
        return EntraError::unknown_tenant(&tenant).into_response();
    };
    let document = document(&shared, &seg, &tenant);
    let document = overridden(document, &shared.store().discovery_overrides);
    reply::json(StatusCode::OK, &document)
}

/// The issuer discovery names for a tenant segment: the tenant's own, the personal
/// accounts' tenant for `consumers`, Entra's `{tenantid}` template for `common` and
/// `organizations`.
pub(crate) fn issuer(shared: &Shared, seg: &Segment) -> String {
    let tenant = match seg {
        Segment::Tenant(i) => shared.dir().tenants[*i].id.clone(),
        Segment::Consumers => CONSUMERS_TENANT_ID.to_owned(),
        Segment::Common | Segment::Organizations => "{tenantid}".to_owned(),
    };
    format!("{}/{tenant}/v2.0", shared.base_url)
}

/// Query of `GET /common/discovery/instance`.
#[derive(Debug, Deserialize)]
pub(crate) struct InstanceQuery {
    /// The authorization endpoint of the authority being checked.
    #[serde(default)]
    authorization_endpoint: Option<String>,
}

/// `GET /common/discovery/instance` (MSAL's instance discovery): where the tenant's
/// discovery document is, and this host as the only alias of itself. An authorization
/// endpoint on another host is an unknown instance, as Entra answers one
/// (`invalid_instance`, AADSTS50049).
pub(crate) async fn instance(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<InstanceQuery>,
) -> Response {
    let base = &shared.base_url;
    let tenant = query
        .authorization_endpoint
        .as_deref()
        .and_then(|a| a.strip_prefix(base.as_str()))
        .and_then(|path| path.trim_start_matches('/').split('/').next())
        .filter(|t| !t.is_empty());
    let Some(tenant) = tenant else {
        return EntraError::bad("invalid_instance", 50049, "Unknown or invalid instance.")
            .into_response();
    };
    reply::json(
        StatusCode::OK,
        &json!({
            "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
            "api-version": "1.1",
            "metadata": [{
                "preferred_network": shared.graph_host,
                "preferred_cache": shared.graph_host,
                "aliases": [shared.graph_host],
            }],
        }),
    )
}

/// The discovery document, with every URL pointing back at this server.
fn document(shared: &Shared, seg: &Segment, raw: &str) -> serde_json::Value {
    let base = &shared.base_url;
    let (path_tenant, region) = match seg {
        Segment::Tenant(i) => {
            let t = &shared.dir().tenants[*i];
            (t.id.clone(), json!(t.region))
        }
        Segment::Consumers => ("consumers".to_owned(), json!(null)),
        Segment::Common | Segment::Organizations => (raw.to_ascii_lowercase(), json!(null)),
    };
    let t = format!("{base}/{path_tenant}");
    let mut document = json!({
        "token_endpoint": format!("{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(shared, seg),
        "code_challenge_methods_supported": ["plain", "S256"],
        "prompt_values_supported": shared.config.prompt_values_supported,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": true,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{t}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
            "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{t}/kerberos"),
        "tenant_region_scope": region,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": shared.graph_host,
        "rbac_url": "https://pas.windows.net",
    });
    if shared.config.authorization_response_iss {
        document["authorization_response_iss_parameter_supported"] = json!(true);
    }
    document
}

/// `GET /{tenant}/discovery/v2.0/keys`: a key set naming the `mock` key. Tokens are not really
/// signed, so no signature verifies against it.
pub(crate) async fn keys(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
) -> Response {
    if shared.dir().segment(&tenant).is_none() {
        return EntraError::unknown_tenant(&tenant).into_response();
    }
    static MODULUS: OnceLock<String> = OnceLock::new();
    let n = MODULUS.get_or_init(|| ids::opaque(256));
    reply::json(
        StatusCode::OK,
        &json!({"keys": [{"kty": "RSA", "use": "sig", "kid": "mock", "x5t": "mock", "n": n, "e": "AQAB"}]}),
    )
}

/// `GET /{tenant}/oauth2/v2.0/logout`: the signed-out page.
pub(crate) async fn logout() -> Response {
    reply::html(StatusCode::OK, pages::signed_out())
}

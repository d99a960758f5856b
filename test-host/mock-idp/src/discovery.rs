//! OpenID discovery (`/{tenant}/v2.0/.well-known/openid-configuration`), signing keys and logout.

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::directory::Segment;
use crate::errors::EntraError;
use crate::state::Shared;
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
    reply::json(StatusCode::OK, &document(&shared, &seg, &tenant))
}

/// The discovery document, with every URL pointing back at this server.
fn document(shared: &Shared, seg: &Segment, raw: &str) -> serde_json::Value {
    let base = &shared.base_url;
    let (path_tenant, issuer_tenant, region) = match seg {
        Segment::Tenant(i) => {
            let t = &shared.dir().tenants[*i];
            (t.id.clone(), t.id.clone(), json!(t.region))
        }
        Segment::Consumers => (
            "consumers".to_owned(),
            CONSUMERS_TENANT_ID.to_owned(),
            json!(null),
        ),
        Segment::Common | Segment::Organizations => (
            raw.to_ascii_lowercase(),
            "{tenantid}".to_owned(),
            json!(null),
        ),
    };
    let t = format!("{base}/{path_tenant}");
    json!({
        "token_endpoint": format!("{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
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
    })
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

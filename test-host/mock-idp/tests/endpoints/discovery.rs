//! Discovery, keys and tenant resolution.

use atrs_mock_idp::defaults;

use crate::common::*;

#[tokio::test]
async fn discovery_points_every_endpoint_back_at_the_server() {
    let idp = start().await;
    let base = idp.base_url();
    for tenant in [defaults::TENANT_ID, defaults::TENANT_DOMAIN] {
        let r = get(&format!(
            "{base}/{tenant}/v2.0/.well-known/openid-configuration"
        ))
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type(), "application/json; charset=utf-8");
        let d = &r.body;
        let t = format!("{base}/{}", defaults::TENANT_ID);
        assert_eq!(d["issuer"], format!("{t}/v2.0"));
        assert_eq!(
            d["authorization_endpoint"],
            format!("{t}/oauth2/v2.0/authorize")
        );
        assert_eq!(d["token_endpoint"], format!("{t}/oauth2/v2.0/token"));
        assert_eq!(
            d["device_authorization_endpoint"],
            format!("{t}/oauth2/v2.0/devicecode")
        );
        assert_eq!(d["end_session_endpoint"], format!("{t}/oauth2/v2.0/logout"));
        assert_eq!(d["jwks_uri"], format!("{t}/discovery/v2.0/keys"));
        assert_eq!(d["userinfo_endpoint"], format!("{base}/oidc/userinfo"));
        assert_eq!(d["msgraph_host"], format!("127.0.0.1:{}", idp.port()));
        assert_eq!(d["tenant_region_scope"], "NA");
        assert_eq!(d["cloud_instance_name"], "microsoftonline.com");
        assert!(d["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "offline_access"));
        assert!(d["response_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "code"));
    }
}

#[tokio::test]
async fn multi_tenant_segments_keep_their_name_and_a_tenantid_issuer() {
    let idp = start().await;
    let base = idp.base_url();
    for tenant in ["organizations", "common"] {
        let r = get(&format!(
            "{base}/{tenant}/v2.0/.well-known/openid-configuration"
        ))
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["issuer"], format!("{base}/{{tenantid}}/v2.0"));
        assert_eq!(
            r.body["token_endpoint"],
            format!("{base}/{tenant}/oauth2/v2.0/token")
        );
        assert!(r.body["tenant_region_scope"].is_null());
    }
    let r = get(&format!(
        "{base}/consumers/v2.0/.well-known/openid-configuration"
    ))
    .await;
    assert_eq!(
        r.body["issuer"],
        format!("{base}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")
    );
}

#[tokio::test]
async fn unknown_tenant_is_90002_everywhere() {
    let idp = start().await;
    let base = idp.base_url();
    for tenant in [
        "fabrikam.onmicrosoft.com",
        "11111111-2222-4333-8444-555555555555",
    ] {
        let r = get(&format!(
            "{base}/{tenant}/v2.0/.well-known/openid-configuration"
        ))
        .await;
        assert_entra(&r, 400, "invalid_tenant", Some(90002));
        let r = post_form(
            &oauth(&idp, tenant, "devicecode"),
            &[
                ("client_id", defaults::DESKTOP_CLIENT_ID),
                ("scope", SCOPES),
            ],
        )
        .await;
        assert_entra(&r, 400, "invalid_tenant", Some(90002));
        let r = post_form(
            &oauth(&idp, tenant, "token"),
            &[
                ("grant_type", "refresh_token"),
                ("client_id", defaults::DESKTOP_CLIENT_ID),
                ("refresh_token", "x"),
            ],
        )
        .await;
        assert_entra(&r, 400, "invalid_tenant", Some(90002));
    }
}

#[tokio::test]
async fn keys_name_the_mock_key_and_logout_shows_a_page() {
    let idp = start().await;
    let r = get(&format!("{}/common/discovery/v2.0/keys", idp.base_url())).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["keys"][0]["kid"], "mock");
    let page = client()
        .get(oauth(&idp, "common", "logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("signed out"));
}

#[tokio::test]
async fn unknown_paths_get_a_json_404_in_graph_s_error_shape() {
    let idp = start().await;
    let r = get(&format!("{}/nothing/here", idp.base_url())).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"]["code"], "NotFound");
    assert!(r.body["error"]["innerError"]["request-id"].is_string());
}

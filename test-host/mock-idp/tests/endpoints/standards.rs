//! The standards switches and test hooks: HTTPS with a generated CA, prompt values,
//! RFC 9207 `iss`, instance discovery, `client_info`, the Outlook resource and its
//! AADSTS28000, and the discovery and ID token overrides.

use std::time::Duration;

use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::common::*;

const REDIRECT: &str = "http://localhost:53123/";

fn claims_of(id_token: &str) -> Value {
    let payload = id_token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn tls_serves_https_trusted_through_the_generated_ca_file() {
    let idp = MockIdp::start(MockConfig {
        tls: true,
        ..fast()
    })
    .await
    .unwrap();
    assert!(idp.base_url().starts_with("https://127.0.0.1:"));
    let pem = std::fs::read(idp.ca_file().expect("a CA file")).unwrap();
    let ca = reqwest::Certificate::from_pem(&pem).unwrap();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(ca)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        idp.base_url(),
        defaults::TENANT_ID
    );
    let doc: Value = trusting
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["token_endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://127.0.0.1:"));
    let localhost = url.replace("127.0.0.1", "localhost");
    assert!(
        trusting.get(&localhost).send().await.is_ok(),
        "localhost is in the certificate"
    );
    assert!(
        client().get(&url).send().await.is_err(),
        "without the CA the certificate is not trusted"
    );
    let path = idp.ca_file().unwrap().to_owned();
    drop(idp);
    assert!(!path.exists(), "the CA file goes with the server");
}

#[tokio::test]
async fn discovery_advertises_pkce_and_prompt_values_and_a_prompt_outside_them_is_refused() {
    let idp = MockIdp::start(MockConfig {
        prompt_values_supported: vec!["none".into(), "login".into(), "consent".into()],
        ..fast()
    })
    .await
    .unwrap();
    let doc = get(&format!(
        "{}/organizations/v2.0/.well-known/openid-configuration",
        idp.base_url()
    ))
    .await
    .body;
    assert_eq!(
        doc["code_challenge_methods_supported"],
        json!(["plain", "S256"])
    );
    assert_eq!(
        doc["prompt_values_supported"],
        json!(["none", "login", "consent"])
    );
    assert!(doc
        .get("authorization_response_iss_parameter_supported")
        .is_none());
    let (_, challenge) = pkce();
    let url = format!(
        "{}&prompt=select_account",
        desktop_authorize(&idp, REDIRECT, &challenge)
    );
    let loc = redirect_of(&url).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("invalid_request"));
    assert!(query(&loc, "error_description")
        .unwrap()
        .contains("Unsupported prompt value"));
    assert_eq!(query(&loc, "state").as_deref(), Some("st"));
    let url = format!(
        "{}&prompt=login",
        desktop_authorize(&idp, REDIRECT, &challenge)
    );
    assert!(query(&redirect_of(&url).await, "code").is_some());
}

#[tokio::test]
async fn rfc_9207_iss_comes_with_codes_and_errors_when_switched_on() {
    let idp = MockIdp::start(MockConfig {
        authorization_response_iss: true,
        ..fast()
    })
    .await
    .unwrap();
    let doc = get(&format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        idp.base_url(),
        defaults::TENANT_ID
    ))
    .await
    .body;
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let (_, challenge) = pkce();
    let loc = redirect_of(&desktop_authorize(&idp, REDIRECT, &challenge)).await;
    assert_eq!(
        query(&loc, "iss").unwrap(),
        format!("{}/{}/v2.0", idp.base_url(), defaults::TENANT_ID),
        "organizations' {{tenantid}} is filled with the user's tenant"
    );
    let bad = authorize_url(
        &idp,
        defaults::TENANT_ID,
        defaults::DESKTOP_CLIENT_ID,
        &[
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPES),
        ],
    );
    let loc = redirect_of(&bad).await;
    assert!(query(&loc, "error").is_some());
    assert_eq!(query(&loc, "iss"), doc["issuer"].as_str().map(String::from));
}

#[tokio::test]
async fn instance_discovery_names_the_tenant_document() {
    let idp = start().await;
    let authorize = oauth(&idp, defaults::TENANT_ID, "authorize");
    let r = get(&format!(
        "{}/common/discovery/instance?api-version=1.1&authorization_endpoint={authorize}",
        idp.base_url()
    ))
    .await;
    assert_eq!(r.status, 200, "{:#}", r.body);
    assert_eq!(
        r.body["tenant_discovery_endpoint"],
        format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            idp.base_url(),
            defaults::TENANT_ID
        )
    );
    let host = idp.base_url().trim_start_matches("http://").to_owned();
    assert_eq!(r.body["metadata"][0]["aliases"], json!([host]));
    let r = get(&format!(
        "{}/common/discovery/instance?authorization_endpoint=https://elsewhere.test/x/oauth2/v2.0/authorize",
        idp.base_url()
    ))
    .await;
    assert_entra(&r, 400, "invalid_instance", Some(50049));
}

#[tokio::test]
async fn client_info_comes_when_asked_for() {
    let idp = start().await;
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let r = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_info", "1"),
        ],
    )
    .await;
    let info: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(r.body["client_info"].as_str().expect("client_info"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        info,
        json!({"uid": defaults::USER_ID, "utid": defaults::TENANT_ID})
    );
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let plain = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
    assert!(plain.body.get("client_info").is_none());
}

#[tokio::test]
async fn outlook_scopes_are_granted_alone_and_refused_with_graph_as_aadsts28000() {
    let idp = start().await;
    let outlook = "openid offline_access https://outlook.office.com/SMTP.Send";
    let r = post_form(
        &oauth(&idp, defaults::TENANT_ID, "devicecode"),
        &[
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("scope", outlook),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{:#}", r.body);
    let code = r.body["device_code"].as_str().unwrap().to_owned();
    let t = device_poll(
        &idp,
        defaults::TENANT_ID,
        defaults::DESKTOP_CLIENT_ID,
        &code,
    )
    .await;
    assert_eq!(t.status, 200, "{:#}", t.body);
    assert_eq!(
        t.body["scope"],
        "https://outlook.office.com/SMTP.Send openid"
    );

    let mixed = format!("{outlook} User.Read");
    let r = post_form(
        &oauth(&idp, defaults::TENANT_ID, "devicecode"),
        &[
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("scope", &mixed),
        ],
    )
    .await;
    assert_entra(&r, 400, "invalid_request", Some(28000));
}

#[tokio::test]
async fn discovery_and_id_token_overrides_set_and_remove_members() {
    let idp = start().await;
    idp.override_discovery(
        json!({"issuer": "https://elsewhere.test/v2.0", "code_challenge_methods_supported": null}),
    );
    let doc = get(&format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        idp.base_url(),
        defaults::TENANT_ID
    ))
    .await
    .body;
    assert_eq!(doc["issuer"], "https://elsewhere.test/v2.0");
    assert!(doc.get("code_challenge_methods_supported").is_none());

    let r = post_form(&format!("{}/_mock/id-token", idp.base_url()), &[]).await;
    assert_eq!(r.status, 200, "an empty body is no change");
    idp.override_id_token(json!({"aud": "someone-else", "nonce": null}));
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let t = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
    let claims = claims_of(t.body["id_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "someone-else");
    assert_eq!(claims["oid"], defaults::USER_ID, "other claims stay");
}

//! Certificate credentials: a confidential app redeems with a client assertion signed by
//! its registered certificate's key (RFC 7523), and each refusal Entra gives is reached.

use atrs_mock_idp::{defaults, sign_client_assertion, MockIdp, JWT_BEARER};
use serde_json::{json, Value};

use crate::common::*;

fn claims(idp: &MockIdp, jti: &str, exp_in: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "aud": oauth(idp, defaults::TENANT_ID, "token"),
        "iss": defaults::CERT_CLIENT_ID,
        "sub": defaults::CERT_CLIENT_ID,
        "nbf": now,
        "exp": now + exp_in,
        "jti": jti,
    })
}

/// A device code for the certificate app, approved; then one poll with `assertion`.
async fn poll_with(idp: &MockIdp, device_code: &str, assertion: &str) -> Reply {
    post_form(
        &oauth(idp, defaults::TENANT_ID, "token"),
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", defaults::CERT_CLIENT_ID),
            ("device_code", device_code),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn a_certificate_app_redeems_with_a_signed_assertion_and_every_refusal_is_entra_s() {
    let idp = start().await;
    let started = device_start(&idp, defaults::TENANT_ID, defaults::CERT_CLIENT_ID).await;
    let code = started["device_code"].as_str().unwrap().to_owned();
    let sign = |key: &str, cert: &str, c: Value| sign_client_assertion(key, cert, &c).unwrap();

    let none = device_poll(&idp, defaults::TENANT_ID, defaults::CERT_CLIENT_ID, &code).await;
    assert_entra(&none, 401, "invalid_client", Some(7000218));
    let expired = sign(
        defaults::CERT_KEY_PEM,
        defaults::CERT_PEM,
        claims(&idp, "a", -5),
    );
    assert_entra(
        &poll_with(&idp, &code, &expired).await,
        401,
        "invalid_client",
        Some(700024),
    );
    let old = sign(
        defaults::CERT_EXPIRED_KEY_PEM,
        defaults::CERT_EXPIRED_PEM,
        claims(&idp, "b", 300),
    );
    let r = poll_with(&idp, &code, &old).await;
    assert_entra(&r, 401, "invalid_client", Some(700027));
    assert!(r.body["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));
    let mut wrong_aud = claims(&idp, "c", 300);
    wrong_aud["aud"] = json!("https://login.microsoftonline.com/x/oauth2/v2.0/token");
    let r = poll_with(
        &idp,
        &code,
        &sign(defaults::CERT_KEY_PEM, defaults::CERT_PEM, wrong_aud),
    )
    .await;
    assert_entra(&r, 401, "invalid_client", Some(50012));

    let good = sign(
        defaults::CERT_KEY_PEM,
        defaults::CERT_PEM,
        claims(&idp, "d", 300),
    );
    let r = poll_with(&idp, &code, &good).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["access_token"].is_string());
    let refresh = r.body["refresh_token"].as_str().unwrap().to_owned();
    // The same assertion again is a replay.
    let again = post_form(
        &oauth(&idp, defaults::TENANT_ID, "token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", defaults::CERT_CLIENT_ID),
            ("refresh_token", &refresh),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &good),
        ],
    )
    .await;
    assert_entra(&again, 401, "invalid_client", Some(50012));
    let fresh = sign(
        defaults::CERT_KEY_PEM,
        defaults::CERT_PEM,
        claims(&idp, "e", 300),
    );
    let renewed = post_form(
        &oauth(&idp, defaults::TENANT_ID, "token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", defaults::CERT_CLIENT_ID),
            ("refresh_token", &refresh),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &fresh),
        ],
    )
    .await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
}

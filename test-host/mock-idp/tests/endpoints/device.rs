//! The device authorization grant: issuance, polling outcomes and the /devicelogin pages.

use std::time::Duration;

use atrs_mock_idp::{defaults, ApproveMode, DeviceOutcome, Endpoint, Fault, MockConfig, MockIdp};

use crate::common::*;

fn code(v: &serde_json::Value, field: &str) -> String {
    v[field].as_str().expect(field).to_owned()
}

#[tokio::test]
async fn devicecode_response_has_microsofts_fields_and_wording() {
    let idp = start().await;
    let r = device_start(&idp, defaults::TENANT_ID, defaults::DESKTOP_CLIENT_ID).await;
    let uri = format!("{}/devicelogin", idp.base_url());
    let user_code = code(&r, "user_code");
    assert_eq!(r["verification_uri"], uri);
    assert_eq!(r["expires_in"], 900);
    assert_eq!(r["interval"], 0);
    assert!(r.get("verification_uri_complete").is_none());
    assert_eq!(
        r["message"],
        format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate.")
    );
    assert!(code(&r, "device_code").len() > 100);
}

#[tokio::test]
async fn auto_approval_yields_tokens_and_the_code_is_then_spent() {
    let idp = start().await;
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let dc = code(&r, "device_code");
    let t = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_eq!(t.status, 200, "{:#}", t.body);
    assert_eq!(t.content_type(), "application/json; charset=utf-8");
    assert_eq!(t.body["token_type"], "Bearer");
    assert_eq!(t.body["scope"], "User.Read Mail.Send profile openid");
    assert_eq!(t.body["expires_in"], 3599);
    assert_eq!(t.body["ext_expires_in"], 3599);
    assert!(t.body["refresh_token"].is_string());
    assert!(t.body["id_token"].is_string());
    let again = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&again, 400, "bad_verification_code", Some(70000));
}

#[tokio::test]
async fn pending_until_the_user_acts_then_declined() {
    let idp = MockIdp::start(MockConfig {
        auto_approve_delay: Duration::from_secs(3600),
        ..fast()
    })
    .await
    .unwrap();
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let (dc, uc) = (code(&r, "device_code"), code(&r, "user_code"));
    let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&p, 400, "authorization_pending", Some(70016));
    idp.decline_device_code(&uc).unwrap();
    let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&p, 400, "authorization_declined", Some(65004));
    assert!(idp.approve_device_code(&uc, defaults::USER_UPN).is_err());
}

#[tokio::test]
async fn simulated_user_declines_or_ignores_until_expiry() {
    let idp = start().await;
    idp.set_device_outcome(DeviceOutcome::Decline);
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let p = device_poll(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        &code(&r, "device_code"),
    )
    .await;
    assert_entra(&p, 400, "authorization_declined", Some(65004));

    idp.set_device_outcome(DeviceOutcome::Ignore);
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let dc = code(&r, "device_code");
    let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&p, 400, "authorization_pending", Some(70016));
    idp.expire_device_code(&code(&r, "user_code")).unwrap();
    let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&p, 400, "expired_token", Some(70020));
}

#[tokio::test]
async fn a_zero_lifetime_code_is_expired_at_once() {
    let idp = MockIdp::start(MockConfig {
        device_expires_in_secs: 0,
        ..fast()
    })
    .await
    .unwrap();
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let p = device_poll(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        &code(&r, "device_code"),
    )
    .await;
    assert_entra(&p, 400, "expired_token", Some(70020));
}

#[tokio::test]
async fn approve_as_another_user_shows_in_the_id_token() {
    let idp = start().await;
    idp.set_device_outcome(DeviceOutcome::ApproveAs(defaults::NO_MAIL_USER_UPN.into()));
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let t = device_poll(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        &code(&r, "device_code"),
    )
    .await;
    let id_token = t.body["id_token"].as_str().unwrap();
    let claims = id_token_claims(id_token);
    assert_eq!(claims["preferred_username"], defaults::NO_MAIL_USER_UPN);
    assert_eq!(claims["oid"], defaults::NO_MAIL_USER_ID);
    assert_eq!(claims["aud"], defaults::DESKTOP_CLIENT_ID);
    assert_eq!(claims["tid"], defaults::TENANT_ID);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(
        claims["iss"],
        format!("{}/{}/v2.0", idp.base_url(), defaults::TENANT_ID)
    );
    for c in ["iat", "nbf", "exp", "name", "sub"] {
        assert!(!claims[c].is_null(), "{c}");
    }
}

/// Decode the claims of a JWT without verifying it (the mock does not sign).
pub fn id_token_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[0])
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        serde_json::json!({"typ": "JWT", "alg": "RS256", "kid": "mock"})
    );
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn public_client_flows_off_fails_after_sign_in_with_7000218() {
    let idp = MockIdp::start(MockConfig {
        auto_approve_delay: Duration::from_secs(3600),
        ..fast()
    })
    .await
    .unwrap();
    let r = device_start(&idp, "organizations", defaults::NO_PUBLIC_FLOWS_CLIENT_ID).await;
    let dc = code(&r, "device_code");
    let p = device_poll(
        &idp,
        "organizations",
        defaults::NO_PUBLIC_FLOWS_CLIENT_ID,
        &dc,
    )
    .await;
    assert_entra(&p, 400, "authorization_pending", Some(70016));
    idp.approve_device_code(&code(&r, "user_code"), defaults::USER_UPN)
        .unwrap();
    let p = device_poll(
        &idp,
        "organizations",
        defaults::NO_PUBLIC_FLOWS_CLIENT_ID,
        &dc,
    )
    .await;
    assert_entra(&p, 401, "invalid_client", Some(7000218));
}

#[tokio::test]
async fn request_shape_errors() {
    let idp = start().await;
    let url = oauth(&idp, "common", "devicecode");
    let r = post_form(
        &url,
        &[
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("scope", "openid User.Fly"),
        ],
    )
    .await;
    assert_entra(&r, 400, "invalid_scope", Some(70011));
    let r = post_form(
        &url,
        &[
            ("client_id", "00000000-1111-4222-8333-444444444444"),
            ("scope", SCOPES),
        ],
    )
    .await;
    assert_entra(&r, 400, "unauthorized_client", Some(700016));
    let r = post_form(&url, &[("scope", SCOPES)]).await;
    assert_entra(&r, 400, "invalid_request", Some(900144));
    let r = post_form(
        &url,
        &[
            ("client_id", defaults::SINGLE_TENANT_CLIENT_ID),
            ("scope", SCOPES),
        ],
    )
    .await;
    assert_entra(&r, 400, "invalid_request", Some(50194));
    let r = post_form(
        &oauth(&idp, "consumers", "devicecode"),
        &[
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("scope", SCOPES),
        ],
    )
    .await;
    assert_entra(&r, 400, "invalid_request", Some(9002332));
    let r = get(&url).await;
    assert_entra(&r, 400, "invalid_request", Some(900561));
    // The single-tenant app works on its own tenant.
    device_start(&idp, defaults::TENANT_ID, defaults::SINGLE_TENANT_CLIENT_ID).await;
}

#[tokio::test]
async fn polls_with_the_wrong_code_client_or_tenant_are_bad_verification_codes() {
    let idp = start().await;
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let dc = code(&r, "device_code");
    let p = device_poll(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        "nonsense",
    )
    .await;
    assert_entra(&p, 400, "bad_verification_code", Some(70000));
    let p = device_poll(
        &idp,
        "organizations",
        defaults::ADMIN_CONSENT_CLIENT_ID,
        &dc,
    )
    .await;
    assert_entra(&p, 400, "bad_verification_code", Some(70000));
    let p = device_poll(&idp, "common", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&p, 400, "bad_verification_code", Some(70000));
}

#[tokio::test]
async fn slow_down_fault_then_tokens() {
    let idp = start().await;
    idp.set_fault(Endpoint::Token, Fault::SlowDown { times: 2 });
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let dc = code(&r, "device_code");
    for _ in 0..2 {
        let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
        assert_entra(&p, 400, "slow_down", None);
    }
    let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_eq!(p.status, 200);
    let s = idp.stats();
    assert_eq!(s.grant_count(DEVICE_GRANT), 3);
    assert_eq!(
        s.requests
            .iter()
            .filter(|r| r.fault.as_deref() == Some("slow_down"))
            .count(),
        2
    );
}

async fn manual() -> MockIdp {
    MockIdp::start(MockConfig {
        approve: ApproveMode::Manual,
        ..fast()
    })
    .await
    .unwrap()
}

async fn page(url: &str, form: &[(&str, &str)]) -> String {
    let r = client().post(url).form(form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn devicelogin_pages_sign_in_with_mfa_and_approve() {
    let idp = manual().await;
    let base = idp.base_url();
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let (dc, uc) = (code(&r, "device_code"), code(&r, "user_code"));
    let entry = client()
        .get(format!("{base}/devicelogin"))
        .send()
        .await
        .unwrap();
    assert!(entry.text().await.unwrap().contains("name=\"otc\""));
    let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&p, 400, "authorization_pending", Some(70016));

    let html = page(
        &format!("{base}/devicelogin"),
        &[("otc", &uc.to_lowercase())],
    )
    .await;
    let txn = login_txn(&html);
    let login = format!("{base}/login/{txn}");
    let html = page(
        &login,
        &[("login", defaults::USER_UPN), ("passwd", "wrong")],
    )
    .await;
    assert!(html.contains("AADSTS50126"), "{html}");
    let html = page(
        &login,
        &[("login", "nobody@contoso.onmicrosoft.com"), ("passwd", "x")],
    )
    .await;
    assert!(html.contains("AADSTS50034"), "{html}");
    let html = page(
        &login,
        &[
            ("login", defaults::USER_UPN),
            ("passwd", defaults::USER_PASSWORD),
        ],
    )
    .await;
    assert!(html.contains("We sent a code to your phone"), "{html}");
    let html = page(&login, &[("otc", "000000")]).await;
    assert!(html.contains("Check the code and try again"), "{html}");
    let html = page(&login, &[("otc", defaults::USER_MFA_CODE)]).await;
    assert!(html.contains("Are you trying to sign in?"), "{html}");
    assert!(html.contains("Mail.Send"), "{html}");
    let html = page(&login, &[("accept", "yes")]).await;
    assert!(
        html.contains("You have signed in to the ATRS Reports (desktop) application"),
        "{html}"
    );

    let t = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_eq!(t.status, 200, "{:#}", t.body);
    let html = page(&format!("{base}/devicelogin"), &[("otc", &uc)]).await;
    assert!(html.contains("AADSTS90120"), "{html}");
}

#[tokio::test]
async fn devicelogin_refuses_wrong_empty_and_expired_codes_and_can_decline() {
    let idp = manual().await;
    let base = idp.base_url();
    let entry = format!("{base}/devicelogin");
    assert!(page(&entry, &[("otc", "NOPE12345")])
        .await
        .contains("AADSTS70018"));
    assert!(page(&entry, &[("otc", "")]).await.contains("AADSTS90119"));
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let uc = code(&r, "user_code");
    idp.expire_device_code(&uc).unwrap();
    assert!(page(&entry, &[("otc", &uc)]).await.contains("AADSTS70019"));

    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let (dc, uc) = (code(&r, "device_code"), code(&r, "user_code"));
    let login = format!(
        "{base}/login/{}",
        login_txn(&page(&entry, &[("otc", &uc)]).await)
    );
    page(
        &login,
        &[
            ("login", defaults::NO_MAIL_USER_UPN),
            ("passwd", defaults::NO_MAIL_USER_PASSWORD),
        ],
    )
    .await;
    page(&login, &[("otc", defaults::NO_MAIL_USER_MFA_CODE)]).await;
    let html = page(&login, &[("accept", "no")]).await;
    assert!(html.contains("declined"), "{html}");
    let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&p, 400, "authorization_declined", Some(65004));
}

#[tokio::test]
async fn manual_mode_never_approves_by_itself_but_tests_can() {
    let idp = manual().await;
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let (dc, uc) = (code(&r, "device_code"), code(&r, "user_code"));
    let p = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_entra(&p, 400, "authorization_pending", Some(70016));
    assert!(matches!(
        idp.approve_device_code(&uc, "ghost@contoso.onmicrosoft.com"),
        Err(atrs_mock_idp::MockError::UnknownUser(_))
    ));
    assert!(matches!(
        idp.approve_device_code("ZZZZZZZZZ", defaults::USER_UPN),
        Err(atrs_mock_idp::MockError::UnknownUserCode(_))
    ));
    idp.approve_device_code(&uc, defaults::USER_UPN).unwrap();
    let t = device_poll(&idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await;
    assert_eq!(t.status, 200);
}

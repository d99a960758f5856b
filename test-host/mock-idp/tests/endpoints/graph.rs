//! Graph `/v1.0/me` and OIDC userinfo.

use atrs_mock_idp::{defaults, DeviceOutcome, MockIdp};

use crate::common::*;

/// An access token for `upn` through the device flow.
async fn token_for(idp: &MockIdp, upn: &str, scope: &str) -> String {
    idp.set_device_outcome(DeviceOutcome::ApproveAs(upn.into()));
    let r = post_form(
        &oauth(idp, "organizations", "devicecode"),
        &[("client_id", defaults::DESKTOP_CLIENT_ID), ("scope", scope)],
    )
    .await;
    let t = device_poll(
        idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        r.body["device_code"].as_str().unwrap(),
    )
    .await;
    t.body["access_token"].as_str().unwrap().to_owned()
}

async fn me(idp: &MockIdp, auth: Option<&str>, query: &str) -> Reply {
    let mut req = client().get(format!("{}/v1.0/me{query}", idp.base_url()));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    reply(req.send().await.unwrap()).await
}

#[tokio::test]
async fn me_returns_the_signed_in_user() {
    let idp = start().await;
    let at = token_for(&idp, defaults::USER_UPN, SCOPES).await;
    let r = me(&idp, Some(&format!("Bearer {at}")), "").await;
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("application/json"));
    assert_eq!(r.body["id"], defaults::USER_ID);
    assert_eq!(r.body["userPrincipalName"], defaults::USER_UPN);
    assert_eq!(r.body["displayName"], defaults::USER_DISPLAY_NAME);
    assert_eq!(r.body["mail"], defaults::USER_MAIL);
    let r = me(&idp, Some(&format!("bearer {at}")), "?$select=id,mail").await;
    assert_eq!(r.body.as_object().unwrap().len(), 3, "{:#}", r.body);
}

#[tokio::test]
async fn mail_is_null_for_the_no_mail_user() {
    let idp = start().await;
    let at = token_for(&idp, defaults::NO_MAIL_USER_UPN, SCOPES).await;
    let r = me(&idp, Some(&format!("Bearer {at}")), "").await;
    assert_eq!(r.body["userPrincipalName"], defaults::NO_MAIL_USER_UPN);
    assert!(r.body["mail"].is_null());
    assert!(r.body.as_object().unwrap().contains_key("mail"));
}

fn assert_graph(r: &Reply, status: u16, code: &str, message: &str) {
    assert_eq!(r.status.as_u16(), status, "{:#}", r.body);
    assert!(r.content_type().starts_with("application/json"));
    assert_eq!(r.body["error"]["code"], code);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(message),
        "{:#}",
        r.body
    );
    assert!(r.body["error"]["innerError"]["request-id"].is_string());
    assert!(r.body["error"]["innerError"]["date"].is_string());
}

#[tokio::test]
async fn missing_unknown_expired_and_underscoped_tokens_are_refused() {
    let idp = start().await;
    let r = me(&idp, None, "").await;
    assert_graph(
        &r,
        401,
        "InvalidAuthenticationToken",
        "Access token is empty.",
    );
    assert!(r.headers.contains_key("www-authenticate"));
    let r = me(&idp, Some("Bearer nonsense"), "").await;
    assert_graph(
        &r,
        401,
        "InvalidAuthenticationToken",
        "CompactToken parsing failed",
    );
    let only_oidc = token_for(&idp, defaults::USER_UPN, "openid profile").await;
    let r = me(&idp, Some(&format!("Bearer {only_oidc}")), "").await;
    assert_graph(&r, 403, "accessDenied", "Insufficient privileges");
    let at = token_for(&idp, defaults::USER_UPN, SCOPES).await;
    idp.expire_access_tokens();
    let r = me(&idp, Some(&format!("Bearer {at}")), "").await;
    assert_graph(
        &r,
        401,
        "InvalidAuthenticationToken",
        "the token is expired",
    );
}

#[tokio::test]
async fn userinfo_needs_openid() {
    let idp = start().await;
    let at = token_for(&idp, defaults::USER_UPN, "openid profile email User.Read").await;
    let r = reply(
        client()
            .get(format!("{}/oidc/userinfo", idp.base_url()))
            .bearer_auth(&at)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type(), "application/json; charset=utf-8");
    assert_eq!(r.body["name"], defaults::USER_DISPLAY_NAME);
    assert_eq!(r.body["email"], defaults::USER_MAIL);
    assert!(r.body["sub"].is_string());
    let no_openid = token_for(&idp, defaults::USER_UPN, "User.Read").await;
    let r = reply(
        client()
            .get(format!("{}/oidc/userinfo", idp.base_url()))
            .bearer_auth(&no_openid)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_graph(&r, 403, "accessDenied", "Insufficient privileges");
}

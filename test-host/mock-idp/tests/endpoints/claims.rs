//! Claims challenges (Continuous Access Evaluation) armed per account: Graph's 401 with
//! `insufficient_claims`, the token request that answers it, one that needs the user, and
//! the counters a test reads.

use atrs_mock_idp::{defaults, ClaimsChallenge, MockIdp};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;

const REDIRECT: &str = "http://localhost:53124/";
const CP1: &str = r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#;

/// An access and refresh token for the default user (Mail.Send among the scopes).
async fn tokens(idp: &MockIdp) -> (String, String) {
    let (code, verifier) = desktop_code(idp, REDIRECT).await;
    let r = redeem_desktop(idp, &code, REDIRECT, &verifier).await;
    (
        r.body["access_token"].as_str().unwrap().to_owned(),
        r.body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(idp: &MockIdp, rt: &str, claims: &str) -> Reply {
    post_form(
        &oauth(idp, "organizations", "token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("refresh_token", rt),
            ("claims", claims),
        ],
    )
    .await
}

async fn send_mail(idp: &MockIdp, at: &str) -> Reply {
    let body = json!({"message": {"subject": "s", "toRecipients": [{"emailAddress": {"address": "a@contoso.com"}}]}});
    reply(
        client()
            .post(format!("{}/v1.0/me/sendMail", idp.base_url()))
            .bearer_auth(at)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The claims in a 401's `WWW-Authenticate`, decoded, when it is a claims challenge.
fn challenge_of(r: &Reply) -> Option<Value> {
    let header = r.headers.get("www-authenticate")?.to_str().ok()?;
    assert!(header.starts_with("Bearer "), "{header}");
    if !header.contains(r#"error="insufficient_claims""#) {
        return None;
    }
    let b64 = header.split(r#"claims=""#).nth(1)?.split('"').next()?;
    serde_json::from_slice(&STANDARD.decode(b64).ok()?).ok()
}

/// `claims` with cp1 merged in, as a client declaring the capability sends them.
fn with_cp1(mut claims: Value) -> String {
    claims["access_token"]["xms_cc"] = json!({"values": ["cp1"]});
    claims.to_string()
}

#[tokio::test]
async fn a_challenge_is_answered_by_a_token_issued_for_its_claims() {
    let idp = start().await;
    let (at, rt) = tokens(&idp).await;
    assert_eq!(send_mail(&idp, &at).await.status, StatusCode::ACCEPTED);
    idp.arm_claims_challenge(
        defaults::USER_UPN,
        ClaimsChallenge {
            path_contains: Some("sendMail".into()),
            needs_user: false,
        },
    );
    let challenged = send_mail(&idp, &at).await;
    assert_eq!(challenged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenged.body["error"]["code"],
        "InvalidAuthenticationToken"
    );
    let claims = challenge_of(&challenged).expect("a claims challenge");
    assert!(
        claims["access_token"]["nbf"]["value"].is_string(),
        "{claims}"
    );
    // Other paths of the account are not challenged.
    let me = get_with(&idp, "/v1.0/me", &at).await;
    assert_eq!(me.status, StatusCode::OK);
    // An ordinary refresh (cp1 only) does not answer it.
    let plain = refresh(&idp, &rt, CP1).await;
    assert_eq!(plain.status, StatusCode::OK);
    let still = send_mail(&idp, plain.body["access_token"].as_str().unwrap()).await;
    assert!(challenge_of(&still).is_some());
    // The claims (with cp1 merged) do.
    let answered = refresh(&idp, &rt, &with_cp1(claims)).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    let sent = send_mail(&idp, answered.body["access_token"].as_str().unwrap()).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED);
    assert_eq!(idp.sent_items().len(), 2);
    let counts = idp.stats().account(defaults::USER_UPN);
    assert_eq!(counts.claims_challenges, 2);
    assert_eq!(counts.claims_answered, 1);
    assert_eq!(counts.cp1_declared, 2);
}

#[tokio::test]
async fn a_challenge_that_needs_the_user_refuses_the_token_request_and_is_cleared_over_http() {
    let idp = start().await;
    let (at, rt) = tokens(&idp).await;
    let arm = reply(
        client()
            .post(format!("{}/_mock/claims-challenges", idp.base_url()))
            .json(&json!({"upn": defaults::USER_UPN, "needs_user": true}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(arm.status, StatusCode::OK, "{}", arm.body);
    let challenged = get_with(&idp, "/v1.0/me", &at).await;
    let claims = challenge_of(&challenged).expect("a claims challenge");
    let refused = refresh(&idp, &rt, &with_cp1(claims)).await;
    assert_entra(&refused, 400, "interaction_required", Some(50076));
    let unknown = reply(
        client()
            .post(format!("{}/_mock/claims-challenges", idp.base_url()))
            .json(&json!({"upn": "nobody@contoso.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let cleared = client()
        .delete(format!("{}/_mock/claims-challenges", idp.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::OK);
    assert_eq!(get_with(&idp, "/v1.0/me", &at).await.status, StatusCode::OK);
}

async fn get_with(idp: &MockIdp, path: &str, at: &str) -> Reply {
    reply(
        client()
            .get(format!("{}{path}", idp.base_url()))
            .bearer_auth(at)
            .send()
            .await
            .unwrap(),
    )
    .await
}

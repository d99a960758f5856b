//! Refresh tokens: lifetimes, rotation on and off, refusing replaced tokens, per-account
//! refusals and counters, over HTTP and the in-process API.

use atrs_mock_idp::{defaults, MockConfig, MockIdp, RefreshFailure, RefreshPolicy};
use serde_json::json;

use crate::common::*;

const REDIRECT: &str = "http://localhost:53123/";

/// A refresh token for the default user on the desktop app.
async fn refresh_token(idp: &MockIdp) -> String {
    let (code, verifier) = desktop_code(idp, REDIRECT).await;
    redeem_desktop(idp, &code, REDIRECT, &verifier).await.body["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}

async fn refresh(idp: &MockIdp, rt: &str) -> Reply {
    post_form(
        &oauth(idp, "organizations", "token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("refresh_token", rt),
        ],
    )
    .await
}

async fn control(
    idp: &MockIdp,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> Reply {
    let url = format!("{}/_mock/{path}", idp.base_url());
    reply(
        client()
            .request(method, url)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn replaced_tokens_are_refused_when_configured_and_counted_per_account() {
    let idp = MockIdp::start(MockConfig {
        refresh_policy: RefreshPolicy {
            access_token_secs: 120,
            refuse_rotated: true,
            ..RefreshPolicy::default()
        },
        ..fast()
    })
    .await
    .unwrap();
    let rt1 = refresh_token(&idp).await;
    let second = refresh(&idp, &rt1).await;
    assert_eq!(second.status, 200, "{:#}", second.body);
    assert_eq!(second.body["expires_in"], 120);
    let rt2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    let again = refresh(&idp, &rt1).await;
    assert_entra(&again, 400, "invalid_grant", Some(70000));
    assert!(refresh(&idp, &rt2).await.status.is_success());

    let stats = idp.stats();
    assert_eq!(
        stats.account_grant_count(defaults::USER_UPN, "refresh_token"),
        3
    );
    assert_eq!(
        stats.account_grant_count(defaults::USER_UPN, "authorization_code"),
        1
    );
    assert_eq!(stats.replaced_presented(defaults::USER_UPN), 1);
    let over_http = get(&format!("{}/_mock/stats", idp.base_url())).await;
    let counts = &over_http.body["accounts"][defaults::USER_UPN.to_ascii_lowercase()];
    assert_eq!(counts["grant_types"]["refresh_token"], 3);
    assert_eq!(counts["replaced_presented"], 1);
}

#[tokio::test]
async fn without_rotation_the_answer_has_no_refresh_token_and_the_old_one_keeps_working() {
    let idp = start().await;
    let changed = control(
        &idp,
        reqwest::Method::POST,
        "refresh-policy",
        json!({"rotate": false}),
    )
    .await;
    assert_eq!(changed.body["policy"]["rotate"], false);
    assert_eq!(idp.refresh_policy().access_token_secs, 3599);
    let rt = refresh_token(&idp).await;
    let first = refresh(&idp, &rt).await;
    assert_eq!(first.status, 200);
    assert!(
        first.body.get("refresh_token").is_none(),
        "{:#}",
        first.body
    );
    assert_eq!(refresh(&idp, &rt).await.status, 200);
    assert_eq!(idp.stats().replaced_presented(defaults::USER_UPN), 0);
}

#[tokio::test]
async fn a_refresh_token_unused_beyond_its_lifetime_is_700082() {
    let idp = start().await;
    let rt = refresh_token(&idp).await;
    idp.set_refresh_policy(RefreshPolicy {
        refresh_token_secs: 0,
        ..RefreshPolicy::default()
    });
    assert_entra(
        &refresh(&idp, &rt).await,
        400,
        "invalid_grant",
        Some(700082),
    );
}

#[tokio::test]
async fn every_injectable_failure_answers_as_entra_and_only_for_its_account() {
    let idp = start().await;
    let rt = refresh_token(&idp).await;
    let expected: &[(u32, u16, &str)] = &[
        (700082, 400, "invalid_grant"),
        (70008, 400, "invalid_grant"),
        (50173, 400, "invalid_grant"),
        (70043, 400, "invalid_grant"),
        (50076, 400, "invalid_grant"),
        (50079, 400, "interaction_required"),
        (65001, 400, "invalid_grant"),
        (53003, 400, "invalid_grant"),
        (7000215, 401, "invalid_client"),
        (7000222, 401, "invalid_client"),
    ];
    assert_eq!(expected.len(), RefreshFailure::CODES.len());
    for &(code, status, error) in expected {
        let armed = control(
            &idp,
            reqwest::Method::POST,
            "refresh-failures",
            json!({"upn": defaults::USER_UPN, "failure": {"kind": "aadsts", "code": code}, "times": 1}),
        )
        .await;
        assert_eq!(armed.body["ok"], true, "{:#}", armed.body);
        assert_entra(&refresh(&idp, &rt).await, status, error, Some(code));
    }
    idp.set_refresh_failure(
        defaults::USER_UPN,
        RefreshFailure::InteractionRequired,
        None,
    );
    assert_entra(
        &refresh(&idp, &rt).await,
        400,
        "interaction_required",
        Some(50158),
    );
    assert_entra(
        &refresh(&idp, &rt).await,
        400,
        "interaction_required",
        Some(50158),
    );
    idp.set_refresh_failure(
        "someone.else@contoso.onmicrosoft.com",
        RefreshFailure::InvalidGrant,
        None,
    );
    let cleared = control(
        &idp,
        reqwest::Method::DELETE,
        "refresh-failures",
        json!({"upn": defaults::USER_UPN}),
    )
    .await;
    assert_eq!(cleared.body["ok"], true);
    assert_eq!(
        refresh(&idp, &rt).await.status,
        200,
        "another account's failure does not apply"
    );

    let unknown = control(
        &idp,
        reqwest::Method::POST,
        "refresh-failures",
        json!({"upn": "nobody@contoso", "failure": {"kind": "invalid_grant"}}),
    )
    .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn transient_failures_carry_retry_after() {
    let idp = start().await;
    let rt = refresh_token(&idp).await;
    for status in [503u16, 429] {
        idp.set_refresh_failure(
            defaults::USER_UPN,
            RefreshFailure::Status {
                status,
                retry_after: Some(2),
            },
            Some(1),
        );
        let r = refresh(&idp, &rt).await;
        assert_eq!(r.status.as_u16(), status);
        assert_eq!(r.headers["retry-after"], "2");
        assert_eq!(r.body["error"], "temporarily_unavailable");
        assert_eq!(refresh(&idp, &rt).await.status, 200);
    }
}

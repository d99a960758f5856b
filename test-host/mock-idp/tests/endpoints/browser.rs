//! Authorization code + PKCE: /authorize, redemption rules, secrets, consent and refresh.

use std::time::Duration;

use atrs_mock_idp::{defaults, ApproveMode, DeviceOutcome, MockConfig, MockIdp};

use crate::common::*;

const REDIRECT: &str = "http://localhost:53123/";

#[tokio::test]
async fn auto_mode_redirects_at_once_and_the_code_redeems_with_s256() {
    let idp = start().await;
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let t = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
    assert_eq!(t.status, 200, "{:#}", t.body);
    assert_eq!(t.body["scope"], "User.Read Mail.Send profile openid");
    assert!(t.body["refresh_token"].is_string());
    let again = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
    assert_entra(&again, 400, "invalid_grant", Some(54005));
}

#[tokio::test]
async fn redirect_carries_code_state_and_session_state_and_the_port_is_ignored() {
    let idp = start().await;
    let (_, challenge) = pkce();
    for redirect in [
        "http://localhost",
        "http://localhost:1/",
        "http://localhost:65000",
    ] {
        let loc = redirect_of(&desktop_authorize(&idp, redirect, &challenge)).await;
        assert_eq!(loc.host_str(), Some("localhost"));
        assert_eq!(loc.path(), "/");
        assert!(query(&loc, "code").is_some());
        assert_eq!(query(&loc, "state").as_deref(), Some("st"));
        assert!(query(&loc, "session_state").is_some());
    }
}

#[tokio::test]
async fn plain_pkce_and_the_native_client_uri_work() {
    let idp = start().await;
    let url = authorize_url(
        &idp,
        defaults::TENANT_DOMAIN,
        defaults::DESKTOP_CLIENT_ID,
        &[
            ("response_type", "code"),
            ("redirect_uri", defaults::NATIVE_CLIENT_REDIRECT_URI),
            ("scope", "User.Read"),
            ("code_challenge", &"p".repeat(43)),
            ("code_challenge_method", "plain"),
        ],
    );
    let loc = redirect_of(&url).await;
    assert!(loc
        .as_str()
        .starts_with(defaults::NATIVE_CLIENT_REDIRECT_URI));
    let code = query(&loc, "code").unwrap();
    let t = post_form(
        &oauth(&idp, defaults::TENANT_DOMAIN, "token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", defaults::NATIVE_CLIENT_REDIRECT_URI),
            ("code_verifier", &"p".repeat(43)),
        ],
    )
    .await;
    assert_eq!(t.status, 200, "{:#}", t.body);
    assert_eq!(t.body["scope"], "User.Read");
    assert!(t.body.get("refresh_token").is_none());
    assert!(t.body.get("id_token").is_none());
}

#[tokio::test]
async fn pkce_mismatch_and_missing_verifier_are_501481() {
    let idp = start().await;
    let (code, _) = desktop_code(&idp, REDIRECT).await;
    let t = redeem_desktop(&idp, &code, REDIRECT, "not-the-verifier").await;
    assert_entra(&t, 400, "invalid_grant", Some(501481));
    let t = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_entra(&t, 400, "invalid_grant", Some(501481));
}

#[tokio::test]
async fn redirect_rules_at_authorize_show_an_error_page_and_never_redirect() {
    let idp = start().await;
    let (_, challenge) = pkce();
    for bad in [
        "http://localhost:53123/callback",
        "http://127.0.0.1:53123/",
        "https://login.microsoftonline.com/common/oauth2/NativeClient",
    ] {
        let r = client()
            .get(desktop_authorize(&idp, bad, &challenge))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        let html = r.text().await.unwrap();
        assert!(html.contains("AADSTS50011"), "{html}");
    }
    let r = client()
        .get(authorize_url(
            &idp,
            "organizations",
            "00000000-1111-4222-8333-444444444444",
            &[
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", SCOPES),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("AADSTS700016"));
    let r = client()
        .get(authorize_url(
            &idp,
            "nowhere.example",
            defaults::DESKTOP_CLIENT_ID,
            &[
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", SCOPES),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("AADSTS90002"));
}

#[tokio::test]
async fn trusted_redirect_errors_carry_error_description_uri_and_state() {
    let idp = start().await;
    let loc = redirect_of(&authorize_url(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        &[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid Nope.Nope"),
            ("state", "s1"),
        ],
    ))
    .await;
    assert_eq!(query(&loc, "error").as_deref(), Some("invalid_scope"));
    assert!(query(&loc, "error_description")
        .unwrap()
        .starts_with("AADSTS70011: "));
    assert_eq!(
        query(&loc, "error_uri").as_deref(),
        Some("https://login.microsoftonline.com/error?code=70011")
    );
    assert_eq!(query(&loc, "state").as_deref(), Some("s1"));

    let loc = redirect_of(&authorize_url(
        &idp,
        "common",
        defaults::SINGLE_TENANT_CLIENT_ID,
        &[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPES),
            ("state", "s2"),
        ],
    ))
    .await;
    assert!(query(&loc, "error_description")
        .unwrap()
        .starts_with("AADSTS50194: "));
    assert_eq!(query(&loc, "state").as_deref(), Some("s2"));

    let loc = redirect_of(&authorize_url(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        &[
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPES),
        ],
    ))
    .await;
    assert_eq!(
        query(&loc, "error").as_deref(),
        Some("unsupported_response_type")
    );

    let loc = redirect_of(&authorize_url(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        &[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPES),
            ("code_challenge", &"c".repeat(43)),
            ("code_challenge_method", "S512"),
        ],
    ))
    .await;
    assert!(query(&loc, "error_description")
        .unwrap()
        .starts_with("AADSTS50149: "));
}

#[tokio::test]
async fn redirect_uri_must_match_the_one_used_at_authorize() {
    let idp = start().await;
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let t = redeem_desktop(&idp, &code, "http://localhost:9999/", &verifier).await;
    assert_entra(&t, 401, "invalid_client", Some(50011));
    let t = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
    assert_eq!(t.status, 200);
}

#[tokio::test]
async fn stale_codes_are_refused() {
    let idp = MockIdp::start(MockConfig {
        code_lifetime: Duration::ZERO,
        ..fast()
    })
    .await
    .unwrap();
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let t = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
    assert_entra(&t, 400, "invalid_grant", Some(70008));
}

#[tokio::test]
async fn unknown_codes_and_grant_types() {
    let idp = start().await;
    let t = redeem_desktop(&idp, "0.Anope", REDIRECT, "v").await;
    assert_entra(&t, 400, "invalid_grant", Some(70000));
    let t = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "password"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
        ],
    )
    .await;
    assert_entra(&t, 400, "unsupported_grant_type", Some(70003));
    let t = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "00000000-1111-4222-8333-444444444444"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_entra(&t, 400, "unauthorized_client", Some(700016));
}

#[tokio::test]
async fn public_client_sending_a_secret_is_700025() {
    let idp = start().await;
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let t = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("client_secret", "anything"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_entra(&t, 401, "invalid_client", Some(700025));
}

/// A web-app code at `REDIRECT`.
async fn web_code(idp: &MockIdp) -> String {
    let loc = redirect_of(&authorize_url(
        idp,
        defaults::TENANT_ID,
        defaults::WEB_CLIENT_ID,
        &[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPES),
        ],
    ))
    .await;
    query(&loc, "code").unwrap()
}

async fn redeem_web(idp: &MockIdp, code: &str, secret: Option<&str>) -> Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", defaults::WEB_CLIENT_ID),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(s) = secret {
        form.push(("client_secret", s));
    }
    post_form(&oauth(idp, defaults::TENANT_ID, "token"), &form).await
}

#[tokio::test]
async fn web_client_secret_rules() {
    let idp = start().await;
    let code = web_code(&idp).await;
    assert_entra(
        &redeem_web(&idp, &code, None).await,
        401,
        "invalid_client",
        Some(7000218),
    );
    assert_entra(
        &redeem_web(&idp, &code, Some(defaults::WEB_CLIENT_SECRET_ID)).await,
        401,
        "invalid_client",
        Some(7000215),
    );
    assert_entra(
        &redeem_web(&idp, &code, Some(defaults::WEB_CLIENT_EXPIRED_SECRET)).await,
        401,
        "invalid_client",
        Some(7000222),
    );
    let t = redeem_web(&idp, &code, Some(defaults::WEB_CLIENT_SECRET)).await;
    assert_eq!(t.status, 200, "{:#}", t.body);
}

#[tokio::test]
async fn web_client_secret_via_http_basic() {
    let idp = start().await;
    let code = web_code(&idp).await;
    let r = client()
        .post(oauth(&idp, defaults::TENANT_ID, "token"))
        .basic_auth(
            defaults::WEB_CLIENT_ID,
            Some(defaults::WEB_CLIENT_SECRET.replace('~', "%7E")),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stays_valid() {
    let idp = start().await;
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let first = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
    let rt1 = first.body["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |rt: String, scope: Option<&'static str>| {
        let url = oauth(&idp, "organizations", "token");
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("client_id", defaults::DESKTOP_CLIENT_ID.to_owned()),
                ("refresh_token", rt),
            ];
            if let Some(s) = scope {
                form.push(("scope", s.to_owned()));
            }
            reply(client().post(url).form(&form).send().await.unwrap()).await
        }
    };
    let second = refresh(rt1.clone(), None).await;
    assert_eq!(second.status, 200);
    let rt2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    assert_ne!(first.body["access_token"], second.body["access_token"]);
    assert_eq!(second.body["scope"], "User.Read Mail.Send profile openid");
    let third = refresh(rt1.clone(), Some("User.Read")).await;
    assert_eq!(third.status, 200);
    assert_eq!(third.body["scope"], "User.Read");
    assert!(third.body["refresh_token"].is_string());
    let not_consented = refresh(rt2.clone(), Some("Files.ReadWrite")).await;
    assert_entra(&not_consented, 400, "invalid_grant", Some(65001));
    assert_eq!(not_consented.body["suberror"], "consent_required");
    let bad = refresh("0.Anope".to_owned(), None).await;
    assert_entra(&bad, 400, "invalid_grant", Some(70000));
    let bad_scope = refresh(rt2.clone(), Some("Nope.Nope")).await;
    assert_entra(&bad_scope, 400, "invalid_scope", Some(70011));

    idp.expire_refresh_tokens();
    let expired = refresh(rt2, None).await;
    assert_entra(&expired, 400, "invalid_grant", Some(700082));
}

#[tokio::test]
async fn refresh_expired_switch_makes_every_refresh_700082() {
    let idp = MockIdp::start(MockConfig {
        refresh_tokens_expired: true,
        ..fast()
    })
    .await
    .unwrap();
    let (code, verifier) = desktop_code(&idp, REDIRECT).await;
    let rt = redeem_desktop(&idp, &code, REDIRECT, &verifier).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("refresh_token", &rt),
        ],
    )
    .await;
    assert_entra(&r, 400, "invalid_grant", Some(700082));
}

#[tokio::test]
async fn admin_consent_scope_is_missing_and_asking_silently_is_65001() {
    let idp = start().await;
    let url = |prompt: Option<&str>| {
        let mut p = vec![
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPES),
            ("state", "z"),
        ];
        if let Some(v) = prompt {
            p.push(("prompt", v));
        }
        authorize_url(&idp, "organizations", defaults::ADMIN_CONSENT_CLIENT_ID, &p)
    };
    let loc = redirect_of(&url(Some("none"))).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("consent_required"));
    assert!(query(&loc, "error_description")
        .unwrap()
        .starts_with("AADSTS65001: "));

    let loc = redirect_of(&url(None)).await;
    let code = query(&loc, "code").unwrap();
    let t = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", defaults::ADMIN_CONSENT_CLIENT_ID),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!(t.status, 200, "{:#}", t.body);
    assert_eq!(t.body["scope"], "User.Read profile openid");
    let rt = t.body["refresh_token"].as_str().unwrap();
    let r = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", defaults::ADMIN_CONSENT_CLIENT_ID),
            ("refresh_token", rt),
            ("scope", "User.Read Mail.Send offline_access"),
        ],
    )
    .await;
    assert_entra(&r, 400, "invalid_grant", Some(65001));
    assert_eq!(r.body["suberror"], "consent_required");
}

#[tokio::test]
async fn prompt_none_after_consent_succeeds() {
    let idp = start().await;
    let (_, challenge) = pkce();
    redirect_of(&desktop_authorize(&idp, REDIRECT, &challenge)).await;
    let loc = redirect_of(&(desktop_authorize(&idp, REDIRECT, &challenge) + "&prompt=none")).await;
    assert!(query(&loc, "code").is_some(), "{loc}");
}

#[tokio::test]
async fn browser_outcomes_decline_and_login_hint() {
    let idp = start().await;
    let (_, challenge) = pkce();
    idp.set_browser_outcome(DeviceOutcome::Decline);
    let loc = redirect_of(&desktop_authorize(&idp, REDIRECT, &challenge)).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("access_denied"));
    assert!(query(&loc, "error_description")
        .unwrap()
        .starts_with("AADSTS65004: "));
    assert_eq!(query(&loc, "state").as_deref(), Some("st"));

    idp.set_browser_outcome(DeviceOutcome::Approve);
    let url = desktop_authorize(&idp, REDIRECT, &challenge)
        + "&login_hint=megan.bowen%40contoso.onmicrosoft.com";
    let code = query(&redirect_of(&url).await, "code").unwrap();
    let (verifier, _) = pkce();
    let t = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
    let claims = crate::device::id_token_claims(t.body["id_token"].as_str().unwrap());
    assert_eq!(claims["preferred_username"], defaults::NO_MAIL_USER_UPN);
}

#[tokio::test]
async fn response_modes_fragment_and_form_post() {
    let idp = start().await;
    let (_, challenge) = pkce();
    let loc =
        redirect_of(&(desktop_authorize(&idp, REDIRECT, &challenge) + "&response_mode=fragment"))
            .await;
    assert!(loc.query().is_none());
    assert!(loc.fragment().unwrap().contains("code="));
    let r = client()
        .get(desktop_authorize(&idp, REDIRECT, &challenge) + "&response_mode=form_post")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("action=\"http://localhost:53123/\""),
        "{html}"
    );
    assert!(html.contains("name=\"code\""));
    assert!(html.contains("name=\"state\" value=\"st\""));
}

#[tokio::test]
async fn manual_pages_sign_in_mfa_consent_then_redirect_or_access_denied() {
    let idp = MockIdp::start(MockConfig {
        approve: ApproveMode::Manual,
        ..fast()
    })
    .await
    .unwrap();
    let base = idp.base_url();
    let (verifier, challenge) = pkce();
    let post = |url: String, form: Vec<(&'static str, &'static str)>| async move {
        client().post(url).form(&form).send().await.unwrap()
    };
    for accept in ["no", "yes"] {
        let r = client()
            .get(desktop_authorize(&idp, REDIRECT, &challenge))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let login = format!("{base}/login/{}", login_txn(&r.text().await.unwrap()));
        let r = post(
            login.clone(),
            vec![
                ("login", defaults::USER_UPN),
                ("passwd", defaults::USER_PASSWORD),
            ],
        )
        .await;
        assert!(r.text().await.unwrap().contains("Enter code"));
        let r = post(login.clone(), vec![("otc", defaults::USER_MFA_CODE)]).await;
        assert!(r.text().await.unwrap().contains("Permissions requested"));
        let r = post(login.clone(), vec![("accept", accept)]).await;
        assert_eq!(r.status(), 302);
        let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(query(&loc, "state").as_deref(), Some("st"));
        if accept == "no" {
            assert_eq!(query(&loc, "error").as_deref(), Some("access_denied"));
            assert!(query(&loc, "error_description")
                .unwrap()
                .starts_with("AADSTS65004: "));
        } else {
            let code = query(&loc, "code").unwrap();
            let t = redeem_desktop(&idp, &code, REDIRECT, &verifier).await;
            assert_eq!(t.status, 200);
        }
        assert_eq!(client().get(&login).send().await.unwrap().status(), 400);
    }
    let loc = redirect_of(&(desktop_authorize(&idp, REDIRECT, &challenge) + "&prompt=none")).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("login_required"));
}

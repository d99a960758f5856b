//! Flows driven by the `oauth2` crate's own client, as an independent check that a standard
//! client works against the mock unchanged.

use atrs_mock_idp::defaults;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationUrl, PkceCodeChallenge,
    RedirectUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};

use crate::common::*;

fn scopes() -> Vec<Scope> {
    SCOPES
        .split(' ')
        .map(|s| Scope::new(s.to_owned()))
        .collect()
}

#[tokio::test]
async fn device_flow_with_the_oauth2_crate() {
    let idp = start().await;
    let authority = idp.authority(defaults::TENANT_ID);
    let client = BasicClient::new(ClientId::new(defaults::DESKTOP_CLIENT_ID.to_owned()))
        .set_auth_uri(AuthUrl::new(format!("{authority}/oauth2/v2.0/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{authority}/oauth2/v2.0/token")).unwrap())
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(format!("{authority}/oauth2/v2.0/devicecode")).unwrap(),
        );
    let http = client_for_oauth2();
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes())
        .request_async(&http)
        .await
        .expect("device authorization");
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{}/devicelogin", idp.base_url())
    );
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, None)
        .await
        .expect("device token");
    assert!(token.refresh_token().is_some());
    let granted: Vec<String> = token
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(granted, ["User.Read", "Mail.Send", "profile", "openid"]);
}

#[tokio::test]
async fn authorization_code_with_pkce_and_refresh_with_the_oauth2_crate() {
    let idp = start().await;
    let authority = idp.authority("organizations");
    let client = BasicClient::new(ClientId::new(defaults::DESKTOP_CLIENT_ID.to_owned()))
        .set_auth_uri(AuthUrl::new(format!("{authority}/oauth2/v2.0/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{authority}/oauth2/v2.0/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new("http://localhost:47123/".to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes())
        .set_pkce_challenge(challenge)
        .url();
    let loc = redirect_of(url.as_str()).await;
    assert_eq!(
        query(&loc, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = query(&loc, "code").unwrap();
    let http = client_for_oauth2();
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code redemption");
    let refreshed = client
        .exchange_refresh_token(token.refresh_token().unwrap())
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.access_token().secret(),
        token.access_token().secret()
    );
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        token.refresh_token().unwrap().secret()
    );
}

/// The reqwest client oauth2 recommends: no redirects.
fn client_for_oauth2() -> oauth2::reqwest::Client {
    oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

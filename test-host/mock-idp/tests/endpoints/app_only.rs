//! App-only access: the client credentials grant of a confidential app with application
//! permissions (`roles`), its tokens at Graph under `/users/{id or UPN}/…` (refused on `/me`),
//! Exchange application access policies, and the refusals for a missing admin consent or
//! role.

use atrs_mock_idp::{defaults, sign_client_assertion, MockIdp, JWT_BEARER};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{assert_entra, client, oauth, post_form, reply, start, Reply};

const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
const CLIENT_CREDENTIALS: &str = "client_credentials";

/// A client credentials request for `client_id` with the app-only secret.
async fn app_token_reply(idp: &MockIdp, tenant: &str, client_id: &str, scope: &str) -> Reply {
    post_form(
        &oauth(idp, tenant, "token"),
        &[
            ("grant_type", CLIENT_CREDENTIALS),
            ("client_id", client_id),
            ("client_secret", defaults::APP_ONLY_CLIENT_SECRET),
            ("scope", scope),
        ],
    )
    .await
}

async fn app_token(idp: &MockIdp, client_id: &str) -> String {
    let r = app_token_reply(idp, defaults::TENANT_ID, client_id, GRAPH_DEFAULT).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// The claims of a JWT-shaped access token.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn call(
    idp: &MockIdp,
    method: Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut r = client()
        .request(method, format!("{}{path}", idp.base_url()))
        .bearer_auth(token);
    r = match body {
        Some(v) => r.json(&v),
        None => r.header("content-length", "0"),
    };
    reply(r.send().await.expect("request")).await
}

fn mail(to: &str) -> Value {
    json!({"message": {
        "subject": "Nightly report",
        "body": {"contentType": "Text", "content": "attached"},
        "toRecipients": [{"emailAddress": {"address": to}}],
    }})
}

fn assert_graph(r: &Reply, status: StatusCode, code: &str, message: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(message),
        "{}",
        r.body
    );
    assert!(r.body["error"]["innerError"]["request-id"].is_string());
}

#[tokio::test]
async fn client_credentials_give_an_app_token_with_its_granted_roles_and_nothing_to_refresh() {
    let idp = start().await;
    for tenant in [defaults::TENANT_ID, defaults::TENANT_DOMAIN] {
        let r = app_token_reply(&idp, tenant, defaults::APP_ONLY_CLIENT_ID, GRAPH_DEFAULT).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["token_type"], "Bearer");
        assert!(r.body["expires_in"].as_u64().unwrap() > 0);
        assert!(r.body.get("refresh_token").is_none(), "{}", r.body);
        assert!(r.body.get("id_token").is_none(), "{}", r.body);
        let claims = claims_of(r.body["access_token"].as_str().unwrap());
        assert_eq!(claims["idtyp"], "app");
        assert_eq!(claims["appid"], defaults::APP_ONLY_CLIENT_ID);
        assert_eq!(claims["tid"], defaults::TENANT_ID);
        let roles: Vec<&str> = claims["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(roles, defaults::APP_ONLY_ROLES);
    }
    let stats = idp.stats();
    assert_eq!(stats.grant_count(CLIENT_CREDENTIALS), 2);
    assert_eq!(
        stats.account_grant_count(defaults::APP_ONLY_CLIENT_ID, CLIENT_CREDENTIALS),
        2
    );

    // The certificate app proves itself with a client assertion instead of a secret.
    let now = chrono::Utc::now().timestamp();
    let assertion = sign_client_assertion(
        defaults::CERT_KEY_PEM,
        defaults::CERT_PEM,
        &json!({
            "aud": oauth(&idp, defaults::TENANT_ID, "token"),
            "iss": defaults::CERT_CLIENT_ID, "sub": defaults::CERT_CLIENT_ID,
            "nbf": now, "exp": now + 300, "jti": "app-only-1",
        }),
    )
    .unwrap();
    let r = post_form(
        &oauth(&idp, defaults::TENANT_ID, "token"),
        &[
            ("grant_type", CLIENT_CREDENTIALS),
            ("client_id", defaults::CERT_CLIENT_ID),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &assertion),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(claims_of(r.body["access_token"].as_str().unwrap())["roles"].is_array());
}

#[tokio::test]
async fn client_credentials_refusals_are_entra_s() {
    let idp = start().await;
    let token = oauth(&idp, defaults::TENANT_ID, "token");
    // Only `{resource}/.default`.
    for scope in ["Mail.Send", "openid https://graph.microsoft.com/.default"] {
        let r = app_token_reply(
            &idp,
            defaults::TENANT_ID,
            defaults::APP_ONLY_CLIENT_ID,
            scope,
        )
        .await;
        assert_entra(&r, 400, "invalid_scope", Some(1002012));
    }
    // Only a tenant named by id or domain.
    for tenant in ["common", "organizations"] {
        let r = app_token_reply(&idp, tenant, defaults::APP_ONLY_CLIENT_ID, GRAPH_DEFAULT).await;
        assert_entra(&r, 400, "invalid_request", Some(9001023));
    }
    // A credential is required, and it must be the secret's value.
    let no_secret = post_form(
        &token,
        &[
            ("grant_type", CLIENT_CREDENTIALS),
            ("client_id", defaults::APP_ONLY_CLIENT_ID),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_entra(&no_secret, 401, "invalid_client", Some(7000218));
    let secret_id = post_form(
        &token,
        &[
            ("grant_type", CLIENT_CREDENTIALS),
            ("client_id", defaults::APP_ONLY_CLIENT_ID),
            ("client_secret", defaults::APP_ONLY_CLIENT_SECRET_ID),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_entra(&secret_id, 401, "invalid_client", Some(7000215));
    // A public client (the desktop app) has no credential to prove itself with.
    let public = post_form(
        &token,
        &[
            ("grant_type", CLIENT_CREDENTIALS),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    assert_entra(&public, 401, "invalid_client", Some(7000218));
}

#[tokio::test]
async fn an_app_token_works_under_users_and_is_refused_on_me() {
    let idp = start().await;
    let t = app_token(&idp, defaults::APP_ONLY_CLIENT_ID).await;
    let adele = format!("/v1.0/users/{}", defaults::USER_UPN);

    let me = call(&idp, Method::GET, &t, "/v1.0/me", None).await;
    assert_graph(
        &me,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "/me request is only valid with delegated authentication flow.",
    );
    let me_send = call(
        &idp,
        Method::POST,
        &t,
        "/v1.0/me/sendMail",
        Some(mail("x@contoso.com")),
    )
    .await;
    assert_graph(
        &me_send,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "/me request",
    );
    let me_drive = call(&idp, Method::GET, &t, "/v1.0/me/drive", None).await;
    assert_graph(
        &me_drive,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "/me request",
    );

    let user = call(
        &idp,
        Method::GET,
        &t,
        &format!("{adele}?$select=id,displayName,mail"),
        None,
    )
    .await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.body);
    assert_eq!(user.body["id"], defaults::USER_ID);
    assert_eq!(user.body["mail"], defaults::USER_MAIL);
    assert!(user.body.get("jobTitle").is_none());
    let by_id = call(
        &idp,
        Method::GET,
        &t,
        &format!("/v1.0/users/{}", defaults::USER_ID),
        None,
    )
    .await;
    assert_eq!(by_id.body["userPrincipalName"], defaults::USER_UPN);
    let nobody = call(
        &idp,
        Method::GET,
        &t,
        "/v1.0/users/nobody@contoso.onmicrosoft.com",
        None,
    )
    .await;
    assert_graph(
        &nobody,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        "does not exist",
    );

    let folder = call(
        &idp,
        Method::GET,
        &t,
        &format!("{adele}/mailFolders/sentitems"),
        None,
    )
    .await;
    assert_eq!(folder.status, StatusCode::OK, "{}", folder.body);
    assert_eq!(folder.body["displayName"], "Sent Items");

    let sent = call(
        &idp,
        Method::POST,
        &t,
        &format!("{adele}/sendMail"),
        Some(mail("boss@fabrikam.com")),
    )
    .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    let items = idp.sent_items();
    assert_eq!(items.len(), 1);
    assert!(items[0].from.eq_ignore_ascii_case(defaults::USER_MAIL));

    // A draft, an attachment upload session and its send, in the named mailbox.
    let draft = call(
        &idp,
        Method::POST,
        &t,
        &format!("{adele}/messages"),
        Some(mail("boss@fabrikam.com")["message"].clone()),
    )
    .await;
    assert_eq!(draft.status, StatusCode::CREATED, "{}", draft.body);
    let id = draft.body["id"].as_str().unwrap().to_owned();
    let session = call(
        &idp,
        Method::POST,
        &t,
        &format!("{adele}/messages/{id}/attachments/createUploadSession"),
        Some(json!({"AttachmentItem": {"attachmentType": "file", "name": "r.csv", "size": 3}})),
    )
    .await;
    assert_eq!(session.status, StatusCode::CREATED, "{}", session.body);
    let url = session.body["uploadUrl"].as_str().unwrap();
    let up = client()
        .put(url)
        .header("Content-Range", "bytes 0-2/3")
        .body(&b"a,b"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), StatusCode::CREATED);
    let send = call(
        &idp,
        Method::POST,
        &t,
        &format!("{adele}/messages/{id}/send"),
        None,
    )
    .await;
    assert_eq!(send.status, StatusCode::ACCEPTED, "{}", send.body);
    assert_eq!(idp.sent_items().len(), 2);

    // Files: the named user's OneDrive, by path and through an upload session.
    let put = client()
        .put(format!(
            "{}{adele}/drive/root:/Reports/a.csv:/content",
            idp.base_url()
        ))
        .bearer_auth(&t)
        .body(&b"x,y"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let drive = call(&idp, Method::GET, &t, &format!("{adele}/drive"), None).await;
    assert_eq!(drive.status, StatusCode::OK, "{}", drive.body);
    let by_drive_id = call(
        &idp,
        Method::GET,
        &t,
        &format!(
            "/v1.0/drives/{}/root:/Reports/a.csv",
            drive.body["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(by_drive_id.status, StatusCode::OK, "{}", by_drive_id.body);
    let big = call(
        &idp,
        Method::POST,
        &t,
        &format!("{adele}/drive/root:/Reports/b.csv:/createUploadSession"),
        Some(json!({"item": {"@microsoft.graph.conflictBehavior": "replace"}})),
    )
    .await;
    assert_eq!(big.status, StatusCode::OK, "{}", big.body);
    assert_eq!(idp.drive_items().len(), 1);
}

#[tokio::test]
async fn an_application_access_policy_keeps_the_app_to_its_mailboxes() {
    let idp = start().await;
    let t = app_token(&idp, defaults::APP_ONLY_CLIENT_ID).await;
    idp.restrict_app_mailboxes(defaults::APP_ONLY_CLIENT_ID, &[defaults::USER_MAIL]);
    let adele = format!("/v1.0/users/{}", defaults::USER_UPN);
    let megan = format!("/v1.0/users/{}", defaults::NO_MAIL_USER_UPN);

    // Allowed by address, reached by UPN.
    let ok = call(
        &idp,
        Method::POST,
        &t,
        &format!("{adele}/sendMail"),
        Some(mail("x@fabrikam.com")),
    )
    .await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{}", ok.body);
    for (method, path, body) in [
        (
            Method::POST,
            format!("{megan}/sendMail"),
            Some(mail("x@fabrikam.com")),
        ),
        (Method::GET, format!("{megan}/mailFolders/inbox"), None),
        (
            Method::POST,
            format!("{megan}/messages"),
            Some(mail("x@fabrikam.com")["message"].clone()),
        ),
    ] {
        let r = call(&idp, method, &t, &path, body).await;
        assert_graph(
            &r,
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
        );
    }
    // The directory and OneDrive are not Exchange: the policy does not apply there.
    let user = call(&idp, Method::GET, &t, &megan, None).await;
    assert_eq!(user.status, StatusCode::OK, "{}", user.body);
    let drive = call(&idp, Method::GET, &t, &format!("{megan}/drive"), None).await;
    assert_eq!(drive.status, StatusCode::OK, "{}", drive.body);
    // Another app is not bound by this app's policy; clearing lifts it (also over HTTP).
    let other = app_token(&idp, defaults::APP_ONLY_MAIL_CLIENT_ID).await;
    let r = call(
        &idp,
        Method::POST,
        &other,
        &format!("{megan}/sendMail"),
        Some(mail("x@fabrikam.com")),
    )
    .await;
    assert_graph(
        &r,
        StatusCode::NOT_FOUND,
        "MailboxNotEnabledForRESTAPI",
        "mailbox",
    );
    let cleared = client()
        .delete(format!("{}/_mock/access-policies", idp.base_url()))
        .json(&json!({"client_id": defaults::APP_ONLY_CLIENT_ID}))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::OK);
    let r = call(
        &idp,
        Method::GET,
        &t,
        &format!("{megan}/mailFolders/inbox"),
        None,
    )
    .await;
    assert_graph(
        &r,
        StatusCode::NOT_FOUND,
        "MailboxNotEnabledForRESTAPI",
        "mailbox",
    );
    let set = client()
        .post(format!("{}/_mock/access-policies", idp.base_url()))
        .json(&json!({"client_id": defaults::APP_ONLY_CLIENT_ID, "mailboxes": [defaults::NO_MAIL_USER_UPN]}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::OK);
    let r = call(
        &idp,
        Method::GET,
        &t,
        &format!("{adele}/mailFolders/inbox"),
        None,
    )
    .await;
    assert_graph(&r, StatusCode::FORBIDDEN, "ErrorAccessDenied", "[RAOP]");
}

#[tokio::test]
async fn a_missing_admin_consent_or_role_is_refused_as_graph_does() {
    let idp = start().await;
    let adele = format!("/v1.0/users/{}", defaults::USER_UPN);
    // Not granted: Entra still issues a token, with no roles; Graph refuses it.
    let ungranted = app_token(&idp, defaults::APP_ONLY_UNGRANTED_CLIENT_ID).await;
    assert!(claims_of(&ungranted).get("roles").is_none());
    for path in [
        adele.clone(),
        format!("{adele}/sendMail"),
        format!("{adele}/drive"),
    ] {
        let method = if path.ends_with("sendMail") {
            Method::POST
        } else {
            Method::GET
        };
        let body = (method == Method::POST).then(|| mail("x@fabrikam.com"));
        let r = call(&idp, method, &ungranted, &path, body).await;
        assert_graph(
            &r,
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Either scp or roles claim need to be present in the token.",
        );
    }
    // Mail only: files and mail reading are refused, sending works.
    let mail_only = app_token(&idp, defaults::APP_ONLY_MAIL_CLIENT_ID).await;
    let drive = call(
        &idp,
        Method::GET,
        &mail_only,
        &format!("{adele}/drive"),
        None,
    )
    .await;
    assert_graph(
        &drive,
        StatusCode::FORBIDDEN,
        "accessDenied",
        "Insufficient privileges",
    );
    let folder = call(
        &idp,
        Method::GET,
        &mail_only,
        &format!("{adele}/mailFolders/inbox"),
        None,
    )
    .await;
    assert_graph(
        &folder,
        StatusCode::FORBIDDEN,
        "ErrorAccessDenied",
        "Access is denied",
    );
    let draft = call(
        &idp,
        Method::POST,
        &mail_only,
        &format!("{adele}/messages"),
        Some(mail("x@fabrikam.com")["message"].clone()),
    )
    .await;
    assert_graph(
        &draft,
        StatusCode::FORBIDDEN,
        "ErrorAccessDenied",
        "Access is denied",
    );
    let site = call(
        &idp,
        Method::GET,
        &mail_only,
        &format!("/v1.0/sites/{}", defaults::SITE_ID),
        None,
    )
    .await;
    assert_graph(
        &site,
        StatusCode::FORBIDDEN,
        "accessDenied",
        "Insufficient privileges",
    );
    let sent = call(
        &idp,
        Method::POST,
        &mail_only,
        &format!("{adele}/sendMail"),
        Some(mail("x@fabrikam.com")),
    )
    .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
}

#[tokio::test]
async fn a_delegated_token_keeps_its_rules_under_users() {
    let idp = start().await;
    let t = idp
        .issue_access_token(
            defaults::USER_UPN,
            &["User.Read", "Mail.ReadWrite", "Mail.Send"],
        )
        .unwrap();
    let own = call(
        &idp,
        Method::GET,
        &t,
        &format!("/v1.0/users/{}", defaults::USER_UPN),
        None,
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let other = call(
        &idp,
        Method::GET,
        &t,
        &format!("/v1.0/users/{}", defaults::NO_MAIL_USER_UPN),
        None,
    )
    .await;
    assert_graph(
        &other,
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges",
    );
    let other_draft = call(
        &idp,
        Method::POST,
        &t,
        &format!("/v1.0/users/{}/messages", defaults::NO_MAIL_USER_UPN),
        Some(mail("x@fabrikam.com")["message"].clone()),
    )
    .await;
    assert_graph(
        &other_draft,
        StatusCode::FORBIDDEN,
        "ErrorAccessDenied",
        "Access is denied",
    );
    let own_draft = call(
        &idp,
        Method::POST,
        &t,
        &format!("/v1.0/users/{}/messages", defaults::USER_MAIL),
        Some(mail("x@fabrikam.com")["message"].clone()),
    )
    .await;
    assert_eq!(own_draft.status, StatusCode::CREATED, "{}", own_draft.body);
}

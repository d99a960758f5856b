//! The mock against Microsoft Graph's documented contract: every documented address of a
//! drive and its items, Graph's error shape for every refusal (unknown paths included),
//! property names matched without regard to case, the documented defaults, and a token
//! sent to an upload URL answered with 401 (never a reset connection).

use atrs_mock_idp::{defaults, MockIdp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{client, reply, start, Reply};

const CLIENT_REQUEST_ID: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

fn token(idp: &MockIdp, scopes: &[&str]) -> String {
    idp.issue_access_token(defaults::USER_UPN, scopes)
        .expect("token")
}

/// One Graph call with a bearer token and a `client-request-id`.
async fn call(
    idp: &MockIdp,
    method: Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut r = client()
        .request(method, format!("{}{path}", idp.base_url()))
        .bearer_auth(token)
        .header("client-request-id", CLIENT_REQUEST_ID);
    r = match body {
        Some(v) => r.json(&v),
        None => r.header("content-length", "0"),
    };
    reply(r.send().await.expect("request")).await
}

async fn put_bytes(idp: &MockIdp, token: &str, path: &str, bytes: &'static [u8]) -> Reply {
    let r = client()
        .put(format!("{}{path}", idp.base_url()))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .expect("request");
    reply(r).await
}

async fn put_range(url: &str, bytes: Vec<u8>, start: usize, total: usize) -> Reply {
    let end = start + bytes.len() - 1;
    let r = client()
        .put(url)
        .header("Content-Range", format!("bytes {start}-{end}/{total}"))
        .body(bytes)
        .send()
        .await
        .expect("request");
    reply(r).await
}

/// Graph's error shape: `{"error":{"code","message","innerError":{"request-id","date",
/// "client-request-id"}}}`, the request id also as a header.
fn assert_graph_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let error = &r.body["error"];
    assert_eq!(error["code"], code, "{}", r.body);
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        r.body
    );
    let inner = &error["innerError"];
    let request_id = inner["request-id"].as_str().expect("request-id");
    assert!(!request_id.is_empty());
    assert!(
        inner["date"].as_str().is_some_and(|d| d.len() >= 19),
        "{}",
        r.body
    );
    assert!(inner["client-request-id"].is_string(), "{}", r.body);
    assert_eq!(
        r.headers.get("request-id").and_then(|v| v.to_str().ok()),
        Some(request_id)
    );
}

#[tokio::test]
async fn the_drive_answers_at_every_documented_address() {
    let idp = start().await;
    let t = token(&idp, &["Files.ReadWrite", "Sites.ReadWrite.All"]);
    let me = call(&idp, Method::GET, &t, "/v1.0/me/drive", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let id = me.body["id"].as_str().expect("drive id").to_owned();
    assert_eq!(me.body["driveType"], "business");
    assert_eq!(me.body["owner"]["user"]["id"], defaults::USER_ID);
    for path in [
        format!("/v1.0/users/{}/drive", defaults::USER_ID),
        format!("/v1.0/users/{}/drive", defaults::USER_UPN),
        format!("/v1.0/drives/{id}"),
    ] {
        let r = call(&idp, Method::GET, &t, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(r.body["id"], id.as_str(), "{path}");
    }
    let site = call(
        &idp,
        Method::GET,
        &t,
        &format!("/v1.0/sites/{}/drive", defaults::SITE_ID),
        None,
    )
    .await;
    assert_eq!(site.status, StatusCode::OK, "{}", site.body);
    let site_drive = site.body["id"].as_str().unwrap().to_owned();
    assert_ne!(site_drive, id);
    let by_path = call(
        &idp,
        Method::GET,
        &t,
        &format!(
            "/v1.0/sites/{}:{}:/drive",
            defaults::SITE_HOST,
            defaults::SITE_PATH
        ),
        None,
    )
    .await;
    assert_eq!(by_path.body["id"], site_drive.as_str(), "{}", by_path.body);
    let r = call(
        &idp,
        Method::GET,
        &t,
        &format!("/v1.0/drives/{site_drive}"),
        None,
    )
    .await;
    assert_eq!(r.body["id"], site_drive.as_str());
}

#[tokio::test]
async fn items_are_reached_by_path_by_id_and_under_a_parent_id() {
    let idp = start().await;
    let t = token(&idp, &["Files.ReadWrite"]);
    let drive = call(&idp, Method::GET, &t, "/v1.0/me/drive", None)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = call(&idp, Method::GET, &t, "/v1.0/me/drive/root", None).await;
    assert_eq!(root.status, StatusCode::OK);
    assert!(root.body["root"].is_object(), "{}", root.body);
    let root_id = root.body["id"].as_str().unwrap().to_owned();
    let same = call(
        &idp,
        Method::GET,
        &t,
        &format!("/v1.0/drives/{drive}/root"),
        None,
    )
    .await;
    assert_eq!(same.body["id"], root_id.as_str());

    // …/root:/path:/content
    let a = put_bytes(
        &idp,
        &t,
        "/v1.0/me/drive/root:/Reports/a.csv:/content",
        b"a",
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a_id = a.body["id"].as_str().unwrap().to_owned();
    assert_eq!(a.body["parentReference"]["driveId"], drive.as_str());
    let reports = a.body["parentReference"]["id"].as_str().unwrap().to_owned();

    // …/items/{item-id} and …/root:/path:
    for path in [
        format!("/v1.0/drives/{drive}/items/{a_id}"),
        format!("/v1.0/me/drive/items/{a_id}"),
        "/v1.0/me/drive/root:/Reports/a.csv:".to_owned(),
        "/v1.0/me/drive/root:/Reports/a.csv".to_owned(),
        format!(
            "/v1.0/users/{}/drive/root:/Reports/a.csv:",
            defaults::USER_ID
        ),
        format!("/v1.0/drives/{drive}/items/{reports}:/a.csv:"),
        format!("/v1.0/me/drive/items/{root_id}:/Reports/a.csv:"),
    ] {
        let r = call(&idp, Method::GET, &t, &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(r.body["id"], a_id.as_str(), "{path}");
    }
    let folder = call(&idp, Method::GET, &t, "/v1.0/me/drive/root:/Reports:", None).await;
    assert_eq!(folder.body["id"], reports.as_str());
    assert_eq!(folder.body["folder"]["childCount"], 1);

    // …/items/{parent-id}:/name:/content
    let b = put_bytes(
        &idp,
        &t,
        &format!("/v1.0/drives/{drive}/items/{reports}:/b.csv:/content"),
        b"bb",
    )
    .await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    assert_eq!(b.body["parentReference"]["id"], reports.as_str());
    // …/items/{item-id}/content replaces that file, keeping its id.
    let again = put_bytes(
        &idp,
        &t,
        &format!(
            "/v1.0/users/{}/drive/items/{a_id}/content",
            defaults::USER_UPN
        ),
        b"a2",
    )
    .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["id"], a_id.as_str());
    assert_eq!(again.body["size"], 2);
    let mut names: Vec<String> = idp
        .drive_items()
        .iter()
        .map(|i| format!("{}/{}", i.folder, i.name))
        .collect();
    names.sort();
    assert_eq!(names, ["Reports/a.csv", "Reports/b.csv"]);
}

#[tokio::test]
async fn upload_sessions_open_at_every_form_and_default_to_fail() {
    let idp = start().await;
    let t = token(&idp, &["Files.ReadWrite", "Sites.ReadWrite.All"]);
    let drive = call(&idp, Method::GET, &t, "/v1.0/me/drive", None)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = call(&idp, Method::GET, &t, "/v1.0/me/drive/root", None)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let content = vec![7u8; 1000];

    // …/root:/path:/createUploadSession with no body at all.
    let path = format!("/v1.0/drives/{drive}/root:/big.bin:/createUploadSession");
    let s = call(&idp, Method::POST, &t, &path, None).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(s.body["nextExpectedRanges"], json!(["0-"]));
    let done = put_range(
        s.body["uploadUrl"].as_str().unwrap(),
        content.clone(),
        0,
        1000,
    )
    .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.body);
    let id = done.body["id"].as_str().unwrap().to_owned();

    // The documented default is `fail`: the same name again is refused.
    let taken = call(&idp, Method::POST, &t, &path, Some(json!({}))).await;
    assert_graph_error(&taken, StatusCode::CONFLICT, "nameAlreadyExists");
    let taken = call(
        &idp,
        Method::POST,
        &t,
        &path,
        Some(json!({"item": {"name": "big.bin"}})),
    )
    .await;
    assert_graph_error(&taken, StatusCode::CONFLICT, "nameAlreadyExists");

    // …/items/{parent-id}:/name:/createUploadSession, behaviour named in any case.
    let under = call(
        &idp,
        Method::POST,
        &t,
        &format!("/v1.0/me/drive/items/{root}:/big.bin:/createUploadSession"),
        Some(json!({"Item": {"@Microsoft.Graph.ConflictBehavior": "rename"}})),
    )
    .await;
    assert_eq!(under.status, StatusCode::OK, "{}", under.body);
    let renamed = put_range(
        under.body["uploadUrl"].as_str().unwrap(),
        content.clone(),
        0,
        1000,
    )
    .await;
    assert_eq!(renamed.body["name"], "big 1.bin", "{}", renamed.body);

    // …/items/{item-id}/createUploadSession updates that file.
    let update = call(
        &idp,
        Method::POST,
        &t,
        &format!("/v1.0/me/drive/items/{id}/createUploadSession"),
        None,
    )
    .await;
    assert_eq!(update.status, StatusCode::OK, "{}", update.body);
    let updated = put_range(
        update.body["uploadUrl"].as_str().unwrap(),
        vec![1u8; 10],
        0,
        10,
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["id"], id.as_str());
    assert_eq!(updated.body["size"], 10);

    // The site's drive, by site id and under its root's id.
    let site_root = call(
        &idp,
        Method::GET,
        &t,
        &format!("/v1.0/sites/{}/drive/root", defaults::SITE_ID),
        None,
    )
    .await;
    let site_root = site_root.body["id"].as_str().unwrap().to_owned();
    let s = call(
        &idp,
        Method::POST,
        &t,
        &format!(
            "/v1.0/sites/{}/drive/items/{site_root}:/s.bin:/createUploadSession",
            defaults::SITE_ID
        ),
        None,
    )
    .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    let stored = put_range(s.body["uploadUrl"].as_str().unwrap(), content, 0, 1000).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.body);
    assert!(idp
        .drive_items()
        .iter()
        .any(|i| i.drive == defaults::SITE_ID && i.name == "s.bin"));
}

#[tokio::test]
async fn every_refusal_has_graph_s_error_shape() {
    let idp = start().await;
    let t = token(&idp, &["Files.ReadWrite", "Mail.Send"]);
    let cases: Vec<(Method, String, StatusCode, &str)> = vec![
        (
            Method::GET,
            "/v1.0/nonsense".into(),
            StatusCode::BAD_REQUEST,
            "BadRequest",
        ),
        (
            Method::GET,
            "/v1.0/me/nonsense".into(),
            StatusCode::BAD_REQUEST,
            "BadRequest",
        ),
        (
            Method::GET,
            "/v1.0/me/drive/root/children".into(),
            StatusCode::BAD_REQUEST,
            "BadRequest",
        ),
        (
            Method::GET,
            "/nothing/here".into(),
            StatusCode::NOT_FOUND,
            "NotFound",
        ),
        (
            Method::GET,
            "/v1.0/me/sendMail".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "BadRequest",
        ),
        (
            Method::GET,
            "/v1.0/drives/b!nope".into(),
            StatusCode::NOT_FOUND,
            "itemNotFound",
        ),
        (
            Method::GET,
            "/v1.0/me/drive/items/nope".into(),
            StatusCode::NOT_FOUND,
            "itemNotFound",
        ),
        (
            Method::GET,
            "/v1.0/me/drive/root:/missing.pdf:".into(),
            StatusCode::NOT_FOUND,
            "itemNotFound",
        ),
        (
            Method::GET,
            format!("/v1.0/users/{}/drive", defaults::NO_MAIL_USER_UPN),
            StatusCode::FORBIDDEN,
            "accessDenied",
        ),
        (
            Method::GET,
            "/v1.0/users/nobody@contoso.onmicrosoft.com/drive".into(),
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
        ),
        (
            Method::PUT,
            "/v1.0/me/drive/root/content".into(),
            StatusCode::BAD_REQUEST,
            "invalidRequest",
        ),
        (
            Method::GET,
            "/upload/no-such-session".into(),
            StatusCode::NOT_FOUND,
            "itemNotFound",
        ),
    ];
    for (method, path, status, code) in cases {
        let r = call(&idp, method.clone(), &t, &path, None).await;
        assert_graph_error(&r, status, code);
        assert_eq!(
            r.body["error"]["innerError"]["client-request-id"], CLIENT_REQUEST_ID,
            "{method} {path}"
        );
    }
    let segment = call(&idp, Method::GET, &t, "/v1.0/me/nonsense", None).await;
    assert_eq!(
        segment.body["error"]["message"],
        "Resource not found for the segment 'nonsense'."
    );
    let no_token = reply(
        client()
            .get(format!("{}/v1.0/me/drive", idp.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_graph_error(
        &no_token,
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
    );
}

#[tokio::test]
async fn property_and_parameter_names_are_matched_without_regard_to_case() {
    let idp = start().await;
    let t = token(&idp, &["Mail.Send", "Mail.ReadWrite", "Files.ReadWrite"]);
    // Graph's own sendMail sample spells the parameters this way.
    let r = call(
        &idp,
        Method::POST,
        &t,
        "/v1.0/me/sendMail",
        Some(json!({
            "Message": {
                "Subject": "Report",
                "Body": {"ContentType": "Text", "Content": "Attached."},
                "ToRecipients": [{"EmailAddress": {"Address": "boss@contoso.com"}}],
            },
            "SaveToSentItems": "false",
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let sent = idp.sent_items();
    assert_eq!(sent[0].subject, "Report");
    assert_eq!(sent[0].to[0].address, "boss@contoso.com");

    let draft = call(
        &idp,
        Method::POST,
        &t,
        "/v1.0/me/messages",
        Some(json!({"Subject": "d"})),
    )
    .await;
    let id = draft.body["id"].as_str().unwrap().to_owned();
    for item in ["AttachmentItem", "attachmentItem"] {
        let s = call(
            &idp,
            Method::POST,
            &t,
            &format!("/v1.0/me/messages/{id}/attachments/createUploadSession"),
            Some(json!({item: {"AttachmentType": "file", "Name": "r.pdf", "Size": 10}})),
        )
        .await;
        assert_eq!(s.status, StatusCode::CREATED, "{item}: {}", s.body);
        // Graph documents the first range of an attachment session as "0-".
        assert_eq!(s.body["nextExpectedRanges"], json!(["0-"]));
    }
    let kept = put_bytes(&idp, &t, "/v1.0/me/drive/root:/k.txt:/content", b"one").await;
    assert_eq!(kept.status, StatusCode::CREATED);
    let refused = put_bytes(
        &idp,
        &t,
        "/v1.0/me/drive/root:/k.txt:/content?@Microsoft.Graph.ConflictBehavior=fail",
        b"two",
    )
    .await;
    assert_graph_error(&refused, StatusCode::CONFLICT, "nameAlreadyExists");
}

#[tokio::test]
async fn a_token_sent_to_an_upload_url_gets_401_even_with_a_large_fragment() {
    let idp = start().await;
    let t = token(&idp, &["Files.ReadWrite"]);
    let s = call(
        &idp,
        Method::POST,
        &t,
        "/v1.0/me/drive/root:/large.bin:/createUploadSession",
        None,
    )
    .await;
    let url = s.body["uploadUrl"].as_str().unwrap().to_owned();
    let fragment = 32 * 320 * 1024; // 10 MiB: far more than a socket buffer holds
    let total = fragment * 2;
    let r = client()
        .put(&url)
        .bearer_auth(&t)
        .header("Content-Range", format!("bytes 0-{}/{total}", fragment - 1))
        .body(vec![1u8; fragment])
        .send()
        .await
        .expect("an answer, not a reset connection");
    let r = reply(r).await;
    assert_graph_error(&r, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken");
    assert!(r.headers.contains_key("www-authenticate"));
    let c = idp.upload_counters();
    assert_eq!(c.authorized_puts, 1);
    assert_eq!(c.bytes_accepted, 0);
    // Without the token the same fragment is taken.
    let ok = put_range(&url, vec![1u8; fragment], 0, total).await;
    assert_eq!(ok.status, StatusCode::ACCEPTED, "{}", ok.body);
}

#[tokio::test]
async fn requests_in_flight_are_counted_per_mailbox_with_their_user_agent() {
    let idp = start().await;
    let t = token(&idp, &["Files.ReadWrite"]);
    idp.set_fault(
        atrs_mock_idp::Endpoint::Graph,
        atrs_mock_idp::Fault::Delay(std::time::Duration::from_millis(300)),
    );
    let url = format!("{}/v1.0/me/drive", idp.base_url());
    let calls = (0..6).map(|_| {
        client()
            .get(&url)
            .bearer_auth(&t)
            .header("user-agent", "ISV|Contoso|Probe/1.0")
            .send()
    });
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.unwrap().status(), StatusCode::OK);
    }
    let stats = idp.stats();
    assert_eq!(stats.account(defaults::USER_UPN).max_in_flight, 6);
    assert_eq!(stats.account(defaults::NO_MAIL_USER_UPN).max_in_flight, 0);
    assert!(stats
        .requests
        .iter()
        .all(|r| r.user_agent.as_deref() == Some("ISV|Contoso|Probe/1.0")));
}

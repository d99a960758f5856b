//! Graph deliveries: sendMail, drafts with attachment upload sessions, drive uploads, the
//! SharePoint site lookup, their errors and faults, and what `/_mock` reads back.

use atrs_mock_idp::{defaults, DeliveryFaults, MockIdp};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{client, reply, start, Reply};

const UNIT: usize = 320 * 1024;

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn token(idp: &MockIdp, scopes: &[&str]) -> String {
    idp.issue_access_token(defaults::USER_UPN, scopes)
        .expect("token")
}

async fn post(idp: &MockIdp, token: &str, path: &str, body: Value) -> Reply {
    let r = client()
        .post(format!("{}{path}", idp.base_url()))
        .bearer_auth(token)
        .header("client-request-id", "11111111-2222-4333-8444-555555555555")
        .json(&body)
        .send()
        .await
        .expect("request");
    reply(r).await
}

async fn put_range(url: &str, bytes: &[u8], start: usize, total: usize) -> Reply {
    let end = start + bytes.len() - 1;
    let r = client()
        .put(url)
        .header("Content-Range", format!("bytes {start}-{end}/{total}"))
        .body(bytes.to_vec())
        .send()
        .await
        .expect("request");
    reply(r).await
}

fn message(to: &str, attachments: Value) -> Value {
    json!({"message": {
        "subject": "Report",
        "body": {"contentType": "Text", "content": "Attached."},
        "toRecipients": [{"emailAddress": {"address": to}}],
        "attachments": attachments,
    }, "saveToSentItems": true})
}

fn assert_graph_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["error"]["code"], code, "{}", r.body);
    let inner = &r.body["error"]["innerError"];
    assert!(inner["request-id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(inner["date"].as_str().is_some());
    assert_eq!(
        r.headers.get("request-id").and_then(|v| v.to_str().ok()),
        inner["request-id"].as_str()
    );
}

#[tokio::test]
async fn send_mail_inline_stores_the_attachment_hash_and_echoes_the_client_request_id() {
    let idp = start().await;
    let t = token(&idp, &["Mail.Send"]);
    let content = b"col1,col2\n1,2\n".repeat(1000);
    let r = post(
        &idp,
        &t,
        "/v1.0/me/sendMail",
        message(
            "boss@contoso.com",
            json!([{"@odata.type": "#microsoft.graph.fileAttachment", "name": "r.csv",
                    "contentType": "text/csv", "contentBytes": STANDARD.encode(&content)}]),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        r.headers.get("client-request-id").unwrap(),
        "11111111-2222-4333-8444-555555555555"
    );
    let sent = idp.sent_items();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].from, defaults::USER_MAIL);
    assert_eq!(sent[0].attachments[0].sha256, sha(&content));
    assert_eq!(sent[0].attachments[0].via, "inline");
}

#[tokio::test]
async fn mail_errors_are_the_ones_graph_gives() {
    let idp = start().await;
    let no_send = token(&idp, &["User.Read"]);
    let r = post(
        &idp,
        &no_send,
        "/v1.0/me/sendMail",
        message("a@b.com", json!([])),
    )
    .await;
    assert_graph_error(&r, StatusCode::FORBIDDEN, "ErrorAccessDenied");
    assert_eq!(
        r.body["error"]["innerError"]["client-request-id"],
        "11111111-2222-4333-8444-555555555555"
    );

    let t = token(&idp, &["Mail.Send"]);
    let r = post(
        &idp,
        &t,
        &format!("/v1.0/users/{}/sendMail", defaults::SEND_AS_DENIED_MAILBOX),
        message("a@b.com", json!([])),
    )
    .await;
    assert_graph_error(&r, StatusCode::FORBIDDEN, "ErrorSendAsDenied");
    let r = post(
        &idp,
        &t,
        &format!("/v1.0/users/{}/sendMail", defaults::SEND_AS_MAILBOX),
        message("a@b.com", json!([])),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(idp.sent_items()[0].from, defaults::SEND_AS_MAILBOX);

    let r = post(
        &idp,
        &t,
        "/v1.0/me/sendMail",
        message(&format!("x@{}", defaults::UNRESOLVED_DOMAIN), json!([])),
    )
    .await;
    assert_graph_error(&r, StatusCode::BAD_REQUEST, "ErrorInvalidRecipients");

    let unlicensed = idp
        .issue_access_token(defaults::NO_MAIL_USER_UPN, &["Mail.Send"])
        .unwrap();
    let r = post(
        &idp,
        &unlicensed,
        "/v1.0/me/sendMail",
        message("a@b.com", json!([])),
    )
    .await;
    assert_graph_error(&r, StatusCode::NOT_FOUND, "MailboxNotEnabledForRESTAPI");
    assert_eq!(idp.sent_items().len(), 1);
}

#[tokio::test]
async fn a_draft_takes_a_large_attachment_in_4_mb_puts_and_is_sent() {
    let idp = start().await;
    let t = token(&idp, &["Mail.Send", "Mail.ReadWrite"]);
    let draft = post(
        &idp,
        &t,
        "/v1.0/me/messages",
        message("a@b.com", json!([]))["message"].clone(),
    )
    .await;
    assert_eq!(draft.status, StatusCode::CREATED);
    let id = draft.body["id"].as_str().unwrap().to_owned();
    let content: Vec<u8> = (0..9_000_000u32).map(|i| (i % 251) as u8).collect();
    let session = post(
        &idp,
        &t,
        &format!("/v1.0/me/messages/{id}/attachments/createUploadSession"),
        json!({"AttachmentItem": {"attachmentType": "file", "name": "big.pdf", "size": content.len()}}),
    )
    .await;
    assert_eq!(session.status, StatusCode::CREATED, "{}", session.body);
    assert_eq!(session.body["nextExpectedRanges"], json!(["0-"]));
    let url = session.body["uploadUrl"].as_str().unwrap().to_owned();

    let too_big = put_range(&url, &content[..5_000_000], 0, content.len()).await;
    assert_graph_error(&too_big, StatusCode::BAD_REQUEST, "invalidRange");
    let with_auth = client()
        .put(&url)
        .bearer_auth(&t)
        .header("Content-Range", format!("bytes 0-9/{}", content.len()))
        .body(content[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(with_auth.status(), StatusCode::UNAUTHORIZED);

    let chunk = 4 * 1024 * 1024;
    let mut start_at = 0;
    while start_at < content.len() {
        let end = (start_at + chunk).min(content.len());
        let r = put_range(&url, &content[start_at..end], start_at, content.len()).await;
        if end < content.len() {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert_eq!(r.body["nextExpectedRanges"], json!([end.to_string()]));
        } else {
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            assert!(r.headers.get("location").is_some());
        }
        start_at = end;
    }
    let again = put_range(&url, &content[..10], 0, content.len()).await;
    assert_eq!(
        again.status,
        StatusCode::NOT_FOUND,
        "a completed session is gone"
    );
    let r = post(&idp, &t, &format!("/v1.0/me/messages/{id}/send"), json!({})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let sent = idp.sent_items();
    assert_eq!(sent[0].attachments[0].sha256, sha(&content));
    assert_eq!(sent[0].attachments[0].via, "session");
    assert!(idp.drafts().is_empty());
    assert_eq!(idp.upload_counters().authorized_puts, 1);
}

#[tokio::test]
async fn drafts_need_mail_readwrite_and_can_be_deleted() {
    let idp = start().await;
    let send_only = token(&idp, &["Mail.Send"]);
    let r = post(
        &idp,
        &send_only,
        "/v1.0/me/messages",
        json!({"subject": "x"}),
    )
    .await;
    assert_graph_error(&r, StatusCode::FORBIDDEN, "ErrorAccessDenied");
    let t = token(&idp, &["Mail.Send", "Mail.ReadWrite"]);
    let r = post(&idp, &t, "/v1.0/me/messages", json!({"subject": "x"})).await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(idp.drafts().len(), 1);
    let d = client()
        .delete(format!("{}/v1.0/me/messages/{id}", idp.base_url()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), StatusCode::NO_CONTENT);
    assert!(idp.drafts().is_empty());
}

#[tokio::test]
async fn drive_sessions_check_fragments_resume_and_cancel() {
    let idp = start().await;
    let t = token(&idp, &["Files.ReadWrite"]);
    let content: Vec<u8> = (0..(UNIT * 7 + 1000)).map(|i| (i % 253) as u8).collect();
    let path = "/v1.0/me/drive/root:/Reports/2026/big file.bin:/createUploadSession";
    let s = post(
        &idp,
        &t,
        path,
        json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}}),
    )
    .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.body);
    assert_eq!(s.body["nextExpectedRanges"], json!(["0-"]));
    let url = s.body["uploadUrl"].as_str().unwrap().to_owned();
    let total = content.len();

    let odd = put_range(&url, &content[..1000], 0, total).await;
    assert_graph_error(&odd, StatusCode::BAD_REQUEST, "invalidRange");
    let r = put_range(&url, &content[..UNIT * 2], 0, total).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(
        r.body["nextExpectedRanges"],
        json!([format!("{}-", UNIT * 2)])
    );
    let overlap = put_range(&url, &content[..UNIT], 0, total).await;
    assert_graph_error(&overlap, StatusCode::RANGE_NOT_SATISFIABLE, "invalidRange");

    idp.set_delivery_faults(DeliveryFaults {
        fail_chunk_at: Some(1),
        ..Default::default()
    });
    let failed = put_range(&url, &content[UNIT * 2..UNIT * 6], UNIT * 2, total).await;
    assert_graph_error(
        &failed,
        StatusCode::INTERNAL_SERVER_ERROR,
        "generalException",
    );
    let status = reply(client().get(&url).send().await.unwrap()).await;
    assert_eq!(
        status.body["nextExpectedRanges"],
        json!([format!("{}-", UNIT * 4)])
    );
    let r = put_range(&url, &content[UNIT * 4..], UNIT * 4, total).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["size"], total);
    let items = idp.drive_items();
    assert_eq!(items[0].sha256, sha(&content));
    assert_eq!(items[0].folder, "Reports/2026");
    assert_eq!(items[0].name, "big file.bin");
    let c = idp.upload_counters();
    assert_eq!(c.bytes_accepted, total as u64);
    assert_eq!(c.refused_ranges, 1);

    let again = post(
        &idp,
        &t,
        path,
        json!({"item": {"@microsoft.graph.conflictBehavior": "fail"}}),
    )
    .await;
    assert_graph_error(&again, StatusCode::CONFLICT, "nameAlreadyExists");
    let renamed = post(
        &idp,
        &t,
        path,
        json!({"item": {"@microsoft.graph.conflictBehavior": "rename"}}),
    )
    .await;
    let url = renamed.body["uploadUrl"].as_str().unwrap().to_owned();
    assert_eq!(idp.open_upload_sessions(), 1);
    let d = client().delete(&url).send().await.unwrap();
    assert_eq!(d.status(), StatusCode::NO_CONTENT);
    assert_eq!(idp.open_upload_sessions(), 0);
    assert_eq!(idp.upload_counters().sessions_cancelled, 1);
}

#[tokio::test]
async fn simple_uploads_sites_quota_locks_and_scopes() {
    let idp = start().await;
    let t = token(&idp, &["Files.ReadWrite"]);
    let url = format!(
        "{}/v1.0/me/drive/root:/Reports/a.csv:/content",
        idp.base_url()
    );
    let put = |url: String, token: String, body: &'static [u8]| async move {
        reply(
            client()
                .put(url)
                .bearer_auth(token)
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let r = put(url.clone(), t.clone(), b"hello").await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.body["webUrl"]
        .as_str()
        .unwrap()
        .ends_with("/Reports/a.csv"));
    let r = put(url.clone(), t.clone(), b"hello again").await;
    assert_eq!(r.status, StatusCode::OK, "replace is the default");
    let r = put(
        format!("{url}?@microsoft.graph.conflictBehavior=fail"),
        t.clone(),
        b"x",
    )
    .await;
    assert_graph_error(&r, StatusCode::CONFLICT, "nameAlreadyExists");
    assert_eq!(idp.drive_items()[0].sha256, sha(b"hello again"));

    idp.set_delivery_faults(DeliveryFaults {
        quota_bytes: Some(3),
        locked: ["Reports/locked.csv".to_owned()].into(),
        ..Default::default()
    });
    let r = put(url.replace("a.csv", "b.csv"), t.clone(), b"too big").await;
    assert_graph_error(&r, StatusCode::INSUFFICIENT_STORAGE, "quotaLimitReached");
    let r = put(url.replace("a.csv", "locked.csv"), t.clone(), b"x").await;
    assert_graph_error(&r, StatusCode::LOCKED, "resourceLocked");

    let mail_only = token(&idp, &["Mail.Send"]);
    let r = put(url.clone(), mail_only.clone(), b"x").await;
    assert_graph_error(&r, StatusCode::FORBIDDEN, "accessDenied");

    let sites = token(&idp, &["Sites.ReadWrite.All"]);
    let site = |path: &str| {
        format!(
            "{}/v1.0/sites/{}:{path}",
            idp.base_url(),
            defaults::SITE_HOST
        )
    };
    let r = reply(
        client()
            .get(site("/sites/Nope"))
            .bearer_auth(&sites)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_graph_error(&r, StatusCode::NOT_FOUND, "itemNotFound");
    let r = reply(
        client()
            .get(site(defaults::SITE_PATH))
            .bearer_auth(&sites)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.body["id"], defaults::SITE_ID);
    let r = reply(
        client()
            .get(site(defaults::SITE_PATH))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_graph_error(&r, StatusCode::FORBIDDEN, "accessDenied");
    idp.set_delivery_faults(DeliveryFaults::default());
    let in_site = format!(
        "{}/v1.0/sites/{}/drive/root:/Archive/s.csv:/content",
        idp.base_url(),
        defaults::SITE_ID
    );
    let r = put(in_site, sites, b"site").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(idp
        .drive_items()
        .iter()
        .any(|i| i.drive == defaults::SITE_ID));
}

#[tokio::test]
async fn control_endpoints_read_back_and_mint_tokens() {
    let idp = start().await;
    let minted = reply(
        client()
            .post(format!("{}/_mock/tokens", idp.base_url()))
            .json(&json!({"upn": defaults::USER_UPN, "scopes": "Files.ReadWrite"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let t = minted.body["access_token"].as_str().unwrap().to_owned();
    let url = format!("{}/v1.0/me/drive/root:/x.txt:/content", idp.base_url());
    client()
        .put(url)
        .bearer_auth(&t)
        .body("abc")
        .send()
        .await
        .unwrap();
    let drive = reply(
        client()
            .get(format!("{}/_mock/drive", idp.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(drive.body["items"][0]["sha256"], sha(b"abc"));
    let faults = client()
        .post(format!("{}/_mock/delivery-faults", idp.base_url()))
        .json(&json!({"quota_bytes": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(faults.status(), StatusCode::OK);
    let uploads = reply(
        client()
            .get(format!("{}/_mock/uploads", idp.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(uploads.body["open_sessions"], 0);
    client()
        .delete(format!("{}/_mock/deliveries", idp.base_url()))
        .send()
        .await
        .unwrap();
    assert!(idp.drive_items().is_empty());
}

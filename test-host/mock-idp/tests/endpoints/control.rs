//! The `/_mock` HTTP control surface, for a server in another process.

use atrs_mock_idp::{defaults, MockConfig, MockIdp};
use serde_json::json;

use crate::common::*;

async fn control(
    idp: &MockIdp,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> Reply {
    reply(
        client()
            .request(method, format!("{}/_mock{path}", idp.base_url()))
            .body(if body.is_null() {
                String::new()
            } else {
                body.to_string()
            })
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn faults_outcomes_and_stats_over_http() {
    let idp = start().await;
    let r = control(
        &idp,
        reqwest::Method::POST,
        "/faults",
        json!({"endpoint": "discovery", "fault": {"kind": "status", "status": 503, "retry_after": 3}, "times": 1}),
    )
    .await;
    assert_eq!(r.body["ok"], true, "{:#}", r.body);
    let d = get(&format!(
        "{}/common/v2.0/.well-known/openid-configuration",
        idp.base_url()
    ))
    .await;
    assert_eq!(d.status, 503);
    assert_eq!(d.headers["retry-after"], "3");

    let r = control(
        &idp,
        reqwest::Method::POST,
        "/faults",
        json!({"endpoint": "graph", "fault": {"kind": "html"}}),
    )
    .await;
    assert_eq!(r.body["ok"], true);
    let r = control(&idp, reqwest::Method::DELETE, "/faults", json!(null)).await;
    assert_eq!(r.body["ok"], true);
    assert_eq!(
        get(&format!("{}/v1.0/me", idp.base_url())).await.status,
        401
    );

    let bad = control(
        &idp,
        reqwest::Method::POST,
        "/faults",
        json!({"endpoint": "nowhere", "fault": {"kind": "html"}}),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["ok"], false);

    control(
        &idp,
        reqwest::Method::POST,
        "/outcome",
        json!({"outcome": "decline"}),
    )
    .await;
    let dc = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    let p = device_poll(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        dc["device_code"].as_str().unwrap(),
    )
    .await;
    assert_eq!(p.body["error"], "authorization_declined");

    control(
        &idp,
        reqwest::Method::POST,
        "/outcome/browser",
        json!({"outcome": "decline"}),
    )
    .await;
    let (_, challenge) = pkce();
    let loc = redirect_of(&desktop_authorize(&idp, "http://localhost", &challenge)).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("access_denied"));

    let stats = control(&idp, reqwest::Method::GET, "/stats", json!(null)).await;
    assert_eq!(stats.body["endpoints"]["device_code"], 1);
    assert_eq!(stats.body["grant_types"][DEVICE_GRANT], 1);
    assert!(stats.body["requests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| !r["path"].as_str().unwrap().starts_with("/_mock")));
    control(&idp, reqwest::Method::DELETE, "/stats", json!(null)).await;
    let stats = control(&idp, reqwest::Method::GET, "/stats", json!(null)).await;
    assert_eq!(stats.body["requests"], json!([]));

    let dir = control(&idp, reqwest::Method::GET, "/directory", json!(null)).await;
    assert_eq!(dir.body["tenants"][0]["id"], defaults::TENANT_ID);
}

#[tokio::test]
async fn device_codes_are_approved_declined_and_expired_over_http() {
    let idp = MockIdp::start(MockConfig {
        auto_approve_delay: std::time::Duration::from_secs(3600),
        ..fast()
    })
    .await
    .unwrap();
    let post = |path: String, body: serde_json::Value| {
        let idp = &idp;
        async move { control(idp, reqwest::Method::POST, &path, body).await }
    };
    let start = || device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID);
    let poll = |dc: String| {
        let idp = &idp;
        async move { device_poll(idp, "organizations", defaults::DESKTOP_CLIENT_ID, &dc).await }
    };

    let d = start().await;
    let uc = d["user_code"].as_str().unwrap();
    let r = post(
        format!("/device/{uc}/approve"),
        json!({"upn": defaults::NO_MAIL_USER_UPN}),
    )
    .await;
    assert_eq!(r.body["ok"], true, "{:#}", r.body);
    assert_eq!(
        poll(d["device_code"].as_str().unwrap().into()).await.status,
        200
    );
    let again = post(format!("/device/{uc}/approve"), json!(null)).await;
    assert_eq!(again.status, 409);

    let d = start().await;
    let uc = d["user_code"].as_str().unwrap();
    post(format!("/device/{uc}/decline"), json!(null)).await;
    assert_eq!(
        poll(d["device_code"].as_str().unwrap().into()).await.body["error"],
        "authorization_declined"
    );

    let d = start().await;
    let uc = d["user_code"].as_str().unwrap();
    post(format!("/device/{uc}/expire"), json!(null)).await;
    assert_eq!(
        poll(d["device_code"].as_str().unwrap().into()).await.body["error"],
        "expired_token"
    );

    let missing = post("/device/NOPE/approve".into(), json!(null)).await;
    assert_eq!(missing.status, 404);

    let r = post("/refresh-tokens/expire".into(), json!(null)).await;
    assert_eq!(r.body["expired"], 1);
    let r = post("/access-tokens/expire".into(), json!(null)).await;
    assert_eq!(r.body["expired"], 1);
}

#[test]
fn spawn_serves_sync_callers_and_stops_on_drop() {
    let idp = MockIdp::spawn(fast()).unwrap();
    let base = idp.base_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    let port = idp.port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(get(&format!(
        "{base}/common/v2.0/.well-known/openid-configuration"
    )));
    assert_eq!(r.status, 200);
    idp.shutdown();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "listener closed after shutdown"
    );
}

#[tokio::test]
async fn binds_loopback_only_and_reports_a_busy_port() {
    let idp = start().await;
    let busy = MockIdp::start(MockConfig {
        port: idp.port(),
        ..fast()
    })
    .await;
    assert!(matches!(busy, Err(atrs_mock_idp::MockError::Bind { .. })));
    #[cfg(target_os = "linux")]
    {
        // /proc/net/tcp lists listening sockets as "LOCAL_IP:PORT" in hex; 0100007F is 127.0.0.1.
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        let port = format!(":{:04X}", idp.port());
        let local: Vec<&str> = table
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1))
            .filter(|a| a.ends_with(&port))
            .collect();
        assert!(!local.is_empty(), "listener not found");
        assert!(local.iter().all(|a| a.starts_with("0100007F")), "{local:?}");
    }
}

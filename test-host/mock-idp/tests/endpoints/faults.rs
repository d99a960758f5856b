//! Each fault kind, observed with plain HTTP and raw TCP, and stats proving what was not requested.

use std::time::{Duration, Instant};

use atrs_mock_idp::{defaults, Endpoint, Fault, MockIdp, OVERSIZED_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

fn discovery(idp: &MockIdp) -> String {
    format!(
        "{}/organizations/v2.0/.well-known/openid-configuration",
        idp.base_url()
    )
}

/// Send a raw HTTP/1.1 GET for `path`; return what arrived and how the read ended.
async fn raw_get(idp: &MockIdp, path: &str) -> (Vec<u8>, std::io::Result<usize>) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", idp.port()))
        .await
        .unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("server answers or closes")
        {
            Ok(0) => break Ok(0),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break Err(e),
        }
    };
    (got, end)
}

#[tokio::test]
async fn delay_answers_normally_after_waiting() {
    let idp = start().await;
    idp.set_fault_times(
        Endpoint::Discovery,
        Fault::Delay(Duration::from_millis(300)),
        1,
    );
    let t0 = Instant::now();
    let r = get(&discovery(&idp)).await;
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(r.status, 200);
    assert!(r.body["token_endpoint"].is_string());
    assert_eq!(idp.stats().requests[0].fault.as_deref(), Some("delay"));
}

#[tokio::test]
async fn status_faults_use_each_endpoints_error_shape_with_retry_after() {
    let idp = start().await;
    idp.set_fault_times(
        Endpoint::Token,
        Fault::Status {
            status: 503,
            retry_after: Some(7),
        },
        1,
    );
    let r = post_form(
        &oauth(&idp, "organizations", "token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("refresh_token", "x"),
        ],
    )
    .await;
    assert_entra(&r, 503, "temporarily_unavailable", Some(90033));
    assert_eq!(r.headers["retry-after"], "7");
    idp.set_fault(
        Endpoint::Graph,
        Fault::Status {
            status: 500,
            retry_after: None,
        },
    );
    let r = get(&format!("{}/v1.0/me", idp.base_url())).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["error"]["code"], "generalException");
    assert!(r.headers.get("retry-after").is_none());
    idp.set_fault_times(
        Endpoint::Discovery,
        Fault::Status {
            status: 500,
            retry_after: None,
        },
        1,
    );
    let r = get(&discovery(&idp)).await;
    assert_entra(&r, 500, "server_error", Some(90033));
    assert_eq!(get(&discovery(&idp)).await.status, 200);
}

#[tokio::test]
async fn html_instead_of_json_with_200_or_an_error_status() {
    let idp = start().await;
    idp.set_fault_times(Endpoint::Discovery, Fault::Html, 1);
    let r = get(&discovery(&idp)).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("text/html"));
    assert!(r.body.is_null());
    idp.set_fault_times(Endpoint::DeviceCode, Fault::HtmlError { status: 502 }, 1);
    let r = post_form(
        &oauth(&idp, "organizations", "devicecode"),
        &[
            ("client_id", defaults::DESKTOP_CLIENT_ID),
            ("scope", SCOPES),
        ],
    )
    .await;
    assert_eq!(r.status, 502);
    assert!(r.content_type().starts_with("text/html"));
}

#[tokio::test]
async fn truncated_body_is_shorter_than_its_content_length() {
    let idp = start().await;
    idp.set_fault_times(Endpoint::Discovery, Fault::Truncated, 1);
    let (got, _) = raw_get(&idp, "/organizations/v2.0/.well-known/openid-configuration").await;
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text.split_once("\r\n\r\n").expect("a full head arrived");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let declared: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("content-length")
        .parse()
        .unwrap();
    assert!(
        !body.is_empty() && body.len() < declared,
        "{} of {declared}",
        body.len()
    );

    idp.set_fault_times(Endpoint::Discovery, Fault::Truncated, 1);
    let err = client()
        .get(discovery(&idp))
        .send()
        .await
        .unwrap()
        .text()
        .await;
    assert!(err.is_err(), "reqwest must notice the short body");
}

#[tokio::test]
async fn reset_closes_the_connection_without_a_response() {
    let idp = start().await;
    idp.set_fault_times(Endpoint::Token, Fault::Reset, 1);
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", idp.port()))
        .await
        .unwrap();
    let body = "grant_type=refresh_token&client_id=x&refresh_token=y";
    s.write_all(
        format!(
            "POST /common/oauth2/v2.0/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = [0u8; 1024];
    let end = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap();
    match end {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
        Ok(n) => assert_eq!(n, 0, "no response bytes may arrive"),
    }
    idp.set_fault_times(Endpoint::Graph, Fault::Reset, 1);
    assert!(client()
        .get(format!("{}/v1.0/me", idp.base_url()))
        .send()
        .await
        .is_err());
    let s = idp.stats();
    assert_eq!(s.requests[0].status, None);
    assert_eq!(s.requests[0].grant_type.as_deref(), Some("refresh_token"));
    assert_eq!(s.requests[0].fault.as_deref(), Some("reset"));
}

#[tokio::test]
async fn oversized_body_is_twenty_mebibytes_of_json() {
    let idp = start().await;
    idp.set_fault_times(Endpoint::Token, Fault::Oversized, 1);
    let r = client()
        .post(oauth(&idp, "organizations", "token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert_eq!(r.content_length(), Some(OVERSIZED_BYTES as u64));
    let bytes = r.bytes().await.unwrap();
    assert_eq!(bytes.len(), OVERSIZED_BYTES);
    assert!(bytes.starts_with(b"{\"padding\":\""));
}

#[tokio::test]
async fn faults_stop_after_their_count_or_when_cleared_and_hit_only_their_endpoint() {
    let idp = start().await;
    idp.set_fault_times(Endpoint::Discovery, Fault::Html, 2);
    idp.set_fault(Endpoint::Graph, Fault::Html);
    assert!(get(&discovery(&idp)).await.body.is_null());
    assert!(get(&discovery(&idp)).await.body.is_null());
    let keys = get(&format!("{}/common/discovery/v2.0/keys", idp.base_url())).await;
    assert!(keys.body.is_object());
    assert!(get(&discovery(&idp)).await.body.is_object());
    idp.clear_faults();
    let r = get(&format!("{}/v1.0/me", idp.base_url())).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn stats_prove_what_was_and_was_not_requested() {
    let idp = start().await;
    let r = device_start(&idp, "organizations", defaults::DESKTOP_CLIENT_ID).await;
    device_poll(
        &idp,
        "organizations",
        defaults::DESKTOP_CLIENT_ID,
        r["device_code"].as_str().unwrap(),
    )
    .await;
    let s = idp.stats();
    assert_eq!(s.count(Endpoint::DeviceCode), 1);
    assert_eq!(s.count(Endpoint::Token), 1);
    assert_eq!(s.grant_count(DEVICE_GRANT), 1);
    assert_eq!(s.grant_count("refresh_token"), 0);
    assert_eq!(s.count(Endpoint::Graph), 0, "no Graph call was made");
    assert_eq!(s.count(Endpoint::Authorize), 0);
    let rec = &s.requests[1];
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.path, "/organizations/oauth2/v2.0/token");
    assert_eq!(rec.status, Some(200));
    let log = serde_json::to_string(&s).unwrap();
    assert!(
        !log.contains(r["device_code"].as_str().unwrap()),
        "secrets never logged"
    );
    idp.reset_stats();
    assert_eq!(idp.stats().total(), 0);
}

#[tokio::test]
async fn reset_mid_body_sends_the_head_and_part_of_the_body_then_a_reset() {
    let idp = start().await;
    idp.set_fault_times(Endpoint::Discovery, Fault::ResetMidBody, 1);
    let (got, end) = raw_get(&idp, "/organizations/v2.0/.well-known/openid-configuration").await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
    let declared: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|n| n.parse().ok())
        .expect("content-length");
    assert!(body.len() < declared, "{} of {declared}", body.len());
    assert_eq!(end.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(
        idp.stats().requests[0].fault.as_deref(),
        Some("reset_mid_body")
    );
}

#[tokio::test]
async fn flood_is_chunked_without_a_length_and_exactly_that_long() {
    let idp = start().await;
    let bytes = 10 << 20;
    idp.set_fault_times(Endpoint::Token, Fault::Flood { bytes }, 1);
    let r = client()
        .post(oauth(&idp, "organizations", "token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.content_length(), None);
    assert_eq!(r.headers()["transfer-encoding"], "chunked");
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len(), bytes);
    assert!(body.starts_with(b"{\"padding\":\""));
}

#[tokio::test]
async fn go_down_answers_then_refuses_every_later_connection() {
    let idp = start().await;
    idp.set_fault_times(Endpoint::Discovery, Fault::GoDown, 1);
    let r = client().get(discovery(&idp)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["connection"], "close");
    assert!(r.json::<serde_json::Value>().await.unwrap()["token_endpoint"].is_string());
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", idp.port())).await {
            Err(e) => break e,
            Ok(_) if Instant::now() < deadline => tokio::task::yield_now().await,
            Ok(_) => panic!("the mock still accepts connections"),
        }
    };
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

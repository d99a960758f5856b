//! Fault injection per endpoint: the faults, their JSON, and what is armed where. The
//! middleware that applies them is [`crate::fault_injection`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::DEVICE_CODE_GRANT_TYPE;

/// An endpoint of the mock, as a fault target and a stats key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/{tenant}/v2.0/.well-known/openid-configuration`.
    Discovery,
    /// `/{tenant}/oauth2/v2.0/devicecode`.
    DeviceCode,
    /// `/{tenant}/oauth2/v2.0/authorize`.
    Authorize,
    /// `/{tenant}/oauth2/v2.0/token`.
    Token,
    /// Microsoft Graph under `/v1.0/`.
    Graph,
    /// `/oidc/userinfo`.
    UserInfo,
    /// `/{tenant}/discovery/v2.0/keys`.
    Keys,
    /// The `/devicelogin` pages.
    DeviceLogin,
    /// The sign-in, MFA and consent pages under `/login/`.
    SignIn,
    /// `/{tenant}/oauth2/v2.0/logout`.
    Logout,
    /// Upload URLs (`/upload/{id}`) of attachment and drive upload sessions.
    Upload,
}

impl Endpoint {
    /// Which endpoint a request path addresses.
    pub(crate) fn classify(path: &str) -> Option<Endpoint> {
        let e = if path.ends_with("/v2.0/.well-known/openid-configuration") {
            Endpoint::Discovery
        } else if path.ends_with("/oauth2/v2.0/devicecode") {
            Endpoint::DeviceCode
        } else if path.ends_with("/oauth2/v2.0/authorize") {
            Endpoint::Authorize
        } else if path.ends_with("/oauth2/v2.0/token") {
            Endpoint::Token
        } else if path.ends_with("/oauth2/v2.0/logout") {
            Endpoint::Logout
        } else if path.ends_with("/discovery/v2.0/keys") {
            Endpoint::Keys
        } else if path.starts_with("/upload/") {
            Endpoint::Upload
        } else if path.starts_with("/v1.0/") {
            Endpoint::Graph
        } else if path == "/oidc/userinfo" {
            Endpoint::UserInfo
        } else if path.starts_with("/devicelogin") {
            Endpoint::DeviceLogin
        } else if path.starts_with("/login/") {
            Endpoint::SignIn
        } else {
            return None;
        };
        Some(e)
    }
}

/// A misbehaviour to inject into an endpoint's responses.
///
/// As JSON (for `POST /_mock/faults`), tagged by `kind`: `{"kind":"delay","ms":1500}`,
/// `{"kind":"status","status":503,"retry_after":7}`, `{"kind":"html"}`,
/// `{"kind":"html_error","status":502}`, `{"kind":"truncated"}`, `{"kind":"reset"}`,
/// `{"kind":"oversized"}`, `{"kind":"slow_down","times":2}`, `{"kind":"reset_mid_body"}`,
/// `{"kind":"flood","bytes":10485760}`, `{"kind":"go_down"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Wait this long, then answer normally.
    Delay(#[serde(with = "delay_ms")] Duration),
    /// Answer with this status and the endpoint's error body (Entra JSON, Graph JSON, or an
    /// HTML page at /authorize), with `Retry-After` when given.
    Status {
        /// HTTP status, e.g. 500 or 503.
        #[serde(deserialize_with = "http_status")]
        status: u16,
        /// Seconds for `Retry-After`.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// `200 OK` with an HTML page where JSON was expected (a captive portal or proxy).
    Html,
    /// An HTML error page with this status (a gateway's 502/503 page).
    HtmlError {
        /// HTTP status.
        #[serde(deserialize_with = "http_status")]
        status: u16,
    },
    /// The real response with `Content-Length` as declared but only half the body, then close.
    Truncated,
    /// Close the socket with a TCP reset before any response byte (the request is not handled).
    Reset,
    /// `200 OK` with a 20 MiB JSON-looking body.
    Oversized,
    /// The real response's head and half its body, then a TCP reset (a connection cut
    /// mid-transfer, where [`Fault::Truncated`] closes it cleanly).
    ResetMidBody,
    /// `200 OK` JSON-looking, `bytes` long, sent chunked with no `Content-Length`, so only a
    /// client that counts what it reads stops it.
    Flood {
        /// Body size in bytes.
        bytes: usize,
    },
    /// Answer this request normally (with `Connection: close`), then stop listening: every
    /// later connection is refused, as from a server that went down.
    GoDown,
    /// Answer device-code polls with `slow_down` this many times (other requests pass).
    SlowDown {
        /// How many polls get `slow_down`.
        times: u32,
    },
}

/// Size of the [`Fault::Oversized`] body.
pub const OVERSIZED_BYTES: usize = 20 * 1024 * 1024;

impl Fault {
    /// A short name for logs and stats.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Delay(_) => "delay",
            Fault::Status { .. } => "status",
            Fault::Html => "html",
            Fault::HtmlError { .. } => "html_error",
            Fault::Truncated => "truncated",
            Fault::Reset => "reset",
            Fault::Oversized => "oversized",
            Fault::SlowDown { .. } => "slow_down",
            Fault::ResetMidBody => "reset_mid_body",
            Fault::Flood { .. } => "flood",
            Fault::GoDown => "go_down",
        }
    }
}

/// `{"ms": …}`: how [`Fault::Delay`]'s duration is written.
mod delay_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Ms {
        ms: u64,
    }

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        Ms {
            ms: u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ms::deserialize(d).map(|m| Duration::from_millis(m.ms))
    }
}

/// An HTTP status code, refused unless it is one.
fn http_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let s = u16::deserialize(d)?;
    StatusCode::from_u16(s)
        .map(|_| s)
        .map_err(|_| serde::de::Error::custom(format!("{s} is not an HTTP status")))
}

/// A fault armed on an endpoint.
#[derive(Debug)]
struct Armed {
    fault: Fault,
    /// Requests left to hit; `None` = until cleared.
    remaining: Option<u32>,
}

/// The faults armed per endpoint (one per endpoint; arming replaces).
#[derive(Debug, Default)]
pub(crate) struct FaultTable(Mutex<HashMap<Endpoint, Armed>>);

impl FaultTable {
    /// Arm `fault` on `endpoint` for `times` requests (`None` = until cleared).
    pub fn set(&self, endpoint: Endpoint, fault: Fault, times: Option<u32>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let remaining = match (&fault, times) {
            (_, Some(n)) => Some(n),
            (Fault::SlowDown { times }, None) => Some(*times),
            (_, None) => None,
        };
        if remaining == Some(0) {
            map.remove(&endpoint);
        } else {
            map.insert(endpoint, Armed { fault, remaining });
        }
    }

    /// Disarm `endpoint`, or every endpoint.
    pub fn clear(&self, endpoint: Option<Endpoint>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match endpoint {
            Some(e) => {
                map.remove(&e);
            }
            None => map.clear(),
        }
    }

    /// Whether a fault is armed on `endpoint` now (one armed for a number of requests is
    /// gone once they came).
    pub fn is_armed(&self, endpoint: Endpoint) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&endpoint)
    }

    /// The fault this request suffers, counting it against the armed number.
    pub(crate) fn take(&self, endpoint: Endpoint, grant_type: Option<&str>) -> Option<Fault> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let armed = map.get_mut(&endpoint)?;
        if matches!(armed.fault, Fault::SlowDown { .. })
            && grant_type != Some(DEVICE_CODE_GRANT_TYPE)
        {
            return None;
        }
        let fault = armed.fault.clone();
        if let Some(n) = armed.remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                map.remove(&endpoint);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_round_trip_through_json() {
        for f in [
            Fault::Delay(Duration::from_millis(1500)),
            Fault::Status {
                status: 503,
                retry_after: Some(7),
            },
            Fault::Html,
            Fault::HtmlError { status: 502 },
            Fault::Truncated,
            Fault::Reset,
            Fault::Oversized,
            Fault::SlowDown { times: 2 },
            Fault::ResetMidBody,
            Fault::Flood { bytes: 10 << 20 },
            Fault::GoDown,
        ] {
            let text = serde_json::to_string(&f).unwrap();
            assert_eq!(serde_json::from_str::<Fault>(&text).unwrap(), f, "{text}");
        }
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"status","status":42}"#).is_err());
    }

    #[test]
    fn armed_counts_run_down_and_slow_down_hits_only_device_polls() {
        let t = FaultTable::default();
        t.set(Endpoint::Token, Fault::SlowDown { times: 1 }, None);
        assert_eq!(t.take(Endpoint::Token, Some("refresh_token")), None);
        assert!(t
            .take(Endpoint::Token, Some(DEVICE_CODE_GRANT_TYPE))
            .is_some());
        assert!(t
            .take(Endpoint::Token, Some(DEVICE_CODE_GRANT_TYPE))
            .is_none());
        t.set(Endpoint::Graph, Fault::Html, None);
        assert!(t.take(Endpoint::Graph, None).is_some());
        assert!(t.take(Endpoint::Graph, None).is_some());
        t.clear(None);
        assert!(t.take(Endpoint::Graph, None).is_none());
    }

    #[test]
    fn paths_are_classified() {
        assert_eq!(
            Endpoint::classify("/common/v2.0/.well-known/openid-configuration"),
            Some(Endpoint::Discovery)
        );
        assert_eq!(
            Endpoint::classify("/x/oauth2/v2.0/token"),
            Some(Endpoint::Token)
        );
        assert_eq!(Endpoint::classify("/v1.0/me"), Some(Endpoint::Graph));
        assert_eq!(Endpoint::classify("/nothing"), None);
    }
}

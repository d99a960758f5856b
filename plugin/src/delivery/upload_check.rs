//! What an upload session's server may tell us, checked before it is used: the `uploadUrl`
//! (https to the cloud's own Graph, SharePoint, OneDrive or Outlook hosts; the Graph's own
//! origin on loopback, for the mock) and each `nextExpectedRanges` (after what was already
//! acknowledged, before the end of the file). Pure functions, so the fuzz target
//! `upload_answers` drives them directly.

use url::Url;

use crate::net::cloud::Cloud;
use crate::net::http::is_loopback;

/// Something an upload session's server said that this plugin will not follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The session came without an `uploadUrl` (or with one that is not an address).
    #[error("an upload session without a usable uploadUrl")]
    NoUploadUrl,
    /// The `uploadUrl` is not https (plain http only to the mock on loopback).
    #[error("an uploadUrl over {scheme}, not https")]
    Insecure {
        /// The scheme it named.
        scheme: String,
    },
    /// The `uploadUrl` names a host that is not one of the cloud's own.
    #[error("an uploadUrl on {host}, which is not one of this cloud's Microsoft Graph, SharePoint, OneDrive or Outlook hosts")]
    ForeignHost {
        /// The host it named.
        host: String,
    },
    /// A next range that is not `N-M`, `N-` or `N`.
    #[error("a next range \"{range}\" that is not a byte range")]
    Unreadable {
        /// The range as sent (cut to 40 characters).
        range: String,
    },
    /// A next range that starts before what the server had already acknowledged.
    #[error("a next range starting at byte {start}, behind the {acknowledged} bytes it had already acknowledged")]
    Behind {
        /// Where it asked to go on.
        start: u64,
        /// What it had acknowledged before.
        acknowledged: u64,
    },
    /// A next range that starts or ends at or past the end of the file.
    #[error("a next range reaching byte {byte}, past the end of the {total}-byte file")]
    PastEnd {
        /// The offending byte offset.
        byte: u64,
        /// The file's size.
        total: u64,
    },
    /// No `nextExpectedRanges` to resume from.
    #[error("no nextExpectedRanges to resume from")]
    NoRanges,
}

/// The `uploadUrl` of a `createUploadSession` answer, if the session may be used: https on a
/// host of the cloud whose Graph `graph_base` is (or, for a Graph that is not one of
/// Microsoft's clouds, on Graph's own host); on loopback, the Graph's own origin (http too).
pub fn session_url(graph_base: &Url, answer: &serde_json::Value) -> Result<Url, Violation> {
    let url = answer["uploadUrl"]
        .as_str()
        .and_then(|u| Url::parse(u).ok())
        .ok_or(Violation::NoUploadUrl)?;
    let host = url.host_str().unwrap_or_default().to_owned();
    if is_loopback(graph_base) {
        let same_origin = url.scheme() == graph_base.scheme()
            && url.port_or_known_default() == graph_base.port_or_known_default()
            && url.host_str() == graph_base.host_str();
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Violation::Insecure {
                scheme: url.scheme().to_owned(),
            });
        }
        return if same_origin {
            Ok(url)
        } else {
            Err(Violation::ForeignHost { host: origin(&url) })
        };
    }
    if url.scheme() != "https" {
        return Err(Violation::Insecure {
            scheme: url.scheme().to_owned(),
        });
    }
    if url.port_or_known_default() != Some(443) {
        return Err(Violation::ForeignHost { host: origin(&url) });
    }
    let allowed = match Cloud::of_graph_host(graph_base.host_str().unwrap_or_default()) {
        Some(cloud) => cloud.serves_uploads(&host),
        None => graph_base
            .host_str()
            .is_some_and(|g| g.eq_ignore_ascii_case(&host)),
    };
    if allowed {
        Ok(url)
    } else {
        Err(Violation::ForeignHost { host: origin(&url) })
    }
}

/// `host[:port]` of `url`, for an error.
fn origin(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => "(no host)".to_owned(),
    }
}

/// Where to go on after a fragment the server accepted, given that it now has the first
/// `acknowledged` bytes of `total`: the start of its first `nextExpectedRanges`, which must
/// lie at or after `acknowledged` and before `total`; `acknowledged` itself when it names no
/// range (Graph lists them, but the order is ours anyway).
pub fn next_after_fragment(
    answer: &serde_json::Value,
    acknowledged: u64,
    total: u64,
) -> Result<u64, Violation> {
    match first_range(answer)? {
        None => Ok(acknowledged),
        Some(range) => checked(range, acknowledged, total),
    }
}

/// Where to resume after a failed fragment (`GET uploadUrl`), given that the server had
/// acknowledged the first `acknowledged` bytes of `total`.
pub fn resume_from(
    answer: &serde_json::Value,
    acknowledged: u64,
    total: u64,
) -> Result<u64, Violation> {
    let range = first_range(answer)?.ok_or(Violation::NoRanges)?;
    checked(range, acknowledged, total)
}

/// A parsed `N-M` / `N-` / `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    start: u64,
    end: Option<u64>,
}

fn checked(range: Range, acknowledged: u64, total: u64) -> Result<u64, Violation> {
    if range.start < acknowledged {
        return Err(Violation::Behind {
            start: range.start,
            acknowledged,
        });
    }
    let last = range.end.unwrap_or(range.start);
    for byte in [range.start, last] {
        if byte >= total {
            return Err(Violation::PastEnd { byte, total });
        }
    }
    Ok(range.start)
}

/// The first of `nextExpectedRanges`, `None` when the answer lists none.
fn first_range(answer: &serde_json::Value) -> Result<Option<Range>, Violation> {
    let Some(first) = answer["nextExpectedRanges"]
        .as_array()
        .and_then(|a| a.first())
    else {
        return Ok(None);
    };
    let unreadable = || Violation::Unreadable {
        range: first
            .as_str()
            .map(|s| s.chars().take(40).collect())
            .unwrap_or_else(|| "(not text)".to_owned()),
    };
    let text = first.as_str().ok_or_else(unreadable)?.trim();
    let number = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let range = match text.split_once('-') {
        None => Range {
            start: number(text).ok_or_else(unreadable)?,
            end: None,
        },
        Some((a, "")) => Range {
            start: number(a).ok_or_else(unreadable)?,
            end: None,
        },
        Some((a, b)) => {
            let start = number(a).ok_or_else(unreadable)?;
            let end = number(b).ok_or_else(unreadable)?;
            if end < start {
                return Err(unreadable());
            }
            Range {
                start,
                end: Some(end),
            }
        }
    };
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ranges(r: &[&str]) -> serde_json::Value {
        json!({ "nextExpectedRanges": r })
    }

    #[test]
    fn every_range_form_is_read() {
        assert_eq!(next_after_fragment(&ranges(&["0-"]), 0, 10), Ok(0));
        assert_eq!(
            next_after_fragment(&ranges(&["655360-1048575", "2000000-"]), 655360, 2_000_001),
            Ok(655360)
        );
        assert_eq!(
            next_after_fragment(&ranges(&["4194304"]), 4194304, 5_000_000),
            Ok(4194304)
        );
        assert_eq!(next_after_fragment(&json!({}), 7, 10), Ok(7));
        assert_eq!(resume_from(&json!({}), 0, 10), Err(Violation::NoRanges));
        assert_eq!(resume_from(&ranges(&[]), 0, 10), Err(Violation::NoRanges));
    }

    #[test]
    fn hostile_ranges_are_violations() {
        let total = 10 * 1024 * 1024;
        assert!(matches!(
            next_after_fragment(&ranges(&["9223373136366403584-"]), 5_242_880, total),
            Err(Violation::PastEnd { .. })
        ));
        assert!(matches!(
            next_after_fragment(&ranges(&["99999999999999999999999-"]), 0, total),
            Err(Violation::Unreadable { .. })
        ));
        assert_eq!(
            next_after_fragment(&ranges(&["0-"]), 5_242_880, total),
            Err(Violation::Behind {
                start: 0,
                acknowledged: 5_242_880
            })
        );
        assert_eq!(
            resume_from(&ranges(&["100-"]), 200, total),
            Err(Violation::Behind {
                start: 100,
                acknowledged: 200
            })
        );
        assert_eq!(
            resume_from(&ranges(&["10-"]), 0, 10),
            Err(Violation::PastEnd {
                byte: 10,
                total: 10
            })
        );
        assert!(matches!(
            next_after_fragment(&ranges(&["2-20"]), 0, 10),
            Err(Violation::PastEnd { byte: 20, .. })
        ));
        for bad in ["-5", "5-3", "+5-", "a-", " - ", "1-2-3", ""] {
            assert!(
                matches!(
                    next_after_fragment(&ranges(&[bad]), 0, 10),
                    Err(Violation::Unreadable { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            next_after_fragment(&json!({"nextExpectedRanges": [5]}), 0, 10),
            Err(Violation::Unreadable { .. })
        ));
    }

    fn url(base: &str, upload: &str) -> Result<Url, Violation> {
        session_url(&Url::parse(base).unwrap(), &json!({ "uploadUrl": upload }))
    }

    #[test]
    fn upload_urls_stay_on_the_clouds_hosts_over_https() {
        let graph = "https://graph.microsoft.com/";
        assert!(url(graph, "https://contoso-my.sharepoint.com/up/1").is_ok());
        assert!(url(
            graph,
            "https://outlook.office.com/api/v2.0/AttachmentSessions('1')"
        )
        .is_ok());
        assert!(url(graph, "https://graph.microsoft.com/up/1").is_ok());
        assert_eq!(
            url(graph, "http://contoso-my.sharepoint.com/up/1"),
            Err(Violation::Insecure {
                scheme: "http".into()
            })
        );
        assert_eq!(
            url(graph, "https://169.254.169.254/latest"),
            Err(Violation::ForeignHost {
                host: "169.254.169.254".into()
            })
        );
        assert!(matches!(
            url(graph, "https://contoso.sharepoint.com:8443/up"),
            Err(Violation::ForeignHost { .. })
        ));
        assert!(matches!(
            url(graph, "https://contoso.sharepoint.us/up"),
            Err(Violation::ForeignHost { .. })
        ));
        assert!(url("https://graph.microsoft.us/", "https://x.sharepoint.us/up").is_ok());
        // A Graph that is not Microsoft's: its own host only.
        assert!(url("https://graph.example.org/", "https://graph.example.org/up").is_ok());
        assert!(url("https://graph.example.org/", "https://x.sharepoint.com/up").is_err());
        assert_eq!(url(graph, "not a url"), Err(Violation::NoUploadUrl));
        assert_eq!(
            session_url(&Url::parse(graph).unwrap(), &json!({})),
            Err(Violation::NoUploadUrl)
        );
    }

    #[test]
    fn on_loopback_only_the_graphs_own_origin() {
        let mock = "http://127.0.0.1:4000/";
        assert!(url(mock, "http://127.0.0.1:4000/upload/1").is_ok());
        assert!(matches!(
            url(mock, "http://127.0.0.1:4001/upload/1"),
            Err(Violation::ForeignHost { .. })
        ));
        assert!(matches!(
            url(mock, "http://10.0.0.1:4000/upload/1"),
            Err(Violation::ForeignHost { .. })
        ));
        assert_eq!(
            url(mock, "file:///etc/passwd"),
            Err(Violation::Insecure {
                scheme: "file".into()
            })
        );
    }
}

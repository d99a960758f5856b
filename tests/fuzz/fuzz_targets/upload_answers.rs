//! An upload session's answers (`upload_check`): the first two bytes pick the Graph the
//! session came from and the file's size, the rest is one JSON answer, read as a
//! `createUploadSession` answer (its `uploadUrl`) and as a fragment's and a resume's answer
//! (`nextExpectedRanges`). Whatever it says, an accepted URL is https on one of the cloud's
//! hosts (or the mock's own origin on loopback), and an accepted next range lies at or after
//! what was acknowledged and before the end.
#![no_main]

use atrs_office365::delivery::upload_check::{next_after_fragment, resume_from, session_url};
use atrs_office365::net::cloud::Cloud;
use libfuzzer_sys::fuzz_target;
use url::Url;

const BASES: [&str; 4] = [
    "https://graph.microsoft.com/v1.0/",
    "https://graph.microsoft.us/v1.0/",
    "https://graph.example.org/v1.0/",
    "http://127.0.0.1:8123/v1.0/",
];

fuzz_target!(|data: &[u8]| {
    let [pick, size, body @ ..] = data else {
        return;
    };
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let base = Url::parse(BASES[usize::from(*pick) % BASES.len()]).unwrap();
    if let Ok(url) = session_url(&base, &answer) {
        let host = url.host_str().unwrap_or_default();
        if base.scheme() == "http" {
            assert_eq!(url.origin(), base.origin(), "{url}");
        } else {
            assert_eq!(url.scheme(), "https", "{url}");
            assert_eq!(url.port_or_known_default(), Some(443), "{url}");
            match Cloud::of_graph_host(base.host_str().unwrap()) {
                Some(cloud) => assert!(cloud.serves_uploads(host), "{url}"),
                None => assert_eq!(host, base.host_str().unwrap(), "{url}"),
            }
        }
    }
    // Sizes from 1 byte to far beyond any file, and an acknowledged point inside.
    let total = 1u64 << (u32::from(*size) % 64);
    let acknowledged = total / 2;
    for next in [
        next_after_fragment(&answer, acknowledged, total),
        resume_from(&answer, acknowledged, total),
    ]
    .into_iter()
    .flatten()
    {
        assert!(next >= acknowledged && next < total, "{next} of {total}");
    }
});

//! Folder, file and mailbox values that would change which path Graph sees are refused when
//! the delivery is handed over (before the job starts, before any request), with a fix.

use std::sync::Arc;

use atrs_host_sdk::{ConflictBehavior, DeliveryRequest, ErrorKind, FileRequest, MailRequest};
use atrs_office365::delivery::graph::{Graph, RetryPolicy, TokenFn};
use atrs_office365::delivery::job::Job;
use atrs_office365::runtime::Runtime;
use atrs_office365::secret::Secret;

// This test only needs the server's record, not every helper.
#[allow(dead_code)]
#[path = "../../tests/src/scripted_server.rs"]
mod scripted_server;
use scripted_server::ScriptedServer;

fn start(
    server: &ScriptedServer,
    request: DeliveryRequest,
) -> Result<Job, atrs_host_sdk::PluginError> {
    let runtime = Runtime::new();
    let base = url::Url::parse(&server.base).unwrap();
    let token: TokenFn = Arc::new(|_| Ok(Secret::new("t")));
    Job::start(&runtime, request, move |cancel| async move {
        Graph::new(&base, token, RetryPolicy::default(), cancel, true)
    })
}

#[test]
fn bad_folders_names_and_mailboxes_are_refused_before_any_request() {
    let server = ScriptedServer::start(|_, _| Some((500, "{}".into())));
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("r.pdf");
    std::fs::write(&source, b"%PDF-1.7").unwrap();
    let file = |folder: &str, name: &str| {
        DeliveryRequest::File(FileRequest {
            source: source.clone(),
            folder: folder.into(),
            site: None,
            file_name: name.into(),
            conflict: ConflictBehavior::Fail,
        })
    };
    let cases = [
        (file("..\t", "r.pdf"), "folder"),
        (file("Reports/../Private", "r.pdf"), "folder"),
        (file("a:", "r.pdf"), "folder"),
        (file("Reports", "r:x.pdf"), "file name"),
        (file("Reports", ".."), "file name"),
        (file("Reports", "r\u{1b}]0;x\u{7}.pdf"), "file name"),
        (
            DeliveryRequest::Mail(MailRequest {
                from: Some("../../me".into()),
                to: vec!["a@example.com".into()],
                ..MailRequest::default()
            }),
            "mailbox",
        ),
    ];
    for (request, what) in cases {
        let e = match start(&server, request.clone()) {
            Err(e) => e,
            Ok(_) => panic!("{request:?} was accepted"),
        };
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{request:?}");
        assert!(
            e.message().contains(&format!("give the {what} without it")),
            "{}",
            e.message()
        );
        assert!(
            !e.message().chars().any(char::is_control),
            "{:?}",
            e.message()
        );
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}

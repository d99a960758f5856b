//! `atrs-test-host check <library>` through the real host binary: our plugins pass every
//! check (Office 365 as shipped too, its verification check not run and saying which
//! values to give; `--strict` makes that a failure); a fixture that gets several things
//! wrong fails exactly those, each with why and how to fix it; a library that does not
//! load, or a missing file, end the run.

use std::{path::Path, process::Output};

use atrs_e2e::{fixture, hello_plugin, json_result, office365_library, run_host, webhook_plugin};
use atrs_mock_idp::{defaults, ApproveMode, MockConfig, MockIdp};
use serde_json::Value;

const ALL_CHECKS: [&str; 8] = [
    "loads",
    "manifest",
    "form_keys",
    "secrets",
    "validation",
    "start_cancel",
    "close",
    "odd_input",
];

fn check(library: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["check", library.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_host(&args, &[])
}

fn check_json(library: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = check(library, &args);
    (out.status.code(), json_result(&out))
}

fn ids(result: &Value, passed: bool) -> Vec<String> {
    result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == passed)
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The check `id` of a JSON result.
fn check_of<'a>(result: &'a Value, id: &str) -> &'a Value {
    result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {result:#}"))
}

fn outcomes(result: &Value) -> Vec<(String, String)> {
    result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let id = c["id"].as_str().unwrap().to_owned();
            (id, c["outcome"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A mock sign-in service whose user never approves, so verifications wait until the
/// check cancels them. The check's values point the plugin at it.
fn office365_values(mock: &MockIdp) -> Vec<String> {
    vec![
        format!("client_id={}", defaults::DESKTOP_CLIENT_ID),
        format!("tenant_id={}", defaults::TENANT_ID),
        format!("authority={}", mock.base_url()),
    ]
    .into_iter()
    .flat_map(|v| ["--set".to_owned(), v])
    .collect()
}

fn waiting_mock() -> MockIdp {
    MockIdp::spawn(MockConfig {
        approve: ApproveMode::Manual,
        ..MockConfig::default()
    })
    .expect("mock starts")
}

#[test]
fn our_office365_plugin_passes_every_check() {
    let mock = waiting_mock();
    let values = office365_values(&mock);
    let values: Vec<&str> = values.iter().map(String::as_str).collect();

    let human = check(office365_library(), &values);
    println!("{}", text(&human));
    assert_eq!(human.status.code(), Some(0), "{}", text(&human));
    assert!(text(&human).contains("All 8 checks passed."));

    let (code, result) = check_json(office365_library(), &values);
    println!("{result:#}");
    assert_eq!(code, Some(0));
    assert_eq!(result["ok"], true);
    assert_eq!(result["command"], "check");
    assert_eq!(result["plugin"]["id"], "office365");
    assert_eq!(ids(&result, true), ALL_CHECKS);
    assert_eq!(
        (
            result["passed"].as_u64(),
            result["failed"].as_u64(),
            result["not_run"].as_u64()
        ),
        (Some(8), Some(0), Some(0))
    );
    assert!(outcomes(&result).iter().all(|(_, o)| o == "passed"));
    assert!(result.get("give").is_none(), "{result:#}");

    // With every value given, --strict has nothing to count against it.
    let mut strict = values.clone();
    strict.push("--strict");
    let (code, result) = check_json(office365_library(), &strict);
    assert_eq!(code, Some(0), "{result:#}");
    assert_eq!(result["strict"], true);
    let start = check_of(&result, "start_cancel");
    assert!(
        start["detail"]
            .as_str()
            .unwrap()
            .contains("ended as cancelled"),
        "{start}"
    );
}

/// As shipped and without values, no check fails: the one that starts a sign-in (which
/// would reach Microsoft with made-up IDs) does not run and says what to give, and the
/// others say what they could not try. `--strict`, for CI, fails the run.
#[test]
fn our_office365_plugin_as_shipped_passes_and_says_which_values_a_full_run_needs() {
    let human = check(office365_library(), &[]);
    let shown = text(&human);
    println!("{shown}");
    assert_eq!(human.status.code(), Some(0), "{shown}");
    for line in [
        "– a verification starts and is cancelled promptly      not run — give --set client_id=VALUE --set tenant_id=VALUE",
        "    why: it starts a verification, which needs real values for `client_id`, `tenant_id`",
        "7 of 8 checks passed, none failed; 1 did not run (give --set client_id=VALUE --set tenant_id=VALUE).",
    ] {
        assert!(shown.contains(line), "missing {line:?} in:\n{shown}");
    }
    // The false failure of before: a placeholder ("… or contoso.onmicrosoft.com") used
    // as a tenant ID.
    assert!(!shown.contains("neither a GUID"), "{shown}");

    let (code, result) = check_json(office365_library(), &[]);
    println!("{result:#}");
    assert_eq!(code, Some(0));
    assert_eq!(result["ok"], true);
    let expected: Vec<(String, String)> = ALL_CHECKS
        .iter()
        .map(|id| {
            let outcome = if *id == "start_cancel" {
                "not_run"
            } else {
                "passed"
            };
            (id.to_string(), outcome.to_owned())
        })
        .collect();
    assert_eq!(outcomes(&result), expected);
    assert_eq!(
        (
            result["passed"].as_u64(),
            result["failed"].as_u64(),
            result["not_run"].as_u64()
        ),
        (Some(7), Some(0), Some(1))
    );
    let start = check_of(&result, "start_cancel");
    assert_eq!(start["passed"], false);
    assert_eq!(
        start["needs"],
        serde_json::json!(["client_id", "tenant_id"])
    );
    assert_eq!(start["give"], "--set client_id=VALUE --set tenant_id=VALUE");
    assert_eq!(
        result["give"],
        "--set client_id=VALUE --set tenant_id=VALUE"
    );
    let close = check_of(&result, "close")["detail"].as_str().unwrap();
    assert!(
        close.contains("not tried during a verification (give --set client_id=VALUE"),
        "{close}"
    );

    let strict = check(office365_library(), &["--strict"]);
    let shown = text(&strict);
    assert_eq!(strict.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("✗ a verification starts and is cancelled promptly      not run"),
        "{shown}"
    );
    assert!(
        shown.contains("--strict counts those that did not run as failed."),
        "{shown}"
    );
    let (code, result) = check_json(office365_library(), &["--strict"]);
    assert_eq!(code, Some(1));
    assert_eq!(result["ok"], false);
    assert_eq!(result["failed"], 0);
    assert_eq!(result["not_run"], 1);
    assert_eq!(result["error"]["exit_code"], 1);
    let message = result["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("1 of 8 checks did not run, and --strict counts them as failed"),
        "{message}"
    );
    let hint = result["error"]["hint"].as_str().unwrap();
    assert!(
        hint.contains("--set client_id=VALUE --set tenant_id=VALUE"),
        "{hint}"
    );
}

/// Values given that do not validate are not the plugin's fault either: the check does
/// not run and names what to give instead.
#[test]
fn values_that_do_not_validate_leave_the_verification_check_unrun_with_the_reason() {
    let (code, result) = check_json(
        office365_library(),
        &["--set", "client_id=not-a-guid", "--set", "tenant_id=x y"],
    );
    println!("{result:#}");
    assert_eq!(code, Some(0));
    let start = check_of(&result, "start_cancel");
    assert_eq!(start["outcome"], "not_run");
    let why = start["why"].as_str().unwrap();
    assert!(
        why.contains("the values it has do not validate") && why.contains("client_id: "),
        "{why}"
    );
    assert!(
        start["give"]
            .as_str()
            .unwrap()
            .contains("--set client_id=VALUE"),
        "{start}"
    );
}

/// The example's only required field without a default is the account name, which
/// reaches nothing: every check runs, and passes, without values.
#[test]
fn the_example_plugin_passes_every_check() {
    let (code, result) = check_json(hello_plugin(), &["--strict"]);
    assert_eq!(code, Some(0), "{result:#}");
    assert_eq!(ids(&result, true), ALL_CHECKS);
    assert_eq!(result["not_run"], 0);
    let odd = check_of(&result, "odd_input")["detail"].as_str().unwrap();
    assert!(!odd.contains("not tried"), "{odd}");
}

#[test]
fn a_nonconforming_plugin_fails_several_checks_each_with_why_and_fix() {
    let library = fixture("nonconforming");
    // Its verification needs a token (a required field without a default).
    let token = ["--set", "api_token=t0k"];
    let human = check(library, &token);
    println!("{}", text(&human));
    assert_eq!(human.status.code(), Some(1));
    let shown = text(&human);
    for line in [
        "✗ manifest complete",
        "✗ secret fields marked secret",
        "    why: `api_token` looks secret but is plain text",
        "    fix: Declare these fields with FieldKind::Secret",
        "6 of 8 checks failed.",
    ] {
        assert!(shown.contains(line), "missing {line:?} in:\n{shown}");
    }

    let (code, result) = check_json(library, &token);
    println!("{result:#}");
    assert_eq!(code, Some(1));
    assert_eq!(result["type"], "result");
    assert_eq!(result["ok"], false);
    assert_eq!(result["error"]["exit_code"], 1);
    assert_eq!(ids(&result, true), ["loads", "form_keys"]);
    assert_eq!(
        ids(&result, false),
        [
            "manifest",
            "secrets",
            "validation",
            "start_cancel",
            "close",
            "odd_input"
        ]
    );
    let why = |id: &str| -> String {
        let c = result["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert!(c["fix"].as_str().is_some_and(|f| !f.is_empty()), "{c}");
        c["why"].as_str().unwrap().to_owned()
    };
    assert!(why("manifest").contains("\"Non Conforming\""));
    assert!(why("manifest").contains("\"latest\""));
    assert!(why("validation").contains("nothing reported for empty `account_name`"));
    assert!(why("start_cancel").contains("after cancel the session still reports working"));
    assert!(why("close").contains("still reports working"));
    let odd = why("odd_input");
    assert!(
        odd.contains("validate with every field 100 000 characters long panicked"),
        "{odd}"
    );
    assert!(
        odd.contains("load_account with an empty account name panicked"),
        "{odd}"
    );

    // Without the token the verification check does not run; what fails still fails.
    let (code, result) = check_json(library, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(check_of(&result, "start_cancel")["outcome"], "not_run");
    assert_eq!(
        check_of(&result, "start_cancel")["needs"],
        serde_json::json!(["api_token"])
    );
    assert_eq!(check_of(&result, "manifest")["outcome"], "failed");
    assert_eq!(result["not_run"], 1);
}

#[test]
fn a_malformed_form_and_a_blocking_plugin_fail_their_checks() {
    let (code, result) = check_json(fixture("malformed-form"), &[]);
    assert_eq!(code, Some(1));
    let form = &result["checks"][2];
    assert_eq!(form["id"], "form_keys");
    assert_eq!(form["passed"], false);
    let why = form["why"].as_str().unwrap();
    assert!(
        why.contains("field 2 (\"Nameless\") has an empty key"),
        "{why}"
    );
    assert!(
        why.contains("key `account_name` is used by fields 1 and 3"),
        "{why}"
    );
    assert!(why.contains("choice `region` has no options"), "{why}");

    let (code, result) = check_json(fixture("blocker"), &["--call-timeout", "0.5"]);
    assert_eq!(code, Some(1));
    let failed = ids(&result, false);
    assert!(failed.contains(&"odd_input".to_owned()), "{result:#}");
    let odd = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "odd_input")
        .unwrap();
    assert!(
        odd["why"]
            .as_str()
            .unwrap()
            .contains("validate with no values did not return in time"),
        "{odd}"
    );
}

#[test]
fn a_library_that_does_not_load_stops_the_run_and_a_missing_file_is_a_usage_error() {
    let (code, result) = check_json(fixture("wrong-version"), &[]);
    assert_eq!(code, Some(1));
    let checks = result["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{result:#}");
    assert_eq!(checks[0]["id"], "loads");
    let why = checks[0]["why"].as_str().unwrap();
    assert!(
        why.contains("incompatible_version") && why.contains("2.0.0"),
        "{why}"
    );
    assert!(checks[0]["fix"].as_str().unwrap().contains("1.x"));

    let (code, result) = check_json(Path::new("/nonexistent/libnothing.so"), &[]);
    assert_eq!(code, Some(2));
    assert_eq!(result["ok"], false);
    assert!(result["error"]["message"]
        .as_str()
        .unwrap()
        .contains("There is no file /nonexistent/libnothing.so"));
}

/// The same checks as a library, the way a plugin author runs them from `cargo test`.
#[test]
fn an_author_runs_the_checks_from_cargo_test() {
    use atrs_conformance::{run, Options};
    run(&Options::new(hello_plugin())).assert_all_passed();

    // As shipped, Office 365's verification check needs values: no failure, one unrun.
    let shipped = run(&Options::new(office365_library()));
    shipped.assert_no_failures();
    assert_eq!(shipped.not_run(), 1, "{shipped}");
    let panic = std::panic::catch_unwind(|| shipped.assert_all_passed()).unwrap_err();
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        text.contains("not run") && text.contains("give: --set client_id=VALUE"),
        "{text}"
    );
    let mock = waiting_mock();
    let given = Options::new(office365_library())
        .with_value("client_id", defaults::DESKTOP_CLIENT_ID)
        .with_value("tenant_id", defaults::TENANT_ID)
        .with_value("authority", mock.base_url());
    run(&given).assert_all_passed();

    let report = run(&Options::new(fixture("nonconforming")));
    assert!(report.failed() >= 3, "{report}");
    let panic = std::panic::catch_unwind(|| report.assert_all_passed()).unwrap_err();
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        text.contains("checks failed") && text.contains("FAIL") && text.contains("fix:"),
        "{text}"
    );
}

/// Connections waiting on `listener`, accepted and counted.
fn connections(listener: &std::net::TcpListener) -> usize {
    let mut count = 0;
    while listener.accept().is_ok() {
        count += 1;
    }
    count
}

/// A placeholder is an example for a person, never a value: a plugin whose placeholder
/// URL validates (and points at a listener of this test) is not contacted without
/// `--set`; given the URL, its verification connects to it.
#[test]
fn check_never_contacts_a_placeholder_and_contacts_what_it_is_given() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let library = fixture("placeholder-url").to_str().unwrap();
    let env = [("ATRS_FIXTURE_URL_PLACEHOLDER", url.as_str())];

    let out = run_host(&["check", "--json", library], &env);
    let result = json_result(&out);
    println!("{result:#}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(check_of(&result, "start_cancel")["outcome"], "not_run");
    assert_eq!(check_of(&result, "start_cancel")["give"], "--set url=VALUE");
    assert_eq!(result["failed"], 0);
    assert_eq!(connections(&listener), 0, "check contacted the placeholder");

    let set = format!("url={url}");
    let out = run_host(
        &["check", "--json", "--strict", library, "--set", &set],
        &env,
    );
    let result = json_result(&out);
    println!("{result:#}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(result["not_run"], 0);
    let start = check_of(&result, "start_cancel");
    assert!(
        start["detail"]
            .as_str()
            .unwrap()
            .contains("The endpoint answered"),
        "{start}"
    );
    assert!(
        connections(&listener) >= 1,
        "the given URL was not contacted"
    );
}

/// A receiver that answers every request 200 at once: the webhook example's
/// verification then often ends between the check's first poll and its cancel.
fn answering_receiver() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/in", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let (mut line, mut length) = (String::new(), 0usize);
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length: ") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let _ = (&stream).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            });
        }
    });
    url
}

/// The checks never lie, run after run: 100 runs in a row of each example and of
/// Office 365 against a mock that approves at once, every check passing under the
/// strict rule — including the runs where a verification ends between the first poll
/// and the cancel (the SDK says it ended before the cancel arrived).
#[test]
fn the_checks_pass_100_runs_in_a_row_on_the_examples_and_office365() {
    use atrs_conformance::{run, Options};
    let mock = MockIdp::spawn(MockConfig::default()).expect("mock starts");
    let url = answering_receiver();
    let plugins = [
        Options::new(hello_plugin()),
        Options::new(webhook_plugin())
            .with_value("url", url.as_str())
            .with_value("secret", "s3cret"),
        Options::new(office365_library())
            .with_value("client_id", defaults::DESKTOP_CLIENT_ID)
            .with_value("tenant_id", defaults::TENANT_ID)
            .with_value("authority", mock.base_url()),
    ];
    for options in &plugins {
        let started = std::time::Instant::now();
        let mut ended_first = 0;
        for round in 0..100 {
            let report = run(options);
            assert_eq!(
                (report.failed(), report.not_run()),
                (0, 0),
                "run {round} of {}:\n{report}",
                options.library.display()
            );
            ended_first += usize::from(report.to_string().contains("before the cancel arrived"));
        }
        println!(
            "{}: 100 runs in {:?}, {ended_first} ended before their cancel",
            options.library.display(),
            started.elapsed()
        );
    }
}

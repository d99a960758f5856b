//! The `atrs-test-host` command line as scripts use it: JSON lines, exit codes, and
//! the loader's verdict on every fixture, through the real binary.

use atrs_e2e::{
    fixture, json_lines, json_result, office365_library, plugins_dir, run_host, run_host_with_input,
};
use serde_json::Value;

const CLIENT_ID: &str = "4a1aa1d5-c567-49d0-ad0b-cd957a47f842";

fn dir_arg(dir: &tempfile::TempDir) -> String {
    dir.path().to_str().unwrap().to_owned()
}

#[test]
fn plugins_lists_each_library_loaded_or_refused_with_its_reason() {
    let dir = plugins_dir(&[
        office365_library(),
        fixture("not-a-plugin"),
        fixture("wrong-version"),
        fixture("layout-mismatch"),
        fixture("init-panics"),
        fixture("duplicate-id"),
    ]);
    let out = run_host(&["--plugins-dir", &dir_arg(&dir), "--json", "plugins"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out).len(), 1, "one result line");
    let result = json_result(&out);
    assert_eq!(result["ok"], true);
    let status: Vec<(String, String)> = result["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let file = p["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
            let verdict = if p["status"] == "loaded" {
                p["id"].clone()
            } else {
                p["reason"].clone()
            };
            (file, verdict.as_str().unwrap().to_owned())
        })
        .collect();
    let expected = [
        ("libatrs_office365.so", "office365"),
        ("libfixture_duplicate_id.so", "duplicate_id"),
        ("libfixture_init_panics.so", "init_panicked"),
        ("libfixture_layout_mismatch.so", "layout_mismatch"),
        ("libfixture_not_a_plugin.so", "not_a_plugin"),
        ("libfixture_wrong_version.so", "incompatible_version"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(status, expected);
    for p in result["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "refused")
    {
        assert!(p["message"].as_str().is_some_and(|m| !m.is_empty()), "{p}");
        assert!(p["hint"].as_str().is_some_and(|h| !h.is_empty()), "{p}");
    }
    let office = &result["plugins"][0];
    assert_eq!(office["name"], "Office 365");
    assert_eq!(office["sdk_version"], atrs_host_sdk::INTERFACE_VERSION);
}

#[test]
fn the_default_plugins_folder_is_the_binarys_own() {
    let out = run_host(&["--json", "plugins"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let result = json_result(&out);
    let ids: Vec<&Value> = result["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["id"])
        .collect();
    assert!(ids.contains(&&Value::from("office365")), "{result}");
}

#[test]
fn form_describes_every_field_as_json() {
    let dir = plugins_dir(&[office365_library()]);
    let out = run_host(
        &[
            "--plugins-dir",
            &dir_arg(&dir),
            "--json",
            "form",
            "office365",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let result = json_result(&out);
    let fields = result["fields"].as_array().unwrap();
    let keys: Vec<&str> = fields.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "account_name",
            "client_id",
            "tenant_id",
            "client_secret",
            "client_secret_expires",
            "cloud",
            "authority",
            "scopes",
            "response_mode",
            "ca_file",
            "max_message_mb",
            "certificate_file",
            "certificate_password",
            "sign_in",
            "mailbox",
            "site"
        ]
    );
    assert_eq!(fields[3]["kind"], "secret");
    assert_eq!(
        fields[4]["kind"], "text",
        "the secret's expiry date is not a secret"
    );
    assert_eq!(fields[5]["kind"], "choice");
    assert_eq!(fields[5]["options"].as_array().unwrap().len(), 3);
    assert_eq!(fields[6]["advanced"], true);
    assert_eq!(
        fields[7]["default"],
        "openid profile offline_access User.Read Mail.Send"
    );
}

#[test]
fn validate_reports_per_field_errors_with_exit_2_and_passes_a_valid_form() {
    let dir = plugins_dir(&[office365_library()]);
    let d = dir_arg(&dir);
    let bad = run_host(
        &[
            "--plugins-dir",
            &d,
            "--json",
            "validate",
            "office365",
            "--set",
            "account_name=Reports",
            "--set",
            "client_id=not-a-guid",
            "--set",
            "tenant_id=https://login.microsoftonline.com/contoso",
            "--set",
            "authority=http://login.example.com",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    let result = json_result(&bad);
    assert_eq!(result["ok"], false);
    let errors = result["error"]["field_errors"].as_array().unwrap();
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["client_id", "tenant_id", "authority"]);
    assert!(errors
        .iter()
        .all(|e| e["hint"].as_str().is_some_and(|h| !h.is_empty())));

    let good = run_host(
        &[
            "--plugins-dir",
            &d,
            "--json",
            "validate",
            "office365",
            "--set",
            "account_name=Reports",
            "--set",
            &format!("client_id={CLIENT_ID}"),
            "--set",
            "tenant_id=contoso.onmicrosoft.com",
            "--set",
            "authority=http://127.0.0.1:8080",
        ],
        &[],
    );
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(json_result(&good)["valid"], true);
}

#[test]
fn human_output_names_the_field_and_the_fix_and_never_echoes_a_secret() {
    let dir = plugins_dir(&[office365_library()]);
    let out = run_host_with_input(
        &[
            "--plugins-dir",
            &dir_arg(&dir),
            "validate",
            "office365",
            "--set",
            "account_name=Reports",
            "--set",
            &format!("client_id={CLIENT_ID}"),
            "--set",
            "tenant_id=contoso.onmicrosoft.com",
            "--set-secret",
            "client_secret",
        ],
        &[],
        "9f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("client_secret: Client secret looks like the secret's ID"),
        "{stderr}"
    );
    assert!(
        stderr.contains("fix: In Certificates & secrets"),
        "{stderr}"
    );
    let all = format!("{}{}", stderr, String::from_utf8_lossy(&out.stdout));
    assert!(
        !all.contains("9f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b"),
        "{all}"
    );
}

#[test]
fn validate_refuses_a_secret_field_given_with_set() {
    let dir = plugins_dir(&[office365_library()]);
    {
        let command = "validate";
        let out = run_host(
            &[
                "--plugins-dir",
                &dir_arg(&dir),
                "--json",
                command,
                "office365",
                "--set",
                "account_name=Reports",
                "--set",
                "client_secret=hunter2-on-the-command-line",
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{command}");
        let result = json_result(&out);
        let message = result["error"]["message"].as_str().unwrap();
        let hint = result["error"]["hint"].as_str().unwrap();
        assert!(message.contains("Client secret is a secret"), "{message}");
        assert!(hint.contains("--set-secret client_secret"), "{hint}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("hunter2"), "{all}");
    }
}

#[test]
fn usage_errors_exit_2_with_a_json_result() {
    let dir = plugins_dir(&[office365_library()]);
    let d = dir_arg(&dir);
    let unknown = run_host(&["--plugins-dir", &d, "--json", "form", "nope"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    let r = json_result(&unknown);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("No plugin with id `nope`"),
        "{r}"
    );

    let bad_flag = run_host(&["--json", "plugins", "--frobnicate"], &[]);
    assert_eq!(bad_flag.status.code(), Some(2));
    assert_eq!(json_result(&bad_flag)["ok"], false);

    let no_terminal = run_host(&["--plugins-dir", &d], &[]);
    assert_eq!(no_terminal.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_terminal.stderr).contains("no terminal"));

    let env_dir = run_host(&["--json", "plugins"], &[("ATRS_PLUGINS_DIR", &d)]);
    assert_eq!(
        json_result(&env_dir)["plugins_dir"],
        Value::from(d.as_str())
    );
}

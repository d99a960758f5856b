//! Verify by device code through the real host binary and plugin library, against the
//! mock identity platform over loopback HTTP: success, declined, expired, timeout,
//! provider errors, missing permissions, saved accounts, and no secret in any output.

use std::{path::Path, time::Duration};

use atrs_e2e::{
    add_office365_args, json_lines, json_result, office365_library, plugins_dir, run_host,
    sandbox::StoreFiles,
};
use atrs_mock_idp::{defaults, ClaimsChallenge, DeviceOutcome, MockConfig, MockIdp};
use serde_json::Value;

struct Setup {
    mock: MockIdp,
    plugins: tempfile::TempDir,
    store: tempfile::TempDir,
}

fn setup(config: MockConfig) -> Setup {
    Setup {
        mock: MockIdp::spawn(MockConfig {
            device_interval_secs: 1,
            auto_approve_delay: Duration::ZERO,
            ..config
        })
        .expect("mock starts"),
        plugins: plugins_dir(&[office365_library()]),
        store: tempfile::tempdir().unwrap(),
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

impl Setup {
    fn host(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec![
            "--plugins-dir",
            path(self.plugins.path()),
            "--store",
            path(self.store.path()),
            "--json",
            "-vv",
        ];
        all.extend_from_slice(args);
        run_host(&all, &[])
    }

    fn add(
        &self,
        account: &str,
        client_id: &str,
        tenant: &str,
        extra: &[&str],
    ) -> std::process::Output {
        let authority = self.mock.base_url();
        let mut args = add_office365_args(account, client_id, tenant, None, &authority, "device");
        if extra.contains(&"--timeout") {
            // The test's own timeout replaces the default one.
            let default = args
                .iter()
                .position(|a| a == "--timeout")
                .expect("a default");
            args.drain(default..default + 2);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.host(&args)
    }
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_device_sign_in_is_verified_saved_listed_and_removed_without_leaking_secrets() {
    let s = setup(MockConfig::default());
    let out = s.add(
        "Reports",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let lines = json_lines(&out);
    let action = lines
        .iter()
        .find(|l| l["type"] == "action")
        .expect("an action event");
    assert_eq!(action["action"], "enter_code");
    assert!(action["user_code"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(action["verification_uri"]
        .as_str()
        .unwrap()
        .starts_with(&s.mock.base_url()));
    assert!(action["message"]
        .as_str()
        .unwrap()
        .contains("enter the code"));
    assert!(action["expires_at"].as_i64().unwrap() > 1_700_000_000);

    let result = json_result(&out);
    assert_eq!(result["ok"], true);
    assert_eq!(result["account_name"], "Reports");
    assert_eq!(result["user_principal_name"], defaults::USER_UPN);
    assert_eq!(result["display_name"], defaults::USER_DISPLAY_NAME);
    assert_eq!(result["tenant_id"], defaults::TENANT_ID);
    assert_eq!(result["saved"], true);
    // The default permissions send mail; what the other deliveries need is named.
    let missing: Vec<&str> = result["missing_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["scope"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["Mail.ReadWrite", "Files.ReadWrite"], "{result}");
    let granted: Vec<&str> = result["granted_scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        granted.contains(&"Mail.Send") && granted.contains(&"User.Read"),
        "{granted:?}"
    );

    let accounts = s.host(&["accounts"]);
    let listed = json_result(&accounts);
    assert_eq!(listed["accounts"][0]["account"], "Reports");
    assert_eq!(
        listed["accounts"][0]["settings"]["client_id"],
        defaults::DESKTOP_CLIENT_ID
    );

    let files = StoreFiles::read(s.store.path());
    let refresh = files.secrets_of("Reports")["refresh_token"]
        .as_str()
        .expect("refresh token stored");
    let settings = files.settings.to_string();
    assert!(
        !settings.contains(refresh),
        "the refresh token stays out of settings"
    );
    for output in [&out, &accounts] {
        assert!(
            !text(output).contains(refresh),
            "a secret reached the host's output:\n{}",
            text(output)
        );
    }

    let removed = s.host(&["remove", "Reports"]);
    assert_eq!(removed.status.code(), Some(0), "{}", text(&removed));
    assert!(json_result(&s.host(&["accounts"]))["accounts"]
        .as_array()
        .unwrap()
        .is_empty());
    let secrets = StoreFiles::read(s.store.path()).secrets.to_string();
    assert!(
        !secrets.contains(refresh),
        "secrets are removed with the account"
    );
}

#[test]
fn declined_expired_and_timed_out_sign_ins_end_with_their_own_exit_codes() {
    let s = setup(MockConfig {
        device_expires_in_secs: 2,
        ..MockConfig::default()
    });

    s.mock.set_device_outcome(DeviceOutcome::Decline);
    let declined = s.add(
        "Declined",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        &[],
    );
    assert_eq!(declined.status.code(), Some(3), "{}", text(&declined));
    assert_eq!(
        json_result(&declined)["error"]["kind"],
        "authorization_refused"
    );

    s.mock.set_device_outcome(DeviceOutcome::Ignore);
    let expired = s.add(
        "Expired",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        &[],
    );
    assert_eq!(expired.status.code(), Some(4), "{}", text(&expired));
    let error = &json_result(&expired)["error"];
    assert_eq!(error["kind"], "timed_out");
    assert_eq!(
        error["origin"], "plugin",
        "the code expired: the plugin said so"
    );
    assert!(error["hint"].as_str().is_some_and(|h| !h.is_empty()));

    let s = setup(MockConfig::default());
    s.mock.set_device_outcome(DeviceOutcome::Ignore);
    let timed_out = s.add(
        "Slow",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        &["--timeout", "2"],
    );
    assert_eq!(timed_out.status.code(), Some(4), "{}", text(&timed_out));
    assert!(json_result(&timed_out)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("within 2 s"));

    for out in [&declined, &expired, &timed_out] {
        assert!(json_result(out)["ok"] == false);
    }
    assert!(
        json_result(&s.host(&["accounts"]))["accounts"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing saved"
    );
}

#[test]
fn provider_errors_carry_their_code_ids_and_a_fix() {
    let s = setup(MockConfig::default());
    let no_public_flows = s.add(
        "A",
        defaults::NO_PUBLIC_FLOWS_CLIENT_ID,
        defaults::TENANT_ID,
        &[],
    );
    assert_eq!(
        no_public_flows.status.code(),
        Some(3),
        "{}",
        text(&no_public_flows)
    );
    let e = &json_result(&no_public_flows)["error"];
    assert_eq!(e["provider_code"], "AADSTS7000218");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("Allow public client flows"),
        "{e}"
    );
    assert!(e["trace_id"].as_str().is_some_and(|t| !t.is_empty()), "{e}");
    assert!(
        e["correlation_id"].as_str().is_some_and(|t| !t.is_empty()),
        "{e}"
    );

    let unknown_tenant = s.add(
        "B",
        defaults::DESKTOP_CLIENT_ID,
        "00000000-1111-2222-3333-444444444444",
        &[],
    );
    assert_eq!(
        json_result(&unknown_tenant)["error"]["provider_code"],
        "AADSTS90002",
        "{}",
        text(&unknown_tenant)
    );

    let single_tenant_on_common = s.add("C", defaults::SINGLE_TENANT_CLIENT_ID, "common", &[]);
    assert_eq!(
        json_result(&single_tenant_on_common)["error"]["provider_code"],
        "AADSTS50194"
    );
}

#[test]
fn a_missing_permission_is_named_with_how_to_grant_it() {
    let s = setup(MockConfig::default());
    let out = s.add(
        "Limited",
        defaults::ADMIN_CONSENT_CLIENT_ID,
        defaults::TENANT_ID,
        &["--no-save"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let result = json_result(&out);
    assert_eq!(result["saved"], false);
    let missing = result["missing_scopes"].as_array().unwrap();
    assert_eq!(
        missing.len(),
        3,
        "Mail.Send, then the other deliveries' {result}"
    );
    assert_eq!(missing[0]["scope"], "Mail.Send");
    assert!(
        missing[0]["hint"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("admin"),
        "{result}"
    );
}

impl Setup {
    /// The host's output for a person (no `--json`).
    fn host_text(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec![
            "--plugins-dir",
            path(self.plugins.path()),
            "--store",
            path(self.store.path()),
        ];
        all.extend_from_slice(args);
        run_host(&all, &[])
    }
}

#[test]
fn the_deliveries_the_permissions_allow_are_said_after_verify_and_in_the_health_view() {
    let s = setup(MockConfig::default());
    let authority = s.mock.base_url();
    let args = add_office365_args(
        "Reports",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        None,
        &authority,
        "device",
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = s.host_text(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    println!("{stdout}");
    assert!(
        stdout.contains("✓ Verified: signed in as Adele Vance"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "! Permission Mail.ReadWrite was not granted: Attachments over 3 MB go through a draft"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("! Permission Files.ReadWrite was not granted: Uploading files to the user's OneDrive needs it"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Permission Mail.Send was not granted"),
        "{stdout}"
    );

    let out = s.host_text(&["accounts", "Reports"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    println!("{stdout}");
    assert!(
        stdout.contains("    health: ✓ healthy — Deliveries: mail ✓, attachments over 3 MB need Mail.ReadWrite, files need Files.ReadWrite."),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "    fix: To allow them, add Mail.ReadWrite, Files.ReadWrite to the account's Scopes"
        ),
        "{stdout}"
    );

    // Asked for and granted, nothing is missing and the health view has nothing to add.
    let out = s.add(
        "Everything",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        &[
            "--set",
            "scopes=openid profile offline_access User.Read Mail.Send Mail.ReadWrite Files.ReadWrite",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json_result(&out)["missing_scopes"], Value::Array(vec![]));
    let accounts = json_result(&s.host(&["accounts", "Everything"]));
    let health = &accounts["accounts"][0]["health"];
    assert_eq!(health["state"], "healthy", "{accounts}");
    assert_eq!(health["reason"], "", "{accounts}");
}

#[test]
fn a_claims_challenge_on_verify_s_me_is_answered_once_or_fails_the_add_with_its_reason() {
    let s = setup(MockConfig::default());
    // Answerable: one token request with the claims, one retry of /me, saved.
    s.mock.arm_claims_challenge(
        defaults::USER_UPN,
        ClaimsChallenge {
            path_contains: Some("/me".into()),
            needs_user: false,
        },
    );
    let out = s.add(
        "Challenged",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json_result(&out)["saved"], true);
    let counts = s.mock.stats().account(defaults::USER_UPN);
    assert_eq!(
        (counts.claims_challenges, counts.claims_answered),
        (1, 1),
        "{counts:?}"
    );

    // The claims need the user: the add fails with the reason and saves nothing.
    s.mock.arm_claims_challenge(
        defaults::USER_UPN,
        ClaimsChallenge {
            path_contains: Some("/me".into()),
            needs_user: true,
        },
    );
    let out = s.add(
        "Needs MFA",
        defaults::DESKTOP_CLIENT_ID,
        defaults::TENANT_ID,
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let result = json_result(&out);
    assert_eq!(result["error"]["kind"], "authorization_refused", "{result}");
    let message = result["error"]["message"].as_str().unwrap();
    assert!(message.contains("claims challenge"), "{message}");
    assert!(message.contains("sign in again"), "{message}");
    assert!(
        result["error"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("complete everything the sign-in page asks")),
        "{result}"
    );
    assert_eq!(result["error"]["provider_code"], "AADSTS50076", "{result}");
    let accounts = json_result(&s.host(&["accounts"]));
    let names: Vec<&str> = accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Challenged"], "{accounts}");
}

#[test]
fn the_demo_runs_the_whole_flow_and_saves_the_account() {
    let plugins = plugins_dir(&[office365_library()]);
    let out = run_host(
        &[
            "--plugins-dir",
            path(plugins.path()),
            "demo",
            "--approve-after",
            "0",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stdout.contains("enter the code above"), "{stdout}");
    assert!(
        stdout.contains("✓ Verified: signed in as Adele Vance"),
        "{stdout}"
    );
    assert!(stdout.contains("✓ Saved."), "{stdout}");
    assert!(
        stdout.contains("\"Contoso reports\" is saved in"),
        "{stdout}"
    );
}

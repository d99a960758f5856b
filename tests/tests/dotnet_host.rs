//! The .NET host: the C# binding (`host-sdk/runtime/dotnet/AtrsHost.cs`) and the console
//! host (`test-host/dotnet`), compiled by Mono's C# compiler and run by Mono over the
//! built `libatrs_host.so`, against the mock: Integrations → Office 365 → Add → Verify
//! (device code) → Save & Close, accounts with health, a token and a test message —
//! once over the runtime's own store, once over the console host's own in-memory store
//! lent through the service callback.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::Duration,
};

use atrs_e2e::{host_c_library, office365_library, plugins_dir, repo_root, tools};
use atrs_mock_idp::{defaults, MockConfig, MockIdp};

/// The console host, compiled once per test binary; `None` when Mono is missing here.
fn console_host() -> Option<&'static (PathBuf, PathBuf)> {
    static BUILT: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let mcs = tools::required("mcs", "mono-mcs")?;
            let mono = tools::required("mono", "mono-runtime")?;
            let root = repo_root();
            let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("atrs-dotnet-host.exe");
            let mut sources = vec![root.join("host-sdk/runtime/dotnet/AtrsHost.cs")];
            let mut host_sources: Vec<PathBuf> = std::fs::read_dir(root.join("test-host/dotnet"))
                .expect("test-host/dotnet")
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cs"))
                .collect();
            host_sources.sort();
            sources.extend(host_sources);
            let compiled = Command::new(mcs)
                .arg("-warnaserror+")
                .arg("-target:exe")
                .arg(format!("-out:{}", out.display()))
                .args(&sources)
                .output()
                .expect("mcs runs");
            assert!(
                compiled.status.success(),
                "mcs refused the C# sources:\n{}{}",
                String::from_utf8_lossy(&compiled.stdout),
                String::from_utf8_lossy(&compiled.stderr)
            );
            Some((mono, out))
        })
        .as_ref()
}

fn mock() -> MockIdp {
    MockIdp::spawn(MockConfig {
        device_interval_secs: 0,
        auto_approve_delay: Duration::ZERO,
        ..MockConfig::default()
    })
    .expect("mock starts")
}

/// Runs the console host with `extra` arguments; answers its exit code and transcript.
fn run_console_host(mock: &MockIdp, extra: &[&str]) -> Option<(i32, String)> {
    let (mono, exe) = console_host()?;
    let plugins = plugins_dir(&[office365_library()]);
    let output = Command::new(mono)
        .arg(exe)
        .arg("--plugins")
        .arg(plugins.path())
        .args(["--authority", &mock.base_url()])
        .args(["--client-id", defaults::DESKTOP_CLIENT_ID])
        .args(["--tenant-id", defaults::TENANT_ID])
        .args(["--account", "From .NET"])
        .args(extra)
        .env("LD_LIBRARY_PATH", host_c_library().parent().unwrap())
        .output()
        .expect("mono runs");
    let transcript = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("--- the .NET console host's transcript ---\n{transcript}");
    Some((output.status.code().unwrap_or(-1), transcript))
}

fn assert_no_secret(mock: &MockIdp, transcript: &str) {
    let seen = mock.secrets_seen();
    for secret in seen
        .access_tokens
        .iter()
        .chain(&seen.refresh_tokens)
        .chain(&seen.device_codes)
    {
        assert!(
            !transcript.contains(secret.as_str()),
            "a secret reached the transcript"
        );
    }
}

#[test]
fn the_console_host_adds_an_account_gets_a_token_and_sends_a_test_message() {
    let mock = mock();
    let store = tempfile::tempdir().unwrap();
    let store_arg = store.path().to_str().unwrap().to_owned();
    let Some((code, transcript)) = run_console_host(
        &mock,
        &["--store", &store_arg, "--send-to", "megan@contoso.test"],
    ) else {
        return;
    };
    assert_eq!(code, 0, "{transcript}");
    for expected in [
        "ATRS host runtime, protocol 1.1",
        "Integrations:\n  Office 365",
        "Office 365 → Add:\n  Account name (required)",
        "To sign in, open ",
        "Verified: signed in as Adele Vance (adele.vance@contoso.onmicrosoft.com).",
        "Save & Close: saved \"From .NET\".",
        "From .NET: healthy",
        "Access token: ",
        "Send test message: ",
        "All steps succeeded.",
    ] {
        assert!(
            transcript.contains(expected),
            "no «{expected}» in:\n{transcript}"
        );
    }
    assert!(mock
        .sent_items()
        .iter()
        .any(|m| m.subject == "ATRS test message from the .NET host"));
    assert_no_secret(&mock, &transcript);
}

#[test]
fn a_console_host_with_its_own_store_sees_the_plugin_save_into_it() {
    let mock = mock();
    let Some((code, transcript)) = run_console_host(&mock, &["--own-store"]) else {
        return;
    };
    assert_eq!(code, 0, "{transcript}");
    assert!(
        transcript.contains("Accounts (host store):"),
        "{transcript}"
    );
    // The plugin saved settings and secrets (refresh token, cache) into the host's own
    // store, through the callback; the summary names no value.
    let summary = transcript
        .lines()
        .find(|l| l.starts_with("Own store holds: "))
        .unwrap_or_else(|| panic!("no store summary in:\n{transcript}"));
    assert!(summary.contains("office365/From .NET ("), "{summary}");
    assert!(
        !summary.contains(" 0 secrets"),
        "no secret was saved: {summary}"
    );
    assert_no_secret(&mock, &transcript);
}

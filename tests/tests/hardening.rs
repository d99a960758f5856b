//! The host's own hardening, from outside: its process has core dumps off, and server text
//! never drives the terminal — a scripted sign-in service on 127.0.0.1 answers
//! the device code with escapes in its message and code, and the token endpoint with
//! `"trace_id":"\u001b]52;c;…\u0007"` (OSC 52 writes the clipboard) and escapes in every
//! other field. The host's output — human and `--json` — carries no control character
//! (line breaks aside), and the ids are still there for support.

use atrs_e2e::scripted_server::{ScriptedServer, Seen};
use std::io::BufRead;
use std::process::{Command, Stdio};

use atrs_e2e::{add_office365_args, host_binary, office365_library, plugins_dir, run_host};
use atrs_mock_idp::defaults;
use serde_json::json;

const TENANT: &str = defaults::TENANT_ID;

/// The hostile sign-in service: discovery in order, then a device code and a token
/// endpoint whose every text carries escapes.
fn hostile() -> ScriptedServer {
    let base = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let b = base.clone();
    let server = ScriptedServer::start(move |r: &Seen, _| {
        let base = b.lock().unwrap().clone();
        let t = format!("{base}/{TENANT}");
        let body = if r.path.ends_with("/.well-known/openid-configuration") {
            json!({
                "issuer": format!("{t}/v2.0"),
                "authorization_endpoint": format!("{t}/oauth2/v2.0/authorize"),
                "token_endpoint": format!("{t}/oauth2/v2.0/token"),
                "device_authorization_endpoint": format!("{t}/oauth2/v2.0/devicecode"),
                "jwks_uri": format!("{t}/discovery/v2.0/keys"),
                "response_modes_supported": ["query"],
                "code_challenge_methods_supported": ["S256"],
            })
        } else if r.path.ends_with("/devicecode") {
            json!({
                "device_code": "DC-1",
                "user_code": "AB\u{1b}[2JCD",
                "verification_uri": format!("{base}/devicelogin"),
                "expires_in": 60,
                "interval": 1,
                "message": "Open the page \u{1b}]0;pwned\u{7}and enter \u{9b}31mthe code.",
            })
        } else if r.path.ends_with("/token") {
            return Some((
                400,
                json!({
                    "error": "invalid_grant\u{1b}[0m",
                    "error_description": "AADSTS50126: Error validating credentials.\r\nTrace ID: x",
                    "error_codes": [50126],
                    "trace_id": "\u{1b}]52;c;aGFja2Vk\u{7}trace-1",
                    "correlation_id": "corr\u{9b}2J-1",
                    "suberror": "bad\u{7f}\u{1b}[8m",
                    "error_uri": "https://login.microsoftonline.com/error?code=50126\u{1b}]8;;x\u{7}",
                    "timestamp": "2026-12-07 00:00:00Z\u{1b}[1A",
                })
                .to_string(),
            ));
        } else {
            return Some((404, "{}".into()));
        };
        Some((200, body.to_string()))
    });
    *base.lock().unwrap() = server.base.clone();
    server
}

fn control_characters(text: &str) -> Vec<String> {
    text.chars()
        .filter(|c| c.is_control() && *c != '\n')
        .map(|c| format!("U+{:04X}", c as u32))
        .collect()
}

#[test]
fn escapes_from_the_token_endpoint_never_reach_any_output() {
    let server = hostile();
    let plugins = plugins_dir(&[office365_library()]);
    let store = tempfile::tempdir().unwrap();
    for json_mode in [false, true] {
        let mut args: Vec<String> = vec![
            "--plugins-dir".into(),
            plugins.path().to_str().unwrap().into(),
            "--store".into(),
            store.path().to_str().unwrap().into(),
            "-vv".into(),
        ];
        if json_mode {
            args.push("--json".into());
        }
        args.extend(add_office365_args(
            "Hostile",
            defaults::DESKTOP_CLIENT_ID,
            TENANT,
            None,
            &server.base,
            "device",
        ));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_host(&args, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
        assert!(
            server.saw("POST", &format!("/{TENANT}/oauth2/v2.0/token")),
            "the token endpoint was asked"
        );
        for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
            let found = control_characters(text);
            assert!(found.is_empty(), "{name} carries {found:?}:\n{text}");
            assert!(
                !text.contains("\\u001b"),
                "{name} carries an escaped ESC:\n{text}"
            );
        }
        // The ids are kept for support, without their escapes.
        let all = format!("{stdout}{stderr}");
        assert!(all.contains("trace-1"), "{all}");
        assert!(all.contains("AADSTS50126"), "{all}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_host_process_runs_without_core_dumps() {
    let mut child = Command::new(host_binary())
        .arg("mock-idp")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("host starts");
    // The first line means the process is up (and past the start of main).
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("a core size line");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}

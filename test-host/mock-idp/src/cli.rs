//! The `atrs-test-host mock-idp` command: run the server until interrupted.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::config::{ApproveMode, MockConfig};
use crate::directory::Directory;
use crate::refresh_rules::{RefreshPolicy, NINETY_DAYS_SECS};
use crate::server::MockIdp;
use crate::state::log_line;

/// The `/_mock` control endpoints, for `mock-idp --help`.
pub const CONTROL_HELP: &str = "\
Control endpoints (HTTP, under the printed base_url):
  GET    /_mock/stats                          requests per endpoint (DELETE resets)
  GET    /_mock/directory                      tenants, apps and users
  POST   /_mock/outcome/device                 what the simulated user does with device codes:
                                               {\"outcome\":\"approve\"|\"decline\"|\"ignore\"}
                                               or {\"outcome\":\"approve_as\",\"upn\":\"...\"}
  POST   /_mock/outcome/browser                the same for browser sign-ins
  POST   /_mock/device/{user_code}/approve     approve one code now (body {\"upn\":\"...\"} optional)
  POST   /_mock/device/{user_code}/decline     decline one code now
  POST   /_mock/device/{user_code}/expire      let one code expire now
  POST   /_mock/faults                         make an endpoint fail: {\"endpoint\":\"token\",
                                               \"fault\":{\"kind\":\"status\",\"status\":503,\"retry_after\":2},
                                               \"times\":1}; kinds: delay {ms}, status, html,
                                               html_error {status}, truncated, reset, oversized,
                                               slow_down {times}, reset_mid_body, flood {bytes},
                                               go_down (DELETE clears all)
  POST   /_mock/refresh-tokens/expire          every refresh token issued so far expires
  POST   /_mock/access-tokens/expire           every access token issued so far expires

Endpoints: discovery, device_code, authorize, token, graph, user_info, keys,
device_login, sign_in, logout.";

/// Arguments of `mock-idp`.
#[derive(Clone, Debug, clap::Args)]
pub struct MockIdpArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// `auto`: the simulated user approves by itself; `manual`: use the HTML pages.
    #[arg(long, value_enum, default_value_t = ApproveMode::Auto)]
    pub approve: ApproveMode,
    /// A directory JSON file (tenants, apps, users) instead of the built-in Contoso one.
    #[arg(long, value_name = "FILE")]
    pub directory: Option<PathBuf>,
    /// Device-code polling interval in seconds.
    #[arg(long, value_name = "S", default_value_t = 5)]
    pub interval: u64,
    /// Device-code lifetime in seconds.
    #[arg(long = "expires-in", value_name = "S", default_value_t = 900)]
    pub expires_in: u64,
    /// How long the auto-mode user takes to approve a device code, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub approve_delay_ms: u64,
    /// Treat every refresh token as expired (refresh answers AADSTS700082).
    #[arg(long)]
    pub refresh_expired: bool,
    /// Access-token lifetime (`expires_in`) in seconds.
    #[arg(long, value_name = "S", default_value_t = RefreshPolicy::default().access_token_secs)]
    pub access_token_secs: u64,
    /// How long a refresh token may go unused before it is refused (AADSTS700082), in seconds.
    #[arg(long, value_name = "S", default_value_t = NINETY_DAYS_SECS)]
    pub refresh_token_secs: u64,
    /// Answer refreshes without a new refresh token (no rotation).
    #[arg(long)]
    pub no_rotate: bool,
    /// Refuse a refresh token once rotation replaced it.
    #[arg(long)]
    pub refuse_rotated: bool,
    /// Serve HTTPS with a certificate made at start; the first line names its CA file.
    #[arg(long)]
    pub tls: bool,
    /// The `prompt` values to support, comma-separated; others are refused with
    /// `invalid_request` (leave out select_account to play a server without it).
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = crate::config::ENTRA_PROMPT_VALUES.map(String::from))]
    pub prompt_values: Vec<String>,
    /// Send RFC 9207's `iss` in authorization responses and advertise it in discovery.
    #[arg(long)]
    pub response_iss: bool,
}

/// Run the server: print one JSON line (`base_url`, `approve`, `ca_file` — the CA to trust
/// with `--tls`, else null —, `certificate` — the client id of the certificate app and
/// `pem_file`, its certificate with its test key for the Certificate field —, `directory`)
/// on stdout, log to
/// stderr, stop on SIGINT or SIGTERM and exit 0. Must not be called inside a tokio runtime.
pub fn run(args: MockIdpArgs) -> ExitCode {
    let directory = match &args.directory {
        Some(path) => match Directory::from_file(path) {
            Ok(d) => d,
            Err(e) => {
                log_line(format_args!("mock-idp: {e}"));
                return ExitCode::from(2);
            }
        },
        None => Directory::default(),
    };
    let config = MockConfig {
        port: args.port,
        approve: args.approve,
        directory,
        device_interval_secs: args.interval,
        device_expires_in_secs: args.expires_in,
        auto_approve_delay: Duration::from_millis(args.approve_delay_ms),
        refresh_tokens_expired: args.refresh_expired,
        refresh_policy: RefreshPolicy {
            access_token_secs: args.access_token_secs,
            refresh_token_secs: args.refresh_token_secs,
            rotate: !args.no_rotate,
            refuse_rotated: args.refuse_rotated,
        },
        verbose: true,
        tls: args.tls,
        prompt_values_supported: args.prompt_values,
        authorization_response_iss: args.response_iss,
        ..MockConfig::default()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            log_line(format_args!("mock-idp: cannot start a runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve_until_signal(config))
}

/// Start, announce, and wait for a stop signal.
async fn serve_until_signal(config: MockConfig) -> ExitCode {
    let approve = config.approve;
    let idp = match MockIdp::start(config).await {
        Ok(idp) => idp,
        Err(e) => {
            log_line(format_args!("mock-idp: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let stop = stop_signal();
    let certificate = write_certificate_file(idp.port());
    if let Err(e) = &certificate {
        log_line(format_args!(
            "[mock-idp] the certificate app's PEM file could not be written: {e}"
        ));
    }
    let certificate = certificate.ok();
    let announce = announcement(&idp, approve, certificate.as_deref());
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{announce}")
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(out);
    log_line(format_args!(
        "[mock-idp] listening on {} ({} approval); Ctrl-C stops",
        idp.base_url(),
        format!("{approve:?}").to_lowercase()
    ));
    log_line(format_args!(
        "[mock-idp] discovery: {}/organizations/v2.0/.well-known/openid-configuration",
        idp.base_url()
    ));
    stop.await;
    log_line(format_args!("[mock-idp] stopping"));
    idp.shutdown();
    if let Some(path) = certificate {
        let _ = std::fs::remove_file(path);
    }
    ExitCode::SUCCESS
}

/// The first stdout line: where the server is and everything a tester needs to sign in.
fn announcement(
    idp: &MockIdp,
    approve: ApproveMode,
    certificate_file: Option<&std::path::Path>,
) -> serde_json::Value {
    json!({
        "base_url": idp.base_url(),
        "approve": approve,
        "ca_file": idp.ca_file(),
        "certificate": {
            "client_id": crate::defaults::CERT_CLIENT_ID,
            "pem_file": certificate_file,
        },
        "directory": idp.directory().to_json(),
    })
}

/// The certificate app's certificate and test key in one PEM file (owner-only), for a
/// tester's Certificate field; the caller removes it at stop.
fn write_certificate_file(port: u16) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write as _;
    let path = std::env::temp_dir().join(format!("atrs-mock-idp-{port}-certificate.pem"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(crate::defaults::CERT_PEM.as_bytes())?;
    file.write_all(crate::defaults::CERT_KEY_PEM.as_bytes())?;
    Ok(path)
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled, so a signal sent right after the first line (a
/// tester that reads it and stops the server at once) is caught, not fatal.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: MockIdpArgs,
    }

    #[test]
    fn flags_parse_with_issue_defaults() {
        let a = Cli::parse_from(["x"]).args;
        assert_eq!(
            (a.port, a.approve, a.interval, a.expires_in),
            (0, ApproveMode::Auto, 5, 900)
        );
        let a = Cli::parse_from([
            "x",
            "--port",
            "4100",
            "--approve",
            "manual",
            "--directory",
            "d.json",
            "--interval",
            "1",
            "--expires-in",
            "60",
            "--refresh-expired",
            "--access-token-secs",
            "30",
            "--no-rotate",
        ])
        .args;
        assert_eq!(a.port, 4100);
        assert_eq!(a.approve, ApproveMode::Manual);
        assert_eq!(a.directory.as_deref(), Some(std::path::Path::new("d.json")));
        assert_eq!((a.interval, a.expires_in, a.refresh_expired), (1, 60, true));
        assert_eq!(
            (a.access_token_secs, a.no_rotate, a.refuse_rotated),
            (30, true, false)
        );
        assert!(Cli::try_parse_from(["x", "--approve", "sometimes"]).is_err());
        assert_eq!(a.prompt_values.len(), 5);
        let a = Cli::parse_from([
            "x",
            "--tls",
            "--response-iss",
            "--prompt-values",
            "none,login",
        ])
        .args;
        assert!(a.tls && a.response_iss);
        assert_eq!(a.prompt_values, vec!["none", "login"]);
    }

    #[test]
    fn announcement_has_base_url_and_sign_in_data() {
        let idp = MockIdp::spawn(MockConfig::default()).unwrap();
        let pem = write_certificate_file(idp.port()).unwrap();
        let a = announcement(&idp, ApproveMode::Auto, Some(&pem));
        assert_eq!(a["base_url"], idp.base_url());
        assert_eq!(a["approve"], "auto");
        assert!(a["ca_file"].is_null());
        assert_eq!(
            a["certificate"]["client_id"],
            crate::defaults::CERT_CLIENT_ID
        );
        let named = a["certificate"]["pem_file"]
            .as_str()
            .expect("the PEM file's path");
        let text = std::fs::read_to_string(named).unwrap();
        assert!(text.contains("BEGIN CERTIFICATE") && text.contains("BEGIN PRIVATE KEY"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(named).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only");
        }
        std::fs::remove_file(&pem).unwrap();
        let tls = MockIdp::spawn(MockConfig {
            tls: true,
            ..MockConfig::default()
        })
        .unwrap();
        let a = announcement(&tls, ApproveMode::Auto, None);
        assert!(a["base_url"].as_str().unwrap().starts_with("https://"));
        let ca = a["ca_file"].as_str().expect("the CA file's path");
        assert!(std::fs::read_to_string(ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE"));
        let dir = &a["directory"];
        assert_eq!(dir["tenants"][0]["id"], crate::defaults::TENANT_ID);
        assert_eq!(dir["users"][0]["password"], crate::defaults::USER_PASSWORD);
        assert_eq!(dir["users"][0]["mfa_code"], crate::defaults::USER_MFA_CODE);
        assert_eq!(
            dir["apps"][1]["secrets"][0]["value"],
            crate::defaults::WEB_CLIENT_SECRET
        );
    }
}

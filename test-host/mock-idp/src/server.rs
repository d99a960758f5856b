//! [`MockIdp`]: binding, routing, running and stopping the server.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{any, delete, get, post, put};
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::claims_challenge::ClaimsChallenge;
use crate::config::{DeviceOutcome, MockConfig};
use crate::connection::{ConnHandle, ConnListener};
use crate::delivery_store::{DeliveryFaults, DriveItem, Message, UploadCounters};
use crate::directory::Directory;
use crate::errors::{GraphError, MockError};
use crate::faults::{Endpoint, Fault};
use crate::graph_call::Call;
use crate::refresh_rules::{PolicyChange, RefreshFailure, RefreshPolicy};
use crate::state::Shared;
use crate::stats::Stats;
use crate::tls::Tls;
use crate::{
    authorize, control, delivery_control, device_code, discovery, fault_injection, graph,
    graph_drive, graph_mail, login, token, upload_session,
};

/// The secret values a server issued or received ([`MockIdp::secrets_seen`]), each list
/// sorted. Client secrets are the directory's ([`Directory`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretsSeen {
    /// Device codes issued (the long code a client polls with, not the user code).
    pub device_codes: Vec<String>,
    /// Authorization codes issued.
    pub authorization_codes: Vec<String>,
    /// Access tokens issued.
    pub access_tokens: Vec<String>,
    /// Refresh tokens issued.
    pub refresh_tokens: Vec<String>,
    /// PKCE code verifiers received at the token endpoint.
    pub code_verifiers: Vec<String>,
}

/// The keys of `map`, sorted.
fn sorted_keys<V>(map: &std::collections::HashMap<String, V>) -> Vec<String> {
    let mut keys: Vec<String> = map.keys().cloned().collect();
    keys.sort();
    keys
}

/// How long in-flight requests may finish after a stop before they are dropped.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// A running mock identity platform on 127.0.0.1. Dropping it stops the server.
pub struct MockIdp {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for MockIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockIdp")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl MockIdp {
    /// Bind 127.0.0.1 and serve on the caller's tokio runtime.
    pub async fn start(config: MockConfig) -> Result<MockIdp, MockError> {
        let (listener, shared, stop, ca_file) = bind(config).await?;
        tokio::spawn(serve(listener, shared.clone()));
        Ok(MockIdp {
            shared,
            stop,
            thread: None,
            ca_file,
        })
    }

    /// Bind 127.0.0.1 and serve from a background thread with its own runtime (for sync callers).
    pub fn spawn(config: MockConfig) -> Result<MockIdp, MockError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mock-idp".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(MockError::Runtime(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match bind(config).await {
                        Ok((listener, shared, stop, ca_file)) => {
                            let _ = tx.send(Ok((shared.clone(), stop, ca_file)));
                            serve(listener, shared).await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(MockError::Runtime)?;
        let (shared, stop, ca_file) = rx.recv().map_err(|_| {
            MockError::Runtime(std::io::Error::other("the mock-idp thread ended early"))
        })??;
        Ok(MockIdp {
            shared,
            stop,
            thread: Some(thread),
            ca_file,
        })
    }

    /// With [`MockConfig::tls`]: the PEM file of the certificate authority that signed the
    /// server's certificate (for a client's trusted roots); removed when the server stops.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Sets members of the discovery document (a `null` value removes one), to play a
    /// server that advertises something else, for example another host's endpoints.
    pub fn override_discovery(&self, members: serde_json::Value) {
        merge_into(&mut self.shared.store().discovery_overrides, members);
    }

    /// Sets claims of every ID token issued from now on (a `null` value removes one), to
    /// play a forged or broken token: another `iss`, `aud` or `nonce`, a past `exp`.
    pub fn override_id_token(&self, claims: serde_json::Value) {
        merge_into(&mut self.shared.store().id_token_overrides, claims);
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS) — the authority host clients use (no trailing slash).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.shared
            .graph_host
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// `base_url/{tenant}`, the authority for a tenant segment.
    pub fn authority(&self, tenant: &str) -> String {
        format!("{}/{tenant}", self.shared.base_url)
    }

    /// The directory in use.
    pub fn directory(&self) -> &Directory {
        self.shared.dir()
    }

    /// A snapshot of the request counters and log.
    pub fn stats(&self) -> Stats {
        self.shared.stats.snapshot()
    }

    /// Forget the request counters and log.
    pub fn reset_stats(&self) {
        self.shared.stats.reset()
    }

    /// Inject `fault` into every request to `endpoint` until cleared (replacing any other fault
    /// there). [`Fault::SlowDown`] instead runs out after its own `times`.
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.faults.set(endpoint, fault, None)
    }

    /// Inject `fault` into the next `times` requests to `endpoint`, then stop.
    pub fn set_fault_times(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        self.shared.faults.set(endpoint, fault, Some(times))
    }

    /// Whether a fault is still armed on `endpoint`: one armed with
    /// [`MockIdp::set_fault_times`] is gone as soon as its last request arrived (before
    /// that request is answered), so a test can tell a request is in flight.
    pub fn fault_armed(&self, endpoint: Endpoint) -> bool {
        self.shared.faults.is_armed(endpoint)
    }

    /// Remove the fault on one endpoint.
    pub fn clear_fault(&self, endpoint: Endpoint) {
        self.shared.faults.clear(Some(endpoint))
    }

    /// Remove every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear(None)
    }

    /// What the auto-mode user does with device codes not yet decided (default: approve).
    pub fn set_device_outcome(&self, outcome: DeviceOutcome) {
        self.shared.store().device_outcome = outcome;
    }

    /// What the auto-mode user does at /authorize: approve (default), approve as someone,
    /// decline consent (`access_denied`), or ignore (the sign-in page is shown and left).
    pub fn set_browser_outcome(&self, outcome: DeviceOutcome) {
        self.shared.store().browser_outcome = outcome;
    }

    /// Approve the device code with this user code as `upn` (either mode).
    pub fn approve_device_code(&self, user_code: &str, upn: &str) -> Result<(), MockError> {
        control::approve_device(&self.shared, user_code, Some(upn))
    }

    /// Decline the device code with this user code.
    pub fn decline_device_code(&self, user_code: &str) -> Result<(), MockError> {
        control::decline_device(&self.shared, user_code)
    }

    /// Make the device code with this user code expire now (polls get `expired_token`).
    pub fn expire_device_code(&self, user_code: &str) -> Result<(), MockError> {
        control::expire_device(&self.shared, user_code)
    }

    /// Make every refresh token issued so far expire from inactivity (AADSTS700082).
    pub fn expire_refresh_tokens(&self) {
        control::expire_refresh_tokens(&self.shared);
    }

    /// Make every access token issued so far expired (Graph answers 401).
    pub fn expire_access_tokens(&self) {
        control::expire_access_tokens(&self.shared);
    }

    /// The refresh-token policy in force (lifetimes, rotation).
    pub fn refresh_policy(&self) -> RefreshPolicy {
        self.shared.rules.policy()
    }

    /// Replace the refresh-token policy for tokens issued and redeemed from now on.
    pub fn set_refresh_policy(&self, policy: RefreshPolicy) {
        self.shared.rules.change(&PolicyChange::from(policy));
    }

    /// Refuse the next `times` refreshes of the account `upn` (`None` = until cleared) the way
    /// `failure` says.
    pub fn set_refresh_failure(&self, upn: &str, failure: RefreshFailure, times: Option<u32>) {
        self.shared.rules.arm(upn, failure, times)
    }

    /// Forget the refresh failure armed for `upn`, or every one (`None`).
    pub fn clear_refresh_failures(&self, upn: Option<&str>) {
        self.shared.rules.clear(upn)
    }

    /// Every secret value issued or received so far, for audits that search output for them.
    pub fn secrets_seen(&self) -> SecretsSeen {
        let store = self.shared.store();
        SecretsSeen {
            device_codes: sorted_keys(&store.devices),
            authorization_codes: sorted_keys(&store.auth_codes),
            access_tokens: sorted_keys(&store.access),
            refresh_tokens: sorted_keys(&store.refresh),
            code_verifiers: store.code_verifiers.iter().cloned().collect(),
        }
    }

    /// Messages sent so far (through `sendMail` or a sent draft), oldest first.
    pub fn sent_items(&self) -> Vec<Message> {
        self.shared.deliveries().sent.clone()
    }

    /// Drafts not sent (nor deleted).
    pub fn drafts(&self) -> Vec<Message> {
        self.shared.deliveries().drafts.values().cloned().collect()
    }

    /// Files stored in any drive.
    pub fn drive_items(&self) -> Vec<DriveItem> {
        self.shared.deliveries().items.values().cloned().collect()
    }

    /// Upload counters (bytes received and accepted, fragments, sessions).
    pub fn upload_counters(&self) -> UploadCounters {
        self.shared.deliveries().counters.clone()
    }

    /// Upload sessions still open (neither completed nor cancelled).
    pub fn open_upload_sessions(&self) -> usize {
        self.shared.deliveries().sessions.len()
    }

    /// Arm delivery faults (replacing those armed before).
    pub fn set_delivery_faults(&self, faults: DeliveryFaults) {
        self.shared.deliveries().faults = faults;
    }

    /// Forget every draft, sent item, drive item, upload session, counter and delivery fault.
    pub fn reset_deliveries(&self) {
        delivery_control::reset_deliveries(&self.shared)
    }

    /// An access token for `upn` that carries exactly `scopes` (Graph permission names).
    pub fn issue_access_token(&self, upn: &str, scopes: &[&str]) -> Result<String, MockError> {
        delivery_control::mint_token(&self.shared, upn, scopes)
    }

    /// Arm a claims challenge for the account `upn` (replacing one armed before): its Graph
    /// requests get `401 insufficient_claims` until a token issued for the claims is used.
    pub fn arm_claims_challenge(&self, upn: &str, challenge: ClaimsChallenge) {
        self.shared.claims.arm(upn, challenge)
    }

    /// Forget the claims challenge of `upn`, or every one (`None`).
    pub fn clear_claims_challenges(&self, upn: Option<&str>) {
        self.shared.claims.clear(upn)
    }

    /// Restrict the app `client_id` to `mailboxes` (addresses, UPNs or object ids), as an
    /// Exchange application access policy does: its app tokens reach other mailboxes' mail
    /// only to get `403 ErrorAccessDenied` "Access to OData is disabled: [RAOP] …".
    pub fn restrict_app_mailboxes(&self, client_id: &str, mailboxes: &[&str]) {
        let list: Vec<String> = mailboxes.iter().map(|m| m.to_string()).collect();
        self.shared.access_policies.restrict(client_id, &list)
    }

    /// Remove the application access policy of `client_id`, or every one (`None`).
    pub fn clear_app_access_policies(&self, client_id: Option<&str>) {
        self.shared.access_policies.clear(client_id)
    }

    /// Stop the server (dropping it does the same).
    pub fn shutdown(self) {
        drop(self)
    }
}

impl Drop for MockIdp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(path) = &self.ca_file {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Adds the members of `object` (a JSON object) to `overrides`.
fn merge_into(
    overrides: &mut serde_json::Map<String, serde_json::Value>,
    object: serde_json::Value,
) {
    if let serde_json::Value::Object(members) = object {
        overrides.extend(members);
    }
}

/// What [`bind`] sets up.
type Bound = (
    ConnListener,
    Arc<Shared>,
    watch::Sender<bool>,
    Option<PathBuf>,
);

/// Check the directory, bind 127.0.0.1, make the TLS certificate when asked, and build the
/// shared state.
async fn bind(config: MockConfig) -> Result<Bound, MockError> {
    config.directory.validate()?;
    let port = config.port;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|source| MockError::Bind { port, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| MockError::Bind { port, source })?
        .port();
    let (acceptor, ca_file) = if config.tls {
        let tls = Tls::generate()?;
        let path = tls.write_ca(&std::env::temp_dir(), bound)?;
        (Some(tls.acceptor), Some(path))
    } else {
        (None, None)
    };
    let (stop, stopped) = watch::channel(false);
    let (go_down, gone) = watch::channel(false);
    let (closed, port_closed) = watch::channel(false);
    let listener = ConnListener::new(listener, acceptor, gone, closed)
        .map_err(|source| MockError::Bind { port, source })?;
    let shared = Arc::new(Shared::new(config, bound, stopped, (go_down, port_closed)));
    Ok((listener, shared, stop, ca_file))
}

/// Serve until stopped; requests still running `STOP_GRACE` after the stop are dropped.
async fn serve(listener: ConnListener, shared: Arc<Shared>) {
    let app = router(shared.clone());
    let mut graceful = shared.shutdown.clone();
    let mut hard = shared.shutdown.clone();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<ConnHandle>(),
    )
    .with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|s| *s).await;
    });
    tokio::select! {
        _ = server => {}
        _ = async move {
            let _ = hard.wait_for(|s| *s).await;
            tokio::time::sleep(STOP_GRACE).await;
        } => {}
    }
    shared.log("stopped");
}

/// Every route, behind the fault-and-stats middleware.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys))
        .route("/common/discovery/instance", get(discovery::instance))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(device_code::devicecode).fallback(token::post_only),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(token::token).fallback(token::post_only),
        )
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::authorize))
        .route("/{tenant}/oauth2/v2.0/logout", get(discovery::logout))
        .route(
            "/devicelogin",
            get(device_code::entry_page).post(device_code::submit_code),
        )
        .route("/login/{txn}", get(login::show).post(login::submit))
        .route("/v1.0/me", get(graph::me))
        .route("/oidc/userinfo", get(graph::userinfo))
        .route("/v1.0/me/sendMail", post(graph_mail::send_mail_me))
        .route(
            "/v1.0/users/{user}/sendMail",
            post(graph_mail::send_mail_as),
        )
        .route("/v1.0/users/{user}", get(graph::user))
        .route(
            "/v1.0/users/{user}/mailFolders/{folder}",
            get(graph_mail::mail_folder),
        )
        .route(
            "/v1.0/users/{user}/messages",
            post(graph_mail::create_draft_as),
        )
        .route(
            "/v1.0/users/{user}/messages/{id}",
            delete(graph_mail::delete_draft_as),
        )
        .route(
            "/v1.0/users/{user}/messages/{id}/attachments/createUploadSession",
            post(graph_mail::attachment_session_as),
        )
        .route(
            "/v1.0/users/{user}/messages/{id}/send",
            post(graph_mail::send_draft_as),
        )
        .route("/v1.0/me/messages", post(graph_mail::create_draft))
        .route("/v1.0/me/messages/{id}", delete(graph_mail::delete_draft))
        .route(
            "/v1.0/me/messages/{id}/attachments/createUploadSession",
            post(graph_mail::attachment_session),
        )
        .route("/v1.0/me/messages/{id}/send", post(graph_mail::send_draft))
        .route("/v1.0/me/drive", any(graph_drive::me_drive_itself))
        .route("/v1.0/me/drive/{*rest}", any(graph_drive::me_drive))
        .route(
            "/v1.0/users/{user}/drive",
            any(graph_drive::user_drive_itself),
        )
        .route(
            "/v1.0/users/{user}/drive/{*rest}",
            any(graph_drive::user_drive),
        )
        .route("/v1.0/drives/{drive}", any(graph_drive::drive_by_id_itself))
        .route(
            "/v1.0/drives/{drive}/{*rest}",
            any(graph_drive::drive_by_id),
        )
        .route("/v1.0/sites/{*rest}", any(graph_drive::sites))
        .route(
            "/upload/{id}",
            put(upload_session::fragment)
                .get(upload_session::status)
                .delete(upload_session::cancel),
        )
        .nest("/_mock", control::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            fault_injection::intercept,
        ))
        .with_state(shared)
}

/// Anything else: Graph's error shape. Under `/v1.0/` (or `/beta/`) it is Graph's own answer
/// to a path it does not know (`400 BadRequest`, "Resource not found for the segment …");
/// elsewhere a `404`.
async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let call = Call::of(&headers);
    let path = uri.path();
    let graph = ["/v1.0/", "/beta/"]
        .iter()
        .find_map(|p| path.strip_prefix(p));
    let error = match graph {
        Some(rest) => GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'.",
                unknown_segment(rest)
            ),
        ),
        None => GraphError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No such endpoint on the mock identity platform: {path}"),
        ),
    };
    call.fail(error)
}

/// A known path asked with a method it does not take.
async fn method_not_allowed(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    Call::of(&headers).fail(GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "BadRequest",
        format!("{method} is not supported on {}.", uri.path()),
    ))
}

/// The segment Graph names for an unknown path: the first one after the entity it
/// resolved (`me`, `users/{id}`, `drives/{id}`, `sites/{id}`), or the first.
fn unknown_segment(rest: &str) -> &str {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let known = match segments.first().map(|s| s.to_ascii_lowercase()) {
        Some(s) if s == "me" => 1,
        Some(s) if ["users", "drives", "sites", "groups"].contains(&s.as_str()) => 2,
        _ => 0,
    };
    segments
        .get(known)
        .or(segments.last())
        .copied()
        .unwrap_or_default()
}

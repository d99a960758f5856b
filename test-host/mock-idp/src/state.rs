//! The running server's shared state: settings, directory, and everything issued so far.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::access_policy::AccessPolicies;
use crate::claims_challenge::ClaimsTable;
use crate::config::{DeviceOutcome, MockConfig};
use crate::delivery_store::DeliveryStore;
use crate::directory::{Directory, Platform, Segment};
use crate::faults::FaultTable;
use crate::in_flight::InFlight;
use crate::refresh_rules::RefreshRules;
use crate::scopes::{Grant, Requested};
use crate::sign_in::Login;
use crate::stats::StatsLog;

/// Whether a client authenticates (confidential) or must not (public).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientKind {
    /// Mobile & desktop, SPA, or device code with public client flows on.
    Public,
    /// Web platform, or device code with public client flows off.
    Confidential,
}

impl ClientKind {
    /// The client type a redirect URI's platform implies.
    pub fn of_platform(p: Platform) -> Self {
        match p {
            Platform::Web => ClientKind::Confidential,
            Platform::Desktop | Platform::Spa => ClientKind::Public,
        }
    }
}

/// Where a device code stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DeviceState {
    /// Waiting for the user.
    Pending,
    /// The user signed in and approved.
    Approved {
        /// The user's object id.
        user: String,
        /// What was granted.
        grant: Grant,
    },
    /// The user declined.
    Declined,
    /// Tokens were issued; the code cannot be used again.
    Redeemed,
}

impl DeviceState {
    /// A word for messages.
    pub fn name(&self) -> &'static str {
        match self {
            DeviceState::Pending => "pending",
            DeviceState::Approved { .. } => "approved",
            DeviceState::Declined => "declined",
            DeviceState::Redeemed => "redeemed",
        }
    }
}

/// An issued device code.
#[derive(Clone, Debug)]
pub(crate) struct DeviceEntry {
    /// The long code the client polls with.
    pub device_code: String,
    /// The short code the user types.
    pub user_code: String,
    /// The app.
    pub client_id: String,
    /// The tenant segment of the request.
    pub segment: Segment,
    /// Scopes asked for.
    pub requested: Requested,
    /// When it was issued.
    pub issued: Instant,
    /// When it stops working.
    pub expires: Instant,
    /// Where it stands.
    pub state: DeviceState,
}

/// An issued authorization code.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    /// The app.
    pub client_id: String,
    /// The redirect URI sent to /authorize, verbatim.
    pub redirect_uri: String,
    /// The platform of the registration it matched.
    pub platform: Platform,
    /// PKCE challenge and method (`S256` or `plain`).
    pub challenge: Option<(String, String)>,
    /// What was granted.
    pub grant: Grant,
    /// The user's object id.
    pub user: String,
    /// The OIDC nonce to echo in the ID token.
    pub nonce: Option<String>,
    /// When it was issued.
    pub issued: Instant,
    /// Whether it was redeemed.
    pub used: bool,
}

/// An issued access token.
#[derive(Clone, Debug)]
pub(crate) struct AccessToken {
    /// The app it was issued to.
    pub client_id: String,
    /// The user's object id (empty for an app token).
    pub user: String,
    /// Issued by the client credentials grant: no user, `grant` holds the app's `roles`.
    pub app_only: bool,
    /// What it is valid for.
    pub grant: Grant,
    /// When it expires.
    pub expires: Instant,
    /// The claims challenge instant it was issued for ([`crate::claims_challenge`]).
    pub claims_nbf: Option<u64>,
}

/// An issued refresh token.
#[derive(Clone, Debug)]
pub(crate) struct RefreshToken {
    /// The app it belongs to.
    pub client_id: String,
    /// The user's object id.
    pub user: String,
    /// What it may be redeemed for.
    pub grant: Grant,
    /// Whether redeeming it needs the client secret.
    pub kind: ClientKind,
    /// When it was issued (for the 700082 message).
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// When it was issued (for the inactivity lifetime).
    pub issued: Instant,
    /// Whether it has expired from inactivity.
    pub expired: bool,
    /// Whether a refresh replaced it with a newer refresh token (rotation).
    pub replaced: bool,
}

/// Everything issued, and the simulated user's current intentions.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Device codes by device code.
    pub devices: HashMap<String, DeviceEntry>,
    /// Device codes by (upper-case) user code.
    pub user_codes: HashMap<String, String>,
    /// Authorization codes.
    pub auth_codes: HashMap<String, AuthCode>,
    /// Access tokens.
    pub access: HashMap<String, AccessToken>,
    /// Refresh tokens.
    pub refresh: HashMap<String, RefreshToken>,
    /// PKCE verifiers received at the token endpoint.
    pub code_verifiers: BTreeSet<String>,
    /// Permissions each user consented to, per (client id, user object id).
    pub consents: HashMap<(String, String), BTreeSet<String>>,
    /// Sign-ins in progress on the HTML pages.
    pub logins: HashMap<String, Login>,
    /// What the auto-mode user does with device codes.
    pub device_outcome: DeviceOutcome,
    /// What the auto-mode user does at /authorize.
    pub browser_outcome: DeviceOutcome,
    /// Members replacing (or, when `null`, removing) those of the discovery document.
    pub discovery_overrides: serde_json::Map<String, serde_json::Value>,
    /// Claims replacing (or, when `null`, removing) those of every ID token issued.
    pub id_token_overrides: serde_json::Map<String, serde_json::Value>,
}

/// `target` with each member of `overrides` set, or removed where it is `null`.
pub(crate) fn overridden(
    mut target: serde_json::Value,
    overrides: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    if let Some(object) = target.as_object_mut() {
        for (key, value) in overrides {
            if value.is_null() {
                object.remove(key);
            } else {
                object.insert(key.clone(), value.clone());
            }
        }
    }
    target
}

impl Store {
    /// The device code behind a user code (case-insensitive, dashes and spaces ignored).
    pub fn device_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceEntry> {
        let key: String = user_code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase();
        let device_code = self.user_codes.get(&key)?.clone();
        self.devices.get_mut(&device_code)
    }

    /// Record that `user` consented to `grant` for `client_id`.
    pub fn consent(&mut self, client_id: &str, user: &str, grant: &Grant) {
        self.consents
            .entry((client_id.to_ascii_lowercase(), user.to_owned()))
            .or_default()
            .extend(grant.graph.iter().cloned());
    }

    /// The permissions `user` consented to for `client_id`.
    pub fn consented(&self, client_id: &str, user: &str) -> BTreeSet<String> {
        self.consents
            .get(&(client_id.to_ascii_lowercase(), user.to_owned()))
            .cloned()
            .unwrap_or_default()
    }
}

/// State shared by every handler of one server.
pub(crate) struct Shared {
    /// The settings it was started with.
    pub config: MockConfig,
    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub base_url: String,
    /// `127.0.0.1:PORT`, the `msgraph_host`.
    pub graph_host: String,
    /// Everything issued.
    store: Mutex<Store>,
    /// Everything delivered through Graph.
    deliveries: Mutex<DeliveryStore>,
    /// Armed faults.
    pub faults: FaultTable,
    /// Request log.
    pub stats: StatsLog,
    /// Refresh-token policy and the refusals armed per account.
    pub rules: RefreshRules,
    /// Claims challenges armed per account.
    pub claims: ClaimsTable,
    /// Graph requests in flight per mailbox.
    pub in_flight: InFlight,
    /// Every client assertion `jti` accepted (a replay is refused).
    pub seen_assertions: Mutex<BTreeSet<String>>,
    /// Exchange application access policies per app.
    pub access_policies: AccessPolicies,
    /// Flips to `true` when the server stops.
    pub shutdown: watch::Receiver<bool>,
    /// Set to `true` to stop listening ([`crate::Fault::GoDown`]): later connections are refused.
    pub go_down: watch::Sender<bool>,
    /// Turns `true` once the port is closed after [`Shared::go_down`].
    pub port_closed: watch::Receiver<bool>,
}

impl Shared {
    /// New state for a server listening on `port`.
    pub fn new(
        config: MockConfig,
        port: u16,
        shutdown: watch::Receiver<bool>,
        (go_down, port_closed): (watch::Sender<bool>, watch::Receiver<bool>),
    ) -> Self {
        let rules = RefreshRules::new(config.refresh_policy);
        Self {
            base_url: format!(
                "{}://127.0.0.1:{port}",
                if config.tls { "https" } else { "http" }
            ),
            graph_host: format!("127.0.0.1:{port}"),
            config,
            store: Mutex::new(Store::default()),
            deliveries: Mutex::new(DeliveryStore::default()),
            faults: FaultTable::default(),
            rules,
            claims: ClaimsTable::default(),
            in_flight: InFlight::default(),
            seen_assertions: Mutex::new(BTreeSet::new()),
            access_policies: AccessPolicies::default(),
            stats: StatsLog::default(),
            shutdown,
            go_down,
            port_closed,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Directory {
        &self.config.directory
    }

    /// Lock the store (a poisoned lock is still usable: every update is a single step).
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lock the delivery store (every update is a single step, so a poisoned lock is usable).
    pub fn deliveries(&self) -> MutexGuard<'_, DeliveryStore> {
        self.deliveries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A human log line on stderr when verbose.
    pub fn log(&self, line: impl std::fmt::Display) {
        if self.config.verbose {
            log_line(format_args!("[mock-idp] {line}"));
        }
    }

    /// Wait for `d`, or less if the server is stopping.
    pub async fn pause(&self, d: Duration) {
        let mut stop = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
}

/// Prints a line on stderr; a closed stderr (a pipe whose reader is gone) is not
/// worth dying for.
pub(crate) fn log_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

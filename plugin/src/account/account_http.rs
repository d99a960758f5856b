//! The HTTP client for one account's requests: its limits, no system proxy for a loopback
//! authority, and the extra certificate authorities its form (or `SSL_CERT_FILE`) names.
//!
//! Building a client reads the operating system's whole certificate store (a file per
//! authority), which cost more than the token request it was built for: [`Clients`]
//! keeps the clients built, one per distinct setup, and builds again when what it was
//! built from changes (the extra CA files, by size and modification time, and the
//! environment variables that choose the trusted store and the proxies).

use std::{collections::HashMap, path::Path, sync::Mutex, time::SystemTime};

use atrs_host_sdk::PluginError;

use crate::{
    config::AccountConfig,
    fields,
    net::http::is_loopback,
    net::http::{Http, Limits},
    net::trust::{self, SSL_CERT_FILE},
};

/// A client for `config`'s sign-in service within `limits`.
pub fn client(config: &AccountConfig, limits: Limits) -> Result<Http, PluginError> {
    let loopback = config.authority_override.as_ref().is_some_and(is_loopback);
    let roots = trust::extra_roots(config.ca_file.as_deref()).map_err(|e| {
        PluginError::invalid_input(format!("The extra trusted certificates could not be loaded: {e}."))
            .with_field(fields::CA_FILE)
            .with_hint("Fix the Extra trusted certificates field, or the SSL_CERT_FILE environment variable: each must name a PEM file of certificate authorities.")
    })?;
    Http::trusting(limits, loopback, roots)
}

/// The environment a client is built from: the trusted store's and the proxies'.
const BUILT_FROM_ENV: [&str; 10] = [
    SSL_CERT_FILE,
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A file as a client was built from it: its path, size and modification time (`None`
/// where it could not be read: such a setup is never kept).
type FileStamp = (std::path::PathBuf, Option<(u64, SystemTime)>);

/// Everything a built client depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Setup {
    loopback: bool,
    limits: Limits,
    ca_file: Option<FileStamp>,
    env: Vec<Option<std::ffi::OsString>>,
    env_file: Option<FileStamp>,
}

fn stamp(path: &Path) -> FileStamp {
    let meta = std::fs::metadata(path).ok();
    let seen = meta.and_then(|m| Some((m.len(), m.modified().ok()?)));
    (path.to_owned(), seen)
}

/// Clients kept before starting again from empty: a bound on memory.
const MOST_CLIENTS: usize = 32;

/// The clients built for one plugin instance's accounts.
#[derive(Default)]
pub struct Clients {
    built: Mutex<HashMap<Setup, Http>>,
}

impl Clients {
    /// A client for `config` within `limits` ([`client`]): one built before for the same
    /// setup (sharing its connections), with a failure record of its own.
    pub fn get(&self, config: &AccountConfig, limits: Limits) -> Result<Http, PluginError> {
        let env: Vec<_> = BUILT_FROM_ENV.iter().map(std::env::var_os).collect();
        let setup = Setup {
            loopback: config.authority_override.as_ref().is_some_and(is_loopback),
            limits,
            ca_file: config.ca_file.as_deref().map(stamp),
            env_file: env[0]
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| stamp(Path::new(v))),
            env,
        };
        let built = |m: &Mutex<HashMap<Setup, Http>>| {
            m.lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&setup)
                .map(Http::fresh)
        };
        if let Some(http) = built(&self.built) {
            return Ok(http);
        }
        let http = client(config, limits)?;
        let readable = |f: &Option<FileStamp>| f.as_ref().is_none_or(|(_, seen)| seen.is_some());
        if readable(&setup.ca_file) && readable(&setup.env_file) {
            let mut kept = self.built.lock().unwrap_or_else(|p| p.into_inner());
            if kept.len() >= MOST_CLIENTS {
                kept.clear();
            }
            kept.insert(setup, http.clone());
        }
        Ok(http)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str =
        include_str!("../../../test-host/mock-idp/fixtures/certificate-app.cert.pem");

    fn config(ca_file: Option<&Path>) -> AccountConfig {
        let values = atrs_host_sdk::FormValues::new()
            .with(fields::ACCOUNT_NAME, "Reports")
            .with(fields::CLIENT_ID, "4a1aa1d5-c567-49d0-ad0b-cd957a47f842")
            .with(fields::TENANT_ID, "contoso.onmicrosoft.com");
        let mut config = AccountConfig::parse(&values).unwrap();
        config.ca_file = ca_file.map(Path::to_owned);
        config
    }

    #[test]
    fn a_client_is_built_once_per_setup_and_again_when_its_ca_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("extra.pem");
        std::fs::write(&pem, CERT).unwrap();
        let clients = Clients::default();
        let limits = Limits::default();
        let first = clients.get(&config(Some(&pem)), limits).unwrap();
        let again = clients.get(&config(Some(&pem)), limits).unwrap();
        assert!(first.same_client(&again), "the same setup shares a client");
        let other = clients.get(&config(None), limits).unwrap();
        assert!(!first.same_client(&other), "another setup has its own");
        // A changed file (another size) is read again.
        std::fs::write(&pem, format!("{CERT}{CERT}")).unwrap();
        let changed = clients.get(&config(Some(&pem)), limits).unwrap();
        assert!(!first.same_client(&changed));
        // A file that is gone is an error, as without the cache.
        std::fs::remove_file(&pem).unwrap();
        let e = clients.get(&config(Some(&pem)), limits).unwrap_err();
        assert!(e.message().contains("could not be loaded"), "{e}");
    }
}

//! Access tokens for saved accounts: from the shared cache while fresh, else one refresh
//! per account at a time — across the threads of this process (a gate per account) and
//! across processes on the same store (the host's named lock) — with the stored token read
//! again after the lock is taken, so whoever waited finds the other's result.
//!
//! A claims challenge from Graph ([`AccountTokens::token_for_claims`]) is answered by one
//! refresh carrying those claims, under the same gate and lock; `cp1` is declared on every
//! refresh to a server that takes claims ([`crate::authority::claims`]).
//!
//! A refresh stores the rotated refresh token and the new access token in one write
//! before the access token is returned. A refusal for good marks the account "needs
//! signing in again" and keeps every stored value; transient trouble changes nothing.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use atrs_host_sdk::{ErrorKind, Host, HostLock, PluginError, Settings};
use url::Url;

use crate::{
    account::account_http::Clients,
    account::account_memo::{AccountMemo, ConfigRead},
    account::refresh::{self, Renewed, RetryBound},
    account::refresh_error::RefreshError,
    account::refresh_facts::{RefreshFacts, StoredFailure},
    account::saved::{self, CredentialSecrets, SECRET_ACCESS_TOKENS, SECRET_REFRESH_TOKEN},
    account::token_cache::{SharedToken, TokenCache},
    authority::discovery,
    authority::scopes,
    clock::unix_now,
    config::AccountConfig,
    fields,
    net::http::Limits,
    runtime::Runtime,
    secret::Secret,
};

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The shared cache: no request was made.
    Cache,
    /// A refresh made for this call (or by another asker while this one waited).
    Refreshed,
}

/// An access token handed out.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The token, its expiry and scopes.
    pub token: SharedToken,
    /// Where it came from.
    pub origin: Origin,
}

/// What a refresh read of the stored account with its lock held, written back with
/// the new token.
struct Stored<'a> {
    secrets: &'a CredentialSecrets,
    refresh_token: Option<Secret>,
    /// The store generation the account was read at.
    generation: Option<u64>,
}

/// The name of the host lock that serialises refreshes of `account`.
pub fn lock_name(account: &str) -> String {
    if account.is_ascii() {
        return format!("office365/refresh/{account}");
    }
    // A lock is a file named after it, each byte outside a-z 0-9 - _ . spelled as
    // three: a name of emoji or accented letters would outgrow a file name. Such names
    // (accepted since ASCII-only ones) go by a digest, the same in every process.
    let digest = ring::digest::digest(&ring::digest::SHA256, account.as_bytes());
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("office365/refresh/sha256-{hex}")
}

/// Hands out access tokens for the saved accounts of one plugin instance.
pub struct AccountTokens {
    host: Host,
    runtime: Runtime,
    limits: Limits,
    bound: RetryBound,
    gates: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    token_urls: Mutex<HashMap<String, TokenEndpoint>>,
    memo: AccountMemo,
    clients: Clients,
}

/// An account's token endpoint, as its discovery named it.
#[derive(Debug, Clone)]
struct TokenEndpoint {
    url: Url,
    /// Whether its server takes the `claims` parameter ([`crate::authority::discovery::Server::takes_claims`]).
    takes_claims: bool,
}

impl AccountTokens {
    /// Tokens for `host`'s accounts, requests run on `runtime`.
    pub fn new(host: Host, runtime: Runtime, limits: Limits) -> Self {
        AccountTokens {
            host,
            runtime,
            limits,
            bound: RetryBound::default(),
            gates: Mutex::new(HashMap::new()),
            token_urls: Mutex::new(HashMap::new()),
            memo: AccountMemo::default(),
            clients: Clients::default(),
        }
    }

    /// Replaces the network limits (tests of slow servers).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Replaces the bound on retrying transient faults.
    pub fn set_retry_bound(&mut self, bound: RetryBound) {
        self.bound = bound;
    }

    /// How long an asker waits for another process's refresh of the same account: the
    /// longest a refresh can take (retries within the bound, then one last request); with
    /// the default limits 50 s, inside the host's default call bound of 60 s. A holder
    /// that dies releases the lock at once (the host's duty), so nobody waits for it.
    pub fn lock_wait(&self) -> Duration {
        self.bound.total + self.limits.request_timeout
    }

    /// A token for `account` carrying `scopes` (empty: the scopes saved with it). Only the
    /// saved scopes may be asked for (OpenID Connect ones aside): the user consented to those
    /// at Verify, and the saved refresh token is not a way to reach anything else.
    pub fn token(
        &self,
        account: &str,
        scopes: &[String],
        force: bool,
    ) -> Result<Issued, PluginError> {
        // One generation for the configuration and the cache: a hit costs one host call.
        let generation = self.host.store_generation();
        let config = self
            .memo
            .config_for_cache_at(&self.host, account, generation)?;
        let wanted = wanted(account, scopes, &config)?;
        if !force {
            if let Some(hit) = self.cached(account, wanted, generation)? {
                return Ok(hit);
            }
        }
        self.while_locked(account, |now| {
            // Whoever held the lock before may have refreshed, or the account changed:
            // read it again, once; the refresh works from this read.
            let read = self
                .memo
                .config_with_settings_at(&self.host, account, now)?;
            let wanted = self::wanted(account, scopes, &read.config)?;
            if !force {
                if let Some(hit) = self.cached(account, wanted, now)? {
                    return Ok(Issued {
                        origin: Origin::Refreshed,
                        ..hit
                    });
                }
            }
            self.refresh(account, &read, wanted, force, None, now)
        })
    }

    /// A new token for `account` issued for `claims` (the JSON of Graph's claims challenge):
    /// one token request carrying them, never the cache. A refusal for good (the claims
    /// need the user: `interaction_required`) marks the account "needs signing in again",
    /// as any refresh refused for good does; a refusal already standing is returned without
    /// asking again.
    pub fn token_for_claims(&self, account: &str, claims: &str) -> Result<Issued, PluginError> {
        // An account that is not there is refused before its lock is taken.
        self.memo.config(&self.host, account)?;
        self.while_locked(account, |now| {
            let read = self
                .memo
                .config_with_settings_at(&self.host, account, now)?;
            self.refresh(
                account,
                &read,
                &read.config.scopes,
                false,
                Some(claims),
                now,
            )
        })
    }

    /// Runs `f` with `account` held against refreshes and saves — by the other threads
    /// of this process (a gate per account) and by other processes on the same store
    /// (the host's named lock) — giving it the store generation read once both are held.
    pub fn while_locked<R>(
        &self,
        account: &str,
        f: impl FnOnce(Option<u64>) -> Result<R, PluginError>,
    ) -> Result<R, PluginError> {
        let gate = self.gate(account);
        let _in_process = gate.lock().unwrap_or_else(|p| p.into_inner());
        let _across_processes = self.take_lock(account)?;
        f(self.host.store_generation())
    }

    /// The cache hit for `wanted` in the cache as stored at `generation`, or why none
    /// can be given without a sign-in.
    fn cached(
        &self,
        account: &str,
        wanted: &[String],
        generation: Option<u64>,
    ) -> Result<Option<Issued>, PluginError> {
        let cache = self.memo.token_cache_at(&self.host, account, generation)?;
        Ok(cache.find_shared(wanted, unix_now()).map(|token| Issued {
            token,
            origin: Origin::Cache,
        }))
    }

    fn gate(&self, account: &str) -> Arc<Mutex<()>> {
        self.gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(account.to_owned())
            .or_default()
            .clone()
    }

    /// The host's lock for `account`; `None` on a host without locks (1.0), where only
    /// the in-process gate applies.
    fn take_lock(&self, account: &str) -> Result<Option<HostLock>, PluginError> {
        match self.host.lock(&lock_name(account), self.lock_wait()) {
            Ok(lock) => Ok(Some(lock)),
            Err(e) if e.kind() == ErrorKind::Unsupported => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Refreshes `account` (its lock held), answering `challenge` when given, and stores
    /// the outcome. `read` is the account as read with the lock held, at `generation`.
    fn refresh(
        &self,
        account: &str,
        read: &ConfigRead,
        wanted: &[String],
        force: bool,
        challenge: Option<&str>,
        generation: Option<u64>,
    ) -> Result<Issued, PluginError> {
        let config = &*read.config;
        let settings = read
            .settings
            .clone()
            .map(saved::migrate)
            .transpose()?
            .ok_or_else(|| saved::not_found(account))?;
        let facts = RefreshFacts::read(&settings);
        // A refusal for good stands until the account is signed in again (or a forced
        // refresh tries once more): asking again would only be refused again.
        if let (false, Some(failure)) = (force, facts.needs_sign_in()) {
            return Err(failure.to_error());
        }
        let refresh_token = self
            .host
            .secret_read(account, SECRET_REFRESH_TOKEN)?
            .map(Secret::new);
        let stored = Stored {
            secrets: &read.secrets,
            refresh_token: refresh_token.clone(),
            generation,
        };
        if config.is_application() {
            return self.application_token(account, config, wanted, (settings, facts), stored);
        }
        let refresh_token = refresh_token.ok_or_else(|| no_refresh_token(account))?;
        let endpoint = self.token_endpoint(config)?;
        let token_url = endpoint.url;
        let why = match challenge {
            Some(_) => " for the claims Microsoft Graph asked for (a claims challenge)",
            None => "",
        };
        self.host.info(&format!(
            "Renewing the access token of \"{account}\"{why} at {}.",
            crate::net::http::host_of(token_url.as_str())
        ));
        let claims = crate::authority::claims::request_claims(challenge, endpoint.takes_claims);
        let http = self.clients.get(config, self.limits)?;
        let (config_owned, wanted_owned, bound) = (config.clone(), wanted.to_vec(), self.bound);
        let outcome = self.run(async move {
            refresh::renew(
                &http,
                &token_url,
                &config_owned,
                &refresh_token,
                (&wanted_owned, claims.as_deref()),
                bound,
            )
            .await
        })?;
        self.settle(account, config, (settings, facts), outcome, stored)
    }

    /// A new application token for the application account `account` (its lock held): the
    /// client credentials grant, nothing to refresh with; a claims challenge is answered by
    /// this new token as well (an application token carries no user's session to re-check).
    fn application_token(
        &self,
        account: &str,
        config: &AccountConfig,
        wanted: &[String],
        saved: (Settings, RefreshFacts),
        stored: Stored<'_>,
    ) -> Result<Issued, PluginError> {
        let endpoint = self.token_endpoint(config)?;
        self.host.info(&format!(
            "Getting an application token for \"{account}\" at {} (client credentials).",
            crate::net::http::host_of(endpoint.url.as_str())
        ));
        let http = self.clients.get(config, self.limits)?;
        let (config_owned, wanted_owned, bound) = (config.clone(), wanted.to_vec(), self.bound);
        let outcome = self.run(async move {
            refresh::client_credentials(&http, &endpoint.url, &config_owned, &wanted_owned, bound)
                .await
        })?;
        self.settle(account, config, saved, outcome, stored)
    }

    /// Stores the outcome of a token request: the new token, or the failure in the facts.
    fn settle(
        &self,
        account: &str,
        config: &AccountConfig,
        (settings, mut facts): (Settings, RefreshFacts),
        outcome: Result<Renewed, RefreshError>,
        stored: Stored<'_>,
    ) -> Result<Issued, PluginError> {
        let now = unix_now();
        match outcome {
            Ok(renewed) => self.store_renewed(account, (settings, facts), renewed, stored, now),
            Err(e) => {
                let error = e.to_plugin_error(config);
                let for_good = matches!(e, RefreshError::SignInAgain(_));
                let for_now = match e.is_transient() {
                    true => " for now",
                    false => "",
                };
                self.host
                    .warn(&format!("Renewing \"{account}\" failed{for_now}: {e}."));
                // Every failed attempt is recorded, a passing one too (the sign-in and
                // secrets stay as they were): the health then says when the last
                // attempt was and that it failed, never an older success.
                facts.failed(now, StoredFailure::new(&error, &e.reason(), for_good));
                let mut settings = settings;
                facts.write(&mut settings);
                self.host.settings_write(account, &settings)?;
                Err(error)
            }
        }
    }

    /// Stores the new refresh token (when rotated), the cache and the facts in one write,
    /// then returns the new access token. The secrets kept are the ones read with the
    /// lock held (`stored`): nobody else changes them while it is (a refresh or a save
    /// of this account takes the same lock).
    fn store_renewed(
        &self,
        account: &str,
        (mut settings, mut facts): (Settings, RefreshFacts),
        renewed: Renewed,
        stored: Stored<'_>,
        now: i64,
    ) -> Result<Issued, PluginError> {
        let mut secrets = BTreeMap::new();
        stored.secrets.put_in(&mut secrets);
        if let Some(refresh_token) = renewed
            .refresh_token
            .as_ref()
            .or(stored.refresh_token.as_ref())
        {
            secrets.insert(
                SECRET_REFRESH_TOKEN.to_owned(),
                refresh_token.expose().to_owned(),
            );
        }
        let token = renewed.token;
        let kept = self
            .memo
            .token_cache_at(&self.host, account, stored.generation)?;
        let mut cache = TokenCache::clone(&kept);
        cache.put(token.clone(), now);
        secrets.insert(SECRET_ACCESS_TOKENS.to_owned(), cache.to_stored());
        facts.succeeded(now, renewed.refresh_token.is_some());
        facts.write(&mut settings);
        // Written with the secrets, so an account saved before the list existed has
        // only its saved credential secrets read from now on.
        saved::record_credential_secrets(&mut settings, &secrets);
        self.host
            .account_write(account, &settings, &secrets, None)?;
        let rotated = match renewed.refresh_token {
            Some(_) => " (the new refresh token stored)",
            None => "",
        };
        self.host.info(&format!(
            "Renewed \"{account}\"{rotated}; the access token is valid until {} (Unix time).",
            token.expires_at
        ));
        Ok(Issued {
            token: token.into(),
            origin: Origin::Refreshed,
        })
    }

    /// The token endpoint for `config`, discovered once per process.
    fn token_endpoint(&self, config: &AccountConfig) -> Result<TokenEndpoint, PluginError> {
        let key = discovery::document_url(config)?.to_string();
        if let Some(found) = self
            .token_urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(found.clone());
        }
        let http = self.clients.get(config, self.limits)?;
        let config = config.clone();
        let endpoints = self.run(async move { discovery::discover(&http, &config).await })??;
        let found = TokenEndpoint {
            url: endpoints.token.clone(),
            takes_claims: endpoints.server.takes_claims(),
        };
        self.token_urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, found.clone());
        Ok(found)
    }

    /// Runs `future` on the plugin's runtime and waits for it (callable from any thread).
    fn run<T: Send + 'static>(
        &self,
        future: impl std::future::Future<Output = T> + Send + 'static,
    ) -> Result<T, PluginError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.handle()?.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().map_err(|_| {
            PluginError::internal("The Office 365 plugin's worker stopped during a token renewal.")
                .with_hint("Try again; if it keeps happening, restart the program.")
        })
    }
}

fn no_refresh_token(account: &str) -> PluginError {
    PluginError::new(
        ErrorKind::AuthorizationRefused,
        format!("\"{account}\" has no saved sign-in to renew its access with."),
    )
    .with_hint("Re-verify the account (sign in again); its name and settings are kept.")
}

/// The scopes a request for `scopes` gets from `account` configured as `config`: the
/// saved ones when it names none, else the ones it names, when allowed.
fn wanted<'a>(
    account: &str,
    scopes: &'a [String],
    config: &'a AccountConfig,
) -> Result<&'a [String], PluginError> {
    match (scopes.is_empty(), config.is_application()) {
        (true, _) => Ok(&config.scopes),
        (false, true) => within_application(account, scopes, &config.scopes),
        (false, false) => within_saved(account, scopes, &config.scopes),
    }
}

/// An application account's token carries every application permission granted to the app
/// (its one scope is Graph's `.default`): asked Microsoft Graph permissions get that token;
/// another resource's are refused, since client credentials give a token for one resource.
fn within_application<'a>(
    account: &str,
    asked: &[String],
    saved: &'a [String],
) -> Result<&'a [String], PluginError> {
    let graph = saved
        .first()
        .and_then(|s| s.strip_suffix(".default"))
        .unwrap_or("https://graph.microsoft.com/");
    let other: Vec<&str> = asked
        .iter()
        .map(String::as_str)
        .filter(|s| !scopes::is_oidc(s) && s.contains("://") && !s.starts_with(graph))
        .collect();
    if other.is_empty() {
        return Ok(saved);
    }
    Err(PluginError::invalid_input(format!(
        "\"{account}\" is an application account: its tokens are for Microsoft Graph, with the application permissions granted to the app, and {} {} not a Microsoft Graph permission.",
        other.join(" "),
        if other.len() == 1 { "is" } else { "are" }
    ))
    .with_hint("Ask for Microsoft Graph permissions (or for none) with this account; another resource needs an account of its own."))
}

/// `asked` when each scope is one of the `saved` ones (compared as [`scopes::key`]s; OpenID
/// Connect scopes always pass); otherwise an invalid-input error naming the others.
fn within_saved<'a>(
    account: &str,
    asked: &'a [String],
    saved: &[String],
) -> Result<&'a [String], PluginError> {
    let outside: Vec<&str> = asked
        .iter()
        .filter(|s| !scopes::is_oidc(s) && !saved.iter().any(|k| scopes::same(k, s)))
        .map(String::as_str)
        .collect();
    if outside.is_empty() {
        return Ok(asked);
    }
    Err(PluginError::invalid_input(format!(
        "{} {} not among the scopes saved with \"{account}\" ({}).",
        outside.join(" "),
        if outside.len() == 1 { "is" } else { "are" },
        saved.join(" ")
    ))
    .with_field(fields::SCOPES)
    .with_hint("Ask only for scopes saved with the account (or for none, to get all of them); to use another permission, open the account, add it in the Scopes field and choose Verify again, so the user consents to it."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn lock_names_stay_short_for_any_account_name() {
        assert_eq!(lock_name("Sales"), "office365/refresh/Sales");
        let long = "📊".repeat(100);
        let name = lock_name(&long);
        assert!(
            name.starts_with("office365/refresh/sha256-") && name.len() < 60,
            "{name}"
        );
        assert_eq!(name, lock_name(&long), "the same in every process");
        assert_ne!(
            lock_name("Rapports – Québec"),
            lock_name("Rapports – Quebec 📊")
        );
    }

    #[test]
    fn an_application_account_answers_graph_permissions_with_its_default_token() {
        let saved = v("https://graph.microsoft.com/.default");
        assert_eq!(
            within_application(
                "A",
                &v("Mail.Send https://graph.microsoft.com/Files.ReadWrite.All"),
                &saved
            )
            .unwrap(),
            saved
        );
        let e = within_application("A", &v("https://outlook.office.com/SMTP.Send"), &saved)
            .unwrap_err();
        assert!(
            e.message().contains("not a Microsoft Graph permission"),
            "{e}"
        );
    }

    #[test]
    fn only_saved_scopes_may_be_asked_for() {
        let saved = v("openid offline_access User.Read Mail.Send");
        assert_eq!(
            within_saved(
                "A",
                &v("mail.send https://graph.microsoft.com/User.Read profile"),
                &saved
            )
            .unwrap(),
            v("mail.send https://graph.microsoft.com/User.Read profile")
        );
        for outside in [
            "Mail.ReadWrite",
            "https://graph.microsoft.com/.default",
            "Sites.ReadWrite.All",
        ] {
            let e = within_saved("A", &v(&format!("Mail.Send {outside}")), &saved).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(
                e.message().starts_with(&format!("{outside} is not among")),
                "{}",
                e.message()
            );
            assert!(e.hint().unwrap().contains("Verify again"));
        }
    }
}

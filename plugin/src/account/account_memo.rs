//! What the token path parsed for each saved account — its configuration and its token
//! cache — kept while the stored values it was parsed from are unchanged.
//!
//! On a host that says its store generation (interface 1.2), a call whose generation is
//! the one the values were read at reads nothing: one host call instead of two or three
//! reads. Any write to the store, by any process, moves the generation, so a refresh in
//! another process or an edit is still seen on the next call. The generation is taken
//! before the read, so a change committed in between makes the next call read again,
//! never keeps an older value. On other hosts every call reads the values and only
//! parsing them again is saved.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use atrs_host_sdk::{Host, PluginError, Settings};

use crate::{
    account::saved::{self, CredentialSecrets, SECRET_ACCESS_TOKENS},
    account::token_cache::TokenCache,
    config::AccountConfig,
    secret::Secret,
};

/// A parsed value, what it was parsed from, and the store generation that was read at
/// (`None`: the host has none).
struct Kept<S, V> {
    generation: Option<u64>,
    /// A later generation at which part of `stored` was read again and found the same
    /// (for a configuration: its settings; see [`AccountMemo::config_for_cache_at`]).
    partly_at: Option<u64>,
    stored: S,
    value: Arc<V>,
}

/// An account's configuration is parsed from its settings and credential secrets.
type ConfigSource = (Option<Settings>, CredentialSecrets);

/// Accounts kept before starting again from empty: a bound on memory.
const MOST_ACCOUNTS: usize = 10_000;

/// The parsed values of one plugin instance's accounts.
#[derive(Default)]
pub struct AccountMemo {
    configs: Mutex<HashMap<String, Kept<ConfigSource, AccountConfig>>>,
    caches: Mutex<HashMap<String, Kept<Option<Secret>, TokenCache>>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keeps `value` for `account`, emptying `map` first when it is full.
fn keep<T>(map: &Mutex<HashMap<String, T>>, account: &str, value: T) {
    let mut map = locked(map);
    if map.len() >= MOST_ACCOUNTS && !map.contains_key(account) {
        map.clear();
    }
    map.insert(account.to_owned(), value);
}

/// The value kept for `account` in `map`: as kept while `generation` is the one it was
/// read at; else read with `read`, kept as it is when what was read is unchanged, parsed
/// with `parse` when it changed.
fn remembered<S: PartialEq, V>(
    map: &Mutex<HashMap<String, Kept<S, V>>>,
    account: &str,
    generation: Option<u64>,
    read: impl FnOnce() -> Result<S, PluginError>,
    parse: impl FnOnce(&S) -> Result<V, PluginError>,
) -> Result<Arc<V>, PluginError> {
    remembered_with(map, account, generation, read, parse, |_| ()).map(|(value, ())| value)
}

/// [`remembered`], with `project` of what the value was parsed from, taken under the
/// same hold of `map`.
fn remembered_with<S: PartialEq, V, W>(
    map: &Mutex<HashMap<String, Kept<S, V>>>,
    account: &str,
    generation: Option<u64>,
    read: impl FnOnce() -> Result<S, PluginError>,
    parse: impl FnOnce(&S) -> Result<V, PluginError>,
    project: impl FnOnce(&S) -> W,
) -> Result<(Arc<V>, W), PluginError> {
    if let Some(kept) = locked(map).get(account) {
        if generation.is_some() && kept.generation == generation {
            return Ok((kept.value.clone(), project(&kept.stored)));
        }
    }
    let stored = read()?;
    if let Some(kept) = locked(map).get_mut(account) {
        if kept.stored == stored {
            // Unchanged by whatever moved the generation: fast again from here.
            kept.generation = generation;
            return Ok((kept.value.clone(), project(&stored)));
        }
    }
    let value = Arc::new(parse(&stored)?);
    let projected = project(&stored);
    let kept = Kept {
        generation,
        partly_at: None,
        stored,
        value: value.clone(),
    };
    keep(map, account, kept);
    Ok((value, projected))
}

/// An account's configuration with the settings it was parsed from, from one read: what
/// a refresh works from.
pub struct ConfigRead {
    /// The configuration.
    pub config: Arc<AccountConfig>,
    /// The settings as stored (`None`: no such account).
    pub settings: Option<Settings>,
    /// The credential secrets as stored.
    pub secrets: CredentialSecrets,
}

impl AccountMemo {
    /// The configuration of `account` as stored now ([`saved::config_of`]).
    pub fn config(&self, host: &Host, account: &str) -> Result<Arc<AccountConfig>, PluginError> {
        self.config_at(host, account, host.store_generation())
    }

    /// The configuration of `account` as stored at `generation`, read by the caller
    /// before this call (`None`: read the store).
    pub fn config_at(
        &self,
        host: &Host,
        account: &str,
        generation: Option<u64>,
    ) -> Result<Arc<AccountConfig>, PluginError> {
        let (config, ()) = self.config_read_at(host, account, generation, |_| ())?;
        Ok(config)
    }

    /// [`AccountMemo::config_at`] with the settings and credential secrets it was parsed
    /// from: what a refresh works from, taken with the account's lock held.
    pub fn config_with_settings_at(
        &self,
        host: &Host,
        account: &str,
        generation: Option<u64>,
    ) -> Result<ConfigRead, PluginError> {
        let (config, (settings, secrets)) =
            self.config_read_at(host, account, generation, Clone::clone)?;
        Ok(ConfigRead {
            config,
            settings,
            secrets,
        })
    }

    /// The configuration of `account` for choosing among its cached tokens: as
    /// [`AccountMemo::config_at`], except that when only the credential secrets could
    /// have changed since it was kept — its settings read the same — the kept one is
    /// used without reading them (one read instead of three). Which token answers a
    /// request depends on the settings alone (the scopes, the account kind); a refresh
    /// takes the whole configuration again under the account's lock.
    pub fn config_for_cache_at(
        &self,
        host: &Host,
        account: &str,
        generation: Option<u64>,
    ) -> Result<Arc<AccountConfig>, PluginError> {
        if let Some(kept) = locked(&self.configs).get(account) {
            if generation.is_some_and(|g| [kept.generation, kept.partly_at].contains(&Some(g))) {
                return Ok(kept.value.clone());
            }
        }
        let settings = host.settings_read(account)?;
        if let Some(kept) = locked(&self.configs).get_mut(account) {
            if settings.is_some() && kept.stored.0 == settings {
                kept.partly_at = generation;
                return Ok(kept.value.clone());
            }
        }
        let read = move || {
            let secrets = CredentialSecrets::read(host, account, settings.as_ref())?;
            Ok((settings, secrets))
        };
        remembered(
            &self.configs,
            account,
            generation,
            read,
            |(settings, secrets)| saved::config_from(account, settings.clone(), secrets),
        )
    }

    fn config_read_at<W>(
        &self,
        host: &Host,
        account: &str,
        generation: Option<u64>,
        project: impl FnOnce(&ConfigSource) -> W,
    ) -> Result<(Arc<AccountConfig>, W), PluginError> {
        let read = || saved::read_stored(host, account);
        remembered_with(
            &self.configs,
            account,
            generation,
            read,
            |(settings, secrets)| saved::config_from(account, settings.clone(), secrets),
            project,
        )
    }

    /// The token cache of `account` as stored now.
    pub fn token_cache(&self, host: &Host, account: &str) -> Result<Arc<TokenCache>, PluginError> {
        self.token_cache_at(host, account, host.store_generation())
    }

    /// The token cache of `account` as stored at `generation` (see
    /// [`AccountMemo::config_at`]).
    pub fn token_cache_at(
        &self,
        host: &Host,
        account: &str,
        generation: Option<u64>,
    ) -> Result<Arc<TokenCache>, PluginError> {
        let read = || {
            Ok(host
                .secret_read(account, SECRET_ACCESS_TOKENS)?
                .map(Secret::new))
        };
        remembered(&self.caches, account, generation, read, |stored| {
            Ok(TokenCache::parse(stored.as_ref().map(Secret::expose)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        account::saved::{SECRET_CLIENT_SECRET, SECRET_REFRESH_TOKEN},
        fields,
    };
    use atrs_host_sdk::{testing::MemoryHost, Secrets};

    fn settings(client_id: &str) -> Settings {
        [
            (fields::CLIENT_ID.to_owned(), client_id.to_owned()),
            (
                fields::TENANT_ID.to_owned(),
                "contoso.onmicrosoft.com".to_owned(),
            ),
            (
                "schema_version".to_owned(),
                saved::SCHEMA_VERSION.to_owned(),
            ),
        ]
        .into()
    }

    const APP_1: &str = "4a1aa1d5-c567-49d0-ad0b-cd957a47f842";
    const APP_2: &str = "5b2bb2e6-d678-4ae1-be1c-de068b58f953";

    #[test]
    fn a_parse_is_reused_only_while_the_stored_values_are_the_same() {
        let memory = MemoryHost::new();
        let host = memory.handle();
        let secrets: Secrets = [(SECRET_REFRESH_TOKEN.to_owned(), "rt".to_owned())].into();
        host.account_write("A", &settings(APP_1), &secrets, None)
            .unwrap();
        let memo = AccountMemo::default();
        let first = memo.config(&host, "A").unwrap();
        assert!(Arc::ptr_eq(&first, &memo.config(&host, "A").unwrap()));

        host.settings_write("A", &settings(APP_2)).unwrap();
        let edited = memo.config(&host, "A").unwrap();
        assert_eq!(edited.client_id, APP_2, "an edit is seen on the next call");
        host.secret_write("A", SECRET_CLIENT_SECRET, "cs-1")
            .unwrap();
        let with_secret = memo.config(&host, "A").unwrap();
        assert!(!Arc::ptr_eq(&edited, &with_secret), "a new client secret");
        assert_eq!(
            with_secret.client_secret.as_ref().map(Secret::expose),
            Some("cs-1")
        );

        host.settings_remove("A").unwrap();
        let gone = memo.config(&host, "A").unwrap_err();
        assert!(gone.message().contains("no saved"), "{gone:?}");
    }

    #[test]
    fn with_a_store_generation_an_unchanged_store_is_not_read_and_any_write_is_seen() {
        let memory = MemoryHost::with_generation();
        let host = memory.handle();
        host.settings_write("A", &settings(APP_1)).unwrap();
        host.settings_write("B", &settings(APP_1)).unwrap();
        let memo = AccountMemo::default();
        let first = memo.config(&host, "A").unwrap();
        memo.token_cache(&host, "A").unwrap();
        let after_first = memory.reads();
        for _ in 0..5 {
            assert!(Arc::ptr_eq(&first, &memo.config(&host, "A").unwrap()));
            memo.token_cache(&host, "A").unwrap();
        }
        assert_eq!(
            memory.reads(),
            after_first,
            "nothing read while the generation stands"
        );

        // Another account's write moves the generation: one read finds "A" unchanged,
        // and the next call is free again.
        host.settings_write("B", &settings(APP_2)).unwrap();
        assert!(Arc::ptr_eq(&first, &memo.config(&host, "A").unwrap()));
        let after_unrelated = memory.reads();
        assert!(after_unrelated > after_first);
        memo.config(&host, "A").unwrap();
        assert_eq!(memory.reads(), after_unrelated);

        // An edit of "A" itself is seen on the next call.
        host.settings_write("A", &settings(APP_2)).unwrap();
        assert_eq!(memo.config(&host, "A").unwrap().client_id, APP_2);
    }

    #[test]
    fn for_the_cache_a_kept_configuration_is_checked_by_its_settings_and_a_refresh_reads_it_whole()
    {
        let memory = MemoryHost::with_generation();
        let host = memory.handle();
        host.settings_write("A", &settings(APP_1)).unwrap();
        host.secret_write("A", SECRET_CLIENT_SECRET, "cs-1")
            .unwrap();
        let memo = AccountMemo::default();
        let reads_of = |f: &dyn Fn() -> Arc<AccountConfig>| {
            let before = memory.reads();
            let config = f();
            (config, memory.reads() - before)
        };
        let now = || host.store_generation();
        let for_cache = || memo.config_for_cache_at(&host, "A", now()).unwrap();
        let whole = || {
            memo.config_with_settings_at(&host, "A", now())
                .unwrap()
                .config
        };

        let (first, n) = reads_of(&for_cache);
        assert_eq!(
            n, 3,
            "settings and both credential secrets, nothing kept yet"
        );
        assert_eq!(reads_of(&for_cache).1, 0);

        // Another account's write: the settings alone are read, once.
        host.settings_write("B", &settings(APP_2)).unwrap();
        let (same, n) = reads_of(&for_cache);
        assert!(Arc::ptr_eq(&first, &same));
        assert_eq!(n, 1);
        assert_eq!(reads_of(&for_cache).1, 0);

        // A new client secret changes nothing a cached token is chosen by; a refresh
        // reads the account whole and gets it, with the settings and secrets as stored.
        host.secret_write("A", SECRET_CLIENT_SECRET, "cs-2")
            .unwrap();
        assert!(Arc::ptr_eq(&first, &reads_of(&for_cache).0));
        let (renewed_with, n) = reads_of(&whole);
        assert_eq!(n, 3);
        assert_eq!(
            renewed_with.client_secret.as_ref().map(Secret::expose),
            Some("cs-2")
        );
        let read = memo.config_with_settings_at(&host, "A", now()).unwrap();
        assert!(
            Arc::ptr_eq(&read.config, &renewed_with),
            "kept at this generation"
        );
        assert_eq!(read.settings, Some(settings(APP_1)));
        assert_eq!(
            read.secrets.client_secret.as_ref().map(Secret::expose),
            Some("cs-2")
        );

        // An edit of the settings is seen at once.
        host.settings_write("A", &settings(APP_2)).unwrap();
        let (edited, n) = reads_of(&for_cache);
        assert_eq!(edited.client_id, APP_2);
        assert_eq!(n, 3);
    }

    #[test]
    fn the_token_cache_is_parsed_again_when_its_stored_text_changes() {
        let memory = MemoryHost::new();
        let host = memory.handle();
        let memo = AccountMemo::default();
        assert_eq!(memo.token_cache(&host, "A").unwrap().valid_until(), None);
        let token = crate::account::token_cache::CachedToken::issued(
            Secret::new("at"),
            None,
            None,
            &["User.Read".to_owned()],
            100,
        );
        let stored = TokenCache::of(token).to_stored();
        host.secret_write("A", SECRET_ACCESS_TOKENS, &stored)
            .unwrap();
        let cache = memo.token_cache(&host, "A").unwrap();
        assert_eq!(cache.valid_until(), Some(3700));
        assert!(Arc::ptr_eq(&cache, &memo.token_cache(&host, "A").unwrap()));
    }
}

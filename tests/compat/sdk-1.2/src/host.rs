//! Host services: what a host lends a plugin (logging, opening a URL, two stores).
//!
//! A host implements [`HostServices`]; a plugin receives a [`Host`] handle.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{ROption, RResult, RStr, RString, RVec},
};

use crate::{
    abi::{HostAbi, HostAbiBox, HostAbi_TO},
    error::PluginError,
    form::KeyValue,
    guard::guarded,
    log_level::{LogLevel, LogLevel_NE},
};

/// A plugin's settings document: plain, non-secret values by name.
pub type Settings = BTreeMap<String, String>;

/// The secrets of one account by name (never logged, never shown).
pub type Secrets = BTreeMap<String, String>;

/// What a host implements to lend services to a plugin (one value per plugin).
///
/// Panics in these methods are caught before they reach the plugin.
pub trait HostServices: Send + Sync + 'static {
    /// Writes one line to the host's log. The plugin never passes secrets here.
    fn log(&self, level: LogLevel, message: &str);
    /// Opens `url` in the user's browser.
    fn open_url(&self, url: &str) -> Result<(), PluginError>;
    /// Names of the accounts with saved settings.
    fn settings_list(&self) -> Result<Vec<String>, PluginError>;
    /// The saved settings of `account`, if any.
    fn settings_read(&self, account: &str) -> Result<Option<Settings>, PluginError>;
    /// Replaces the saved settings of `account`.
    fn settings_write(&self, account: &str, settings: &Settings) -> Result<(), PluginError>;
    /// Deletes the saved settings of `account`.
    fn settings_remove(&self, account: &str) -> Result<(), PluginError>;
    /// The secret `name` of `account`, if any.
    fn secret_read(&self, account: &str, name: &str) -> Result<Option<String>, PluginError>;
    /// Stores the secret `name` of `account`.
    fn secret_write(&self, account: &str, name: &str, value: &str) -> Result<(), PluginError>;
    /// Deletes every secret of `account`.
    fn secrets_remove(&self, account: &str) -> Result<(), PluginError>;

    /// Added in 1.1: replaces the settings and every secret of `account`, and removes
    /// the account `replaces` if given, as one transaction (a reader sees all of it or
    /// none). The default says `unsupported`, and plugins fall back to separate writes:
    /// implement it.
    fn account_write(
        &self,
        account: &str,
        settings: &Settings,
        secrets: &Secrets,
        replaces: Option<&str>,
    ) -> Result<(), PluginError> {
        let _ = (account, settings, secrets, replaces);
        Err(PluginError::unsupported(
            "This host does not write an account's settings and secrets as one transaction.",
        ))
    }

    /// Added in 1.1: takes the lock `name`, shared by every process that uses these
    /// stores, waiting up to `wait`; a holder that dies must release it. Returns a
    /// token for [`HostServices::unlock`]. The default says `unsupported`.
    fn lock(&self, name: &str, wait: Duration) -> Result<u64, PluginError> {
        let _ = (name, wait);
        Err(PluginError::unsupported(
            "This host does not offer locks shared between processes.",
        ))
    }

    /// Added in 1.1: releases a lock taken with [`HostServices::lock`].
    fn unlock(&self, token: u64) {
        let _ = token;
    }

    /// Added in 1.2: a number that changes whenever anything in these stores changes,
    /// by this process or another, and stays the same while nothing does — cheap
    /// enough to ask before every read. `None` (the default): no such number; plugins
    /// then read every time.
    fn store_generation(&self) -> Option<u64> {
        None
    }
}

/// Carries a host's [`HostServices`] across the boundary, catching its panics.
struct HostAdapter<S>(S);

const HOST: &str = "host";

fn to_pairs(settings: &Settings) -> RVec<KeyValue> {
    settings
        .iter()
        .map(|(k, v)| KeyValue::new(k.as_str(), v.as_str()))
        .collect()
}

fn from_pairs(pairs: &[KeyValue]) -> Settings {
    pairs
        .iter()
        .map(|kv| (kv.key().to_owned(), kv.value().to_owned()))
        .collect()
}

impl<S: HostServices> HostAbi for HostAdapter<S> {
    fn log(&self, level: LogLevel_NE, message: RStr<'_>) {
        let level = level.as_enum().copied().unwrap_or(LogLevel::Info);
        let _ = guarded(HOST, "log", || {
            self.0.log(level, message.as_str());
            Ok(())
        });
    }

    fn open_url(&self, url: RStr<'_>) -> RResult<(), PluginError> {
        guarded(HOST, "open_url", || self.0.open_url(url.as_str())).into()
    }

    fn settings_list(&self) -> RResult<RVec<RString>, PluginError> {
        guarded(HOST, "settings_list", || {
            Ok(self
                .0
                .settings_list()?
                .into_iter()
                .map(RString::from)
                .collect())
        })
        .into()
    }

    fn settings_read(&self, account: RStr<'_>) -> RResult<ROption<RVec<KeyValue>>, PluginError> {
        guarded(HOST, "settings_read", || {
            Ok(self
                .0
                .settings_read(account.as_str())?
                .map(|s| to_pairs(&s))
                .into())
        })
        .into()
    }

    fn settings_write(
        &self,
        account: RStr<'_>,
        values: RVec<KeyValue>,
    ) -> RResult<(), PluginError> {
        guarded(HOST, "settings_write", || {
            self.0
                .settings_write(account.as_str(), &from_pairs(&values))
        })
        .into()
    }

    fn settings_remove(&self, account: RStr<'_>) -> RResult<(), PluginError> {
        guarded(HOST, "settings_remove", || {
            self.0.settings_remove(account.as_str())
        })
        .into()
    }

    fn secret_read(
        &self,
        account: RStr<'_>,
        name: RStr<'_>,
    ) -> RResult<ROption<RString>, PluginError> {
        guarded(HOST, "secret_read", || {
            Ok(self
                .0
                .secret_read(account.as_str(), name.as_str())?
                .map(RString::from)
                .into())
        })
        .into()
    }

    fn secret_write(
        &self,
        account: RStr<'_>,
        name: RStr<'_>,
        value: RStr<'_>,
    ) -> RResult<(), PluginError> {
        guarded(HOST, "secret_write", || {
            self.0
                .secret_write(account.as_str(), name.as_str(), value.as_str())
        })
        .into()
    }

    fn secrets_remove(&self, account: RStr<'_>) -> RResult<(), PluginError> {
        guarded(HOST, "secrets_remove", || {
            self.0.secrets_remove(account.as_str())
        })
        .into()
    }

    fn account_write(
        &self,
        account: RStr<'_>,
        settings: RVec<KeyValue>,
        secrets: RVec<KeyValue>,
        replaces: ROption<RStr<'_>>,
    ) -> RResult<(), PluginError> {
        guarded(HOST, "account_write", || {
            self.0.account_write(
                account.as_str(),
                &from_pairs(&settings),
                &from_pairs(&secrets),
                replaces.into_option().map(|r| r.as_str()),
            )
        })
        .into()
    }

    fn lock(&self, name: RStr<'_>, wait_ms: u64) -> RResult<u64, PluginError> {
        guarded(HOST, "lock", || {
            self.0.lock(name.as_str(), Duration::from_millis(wait_ms))
        })
        .into()
    }

    fn unlock(&self, token: u64) {
        let _ = guarded(HOST, "unlock", || {
            self.0.unlock(token);
            Ok(())
        });
    }

    fn store_generation(&self) -> ROption<u64> {
        guarded(HOST, "store_generation", || Ok(self.0.store_generation()))
            .ok()
            .flatten()
            .into()
    }
}

/// Wraps a host's services for passing to a plugin's `instantiate`.
pub(crate) fn into_abi(services: impl HostServices) -> HostAbiBox {
    HostAbi_TO::from_value(HostAdapter(services), TD_Opaque)
}

/// A plugin's handle to the host's services; cheap to clone and share across threads.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostAbiBox>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Host { .. }")
    }
}

impl Host {
    pub(crate) fn from_abi(inner: HostAbiBox) -> Self {
        Host {
            inner: Arc::new(inner),
        }
    }

    /// A handle over services in this same process (for tests and in-process hosts).
    pub fn from_services(services: impl HostServices) -> Self {
        Self::from_abi(into_abi(services))
    }

    /// Writes one line to the host's log. Never pass a secret.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.inner.log(LogLevel_NE::new(level), message.into());
    }

    /// Logs at [`LogLevel::Info`].
    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }

    /// Logs at [`LogLevel::Warn`].
    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message);
    }

    /// Logs at [`LogLevel::Debug`].
    pub fn debug(&self, message: &str) {
        self.log(LogLevel::Debug, message);
    }

    /// Asks the host to open `url` in the user's browser.
    pub fn open_url(&self, url: &str) -> Result<(), PluginError> {
        self.inner.open_url(url.into()).into_result()
    }

    /// Names of the accounts with saved settings.
    pub fn settings_list(&self) -> Result<Vec<String>, PluginError> {
        let names = self.inner.settings_list().into_result()?;
        Ok(names.into_iter().map(String::from).collect())
    }

    /// The saved settings of `account`, if any.
    pub fn settings_read(&self, account: &str) -> Result<Option<Settings>, PluginError> {
        let pairs = self.inner.settings_read(account.into()).into_result()?;
        Ok(pairs.into_option().map(|p| from_pairs(&p)))
    }

    /// Replaces the saved settings of `account`.
    pub fn settings_write(&self, account: &str, settings: &Settings) -> Result<(), PluginError> {
        self.inner
            .settings_write(account.into(), to_pairs(settings))
            .into_result()
    }

    /// Deletes the saved settings of `account`.
    pub fn settings_remove(&self, account: &str) -> Result<(), PluginError> {
        self.inner.settings_remove(account.into()).into_result()
    }

    /// The secret `name` of `account`, if any.
    pub fn secret_read(&self, account: &str, name: &str) -> Result<Option<String>, PluginError> {
        let value = self
            .inner
            .secret_read(account.into(), name.into())
            .into_result()?;
        Ok(value.into_option().map(String::from))
    }

    /// Stores the secret `name` of `account`.
    pub fn secret_write(&self, account: &str, name: &str, value: &str) -> Result<(), PluginError> {
        self.inner
            .secret_write(account.into(), name.into(), value.into())
            .into_result()
    }

    /// Deletes every secret of `account`.
    pub fn secrets_remove(&self, account: &str) -> Result<(), PluginError> {
        self.inner.secrets_remove(account.into()).into_result()
    }

    /// Replaces the settings and every secret of `account`, and removes the account
    /// `replaces` if given (a rename), as one transaction.
    ///
    /// On a host that cannot (a 1.0 host) it falls back to separate writes: secrets
    /// first, then settings (which make the account exist), then the replaced account.
    pub fn account_write(
        &self,
        account: &str,
        settings: &Settings,
        secrets: &Secrets,
        replaces: Option<&str>,
    ) -> Result<(), PluginError> {
        let replaces_abi = replaces.map(RStr::from).into();
        match self
            .inner
            .account_write(
                account.into(),
                to_pairs(settings),
                to_pairs(secrets),
                replaces_abi,
            )
            .into_result()
        {
            Err(e) if e.kind() == crate::ErrorKind::Unsupported => {
                self.secrets_remove(account)?;
                for (name, value) in secrets {
                    self.secret_write(account, name, value)?;
                }
                self.settings_write(account, settings)?;
                if let Some(old) = replaces.filter(|old| *old != account) {
                    self.settings_remove(old)?;
                    self.secrets_remove(old)?;
                }
                Ok(())
            }
            other => other,
        }
    }

    /// Added in 1.2: the host's store generation — a number that changes whenever
    /// anything in its stores changes, in any process. Keep what you read with the
    /// number you read it at, and read again only when it moved. `None`: the host
    /// cannot say (it was built before 1.2, or its store has no such number): read
    /// every time.
    pub fn store_generation(&self) -> Option<u64> {
        self.inner.store_generation().into_option()
    }

    /// Takes the host's lock `name` (shared by every process on these stores), waiting
    /// up to `wait`; released when the guard drops, or by the host when this process
    /// dies. An `unsupported` error means the host has no such locks (a 1.0 host).
    pub fn lock(&self, name: &str, wait: Duration) -> Result<HostLock, PluginError> {
        let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let token = self.inner.lock(name.into(), millis).into_result()?;
        Ok(HostLock {
            host: self.clone(),
            token,
        })
    }
}

/// A lock held through [`Host::lock`]; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct HostLock {
    host: Host,
    token: u64,
}

impl std::fmt::Debug for HostLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostLock")
            .field("token", &self.token)
            .finish()
    }
}

impl Drop for HostLock {
    fn drop(&mut self) {
        self.host.inner.unlock(self.token);
    }
}

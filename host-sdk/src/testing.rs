//! An in-memory host for plugin unit tests: stores, log and opened URLs you can inspect.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use crate::{
    error::PluginError,
    host::{Host, HostServices, Secrets, Settings},
    log_level::LogLevel,
};

#[derive(Default)]
struct State {
    log: Vec<(LogLevel, String)>,
    opened: Vec<String>,
    settings: BTreeMap<String, Settings>,
    secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// Named locks held, and the token each was handed out with.
    locks: BTreeMap<u64, String>,
    next_lock: u64,
    account_writes: usize,
    /// Settings and secret reads made.
    reads: u64,
    /// The store generation, for a host made [`MemoryHost::with_generation`].
    generation: Option<u64>,
}

impl State {
    /// Every write moves the generation (when the host keeps one).
    fn wrote(&mut self) -> &mut Self {
        if let Some(generation) = &mut self.generation {
            *generation += 1;
        }
        self
    }

    fn read(&mut self) -> &mut Self {
        self.reads += 1;
        self
    }
}

/// Host services kept in memory; clones share one state.
#[derive(Clone, Default)]
pub struct MemoryHost {
    state: Arc<Mutex<State>>,
    lock_released: Arc<Condvar>,
}

impl MemoryHost {
    /// An empty host.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty host whose store says its generation (as hosts of interface 1.2 do),
    /// moved by every write: plugins may then keep what they read while it stands.
    pub fn with_generation() -> Self {
        let host = Self::default();
        host.lock().generation = Some(1);
        host
    }

    /// How many settings and secret reads were made so far.
    pub fn reads(&self) -> u64 {
        self.lock().reads
    }

    /// A plugin-side [`Host`] handle over this memory host.
    pub fn handle(&self) -> Host {
        Host::from_services(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide the state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every log line so far.
    pub fn log_lines(&self) -> Vec<(LogLevel, String)> {
        self.lock().log.clone()
    }

    /// Every URL the plugin asked to open.
    pub fn opened_urls(&self) -> Vec<String> {
        self.lock().opened.clone()
    }

    /// The saved settings of `account`.
    pub fn settings_of(&self, account: &str) -> Option<Settings> {
        self.lock().settings.get(account).cloned()
    }

    /// How many [`HostServices::account_write`] transactions were made.
    pub fn account_writes(&self) -> usize {
        self.lock().account_writes
    }

    /// The names of the locks held now.
    pub fn held_locks(&self) -> BTreeSet<String> {
        self.lock().locks.values().cloned().collect()
    }

    /// The saved secrets of `account`.
    pub fn secrets_of(&self, account: &str) -> BTreeMap<String, String> {
        self.lock()
            .secrets
            .get(account)
            .cloned()
            .unwrap_or_default()
    }
}

impl HostServices for MemoryHost {
    fn log(&self, level: LogLevel, message: &str) {
        self.lock().log.push((level, message.to_owned()));
    }

    fn open_url(&self, url: &str) -> Result<(), PluginError> {
        self.lock().opened.push(url.to_owned());
        Ok(())
    }

    fn settings_list(&self) -> Result<Vec<String>, PluginError> {
        Ok(self.lock().settings.keys().cloned().collect())
    }

    fn settings_read(&self, account: &str) -> Result<Option<Settings>, PluginError> {
        Ok(self.lock().read().settings.get(account).cloned())
    }

    fn settings_write(&self, account: &str, settings: &Settings) -> Result<(), PluginError> {
        self.lock()
            .wrote()
            .settings
            .insert(account.to_owned(), settings.clone());
        Ok(())
    }

    fn settings_remove(&self, account: &str) -> Result<(), PluginError> {
        self.lock().wrote().settings.remove(account);
        Ok(())
    }

    fn secret_read(&self, account: &str, name: &str) -> Result<Option<String>, PluginError> {
        Ok(self
            .lock()
            .read()
            .secrets
            .get(account)
            .and_then(|s| s.get(name))
            .cloned())
    }

    fn secret_write(&self, account: &str, name: &str, value: &str) -> Result<(), PluginError> {
        let mut state = self.lock();
        let secrets = state.wrote().secrets.entry(account.to_owned()).or_default();
        secrets.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    fn secrets_remove(&self, account: &str) -> Result<(), PluginError> {
        self.lock().wrote().secrets.remove(account);
        Ok(())
    }

    fn account_write(
        &self,
        account: &str,
        settings: &Settings,
        secrets: &Secrets,
        replaces: Option<&str>,
    ) -> Result<(), PluginError> {
        let mut state = self.lock();
        state.wrote();
        if let Some(old) = replaces.filter(|old| *old != account) {
            state.settings.remove(old);
            state.secrets.remove(old);
        }
        state.settings.insert(account.to_owned(), settings.clone());
        state.secrets.insert(account.to_owned(), secrets.clone());
        state.account_writes += 1;
        Ok(())
    }

    fn lock(&self, name: &str, wait: Duration) -> Result<u64, PluginError> {
        let deadline = Instant::now() + wait;
        let mut state = self.lock();
        while state.locks.values().any(|held| held == name) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PluginError::new(
                    crate::ErrorKind::TimedOut,
                    format!("The lock `{name}` is still held by someone else."),
                ));
            }
            state = self
                .lock_released
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        state.next_lock += 1;
        let token = state.next_lock;
        state.locks.insert(token, name.to_owned());
        Ok(token)
    }

    fn unlock(&self, token: u64) {
        self.lock().locks.remove(&token);
        self.lock_released.notify_all();
    }

    fn store_generation(&self) -> Option<u64> {
        self.lock().generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_with_a_generation_moves_it_on_every_write_and_counts_reads() {
        assert_eq!(MemoryHost::new().handle().store_generation(), None);
        let memory = MemoryHost::with_generation();
        let host = memory.handle();
        let mut last = host.store_generation().unwrap();
        let mut moved = |host: &Host| {
            let now = host.store_generation().unwrap();
            assert!(now > last);
            last = now;
        };
        host.settings_write("a", &Settings::new()).unwrap();
        moved(&host);
        host.secret_write("a", "s", "v").unwrap();
        moved(&host);
        host.account_write("a", &Settings::new(), &Secrets::new(), None)
            .unwrap();
        moved(&host);
        host.secrets_remove("a").unwrap();
        moved(&host);
        host.settings_remove("a").unwrap();
        moved(&host);
        assert_eq!(memory.reads(), 0);
        host.settings_read("a").unwrap();
        host.secret_read("a", "s").unwrap();
        assert_eq!(memory.reads(), 2);
        assert_eq!(host.store_generation(), Some(last), "reads move nothing");
    }

    #[test]
    fn round_trips_through_the_abi_handle() {
        let memory = MemoryHost::new();
        let host = memory.handle();
        host.info("hello");
        host.open_url("https://example.test/").unwrap();
        let mut s = Settings::new();
        s.insert("client_id".into(), "abc".into());
        host.settings_write("acct", &s).unwrap();
        host.secret_write("acct", "refresh_token", "r1").unwrap();
        assert_eq!(host.settings_read("acct").unwrap(), Some(s));
        assert_eq!(host.settings_list().unwrap(), vec!["acct".to_string()]);
        assert_eq!(
            host.secret_read("acct", "refresh_token")
                .unwrap()
                .as_deref(),
            Some("r1")
        );
        host.secrets_remove("acct").unwrap();
        host.settings_remove("acct").unwrap();
        assert_eq!(host.secret_read("acct", "refresh_token").unwrap(), None);
        assert_eq!(
            memory.log_lines(),
            vec![(LogLevel::Info, "hello".to_string())]
        );
        assert_eq!(
            memory.opened_urls(),
            vec!["https://example.test/".to_string()]
        );
    }

    #[test]
    fn an_account_write_is_one_transaction_that_can_rename() {
        let memory = MemoryHost::new();
        let host = memory.handle();
        let settings = Settings::from([("client_id".to_string(), "c".to_string())]);
        let secrets = Secrets::from([("refresh_token".to_string(), "r".to_string())]);
        host.account_write("old", &settings, &secrets, None)
            .unwrap();
        host.account_write("new", &settings, &Secrets::new(), Some("old"))
            .unwrap();
        assert_eq!(memory.account_writes(), 2);
        assert_eq!(host.settings_list().unwrap(), vec!["new".to_string()]);
        assert!(memory.secrets_of("old").is_empty() && memory.secrets_of("new").is_empty());
    }

    #[test]
    fn a_lock_is_exclusive_until_its_guard_drops() {
        let memory = MemoryHost::new();
        let host = memory.handle();
        let held = host.lock("refresh/a", Duration::ZERO).unwrap();
        let e = host
            .lock("refresh/a", Duration::from_millis(20))
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::TimedOut);
        let other = host.lock("refresh/b", Duration::ZERO).unwrap();
        assert_eq!(memory.held_locks().len(), 2);
        let waiter = {
            let host = host.clone();
            std::thread::spawn(move || host.lock("refresh/a", Duration::from_secs(10)).map(drop))
        };
        drop(held);
        waiter.join().unwrap().unwrap();
        drop(other);
        assert!(memory.held_locks().is_empty());
    }

    #[test]
    fn a_host_without_transactions_gets_separate_writes() {
        // A 1.0-style host: only the 1.0 services (the 1.1 ones keep their defaults).
        #[derive(Clone, Default)]
        struct Plain(MemoryHost);
        impl HostServices for Plain {
            fn log(&self, l: LogLevel, m: &str) {
                self.0.log(l, m)
            }
            fn open_url(&self, u: &str) -> Result<(), PluginError> {
                self.0.open_url(u)
            }
            fn settings_list(&self) -> Result<Vec<String>, PluginError> {
                self.0.settings_list()
            }
            fn settings_read(&self, a: &str) -> Result<Option<Settings>, PluginError> {
                self.0.settings_read(a)
            }
            fn settings_write(&self, a: &str, s: &Settings) -> Result<(), PluginError> {
                self.0.settings_write(a, s)
            }
            fn settings_remove(&self, a: &str) -> Result<(), PluginError> {
                self.0.settings_remove(a)
            }
            fn secret_read(&self, a: &str, n: &str) -> Result<Option<String>, PluginError> {
                self.0.secret_read(a, n)
            }
            fn secret_write(&self, a: &str, n: &str, v: &str) -> Result<(), PluginError> {
                self.0.secret_write(a, n, v)
            }
            fn secrets_remove(&self, a: &str) -> Result<(), PluginError> {
                self.0.secrets_remove(a)
            }
        }
        let plain = Plain::default();
        let host = Host::from_services(plain.clone());
        let secrets = Secrets::from([("s".to_string(), "v".to_string())]);
        host.account_write("old", &Settings::new(), &secrets, None)
            .unwrap();
        host.account_write("new", &Settings::new(), &secrets, Some("old"))
            .unwrap();
        assert_eq!(plain.0.account_writes(), 0, "no transaction was offered");
        assert_eq!(host.settings_list().unwrap(), vec!["new".to_string()]);
        assert_eq!(plain.0.secrets_of("new"), secrets);
        assert!(plain.0.secrets_of("old").is_empty());
        let e = host.lock("x", Duration::ZERO).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unsupported);
    }

    #[test]
    fn a_panicking_host_service_reaches_the_plugin_as_an_error() {
        struct Panicky;
        impl HostServices for Panicky {
            fn log(&self, _: LogLevel, _: &str) {
                panic!("log broke")
            }
            fn open_url(&self, _: &str) -> Result<(), PluginError> {
                panic!("open broke")
            }
            fn settings_list(&self) -> Result<Vec<String>, PluginError> {
                panic!()
            }
            fn settings_read(&self, _: &str) -> Result<Option<Settings>, PluginError> {
                panic!()
            }
            fn settings_write(&self, _: &str, _: &Settings) -> Result<(), PluginError> {
                panic!()
            }
            fn settings_remove(&self, _: &str) -> Result<(), PluginError> {
                panic!()
            }
            fn secret_read(&self, _: &str, _: &str) -> Result<Option<String>, PluginError> {
                panic!()
            }
            fn secret_write(&self, _: &str, _: &str, _: &str) -> Result<(), PluginError> {
                panic!()
            }
            fn secrets_remove(&self, _: &str) -> Result<(), PluginError> {
                panic!()
            }
        }
        let host = Host::from_services(Panicky);
        host.info("ignored");
        let e = host.open_url("x").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Internal);
        assert!(e.message().contains("host panicked in `open_url`"), "{e}");
    }
}

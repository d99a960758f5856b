//! An in-memory host for plugin unit tests: stores, log and opened URLs you can inspect.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
};

use crate::{
    error::PluginError,
    host::{Host, HostServices, LogLevel, Settings},
};

#[derive(Default)]
struct State {
    log: Vec<(LogLevel, String)>,
    opened: Vec<String>,
    settings: BTreeMap<String, Settings>,
    secrets: BTreeMap<String, BTreeMap<String, String>>,
}

/// Host services kept in memory; clones share one state.
#[derive(Clone, Default)]
pub struct MemoryHost {
    state: Arc<Mutex<State>>,
}

impl MemoryHost {
    /// An empty host.
    pub fn new() -> Self {
        Self::default()
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
        Ok(self.lock().settings.get(account).cloned())
    }

    fn settings_write(&self, account: &str, settings: &Settings) -> Result<(), PluginError> {
        self.lock()
            .settings
            .insert(account.to_owned(), settings.clone());
        Ok(())
    }

    fn settings_remove(&self, account: &str) -> Result<(), PluginError> {
        self.lock().settings.remove(account);
        Ok(())
    }

    fn secret_read(&self, account: &str, name: &str) -> Result<Option<String>, PluginError> {
        Ok(self
            .lock()
            .secrets
            .get(account)
            .and_then(|s| s.get(name))
            .cloned())
    }

    fn secret_write(&self, account: &str, name: &str, value: &str) -> Result<(), PluginError> {
        let mut state = self.lock();
        let secrets = state.secrets.entry(account.to_owned()).or_default();
        secrets.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    fn secrets_remove(&self, account: &str) -> Result<(), PluginError> {
        self.lock().secrets.remove(account);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! The store key kept by the freedesktop Secret Service (gnome-keyring, KWallet) on a
//! Linux desktop, as MSAL's token-cache extensions keep theirs with libsecret.
//!
//! One item per store, in the default collection, found by its attributes
//! `application=atrs`, `store=<store id>`, `slot=current` (a rotation writes `slot=next`
//! first); its label names the store for a person. The secret is the key in base64 on
//! one line — the same text a key file holds — so `secret-tool lookup application atrs
//! store ID` gives a copy that `ATRS_STORE_KEY_FILE` can name. Nothing here ever prompts:
//! a locked collection is reported with how to unlock it, never waited on. Every call
//! to the service is bounded by [`CALL_TIMEOUT`]. A process keeps one session with the
//! service per bus for its life (`session`): fetching a key then costs a search and a
//! read, not a new connection and key exchange each time the store is opened.

use std::time::Duration;

use super::seal::KEY_LEN;

/// The application attribute of every item this host writes.
pub const APPLICATION: &str = "atrs";
/// How long one call to the session bus or the Secret Service may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The Secret Service's well-known name on the session bus.
pub const BUS_NAME: &str = "org.freedesktop.secrets";

/// A key found in the Secret Service: its bytes and the item's label.
pub(crate) type FoundKey = (zeroize::Zeroizing<[u8; KEY_LEN]>, String);

/// A store's keys in the Secret Service, by slot.
#[derive(Default)]
pub(crate) struct Keys {
    /// The key in use.
    pub(crate) current: Option<FoundKey>,
    /// A rotation's new key, not yet made current.
    pub(crate) next: Option<FoundKey>,
}

/// Which of a store's items: the key in use, or a rotation's new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Current,
    Next,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Slot::Current => "current",
            Slot::Next => "next",
        }
    }
}

/// What went wrong with the Secret Service; never holds a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretServiceError {
    /// No session bus to reach the Secret Service on.
    #[error("no D-Bus session bus can be reached ({detail})")]
    NoSessionBus {
        /// Why, as the bus client said.
        detail: String,
    },
    /// A session bus, but nothing serving the Secret Service on it.
    #[error("no Secret Service (gnome-keyring, KWallet) answers on the session bus ({detail})")]
    NoService {
        /// Why, as the bus said.
        detail: String,
    },
    /// The collection holding (or to hold) the key is locked.
    #[error("the keyring collection \"{collection}\" that holds the store key is locked")]
    Locked {
        /// The collection's label.
        collection: String,
    },
    /// A store sealed with a key in the Secret Service whose item is gone.
    #[error("the Secret Service holds no key for the store {store} (an item with application={APPLICATION} store={store_id})")]
    ItemMissing {
        /// The store's location.
        store: String,
        /// The store's id (the item's `store` attribute).
        store_id: String,
    },
    /// The service refused this user access.
    #[error("the Secret Service refused access to the store key ({detail})")]
    Denied {
        /// Why, as the service said.
        detail: String,
    },
    /// The item holds no key.
    #[error("the Secret Service item for the store {store_id} does not hold a {KEY_LEN}-byte key")]
    NotAKey {
        /// The store's id.
        store_id: String,
    },
    /// Anything else the service answered.
    #[error("the Secret Service failed: {detail}")]
    Failed {
        /// What it said.
        detail: String,
    },
}

impl SecretServiceError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            SecretServiceError::NoSessionBus { .. } | SecretServiceError::NoService { .. } => {
                "Run the host inside the desktop session (DBUS_SESSION_BUS_ADDRESS set, gnome-keyring or KWallet running), or keep the key in a file: ATRS_STORE_KEY=file, or name one with ATRS_STORE_KEY_FILE.".to_owned()
            }
            SecretServiceError::Locked { collection } => format!(
                "Unlock the keyring collection \"{collection}\" — log in to the desktop session, or unlock it in Passwords and Keys (seahorse) or KWallet Manager; in a session without a screen start the keyring unlocked with `gnome-keyring-daemon --replace --unlock --components=secrets` and its password on standard input — then try again. Nothing was changed."
            ),
            SecretServiceError::ItemMissing { store_id, .. } => format!(
                "Put the key back from your copy: `secret-tool store --label='ATRS account store key' application {APPLICATION} store {store_id} slot current` and paste the base64 key, or save it in an owner-only file outside the store and name that file with ATRS_STORE_KEY_FILE. Nothing was changed: the sealed secrets open again with their key."
            ),
            SecretServiceError::Denied { .. } => "Run the host as the user whose desktop session holds the keyring, and allow it access if the keyring asks; or keep the key in a file (ATRS_STORE_KEY=file).".to_owned(),
            SecretServiceError::NotAKey { store_id } => format!(
                "Restore the item (application {APPLICATION} store {store_id}) from your copy of the key: {KEY_LEN} bytes in base64 on one line."
            ),
            SecretServiceError::Failed { .. } => "Check the keyring (gnome-keyring or KWallet) is running and healthy, then try again; or keep the key in a file (ATRS_STORE_KEY=file).".to_owned(),
        }
    }
}

/// The label a person sees in the keyring for the store at `location`.
pub(crate) fn label(location: &str) -> String {
    format!("ATRS account store key ({location})")
}

#[cfg(target_os = "linux")]
pub(crate) use client::{delete, load, reachable, save};

#[cfg(not(target_os = "linux"))]
pub(crate) use elsewhere::{delete, load, reachable, save};

#[cfg(target_os = "linux")]
mod client {
    use std::collections::HashMap;

    use base64::Engine;
    use secret_service::{blocking::SecretService, EncryptionType, Error};
    use zeroize::Zeroizing;

    use super::{Keys, SecretServiceError, Slot, APPLICATION, BUS_NAME, CALL_TIMEOUT, KEY_LEN};

    fn attributes(store_id: &str, slot: Slot) -> HashMap<&str, &str> {
        HashMap::from([
            ("application", APPLICATION),
            ("store", store_id),
            ("slot", slot.name()),
        ])
    }

    fn bus(address: Option<&str>) -> Result<zbus::blocking::Connection, SecretServiceError> {
        match address {
            Some(address) => zbus::blocking::connection::Builder::address(address),
            None => zbus::blocking::connection::Builder::session(),
        }
        .and_then(|b| b.method_timeout(CALL_TIMEOUT).build())
        .map_err(|e| no_bus(&e))
    }

    fn no_bus(e: &zbus::Error) -> SecretServiceError {
        SecretServiceError::NoSessionBus {
            detail: e.to_string(),
        }
    }

    fn connect(bus_address: Option<&str>) -> Result<SecretService<'static>, SecretServiceError> {
        SecretService::connect_with_existing(EncryptionType::Dh, bus(bus_address)?)
            .map_err(classify)
    }

    /// Runs `call` over this process's session with the Secret Service on
    /// `bus_address` (see [`super::session`]).
    fn with_service<T>(
        bus_address: Option<&str>,
        call: impl Fn(&SecretService<'static>) -> Result<T, SecretServiceError>,
    ) -> Result<T, SecretServiceError> {
        super::session::with_session(bus_address, connect, call)
    }

    fn classify_name(name: &str, detail: String) -> SecretServiceError {
        if name.ends_with("ServiceUnknown")
            || name.ends_with("NameHasNoOwner")
            || name.ends_with("UnknownMethod")
            || name.ends_with("UnknownObject")
            || name.ends_with("NoReply")
            || name.ends_with("Spawn.ChildExited")
        {
            SecretServiceError::NoService { detail }
        } else if name.ends_with("IsLocked") {
            SecretServiceError::Locked {
                collection: "default".into(),
            }
        } else if name.ends_with("AccessDenied") || name.ends_with("NotSupported") {
            SecretServiceError::Denied { detail }
        } else {
            SecretServiceError::Failed { detail }
        }
    }

    /// The Secret Service's error in our words.
    fn classify(e: Error) -> SecretServiceError {
        match e {
            Error::Unavailable => SecretServiceError::NoSessionBus {
                detail: "no session bus address, or nothing listening there".into(),
            },
            Error::Locked => SecretServiceError::Locked {
                collection: "default".into(),
            },
            Error::Prompt | Error::PromptDisconnected => SecretServiceError::Locked {
                collection: "default".into(),
            },
            Error::Zbus(zbus::Error::MethodError(name, text, _)) => {
                let detail = text.unwrap_or_else(|| name.to_string());
                classify_name(name.as_str(), detail)
            }
            Error::Zbus(zbus::Error::FDO(e)) => fdo(&e),
            Error::ZbusFdo(e) => fdo(&e),
            Error::Zbus(zbus::Error::InputOutput(io))
                if io.kind() == std::io::ErrorKind::TimedOut =>
            {
                SecretServiceError::NoService {
                    detail: format!("no answer within {} s", CALL_TIMEOUT.as_secs()),
                }
            }
            Error::Zbus(e @ (zbus::Error::InputOutput(_) | zbus::Error::Address(_))) => no_bus(&e),
            other => SecretServiceError::Failed {
                detail: other.to_string(),
            },
        }
    }

    fn fdo(e: &zbus::fdo::Error) -> SecretServiceError {
        let detail = e.to_string();
        let name = format!("{e:?}");
        let name = name.split('(').next().unwrap_or_default();
        classify_name(name, detail)
    }

    /// Whether a session bus is reachable with a Secret Service running or startable on
    /// it; when not, why.
    pub(crate) fn reachable(bus_address: Option<&str>) -> Result<(), SecretServiceError> {
        let conn = bus(bus_address)?;
        let dbus = zbus::blocking::fdo::DBusProxy::new(&conn).map_err(|e| no_bus(&e))?;
        let name = zbus::names::BusName::try_from(BUS_NAME).expect("a valid bus name");
        let owned = dbus
            .name_has_owner(name)
            .map_err(|e| classify(Error::ZbusFdo(e)))?;
        let activatable = || {
            dbus.list_activatable_names()
                .map(|names| names.iter().any(|n| n.as_str() == BUS_NAME))
                .unwrap_or(false)
        };
        if owned || activatable() {
            Ok(())
        } else {
            Err(SecretServiceError::NoService {
                detail: format!("nothing owns {BUS_NAME} and nothing can start it"),
            })
        }
    }

    /// The store `store_id`'s keys (bytes and item label) in its `next` and `current`
    /// items, each `None` when there is no such item; one connection for both.
    pub(crate) fn load(
        bus_address: Option<&str>,
        store_id: &str,
    ) -> Result<Keys, SecretServiceError> {
        with_service(bus_address, |service| load_over(service, store_id))
    }

    fn load_over(service: &SecretService<'_>, store_id: &str) -> Result<Keys, SecretServiceError> {
        let mut keys = Keys::default();
        for slot in [Slot::Next, Slot::Current] {
            let found = service
                .search_items(attributes(store_id, slot))
                .map_err(classify)?;
            let Some(item) = found.unlocked.first() else {
                if found.locked.is_empty() {
                    continue;
                }
                let collection = service
                    .get_default_collection()
                    .and_then(|c| c.get_label())
                    .unwrap_or_else(|_| "default".into());
                return Err(SecretServiceError::Locked { collection });
            };
            let secret = Zeroizing::new(item.get_secret().map_err(classify)?);
            let label = item.get_label().map_err(classify)?;
            let key = Some((decode(&secret, store_id)?, label));
            match slot {
                Slot::Next => keys.next = key,
                Slot::Current => keys.current = key,
            }
        }
        Ok(keys)
    }

    /// An item's secret as key bytes (base64 text, as a key file holds it).
    fn decode(
        secret: &[u8],
        store_id: &str,
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, SecretServiceError> {
        let not_a_key = || SecretServiceError::NotAKey {
            store_id: store_id.to_owned(),
        };
        let text = std::str::from_utf8(secret).map_err(|_| not_a_key())?.trim();
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| not_a_key())?,
        );
        if decoded.len() != KEY_LEN {
            return Err(not_a_key());
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(&decoded);
        Ok(bytes)
    }

    /// Keeps `key` as the item in `slot` of the store `store_id` (replacing one there),
    /// in the default collection, which must be unlocked.
    pub(crate) fn save(
        bus_address: Option<&str>,
        store_id: &str,
        slot: Slot,
        label: &str,
        key: &[u8; KEY_LEN],
    ) -> Result<(), SecretServiceError> {
        with_service(bus_address, |service| {
            save_over(service, store_id, slot, label, key)
        })
    }

    fn save_over(
        service: &SecretService<'_>,
        store_id: &str,
        slot: Slot,
        label: &str,
        key: &[u8; KEY_LEN],
    ) -> Result<(), SecretServiceError> {
        let collection = service.get_default_collection().map_err(|e| match e {
            Error::NoResult => SecretServiceError::Failed {
                detail: "it has no default collection (keyring) to keep the key in".into(),
            },
            e => classify(e),
        })?;
        if collection.is_locked().map_err(classify)? {
            return Err(SecretServiceError::Locked {
                collection: collection.get_label().unwrap_or_else(|_| "default".into()),
            });
        }
        let text = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key));
        collection
            .create_item(
                label,
                attributes(store_id, slot),
                text.as_bytes(),
                true,
                "text/plain",
            )
            .map_err(classify)?;
        Ok(())
    }

    /// Deletes the item in `slot` of the store `store_id`, if there is one.
    pub(crate) fn delete(
        bus_address: Option<&str>,
        store_id: &str,
        slot: Slot,
    ) -> Result<(), SecretServiceError> {
        with_service(bus_address, |service| {
            let found = service
                .search_items(attributes(store_id, slot))
                .map_err(classify)?;
            for item in found.unlocked.iter().chain(&found.locked) {
                item.delete().map_err(classify)?;
            }
            Ok(())
        })
    }
}

#[cfg(target_os = "linux")]
mod session;

#[cfg(target_os = "linux")]
pub mod throwaway;

#[cfg(all(test, target_os = "linux"))]
mod tests;

#[cfg(not(target_os = "linux"))]
mod elsewhere {
    use super::{Keys, SecretServiceError, Slot, KEY_LEN};

    fn absent() -> SecretServiceError {
        SecretServiceError::NoService {
            detail: "the Secret Service is a Linux desktop's".into(),
        }
    }

    pub(crate) fn reachable(_bus: Option<&str>) -> Result<(), SecretServiceError> {
        Err(absent())
    }

    pub(crate) fn load(_bus: Option<&str>, _store_id: &str) -> Result<Keys, SecretServiceError> {
        Err(absent())
    }

    pub(crate) fn save(
        _bus: Option<&str>,
        _store_id: &str,
        _slot: Slot,
        _label: &str,
        _key: &[u8; KEY_LEN],
    ) -> Result<(), SecretServiceError> {
        Err(absent())
    }

    pub(crate) fn delete(
        _bus: Option<&str>,
        _store_id: &str,
        _slot: Slot,
    ) -> Result<(), SecretServiceError> {
        Err(absent())
    }
}

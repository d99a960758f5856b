//! One Secret Service session per bus for the life of the process.
//!
//! Connecting to the session bus and opening a session with the Secret Service (a
//! Diffie-Hellman exchange) is most of what fetching a store key costs, and a host opens
//! its store several times in one command (the command, then each plugin it starts). So
//! the session is kept, one per bus address, and every later call goes over it. A call
//! that fails on a kept session the way a dead one does (the bus or the service went
//! away or restarted) is made once more on a new session, so a stale session costs one
//! retry, never a wrong answer.
//!
//! What is kept: the bus connection and the session with the service (whose transport
//! key protects secrets only on their way over the bus). A store key never is: it is
//! fetched anew by every open and lives only in that store (zeroized when dropped).

use std::sync::{Mutex, MutexGuard};

use secret_service::blocking::SecretService;

use super::SecretServiceError;

/// The kept sessions, by bus address. A session in use is taken out and put back after,
/// so no call waits for another's.
static KEPT: Mutex<Vec<(String, SecretService<'static>)>> = Mutex::new(Vec::new());

fn kept() -> MutexGuard<'static, Vec<(String, SecretService<'static>)>> {
    KEPT.lock().unwrap_or_else(|p| p.into_inner())
}

/// The bus a session is kept for: the address given, else the session's own (as the
/// environment says now).
fn bus_key(bus_address: Option<&str>) -> String {
    match bus_address {
        Some(address) => address.to_owned(),
        None => std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default(),
    }
}

/// Whether `e` may come from a session that is no longer there (so a new one may
/// answer), rather than from a service that answered.
fn maybe_stale(e: &SecretServiceError) -> bool {
    matches!(
        e,
        SecretServiceError::NoSessionBus { .. }
            | SecretServiceError::NoService { .. }
            | SecretServiceError::Failed { .. }
    )
}

/// Runs `call` over the kept session for `bus_address`, or over one `connect` opens
/// (and that is then kept); a call that fails on a kept session as a stale one would
/// is made once more on a new session.
pub(super) fn with_session<T>(
    bus_address: Option<&str>,
    connect: impl Fn(Option<&str>) -> Result<SecretService<'static>, SecretServiceError>,
    call: impl Fn(&SecretService<'static>) -> Result<T, SecretServiceError>,
) -> Result<T, SecretServiceError> {
    let key = bus_key(bus_address);
    let taken = {
        let mut sessions = kept();
        let at = sessions.iter().position(|(k, _)| *k == key);
        at.map(|at| sessions.swap_remove(at).1)
    };
    if let Some(session) = taken {
        match call(&session) {
            Err(e) if maybe_stale(&e) => drop(session),
            answered => {
                keep(key, session);
                return answered;
            }
        }
    }
    let session = connect(bus_address)?;
    let answered = call(&session);
    if !answered.as_ref().is_err_and(maybe_stale) {
        keep(key, session);
    }
    answered
}

/// Keeps `session` for the bus `key`, unless another call kept one meanwhile.
fn keep(key: String, session: SecretService<'static>) {
    let mut sessions = kept();
    if !sessions.iter().any(|(k, _)| *k == key) {
        sessions.push((key, session));
    }
}

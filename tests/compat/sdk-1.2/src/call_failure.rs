//! Who ended a failed call: the plugin, or the host that gave up on it.
//!
//! Both come back as a [`PluginError`], and a host timeout has the same kind as the
//! plugin's own (`timed_out`: an expired device code, a slow server). They call for
//! different things — a plugin's timeout is worth trying again, a call the host gave up
//! on means the plugin is stuck and must be closed — so the host marks the errors it
//! makes itself, and strips that mark from everything a plugin sends: a plugin cannot
//! pass its error off as the host's.

use std::time::Duration;

use crate::error::PluginError;

/// The detail key the host marks its own call errors with (see [`CallFailure::of`]).
const HOST_GAVE_UP: &str = "host_gave_up";
/// The detail key naming the call (kept from before [`CallFailure`] existed).
const CALL: &str = "call";
/// The detail key of the limit the host waited, in milliseconds.
const LIMIT_MS: &str = "limit_ms";
/// The detail key naming the earlier call that is still running.
const STUCK_IN: &str = "stuck_in";

/// Who ended a call that failed, read from its error with [`CallFailure::of`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallFailure {
    /// The plugin answered with the error: its own `timed_out` (an expired code, a slow
    /// server) included.
    Plugin,
    /// The host stopped waiting for `call` after `limit`; the call may still be running
    /// inside the plugin, and later calls fail as [`CallFailure::Stuck`] until it returns.
    HostTimedOut {
        /// The call the host gave up on (`poll`, `save`, …).
        call: String,
        /// How long the host waited.
        limit: Duration,
    },
    /// The host did not make `call`: `stuck_in`, an earlier call it gave up on, has not
    /// returned yet.
    Stuck {
        /// The call that was refused.
        call: String,
        /// The earlier call that is still running.
        stuck_in: String,
    },
    /// The host could not make `call` at all (no thread to run it on, or the call ended
    /// without an answer).
    HostFailed {
        /// The call that could not be made.
        call: String,
    },
}

impl CallFailure {
    /// Who ended the call that failed with `error`.
    pub fn of(error: &PluginError) -> CallFailure {
        let detail = |key: &str| {
            error
                .details()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_owned())
                .unwrap_or_default()
        };
        match error.details().find(|(k, _)| *k == HOST_GAVE_UP) {
            None => CallFailure::Plugin,
            Some((_, "timed_out")) => CallFailure::HostTimedOut {
                call: detail(CALL),
                limit: Duration::from_millis(detail(LIMIT_MS).parse().unwrap_or(0)),
            },
            Some((_, "stuck")) => CallFailure::Stuck {
                call: detail(CALL),
                stuck_in: detail(STUCK_IN),
            },
            Some(_) => CallFailure::HostFailed { call: detail(CALL) },
        }
    }

    /// Whether the host, not the plugin, ended the call: the plugin is stuck or could
    /// not be reached, so trying the same call again will not help.
    pub fn is_host_side(&self) -> bool {
        !matches!(self, CallFailure::Plugin)
    }
}

/// Marks `error` as the host's: it stopped waiting for `call` after `limit`.
pub(crate) fn mark_timed_out(error: PluginError, call: &str, limit: Duration) -> PluginError {
    error
        .with_detail(HOST_GAVE_UP, "timed_out")
        .with_detail(CALL, call)
        .with_detail(LIMIT_MS, limit.as_millis().to_string())
}

/// Marks `error` as the host's: it did not make `call` while `stuck_in` runs.
pub(crate) fn mark_stuck(error: PluginError, call: &str, stuck_in: &str) -> PluginError {
    error
        .with_detail(HOST_GAVE_UP, "stuck")
        .with_detail(CALL, call)
        .with_detail(STUCK_IN, stuck_in)
}

/// Marks `error` as the host's: it could not make `call`.
pub(crate) fn mark_failed(error: PluginError, call: &str) -> PluginError {
    error
        .with_detail(HOST_GAVE_UP, "failed")
        .with_detail(CALL, call)
}

/// `error` as the plugin sent it, without any mark that would pass it off as the host's.
pub(crate) fn from_plugin(error: PluginError) -> PluginError {
    if error.details().any(|(k, _)| k == HOST_GAVE_UP) {
        error.without_detail(HOST_GAVE_UP)
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn an_unmarked_error_is_the_plugins_own() {
        let expired =
            PluginError::new(ErrorKind::TimedOut, "The code expired.").with_detail("call", "poll");
        assert_eq!(CallFailure::of(&expired), CallFailure::Plugin);
        assert!(!CallFailure::of(&expired).is_host_side());
    }

    #[test]
    fn each_mark_reads_back_with_its_facts() {
        let e = PluginError::new(ErrorKind::TimedOut, "x");
        let timed_out = mark_timed_out(e.clone(), "poll", Duration::from_millis(1500));
        assert_eq!(
            CallFailure::of(&timed_out),
            CallFailure::HostTimedOut {
                call: "poll".into(),
                limit: Duration::from_millis(1500)
            }
        );
        let stuck = mark_stuck(e.clone(), "save", "poll");
        assert_eq!(
            CallFailure::of(&stuck),
            CallFailure::Stuck {
                call: "save".into(),
                stuck_in: "poll".into()
            }
        );
        let failed = mark_failed(e, "describe");
        assert_eq!(
            CallFailure::of(&failed),
            CallFailure::HostFailed {
                call: "describe".into()
            }
        );
        assert!([timed_out, stuck, failed]
            .iter()
            .all(|e| CallFailure::of(e).is_host_side()));
    }

    #[test]
    fn a_plugin_cannot_pass_its_error_off_as_the_hosts() {
        let forged = PluginError::new(ErrorKind::TimedOut, "x")
            .with_detail("suberror", "kept")
            .with_detail(HOST_GAVE_UP, "timed_out")
            .with_detail(HOST_GAVE_UP, "stuck");
        let received = from_plugin(forged);
        assert_eq!(CallFailure::of(&received), CallFailure::Plugin);
        assert_eq!(
            received.details().collect::<Vec<_>>(),
            vec![("suberror", "kept")]
        );
    }
}

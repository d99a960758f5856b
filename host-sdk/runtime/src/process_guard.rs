//! What the host process does for itself before anything else: no core dumps while it
//! runs (a dump would hold the secrets in its memory: client secrets, refresh and access
//! tokens), and a panic hook that prints a short message without the panic's payload (which
//! may quote a value, and the README's cron line appends stderr to a log). With `-vv` the
//! standard hook prints everything, for a developer.

use std::panic::Location;

/// Turns core dumps off for this process (`RLIMIT_CORE` 0, soft and hard). Unix only; a
/// no-op elsewhere.
pub fn no_core_dumps() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads the struct we pass and touches no other memory.
        if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Installs the short panic message unless `verbose` is 2 or more (`-vv`).
pub fn install_panic_hook(verbose: u8) {
    if verbose >= 2 {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{}", panic_message(info.location()));
    }));
}

/// What a panic prints by default: where, never what.
pub fn panic_message(location: Option<&Location<'_>>) -> String {
    let place = location
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    format!(
        "atrs-test-host stopped on an internal error{place}. Run the command again with -vv to see the details, and report them."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_place_only() {
        let m = panic_message(Some(Location::caller()));
        assert!(m.contains("process_guard.rs:"), "{m}");
        assert!(m.contains("-vv"), "{m}");
        assert!(panic_message(None).starts_with("atrs-test-host stopped"));
    }

    #[cfg(unix)]
    #[test]
    fn core_dumps_are_off_after_the_call() {
        no_core_dumps().unwrap();
        let mut now = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: getrlimit writes the struct we pass.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut now) }, 0);
        assert_eq!((now.rlim_cur, now.rlim_max), (0, 0));
    }
}

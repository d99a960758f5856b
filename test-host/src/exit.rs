//! Exit codes: a contract scripts rely on.

use std::process::ExitCode;

use atrs_host_sdk::ErrorKind;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: it worked.
    Success,
    /// 1: anything else (a bug, an unsupported request, a store failure).
    Failure,
    /// 2: invalid input (usage or form).
    InvalidInput,
    /// 3: refused by the provider or the user.
    Refused,
    /// 4: cancelled or timed out.
    CancelledOrTimedOut,
    /// 5: network or provider unavailable.
    Unavailable,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::InvalidInput => 2,
            Exit::Refused => 3,
            Exit::CancelledOrTimedOut => 4,
            Exit::Unavailable => 5,
        }
    }

    /// The exit for a plugin error of `kind`.
    pub fn for_kind(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::InvalidInput => Exit::InvalidInput,
            ErrorKind::AuthorizationRefused | ErrorKind::Provider => Exit::Refused,
            ErrorKind::Cancelled | ErrorKind::TimedOut => Exit::CancelledOrTimedOut,
            ErrorKind::Network => Exit::Unavailable,
            _ => Exit::Failure,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_the_documented_codes() {
        assert_eq!(Exit::for_kind(ErrorKind::InvalidInput).code(), 2);
        assert_eq!(Exit::for_kind(ErrorKind::AuthorizationRefused).code(), 3);
        assert_eq!(Exit::for_kind(ErrorKind::Provider).code(), 3);
        assert_eq!(Exit::for_kind(ErrorKind::Cancelled).code(), 4);
        assert_eq!(Exit::for_kind(ErrorKind::TimedOut).code(), 4);
        assert_eq!(Exit::for_kind(ErrorKind::Network).code(), 5);
        assert_eq!(Exit::for_kind(ErrorKind::Internal).code(), 1);
        assert_eq!(Exit::for_kind(ErrorKind::Unsupported).code(), 1);
    }
}

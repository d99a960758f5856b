//! Wall-clock time as the protocol and the host see it: Unix seconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the system clock is before it).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// `now` plus a lifetime a server gave, at most `max` (a server cannot make a token or code
/// live for ever, nor overflow the arithmetic with a huge value).
pub fn expires_at(now: i64, lifetime: Duration, max: Duration) -> i64 {
    let secs = lifetime.min(max).as_secs();
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn now_is_after_2020() {
        assert!(super::unix_now() > 1_577_836_800);
    }

    #[test]
    fn server_lifetimes_are_capped_and_never_overflow() {
        let day = Duration::from_secs(86_400);
        assert_eq!(super::expires_at(100, Duration::from_secs(3599), day), 3699);
        assert_eq!(super::expires_at(100, Duration::MAX, day), 86_500);
        assert_eq!(super::expires_at(i64::MAX - 1, day, day), i64::MAX);
    }
}

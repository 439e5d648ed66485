//! The wall clock, for what is stored or shown (message timestamps, the
//! 24-hour resend window). Rules that wait use `tokio::time::Instant`,
//! passed in (ARCHITECTURE "Time").

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

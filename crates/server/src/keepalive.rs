//! Keepalive as plain state with time passed in: a connection silent for
//! `ping_after` is pinged; one still silent `ping_timeout` after the ping is
//! given up on. Anything heard from the client counts as life.

use std::time::Duration;

use tokio::time::Instant;

/// What to do when the keepalive deadline passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepaliveStep {
    /// Send `Ping` with this token.
    Ping(u64),
    /// The client did not answer in time: drop it.
    GiveUp,
}

/// The keepalive state of one connection (its durations are the
/// server's, passed in: a connection holds only what changes).
#[derive(Debug)]
pub(crate) struct Keepalive {
    /// When the client was last heard from, or when it was pinged.
    since: Instant,
    pinged: bool,
    token: u64,
}

impl Keepalive {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            since: now,
            pinged: false,
            token: 0,
        }
    }

    /// When [`Keepalive::on_deadline`] is due: `ping_after` of silence, or
    /// `ping_timeout` after a ping.
    pub(crate) fn deadline(&self, ping_after: Duration, ping_timeout: Duration) -> Instant {
        match self.pinged {
            true => self.since + ping_timeout,
            false => self.since + ping_after,
        }
    }

    /// The client sent something.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.since = now;
        self.pinged = false;
    }

    /// The deadline passed: ping, or give up if a ping went unanswered.
    pub(crate) fn on_deadline(&mut self, now: Instant) -> KeepaliveStep {
        if self.pinged {
            return KeepaliveStep::GiveUp;
        }
        self.token = self.token.wrapping_add(1);
        self.since = now;
        self.pinged = true;
        KeepaliveStep::Ping(self.token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn silence_draws_a_ping_then_a_drop() {
        let start = Instant::now();
        let times = (30 * SECOND, 10 * SECOND);
        let mut keepalive = Keepalive::new(start);
        assert_eq!(keepalive.deadline(times.0, times.1), start + 30 * SECOND);
        let at = keepalive.deadline(times.0, times.1);
        assert_eq!(keepalive.on_deadline(at), KeepaliveStep::Ping(1));
        assert_eq!(keepalive.deadline(times.0, times.1), start + 40 * SECOND);
        assert_eq!(
            keepalive.on_deadline(keepalive.deadline(times.0, times.1)),
            KeepaliveStep::GiveUp
        );
    }

    #[test]
    fn anything_heard_resets_the_wait_and_the_ping() {
        let start = Instant::now();
        let (after, timeout) = (30 * SECOND, 10 * SECOND);
        let mut keepalive = Keepalive::new(start);
        assert_eq!(
            keepalive.on_deadline(start + 30 * SECOND),
            KeepaliveStep::Ping(1)
        );
        keepalive.heard(start + 35 * SECOND);
        assert_eq!(keepalive.deadline(after, timeout), start + 65 * SECOND);
        assert_eq!(
            keepalive.on_deadline(keepalive.deadline(after, timeout)),
            KeepaliveStep::Ping(2),
            "a new ping with a new token, not a drop"
        );
    }
}

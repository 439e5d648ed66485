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

#[derive(Debug)]
pub(crate) struct Keepalive {
    ping_after: Duration,
    ping_timeout: Duration,
    last_heard: Instant,
    pinged_at: Option<Instant>,
    token: u64,
}

impl Keepalive {
    pub(crate) fn new(now: Instant, ping_after: Duration, ping_timeout: Duration) -> Self {
        Self {
            ping_after,
            ping_timeout,
            last_heard: now,
            pinged_at: None,
            token: 0,
        }
    }

    /// When [`Keepalive::on_deadline`] is due.
    pub(crate) fn deadline(&self) -> Instant {
        match self.pinged_at {
            Some(at) => at + self.ping_timeout,
            None => self.last_heard + self.ping_after,
        }
    }

    /// The client sent something.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
        self.pinged_at = None;
    }

    /// The deadline passed: ping, or give up if a ping went unanswered.
    pub(crate) fn on_deadline(&mut self, now: Instant) -> KeepaliveStep {
        if self.pinged_at.is_some() {
            return KeepaliveStep::GiveUp;
        }
        self.token = self.token.wrapping_add(1);
        self.pinged_at = Some(now);
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
        let mut keepalive = Keepalive::new(start, 30 * SECOND, 10 * SECOND);
        assert_eq!(keepalive.deadline(), start + 30 * SECOND);
        let at = keepalive.deadline();
        assert_eq!(keepalive.on_deadline(at), KeepaliveStep::Ping(1));
        assert_eq!(keepalive.deadline(), start + 40 * SECOND);
        assert_eq!(
            keepalive.on_deadline(keepalive.deadline()),
            KeepaliveStep::GiveUp
        );
    }

    #[test]
    fn anything_heard_resets_the_wait_and_the_ping() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(start, 30 * SECOND, 10 * SECOND);
        assert_eq!(
            keepalive.on_deadline(start + 30 * SECOND),
            KeepaliveStep::Ping(1)
        );
        keepalive.heard(start + 35 * SECOND);
        assert_eq!(keepalive.deadline(), start + 65 * SECOND);
        assert_eq!(
            keepalive.on_deadline(keepalive.deadline()),
            KeepaliveStep::Ping(2),
            "a new ping with a new token, not a drop"
        );
    }
}

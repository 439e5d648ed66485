//! Keepalive and latency: the client pings every `every` and measures the
//! round trip from the `Pong`; the server's own pings are answered at once
//! (by the core). **Invariant:** a connection that brings nothing for
//! three intervals (not even the `Pong` to our ping) is declared stale, so
//! a half-dead TCP connection is dropped and remade instead of waited on
//! forever.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Keepalive {
    every: Duration,
    /// When the connection came up: ping tokens are microseconds since.
    since: Instant,
    next_ping: Instant,
    last_heard: Instant,
}

impl Keepalive {
    pub(crate) fn new(every: Duration, now: Instant) -> Self {
        Self {
            every,
            since: now,
            next_ping: now + every,
            last_heard: now,
        }
    }

    /// Something arrived from the server.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// A ping token to send now, if one is due.
    pub(crate) fn ping_due(&mut self, now: Instant) -> Option<u64> {
        if now < self.next_ping {
            return None;
        }
        self.next_ping = now + self.every;
        Some(u64::try_from(now.duration_since(self.since).as_micros()).unwrap_or(u64::MAX))
    }

    /// The round trip of the ping that carried `token`.
    pub(crate) fn latency(&self, token: u64, now: Instant) -> Duration {
        now.duration_since(self.since)
            .saturating_sub(Duration::from_micros(token))
    }

    /// Whether the server has been silent too long.
    pub(crate) fn stale(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_heard) >= self.every * 3
    }

    /// When something is next due: a ping, or the stale verdict.
    pub(crate) fn deadline(&self) -> Instant {
        self.next_ping.min(self.last_heard + self.every * 3)
    }
}

//! Pacing: a client sends no faster than the server's rate limit allows, as
//! the server advertised it in `Welcome.limits` (`rate_per_second`,
//! `rate_burst`), so a script piping thousands of lines is never refused for
//! its rate, let alone disconnected for flooding.
//!
//! The pacer mirrors the server's token bucket (every frame costs one
//! token) with a margin: it refills at 90 % of the rate and keeps two tokens
//! of the burst in reserve, because frames sent evenly can arrive bunched.
//! Messages wait in its queue, in order; frames that must not wait (`Pong`,
//! file credit) are charged without waiting. A message the server still
//! refuses with `RateLimited` goes back to the front of the queue.

use std::{collections::VecDeque, time::Duration};

use huddle_protocol::{ClientMessage, Limits};
use tokio::time::Instant;

/// The share of the server's rate the pacer uses.
const RATE_SHARE: f64 = 0.9;

/// Tokens of the server's burst the pacer never spends.
const RESERVE: f64 = 2.0;

#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    queue: VecDeque<ClientMessage>,
}

impl Pacer {
    /// A pacer for a server with `limits`, starting with a full burst.
    pub fn new(limits: &Limits, now: Instant) -> Self {
        let rate = f64::from(limits.rate_per_second.max(1)) * RATE_SHARE;
        let burst = (f64::from(limits.rate_burst) - RESERVE).max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
            queue: VecDeque::new(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }

    /// Queues `message` behind those waiting.
    pub fn push(&mut self, message: ClientMessage) {
        self.queue.push_back(message);
    }

    /// The newest message waiting, to extend (`batching.rs`).
    pub(crate) fn newest_mut(&mut self) -> Option<&mut ClientMessage> {
        self.queue.back_mut()
    }

    /// Puts back a message the server refused for its rate, first in line.
    pub fn requeue(&mut self, message: ClientMessage) {
        self.queue.push_front(message);
    }

    /// Counts a frame sent at once, outside the queue (it may put the
    /// pacer in debt, which later messages wait out).
    pub fn charge(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }

    /// The next message that may be sent at `now`, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<ClientMessage> {
        if self.queue.is_empty() {
            return None;
        }
        self.refill(now);
        // Within rounding of a whole token counts as one (poll_timeout
        // computes the instant it becomes whole).
        if self.tokens < 1.0 - 1e-6 {
            return None;
        }
        self.tokens -= 1.0;
        self.queue.pop_front()
    }

    /// When [`Pacer::poll_transmit`] will have something, if anything waits.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            return None;
        }
        let missing = (1.0 - self.tokens).max(0.0);
        Some(self.last + Duration::from_secs_f64(missing / self.rate))
    }

    /// The messages waiting, in order, leaving none.
    pub fn into_queue(self) -> Vec<ClientMessage> {
        self.queue.into()
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ping(token: u64) -> ClientMessage {
        ClientMessage::Ping { token }
    }

    fn drain(pacer: &mut Pacer, now: Instant) -> usize {
        std::iter::from_fn(|| pacer.poll_transmit(now)).count()
    }

    #[test]
    fn the_burst_goes_at_once_then_the_rate_with_its_margin() {
        let limits = Limits {
            rate_per_second: 20,
            rate_burst: 100,
            ..Limits::default()
        };
        let start = Instant::now();
        let mut pacer = Pacer::new(&limits, start);
        for n in 0..1000 {
            pacer.push(ping(n));
        }
        assert_eq!(drain(&mut pacer, start), 98, "the burst less the reserve");
        let next = pacer.poll_timeout().unwrap();
        assert!(next > start && next <= start + Duration::from_millis(60));
        // Ten seconds later: 18 a second (90 % of 20).
        let later = start + Duration::from_secs(10);
        assert_eq!(drain(&mut pacer, later), 98, "capped at the burst again");
        let mut now = later;
        let mut sent = 0;
        for _ in 0..200 {
            now = pacer.poll_timeout().unwrap();
            sent += drain(&mut pacer, now);
        }
        let rate = f64::from(sent as u32) / (now - later).as_secs_f64();
        assert!((17.5..=18.5).contains(&rate), "{rate} a second");
    }

    #[test]
    fn order_is_kept_a_refused_message_goes_first_and_charges_count() {
        let limits = Limits {
            rate_per_second: 10,
            rate_burst: 4,
            ..Limits::default()
        };
        let now = Instant::now();
        let mut pacer = Pacer::new(&limits, now);
        for n in 1..=3 {
            pacer.push(ping(n));
        }
        assert_eq!(pacer.poll_transmit(now), Some(ping(1)));
        pacer.requeue(ping(1));
        pacer.charge(now); // a Pong, sent at once
        assert_eq!(
            pacer.poll_transmit(now),
            None,
            "the pong took the last token"
        );
        let later = pacer.poll_timeout().unwrap();
        assert_eq!(pacer.poll_transmit(later), Some(ping(1)));
        assert_eq!(pacer.len(), 2);
        assert!(Pacer::new(&limits, now).poll_timeout().is_none());
    }
}

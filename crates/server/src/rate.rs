//! A token bucket. Time is passed in (the server's one clock,
//! `tokio::time::Instant`), so it tests without waiting.

use tokio::time::Instant;

/// Allows `rate` events per second on average and `burst` at once.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: u32, burst: u32, now: Instant) -> Self {
        Self::with_rate(f64::from(rate), burst, now)
    }

    /// A bucket refilled at `rate` tokens a second (less than one allowed).
    pub(crate) fn with_rate(rate: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 5, start);
        assert_eq!((0..8).filter(|_| bucket.try_take(start)).count(), 5);
        let later = start + Duration::from_millis(300);
        assert_eq!((0..8).filter(|_| bucket.try_take(later)).count(), 3);
        let much_later = later + Duration::from_secs(60);
        assert_eq!((0..8).filter(|_| bucket.try_take(much_later)).count(), 5);
    }
}

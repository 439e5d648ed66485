//! The rate limit's verdict on each request: taken, dropped with
//! `RateLimited`, or — still sending after a burst's worth of refusals —
//! `Bye{Flooding}`.

use huddle_protocol::{ErrorCode, RequestKind};
use tokio::time::Instant;

use super::Dispatcher;

/// What the rate limit made of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Charge {
    /// Within the limit: serve it.
    Taken,
    /// Over it: refused with `RateLimited`.
    Dropped,
    /// Over it for too long: the client is told `Bye` and dropped.
    Flooding,
}

impl Dispatcher {
    /// Charges one request to the rate limit (unless `paced` by a file
    /// transfer's credit); past it, says so or, still sending after the
    /// burst's worth of refusals, says goodbye.
    pub(super) fn charge(
        &mut self,
        paced: bool,
        request: RequestKind,
        id: Option<huddle_protocol::ClientMsgId>,
        now: Instant,
    ) -> Charge {
        if !self.config.rate_limit || paced || self.bucket.try_take(now) {
            self.strikes = 0;
            return Charge::Taken;
        }
        self.strikes += 1;
        if self.strikes > self.config.limits.rate_burst {
            (self.hub.metrics().floods).fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.bye(ErrorCode::Flooding, "too many messages; disconnecting");
            return Charge::Flooding;
        }
        self.report(
            ErrorCode::RateLimited,
            "you are sending too fast; this message was dropped",
            request,
            id,
        );
        Charge::Dropped
    }
}

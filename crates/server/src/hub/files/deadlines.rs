//! A transfer's deadlines, run by the one timer (`deadlines.rs` at the
//! crate root) through [`Hub::run_due`]: data starts when the grace for late
//! answers is over, and a transfer that makes no progress for the stall
//! timeout (`ServerConfig::transfer_stall_timeout`, 60 s: recipients that
//! answer pings but never grant credit, a sender that stops sending) is
//! ended for everyone, freeing the sender's slot.

use std::time::Duration;

use huddle_protocol::TransferId;
use tokio::time::Instant;

use super::{Transfer, cancelled};
use crate::hub::{Hub, lock};

impl Transfer {
    /// When this transfer next needs the timer.
    fn deadline(&self, stall_timeout: Duration) -> Instant {
        let stall = self.last_progress + stall_timeout;
        match self.start_at {
            Some(start) if !self.started => start.min(stall),
            _ => stall,
        }
    }
}

impl Hub {
    /// Runs what is due at `now`: starts transfers whose grace is over and
    /// ends those that stalled.
    pub(crate) fn run_due(&self, now: Instant) {
        let mut transfers = lock(&self.transfers);
        let stalled: Vec<TransferId> = transfers
            .iter()
            .filter(|(_, t)| t.last_progress + self.stall_timeout <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in stalled {
            if let Some(transfer) = transfers.remove(&id) {
                let reason = format!(
                    "the transfer made no progress for {} s and was ended",
                    self.stall_timeout.as_secs_f32()
                );
                let message = cancelled(id, &transfer.sender_nick, &reason, true);
                transfer.tell_recipients(&message);
                super::send(&transfer.sender_outbound, &message);
            }
        }
        let due: Vec<TransferId> = transfers
            .iter()
            .filter(|(_, t)| !t.started && t.start_at.is_some_and(|at| at <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.start(&mut transfers, id);
        }
    }

    /// The earliest time [`Hub::run_due`] has something to do.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let stall_timeout = self.stall_timeout;
        lock(&self.transfers)
            .values()
            .map(|transfer| transfer.deadline(stall_timeout))
            .min()
    }
}

//! What the status page and `/metrics` read from the hub at a scrape:
//! levels (queues, transfers, the store), not counts (those are in
//! `metrics.rs`). Each takes one lock at a time.

use super::{Hub, lock};
use crate::metrics::Metrics;

/// What the outbound queues hold, summed over every connected client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct OutboundDepths {
    pub(crate) frames: usize,
    pub(crate) bytes: usize,
    /// Clients whose socket is full, so their writer task waits on it.
    pub(crate) backlogged: usize,
}

impl Hub {
    /// The server's counters.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Sums every client's outbound queue.
    pub(crate) fn outbound_depths(&self) -> OutboundDepths {
        let users = lock(&self.users);
        users
            .values()
            .fold(OutboundDepths::default(), |mut depths, user| {
                let (frames, bytes, stalled) = user.outbound.depth();
                depths.frames += frames;
                depths.bytes += bytes;
                depths.backlogged += usize::from(stalled && bytes > 0);
                depths
            })
    }

    /// Rooms with members.
    pub(crate) fn occupied_rooms(&self) -> usize {
        self.all_rooms()
            .iter()
            .filter(|room| !lock(room).members.is_empty())
            .count()
    }

    /// File transfers offered and not over yet.
    pub(crate) fn transfers_in_flight(&self) -> usize {
        lock(&self.transfers).len()
    }

    /// The history file's size on disk, with a store.
    pub(crate) fn store_file_bytes(&self) -> Option<u64> {
        self.store.as_ref().map(|store| store.file_bytes())
    }

    /// Whether the history can be written: the committer is running and
    /// its last commit succeeded. Always fine without a store.
    pub(crate) fn store_health(&self) -> Result<(), String> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        if !store.is_open() {
            return Err("the history store is closed".into());
        }
        if !self
            .metrics
            .last_commit_ok
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err("the last history commit failed (see the server's log)".into());
        }
        Ok(())
    }
}

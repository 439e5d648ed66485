//! What the run measured, shared by every task of the (single-threaded)
//! generator.

use hdrhistogram::Histogram;

#[derive(Debug)]
pub(crate) struct Stats {
    /// End-to-end latency in microseconds.
    pub(crate) latency: Histogram<u64>,
    pub(crate) delivered: u64,
    pub(crate) duplicated: u64,
    /// Deliveries per room, for the senders' flow control.
    pub(crate) delivered_in_room: Vec<u64>,
    pub(crate) acked: u64,
    /// Messages the server refused (an `Error` naming the message's id:
    /// the rate limit, say), per room: never delivered, so not lost.
    pub(crate) refused_in_room: Vec<u64>,
    pub(crate) disconnected: u64,
}

impl Stats {
    pub(crate) fn new(rooms: usize) -> anyhow::Result<Self> {
        Ok(Self {
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            delivered: 0,
            duplicated: 0,
            delivered_in_room: vec![0; rooms],
            acked: 0,
            refused_in_room: vec![0; rooms],
            disconnected: 0,
        })
    }
}

/// One receiving client's view: the next sequence number it expects from
/// each sender, to tell duplicates (and reordering) from new messages.
#[derive(Debug)]
pub(crate) struct Receiver {
    room: usize,
    next: Vec<u64>,
}

impl Receiver {
    pub(crate) fn new(room: usize, senders: usize) -> Self {
        Self {
            room,
            next: vec![0; senders],
        }
    }

    /// The room this client is in.
    pub(crate) fn room(&self) -> usize {
        self.room
    }

    pub(crate) fn record(&mut self, stats: &mut Stats, sender: u32, seq: u64, latency_nanos: u64) {
        let Some(next) = self.next.get_mut(sender as usize) else {
            return;
        };
        if seq < *next {
            stats.duplicated += 1;
            return;
        }
        *next = seq + 1;
        stats.delivered += 1;
        stats.delivered_in_room[self.room] += 1;
        let _ = stats.latency.record((latency_nanos / 1000).max(1));
    }
}

//! What the server counts, for `/metrics`, `/status.json` and the status
//! page (`status/`).
//!
//! Counting must cost the relay nothing measurable: the counters bumped per
//! message or per write ([`HotCounter`], [`LatencyHistogram`]) are sharded
//! by thread, each shard on its own cache line, so two threads never
//! contend for one; a scrape sums the shards. Counters bumped per
//! connection or per refusal are single atomics. Nothing here takes a lock.
//! Gauges (clients, rooms, queues) are not counted at all: a scrape reads
//! them from the hub (`hub/gauges.rs`, `status/prometheus.rs`).

mod histogram;

use std::{
    sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    time::Instant,
};

pub(crate) use histogram::{HistogramSnapshot, LatencyHistogram};
use huddle_protocol::ErrorCode;

/// Shards per hot counter: more than the threads that bump them
/// (runtime workers, the committer), so most threads have their own.
const SHARDS: usize = 8;

/// One shard, alone on its cache line (128 bytes covers the adjacent-line
/// prefetch of x86 and the line size of Apple's cores).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(AtomicU64);

/// This thread's shard: threads are numbered as they first count.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|index| *index)
}

/// A counter bumped on the hot path: per-thread shards, summed when read.
#[derive(Debug, Default)]
pub(crate) struct HotCounter {
    shards: [Shard; SHARDS],
}

impl HotCounter {
    /// Adds `n`.
    pub(crate) fn add(&self, n: u64) {
        self.shards[shard_index()].0.fetch_add(n, Ordering::Relaxed);
    }

    /// The total so far.
    pub(crate) fn get(&self) -> u64 {
        self.shards
            .iter()
            .map(|shard| shard.0.load(Ordering::Relaxed))
            .sum()
    }
}

/// How a connection attempt ended up, for `huddle_connections_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectionOutcome {
    /// Said a good `Hello` and joined.
    Greeted,
    /// Refused before any byte was read: too many connections in all or
    /// from its address.
    RefusedByLimits,
    /// Never got past the transport: a failed or slow TLS handshake, or
    /// plain text to a server that requires TLS.
    FailedTransport,
    /// Its `Hello` was refused (late, malformed, wrong version, bad proof,
    /// a nick in use or bound to another key).
    RefusedHello,
}

impl ConnectionOutcome {
    /// Every outcome, in the order of their counters (their discriminants).
    pub(crate) const ALL: [ConnectionOutcome; 4] = [
        Self::Greeted,
        Self::RefusedByLimits,
        Self::FailedTransport,
        Self::RefusedHello,
    ];

    /// The label value.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Greeted => "greeted",
            Self::RefusedByLimits => "refused_by_limits",
            Self::FailedTransport => "failed_transport",
            Self::RefusedHello => "refused_hello",
        }
    }
}

/// Error codes are counted by number; codes past this share the last slot.
const REFUSAL_SLOTS: usize = 32;

/// Where `code` is counted.
fn refusal_slot(code: ErrorCode) -> usize {
    usize::from(code.as_u16()).min(REFUSAL_SLOTS - 1)
}

/// The server's counters; one per server, shared by everything that
/// counts (the hub, dispatchers, frame readers, flushers, the committer).
#[derive(Debug)]
pub(crate) struct Metrics {
    /// When the server started (uptime).
    pub(crate) started: Instant,
    /// Connection attempts by outcome (indexed by its discriminant).
    connections: [AtomicU64; ConnectionOutcome::ALL.len()],
    /// Room messages accepted (given an id and fanned out).
    pub(crate) room_messages: HotCounter,
    /// Direct messages accepted.
    pub(crate) direct_messages: HotCounter,
    /// Frames queued to recipients by fan-out (room and direct messages).
    pub(crate) deliveries: HotCounter,
    /// Bytes read from clients' sockets (after TLS).
    pub(crate) bytes_in: HotCounter,
    /// Bytes written to clients' sockets (before TLS).
    pub(crate) bytes_out: HotCounter,
    /// Requests refused with an `Error`, by error code.
    refusals: [AtomicU64; REFUSAL_SLOTS],
    /// Clients disconnected for flooding (past the rate limit's burst).
    pub(crate) floods: AtomicU64,
    /// Clients disconnected because their outbound queue overflowed.
    pub(crate) slow_consumers: AtomicU64,
    /// The most clients connected at once.
    peak_clients: AtomicUsize,
    /// How long each history commit took.
    pub(crate) commit_latency: LatencyHistogram,
    /// Commits that failed (their messages were not acknowledged).
    pub(crate) commit_failures: AtomicU64,
    /// Whether the last commit succeeded (true before the first).
    pub(crate) last_commit_ok: AtomicBool,
    /// How long queueing one message to all its recipients took.
    pub(crate) fanout_latency: LatencyHistogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            connections: Default::default(),
            room_messages: HotCounter::default(),
            direct_messages: HotCounter::default(),
            deliveries: HotCounter::default(),
            bytes_in: HotCounter::default(),
            bytes_out: HotCounter::default(),
            refusals: std::array::from_fn(|_| AtomicU64::new(0)),
            floods: AtomicU64::new(0),
            slow_consumers: AtomicU64::new(0),
            peak_clients: AtomicUsize::new(0),
            commit_latency: LatencyHistogram::default(),
            commit_failures: AtomicU64::new(0),
            last_commit_ok: AtomicBool::new(true),
            fanout_latency: LatencyHistogram::default(),
        }
    }
}

impl Metrics {
    /// Counts a connection attempt's outcome.
    pub(crate) fn connection(&self, outcome: ConnectionOutcome) {
        self.connections[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Connection attempts with this outcome so far.
    pub(crate) fn connections(&self, outcome: ConnectionOutcome) -> u64 {
        self.connections[outcome as usize].load(Ordering::Relaxed)
    }

    /// Counts a request refused with `code`.
    pub(crate) fn refused(&self, code: ErrorCode) {
        self.refusals[refusal_slot(code)].fetch_add(1, Ordering::Relaxed);
    }

    /// Requests refused with `code` so far.
    pub(crate) fn refused_with(&self, code: ErrorCode) -> u64 {
        self.refusals[refusal_slot(code)].load(Ordering::Relaxed)
    }

    /// Refusals so far, by code, leaving out codes never used.
    pub(crate) fn refusals(&self) -> Vec<(ErrorCode, u64)> {
        self.refusals
            .iter()
            .enumerate()
            .filter_map(|(slot, count)| {
                let count = count.load(Ordering::Relaxed);
                let code = u16::try_from(slot).ok()?;
                (count > 0).then_some((ErrorCode::from(code), count))
            })
            .collect()
    }

    /// Notes that `clients` are connected now, for the peak.
    pub(crate) fn clients_now(&self, clients: usize) {
        self.peak_clients.fetch_max(clients, Ordering::Relaxed);
    }

    /// The most clients connected at once so far.
    pub(crate) fn peak_clients(&self) -> usize {
        self.peak_clients.load(Ordering::Relaxed)
    }

    /// Counts a commit that took `took` and succeeded or not.
    pub(crate) fn commit(&self, took: std::time::Duration, ok: bool) {
        self.commit_latency.observe(took);
        self.last_commit_ok.store(ok, Ordering::Relaxed);
        if !ok {
            self.commit_failures.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hot_counter_sums_what_every_thread_added() {
        let counter = std::sync::Arc::new(HotCounter::default());
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        counter.add(2);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(counter.get(), 24_000);
    }

    #[test]
    fn refusals_are_kept_by_code_and_unknown_codes_share_the_last_slot() {
        let metrics = Metrics::default();
        metrics.refused(ErrorCode::RateLimited);
        metrics.refused(ErrorCode::RateLimited);
        metrics.refused(ErrorCode::NoSuchRoom);
        metrics.refused(ErrorCode::Unknown(900));
        let refusals = metrics.refusals();
        assert!(refusals.contains(&(ErrorCode::RateLimited, 2)));
        assert!(refusals.contains(&(ErrorCode::NoSuchRoom, 1)));
        assert!(refusals.contains(&(ErrorCode::Unknown(31), 1)));
        assert_eq!(refusals.len(), 3);
    }

    #[test]
    fn outcomes_are_listed_in_the_order_of_their_counters() {
        for (index, outcome) in ConnectionOutcome::ALL.iter().enumerate() {
            assert_eq!(*outcome as usize, index);
        }
    }

    #[test]
    fn the_peak_only_rises() {
        let metrics = Metrics::default();
        metrics.clients_now(5);
        metrics.clients_now(3);
        assert_eq!(metrics.peak_clients(), 5);
    }
}

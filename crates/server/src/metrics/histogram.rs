//! A latency histogram with fixed buckets whose every count is an atomic
//! in a per-thread shard: observing is three uncontended atomic adds, no
//! lock (prometheus-client's own `Histogram` takes a lock per observation,
//! too much for the fan-out path).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use super::{SHARDS, shard_index};

/// Upper bounds of the buckets, in seconds: 50 µs to 2.5 s.
pub(crate) const BUCKETS: [f64; 12] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5,
];

/// One thread's counts, alone on its cache line(s).
#[derive(Debug, Default)]
#[repr(align(128))]
struct HistogramShard {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

/// Latencies in fixed buckets (Prometheus's `histogram` type).
#[derive(Debug, Default)]
pub(crate) struct LatencyHistogram {
    shards: [HistogramShard; SHARDS],
}

/// A histogram read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistogramSnapshot {
    /// Seconds observed in all.
    pub(crate) sum: f64,
    /// Observations.
    pub(crate) count: u64,
    /// (upper bound, observations at or below it), cumulative, `+Inf` last.
    pub(crate) buckets: Vec<(f64, u64)>,
}

impl LatencyHistogram {
    /// Records one observation.
    pub(crate) fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        let shard = &self.shards[shard_index()];
        shard.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        shard.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The counts so far, summed over the shards.
    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        let mut per_bucket = [0u64; BUCKETS.len() + 1];
        let mut sum_nanos = 0u64;
        for shard in &self.shards {
            for (total, count) in per_bucket.iter_mut().zip(&shard.buckets) {
                *total += count.load(Ordering::Relaxed);
            }
            sum_nanos = sum_nanos.saturating_add(shard.sum_nanos.load(Ordering::Relaxed));
        }
        let mut cumulative = 0;
        let buckets = BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(per_bucket)
            .map(|(bound, count)| {
                cumulative += count;
                (bound, cumulative)
            })
            .collect();
        HistogramSnapshot {
            sum: sum_nanos as f64 / 1e9,
            count: cumulative,
            buckets,
        }
    }
}

impl HistogramSnapshot {
    /// The smallest bucket bound at or below which `quantile` (0..=1) of the
    /// observations lie; `None` before the first observation.
    pub(crate) fn quantile_bound(&self, quantile: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let wanted = (self.count as f64 * quantile).ceil() as u64;
        self.buckets
            .iter()
            .find(|(_, cumulative)| *cumulative >= wanted)
            .map(|(bound, _)| *bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_cumulative_buckets_with_their_sum() {
        let histogram = LatencyHistogram::default();
        histogram.observe(Duration::from_micros(30));
        histogram.observe(Duration::from_micros(700));
        histogram.observe(Duration::from_secs(10));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 3);
        assert!((snapshot.sum - 10.000_73).abs() < 1e-9);
        assert_eq!(snapshot.buckets[0], (0.000_05, 1));
        assert_eq!(snapshot.buckets[4], (0.001, 2));
        assert_eq!(snapshot.buckets[11], (2.5, 2));
        assert_eq!(snapshot.buckets[12].1, 3);
        assert!(snapshot.buckets[12].0.is_infinite());
        assert_eq!(snapshot.quantile_bound(0.5), Some(0.001));
        assert_eq!(snapshot.quantile_bound(1.0), Some(f64::INFINITY));
    }

    #[test]
    fn an_empty_histogram_has_no_quantiles() {
        assert_eq!(
            LatencyHistogram::default().snapshot().quantile_bound(0.99),
            None
        );
    }
}

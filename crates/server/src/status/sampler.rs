//! What is read once a second rather than at every request: messages and
//! deliveries per second over the last minute (the page's sparklines), and
//! the outbound queues' depths, which take a walk over every connection
//! (about 60 µs for 1,000 of them: at 100 scrapes a second that alone
//! would cost half a percent of a core).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio_util::sync::CancellationToken;

use super::snapshot::LastMinute;
use crate::hub::{Hub, OutboundDepths};

/// Seconds kept.
const WINDOW: usize = 60;

#[derive(Debug, Default)]
struct Samples {
    /// The totals at the previous sample.
    previous: Option<(u64, u64)>,
    messages: VecDeque<u64>,
    deliveries: VecDeque<u64>,
    /// The outbound queues at the last sample.
    depths: OutboundDepths,
}

/// What the sampler read (shared: the sampler writes, requests read).
#[derive(Debug, Clone, Default)]
pub(crate) struct Sampled {
    samples: Arc<Mutex<Samples>>,
}

impl Sampled {
    /// Records the counters' totals now; one second after the previous call.
    pub(crate) fn sample(&self, messages: u64, deliveries: u64) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((last_messages, last_deliveries)) = samples.previous {
            push(
                &mut samples.messages,
                messages.saturating_sub(last_messages),
            );
            push(
                &mut samples.deliveries,
                deliveries.saturating_sub(last_deliveries),
            );
        }
        samples.previous = Some((messages, deliveries));
    }

    /// Records the outbound queues' depths now.
    pub(crate) fn sample_depths(&self, depths: OutboundDepths) {
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .depths = depths;
    }

    /// The outbound queues' depths at the last sample (at most a second
    /// old).
    pub(crate) fn depths(&self) -> OutboundDepths {
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .depths
    }

    /// The rates so far, oldest first (fewer than 60 in the first minute).
    pub(crate) fn last_minute(&self) -> LastMinute {
        let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        LastMinute {
            messages_per_second: samples.messages.iter().copied().collect(),
            deliveries_per_second: samples.deliveries.iter().copied().collect(),
        }
    }
}

fn push(window: &mut VecDeque<u64>, value: u64) {
    if window.len() == WINDOW {
        window.pop_front();
    }
    window.push_back(value);
}

/// Samples the hub every second until `shutdown`.
pub(crate) async fn run_sampler(sampled: Sampled, hub: Arc<Hub>, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let metrics = hub.metrics();
        let messages = metrics.room_messages.get() + metrics.direct_messages.get();
        sampled.sample(messages, metrics.deliveries.get());
        sampled.sample_depths(hub.outbound_depths());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_differences_between_samples_and_keep_one_minute() {
        let rates = Sampled::default();
        rates.sample(10, 100);
        assert!(rates.last_minute().messages_per_second.is_empty());
        rates.sample(15, 130);
        let minute = rates.last_minute();
        assert_eq!(minute.messages_per_second, [5]);
        assert_eq!(minute.deliveries_per_second, [30]);
        for second in 0..100u64 {
            rates.sample(15 + second, 130);
        }
        let minute = rates.last_minute();
        assert_eq!(minute.messages_per_second.len(), WINDOW);
        assert_eq!(minute.messages_per_second.last(), Some(&1));
    }
}

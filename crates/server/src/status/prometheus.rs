//! `/metrics`: the server's counters and levels in the OpenMetrics text
//! format, written by prometheus-client. One [`Collector`] in an explicit
//! registry per server (several servers share a test process, and the
//! client embeds one), reading the lock-free counters of `metrics.rs` and
//! the hub's levels at each scrape: nothing is registered on the hot path.

use std::sync::{Arc, atomic::Ordering};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::{Registry, Unit},
};

use super::snapshot::Sources;
use crate::metrics::{ConnectionOutcome, HistogramSnapshot, LatencyHistogram};

/// The media type of what [`render`] writes.
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The media type of [`to_text_format`]'s output: Prometheus's classic
/// text format, for scrapers and tools (`promtool check metrics`, `curl`)
/// that do not ask for OpenMetrics.
pub(crate) const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug)]
struct ServerCollector {
    sources: Arc<Sources>,
}

/// A registry holding this server's collector.
pub(crate) fn registry(sources: Arc<Sources>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ServerCollector { sources }));
    registry
}

/// The registry in the text format.
pub(crate) fn render(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut text = String::with_capacity(8 * 1024);
    prometheus_client::encoding::text::encode(&mut text, registry)?;
    Ok(text)
}

/// Rewrites an OpenMetrics exposition in the classic text format: a
/// counter's family is named with its `_total` (as its samples are), and
/// the `# UNIT` and `# EOF` lines, which that format lacks, go. Samples are
/// the same lines in both.
pub(crate) fn to_text_format(openmetrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in openmetrics.lines() {
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|rest| rest.strip_suffix(" counter"))
        {
            counters.insert(name.to_owned());
        }
    }
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let descriptor = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|prefix| Some((prefix, line.strip_prefix(prefix)?)));
        match descriptor {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let total = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                text.push_str(&format!("{prefix}{name}{total} {tail}\n"));
            }
            None => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

/// A counter with one label, one sample per value.
fn labelled_counter(
    encoder: &mut DescriptorEncoder,
    (name, help, label): (&str, &str, &str),
    values: &[(String, u64)],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, count) in values {
        let labels = [(label, value.as_str())];
        ConstCounter::new(*count).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    histogram: &LatencyHistogram,
) -> Result<(), std::fmt::Error> {
    let HistogramSnapshot {
        sum,
        count,
        buckets,
    } = histogram.snapshot();
    // The encoder sums per-bucket counts itself.
    let mut below = 0;
    let per_bucket: Vec<(f64, u64)> = buckets
        .into_iter()
        .map(|(bound, cumulative)| {
            let here = cumulative - below;
            below = cumulative;
            (bound, here)
        })
        .collect();
    let mut metric =
        encoder.encode_descriptor(name, help, Some(&Unit::Seconds), MetricType::Histogram)?;
    metric.encode_histogram::<NoLabelSet>(sum, count, &per_bucket, None)
}

fn as_gauge(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Collector for ServerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let context = &self.sources.context;
        let hub = &context.hub;
        let metrics = hub.metrics();
        let e = &mut encoder;
        let outcomes: Vec<(String, u64)> = ConnectionOutcome::ALL
            .iter()
            .map(|o| (o.label().to_owned(), metrics.connections(*o)))
            .collect();
        labelled_counter(
            e,
            (
                "huddle_connections",
                "Connection attempts by outcome",
                "outcome",
            ),
            &outcomes,
        )?;
        let kinds = [
            ("room".to_owned(), metrics.room_messages.get()),
            ("direct".to_owned(), metrics.direct_messages.get()),
        ];
        labelled_counter(
            e,
            (
                "huddle_messages_accepted",
                "Messages accepted, by kind",
                "kind",
            ),
            &kinds,
        )?;
        let refusals: Vec<(String, u64)> = metrics
            .refusals()
            .into_iter()
            .map(|(code, n)| (format!("{code:?}"), n))
            .collect();
        labelled_counter(
            e,
            (
                "huddle_requests_refused",
                "Requests refused with an error, by error code",
                "reason",
            ),
            &refusals,
        )?;
        let limited = [
            (
                "dropped".to_owned(),
                metrics.refused_with(huddle_protocol::ErrorCode::RateLimited),
            ),
            (
                "disconnected".to_owned(),
                metrics.floods.load(Ordering::Relaxed),
            ),
        ];
        labelled_counter(
            e,
            (
                "huddle_rate_limited",
                "Messages over the rate limit: dropped, or the client disconnected for flooding",
                "action",
            ),
            &limited,
        )?;
        counter(
            e,
            "huddle_deliveries",
            "Messages queued to recipients by fan-out",
            None,
            metrics.deliveries.get(),
        )?;
        counter(
            e,
            "huddle_received",
            "Bytes read from clients",
            Some(&Unit::Bytes),
            metrics.bytes_in.get(),
        )?;
        counter(
            e,
            "huddle_sent",
            "Bytes written to clients",
            Some(&Unit::Bytes),
            metrics.bytes_out.get(),
        )?;
        counter(
            e,
            "huddle_slow_consumers",
            "Clients disconnected for not reading fast enough",
            None,
            metrics.slow_consumers.load(Ordering::Relaxed),
        )?;
        counter(
            e,
            "huddle_store_commit_failures",
            "History commits that failed",
            None,
            metrics.commit_failures.load(Ordering::Relaxed),
        )?;
        histogram(
            e,
            "huddle_store_commit",
            "Time to write and sync one group commit of history",
            &metrics.commit_latency,
        )?;
        histogram(
            e,
            "huddle_fanout",
            "Time to queue one room message to every member",
            &metrics.fanout_latency,
        )?;
        let connected = hub.user_count();
        metrics.clients_now(connected);
        gauge(
            e,
            "huddle_clients",
            "Clients connected now",
            None,
            as_gauge(connected),
        )?;
        gauge(
            e,
            "huddle_clients_peak",
            "The most clients connected at once",
            None,
            as_gauge(metrics.peak_clients()),
        )?;
        gauge(
            e,
            "huddle_rooms",
            "Rooms with members",
            None,
            as_gauge(hub.occupied_rooms()),
        )?;
        let depths = self.sources.sampled.depths();
        gauge(
            e,
            "huddle_outbound_queued_frames",
            "Frames waiting in clients' outbound queues",
            None,
            as_gauge(depths.frames),
        )?;
        gauge(
            e,
            "huddle_outbound_queued",
            "Bytes waiting in clients' outbound queues",
            Some(&Unit::Bytes),
            as_gauge(depths.bytes),
        )?;
        gauge(
            e,
            "huddle_outbound_backlogged_clients",
            "Clients whose socket is full",
            None,
            as_gauge(depths.backlogged),
        )?;
        gauge(
            e,
            "huddle_partial_frames",
            "Bytes held by unfinished inbound frames",
            Some(&Unit::Bytes),
            as_gauge(context.inbound.partial.held()),
        )?;
        gauge(
            e,
            "huddle_transfers_in_flight",
            "File transfers under way",
            None,
            as_gauge(hub.transfers_in_flight()),
        )?;
        if let Some(bytes) = hub.store_file_bytes() {
            gauge(
                e,
                "huddle_store_file",
                "Size of the history file",
                Some(&Unit::Bytes),
                i64::try_from(bytes).unwrap_or(i64::MAX),
            )?;
        }
        let uptime = i64::try_from(metrics.started.elapsed().as_secs()).unwrap_or(i64::MAX);
        gauge(
            e,
            "huddle_uptime",
            "Time since the server started",
            Some(&Unit::Seconds),
            uptime,
        )?;
        gauge(
            e,
            "huddle_healthy",
            "1 when accepting chat and able to store it",
            None,
            i64::from(self.sources.health().is_ok()),
        )?;
        if let Some(stats) = &self.sources.discovery {
            let counts = stats.snapshot();
            let results = [
                ("answered".to_owned(), counts.answered),
                ("rate_limited".to_owned(), counts.rate_limited),
                ("too_short".to_owned(), counts.too_short),
                ("incompatible".to_owned(), counts.incompatible),
                ("foreign".to_owned(), counts.foreign),
                ("malformed".to_owned(), counts.malformed),
            ];
            labelled_counter(
                e,
                (
                    "huddle_discovery_datagrams",
                    "Discovery datagrams, by what the responder did",
                    "result",
                ),
                &results,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::to_text_format;

    #[test]
    fn the_text_format_names_counter_families_with_total_and_drops_units_and_eof() {
        let openmetrics = "# HELP huddle_sent_bytes Bytes written\n\
            # TYPE huddle_sent_bytes counter\n\
            # UNIT huddle_sent_bytes bytes\nhuddle_sent_bytes_total 5\n\
            # HELP huddle_clients Clients\n# TYPE huddle_clients gauge\nhuddle_clients 2\n# EOF\n";
        assert_eq!(
            to_text_format(openmetrics),
            "# HELP huddle_sent_bytes_total Bytes written\n\
             # TYPE huddle_sent_bytes_total counter\n\
             huddle_sent_bytes_total 5\n\
             # HELP huddle_clients Clients\n# TYPE huddle_clients gauge\nhuddle_clients 2\n"
        );
    }
}

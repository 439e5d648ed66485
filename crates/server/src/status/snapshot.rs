//! The server's state at one moment, as `/status.json` serves it and as the
//! page and `/metrics` render it. Every field is documented in
//! `docs/STATUS.md`; a field added here is added there.

use std::{sync::Arc, time::Duration};

use serde::Serialize;

use super::sampler::Sampled;
use crate::{
    connection::Context,
    discovery::DiscoveryStats,
    metrics::{ConnectionOutcome, Metrics},
};

/// Where a snapshot is read from: the running server's parts.
#[derive(Debug)]
pub(crate) struct Sources {
    pub(crate) context: Arc<Context>,
    pub(crate) discovery: Option<Arc<DiscoveryStats>>,
    /// What the sampler reads once a second.
    pub(crate) sampled: Sampled,
}

/// `/status.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    pub(crate) server: ServerInfo,
    pub(crate) health: Health,
    pub(crate) clients: Clients,
    pub(crate) rooms: Vec<RoomStatus>,
    pub(crate) traffic: Traffic,
    pub(crate) last_minute: LastMinute,
    pub(crate) store: StoreStatus,
    pub(crate) queues: Queues,
    pub(crate) transfers_in_flight: usize,
    pub(crate) discovery: Option<crate::DiscoveryCounts>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ServerInfo {
    pub(crate) name: String,
    pub(crate) version: &'static str,
    pub(crate) protocol_version: u16,
    pub(crate) server_id: String,
    pub(crate) fingerprint: String,
    pub(crate) fingerprint_short: String,
    pub(crate) uptime_seconds: u64,
    pub(crate) tls_required: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Health {
    pub(crate) ok: bool,
    /// Why not, when not.
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Clients {
    pub(crate) connected: usize,
    pub(crate) peak: usize,
    pub(crate) max: usize,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoomStatus {
    pub(crate) name: String,
    pub(crate) members: u32,
    /// Empty for a protected room: its topic is for its members.
    pub(crate) topic: String,
    pub(crate) protected: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Traffic {
    pub(crate) room_messages: u64,
    pub(crate) direct_messages: u64,
    pub(crate) deliveries: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    /// Connection attempts by outcome.
    pub(crate) connections: std::collections::BTreeMap<&'static str, u64>,
    /// Requests refused, by error code name.
    pub(crate) refusals: std::collections::BTreeMap<String, u64>,
    pub(crate) floods: u64,
    pub(crate) slow_consumers: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LastMinute {
    /// Messages accepted per second, oldest first, one per second.
    pub(crate) messages_per_second: Vec<u64>,
    /// Deliveries per second, oldest first.
    pub(crate) deliveries_per_second: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct StoreStatus {
    pub(crate) durable: bool,
    /// The history file's size on disk; `null` without a store.
    pub(crate) file_bytes: Option<u64>,
    pub(crate) commits: u64,
    pub(crate) commit_failures: u64,
    /// The bucket bound under which 99 % of commits finished, in seconds.
    pub(crate) commit_p99_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Queues {
    pub(crate) outbound_frames: usize,
    pub(crate) outbound_bytes: usize,
    pub(crate) clients_backlogged: usize,
    pub(crate) partial_frame_bytes: usize,
}

fn uptime(metrics: &Metrics) -> Duration {
    metrics.started.elapsed()
}

impl Sources {
    /// Reads everything now. Takes the hub's locks one at a time, briefly
    /// (the rooms one by one, then the users for their queue depths).
    pub(crate) fn snapshot(&self) -> Snapshot {
        let context = &self.context;
        let hub = &context.hub;
        let metrics = hub.metrics();
        let connected = hub.user_count();
        metrics.clients_now(connected);
        let depths = self.sampled.depths();
        let commits = metrics.commit_latency.snapshot();
        Snapshot {
            server: ServerInfo {
                name: context.config.name.clone(),
                version: env!("CARGO_PKG_VERSION"),
                protocol_version: huddle_protocol::PROTOCOL_VERSION,
                server_id: context.server_id.to_string(),
                fingerprint: context.identity.fingerprint().to_string(),
                fingerprint_short: context.identity.fingerprint().short(),
                uptime_seconds: uptime(metrics).as_secs(),
                tls_required: !context.config.insecure_plaintext,
            },
            health: match self.health() {
                Ok(()) => Health {
                    ok: true,
                    reason: None,
                },
                Err(reason) => Health {
                    ok: false,
                    reason: Some(reason),
                },
            },
            clients: Clients {
                connected,
                peak: metrics.peak_clients(),
                max: context.config.max_clients,
            },
            rooms: rooms(hub),
            traffic: traffic(metrics),
            last_minute: self.sampled.last_minute(),
            store: StoreStatus {
                durable: context.config.data_dir.is_some(),
                file_bytes: hub.store_file_bytes(),
                commits: commits.count,
                commit_failures: metrics
                    .commit_failures
                    .load(std::sync::atomic::Ordering::Relaxed),
                commit_p99_seconds: commits.quantile_bound(0.99),
            },
            queues: Queues {
                outbound_frames: depths.frames,
                outbound_bytes: depths.bytes,
                clients_backlogged: depths.backlogged,
                partial_frame_bytes: context.inbound.partial.held(),
            },
            transfers_in_flight: hub.transfers_in_flight(),
            discovery: self.discovery.as_ref().map(|stats| stats.snapshot()),
        }
    }

    /// Whether the server is accepting chat and can store it; why not.
    pub(crate) fn health(&self) -> Result<(), String> {
        let context = &self.context;
        if context.shutdown.is_cancelled() {
            return Err("the server is shutting down".into());
        }
        let (connected, max) = (context.hub.user_count(), context.config.max_clients);
        if connected >= max {
            return Err(format!("the server is full ({connected} of {max} clients)"));
        }
        context.hub.store_health()
    }
}

/// Rooms with members, the busiest first.
fn rooms(hub: &crate::hub::Hub) -> Vec<RoomStatus> {
    let mut rooms: Vec<RoomStatus> = hub
        .list_rooms(None, usize::MAX)
        .into_iter()
        .map(|info| RoomStatus {
            name: info.name.to_string(),
            members: info.members,
            topic: info.topic.to_string(),
            protected: info.has_password,
        })
        .collect();
    rooms.sort_by(|a, b| b.members.cmp(&a.members).then_with(|| a.name.cmp(&b.name)));
    rooms
}

fn traffic(metrics: &Metrics) -> Traffic {
    Traffic {
        room_messages: metrics.room_messages.get(),
        direct_messages: metrics.direct_messages.get(),
        deliveries: metrics.deliveries.get(),
        bytes_in: metrics.bytes_in.get(),
        bytes_out: metrics.bytes_out.get(),
        connections: ConnectionOutcome::ALL
            .iter()
            .map(|outcome| (outcome.label(), metrics.connections(*outcome)))
            .collect(),
        refusals: metrics
            .refusals()
            .into_iter()
            .map(|(code, count)| (format!("{code:?}"), count))
            .collect(),
        floods: metrics.floods.load(std::sync::atomic::Ordering::Relaxed),
        slow_consumers: metrics
            .slow_consumers
            .load(std::sync::atomic::Ordering::Relaxed),
    }
}

//! Cluster mode (`--cluster nats://…`): several huddle servers share their
//! rooms through NATS JetStream, so a room is the same room on every node.
//!
//! Where it plugs in (ARCHITECTURE.md, "Cluster mode"): a room message is
//! **accepted** by the hub as usual (membership, rate, validation), but
//! instead of being fanned out at once it is **published** to the
//! `HUDDLE_ROOMS` stream (`publisher.rs`), and its sender is acknowledged
//! when JetStream confirms storage. Every node **fans out** from its own
//! ordered consumer of that stream (`fanout.rs`) — its own members'
//! messages too — so the stream's order is the room's order on every node,
//! and the message id is derived from the stream sequence (`naming.rs`).
//! Nicks are claimed in a key-value bucket (`nicks.rs`); the nodes share
//! one certificate, so clients see one server (`shared_identity.rs`).
//! Without `--cluster` none of this exists and the hub's paths are as
//! before.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream;
use huddle_protocol::{ChatMessage, ConnectionId};
use uuid::Uuid;

mod access;
mod ack_gate;
mod bindings;
mod claim;
mod envelope;
mod fanout;
mod guesses;
mod naming;
mod nicks;
mod nodes;
mod notices;
mod publisher;
mod room_meta;
mod shared_identity;

use access::connect;
pub(crate) use claim::NickClaim;
use fanout::run_fanout;
use nicks::NickClaims;
pub(crate) use nodes::advertised;
pub(crate) use publisher::Reply;
use publisher::{Publish, run_publisher};
pub(crate) use room_meta::share as share_room_meta;
pub(crate) use shared_identity::shared_identity;

/// How long JetStream remembers a message's `Nats-Msg-Id` to drop a
/// resend of it (a client resends what was not acknowledged when it
/// reconnects, usually within seconds).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Messages accepted but not yet handed to NATS, beyond which new ones
/// are refused (`Internal`, send again) rather than queued without bound.
/// With the publisher's 4,096 awaiting confirmation, a node holds at most
/// 20,480 unconfirmed messages (≤ 80 MiB of 4 KiB texts).
const PUBLISH_QUEUE: usize = 16_384;

/// Errors joining a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No NATS server answered.
    #[error("cannot reach NATS at {urls}: {reason}")]
    Connect {
        /// The URLs tried.
        urls: String,
        /// Why.
        reason: String,
    },
    /// A certificate or key file for TLS to NATS cannot be read.
    #[error("cannot read {file} (TLS to NATS): {reason}")]
    TlsFile {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// JetStream refused to make or open what the cluster needs.
    #[error("cannot set up the JetStream {what}: {reason} (is nats-server started with -js?)")]
    Setup {
        /// The stream or bucket.
        what: String,
        /// Why.
        reason: String,
    },
    /// The shared identity in NATS is damaged.
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
}

fn setup_error(what: &str) -> impl Fn(String) -> ClusterError + '_ {
    move |reason| ClusterError::Setup {
        what: what.to_owned(),
        reason,
    }
}

/// Opens the key-value bucket `bucket`, making its stream by hand:
/// `create_key_value` cannot read nats-server 2.9's account info
/// (FACTS.md). One value per key; with `ttl`, a key is forgotten that long
/// after its last put; with `discard_new`, a put the bucket's limits
/// cannot take is refused rather than making room.
async fn open_bucket(
    jetstream: &jetstream::Context,
    bucket: &str,
    ttl: Option<Duration>,
    discard_new: bool,
) -> Result<jetstream::kv::Store, ClusterError> {
    use jetstream::stream::{Config, DiscardPolicy, StorageType};
    let ttl = ttl.unwrap_or_default();
    jetstream
        .get_or_create_stream(Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: if discard_new {
                DiscardPolicy::New
            } else {
                DiscardPolicy::Old
            },
            max_age: ttl,
            // The duplicate window may not exceed the age limit (0: none);
            // puts carry no message id, so two minutes at most will do.
            duplicate_window: ttl.min(Duration::from_secs(120)),
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|err| setup_error(bucket)(err.to_string()))?;
    jetstream
        .get_key_value(bucket)
        .await
        .map_err(|err| setup_error(bucket)(err.to_string()))
}

/// This node's connection to the cluster: what the hub and the connection
/// tasks use.
#[derive(Debug)]
pub(crate) struct ClusterLink {
    /// This node, in the envelopes it publishes (it skips the sender when
    /// its own message comes back).
    node: Uuid,
    /// The NATS connection (its state says whether to accept messages).
    client: async_nats::Client,
    /// Bumped each time the connection to NATS is (re)made: the fan-out's
    /// consumer is remade then (it would otherwise wait out its heartbeat).
    reconnects: tokio::sync::watch::Receiver<u64>,
    jetstream: jetstream::Context,
    /// Room messages to publish, in the order accepted.
    publish: tokio::sync::mpsc::Sender<Publish>,
    /// Nick claims this node holds.
    nicks: NickClaims,
    /// Nicks bound to the key that last held them (`bindings.rs`).
    bound_nicks: bindings::BoundNicks,
    /// The live nodes' bucket (`nodes.rs`).
    nodes: async_nats::jetstream::kv::Store,
    /// The chat addresses the live nodes advertise, as last read from
    /// `nodes` (this node's own among them): what beacons list.
    node_addresses: std::sync::Mutex<Vec<std::net::SocketAddr>>,
    /// Rooms' passwords and topics (`room_meta.rs`).
    room_meta: async_nats::jetstream::kv::Store,
    /// Acks waiting for this node's fan-out, per stream (rooms, directs).
    gates: [std::sync::Mutex<ack_gate::AckGate<WaitingAck>>; 2],
}

/// An ack waiting for the fan-out: whom to answer, the message's sequence
/// and its timestamp.
type WaitingAck = (publisher::Reply, u64, u64);

/// What [`ClusterLink::join`] returns besides the link: the publisher's
/// queue, drained by [`run_publisher`].
pub(crate) type PublishQueue = tokio::sync::mpsc::Receiver<Publish>;

/// The identity every node of the cluster at `urls` presents (made now if
/// no node has run yet): what `huddle-server --cluster … --fingerprint`
/// prints.
pub async fn cluster_identity(
    urls: &[String],
    tls: &crate::ClusterTls,
) -> Result<crate::identity::ServerIdentity, ClusterError> {
    let (client, _) = connect(urls, tls).await?;
    shared_identity(&jetstream::new(client)).await
}

impl ClusterLink {
    /// Connects to NATS at `urls` and makes (or opens) the rooms stream and
    /// the buckets. `retention` bounds each room's messages in the stream.
    pub(crate) async fn join(
        (urls, tls): (&[String], &crate::ClusterTls),
        retention: usize,
        nick_hold: Duration,
    ) -> Result<(Self, PublishQueue), ClusterError> {
        let (client, reconnects) = connect(urls, tls).await?;
        let jetstream = jetstream::new(client.clone());
        for stream in [naming::Stream::Rooms, naming::Stream::Directs] {
            jetstream
                .get_or_create_stream(jetstream::stream::Config {
                    name: stream.name().to_owned(),
                    subjects: vec![stream.subjects().to_owned()],
                    max_messages_per_subject: i64::try_from(retention.max(1)).unwrap_or(i64::MAX),
                    duplicate_window: DUPLICATE_WINDOW,
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|err| setup_error(stream.name())(err.to_string()))?;
        }
        let nicks = NickClaims::open(&jetstream).await?;
        let bound_nicks = bindings::BoundNicks::open(&jetstream, nick_hold).await?;
        let nodes = nodes::open(&jetstream).await?;
        let room_meta = room_meta::open(&jetstream).await?;
        let (publish, queue) = tokio::sync::mpsc::channel(PUBLISH_QUEUE);
        let link = Self {
            node: Uuid::new_v4(),
            client,
            reconnects,
            jetstream,
            publish,
            nicks,
            bound_nicks,
            nodes,
            node_addresses: Default::default(),
            room_meta,
            gates: Default::default(),
        };
        Ok((link, queue))
    }

    /// Hands a room or direct message accepted from `sender` (on its
    /// connection `origin`) to the publisher; the sender is acknowledged
    /// (or told why not) when JetStream answers. `Err` with the reason when
    /// this node cannot reach NATS now or too many messages are waiting
    /// already.
    pub(crate) fn publish(
        &self,
        (origin, sender): (ConnectionId, huddle_protocol::ClientId),
        message: ChatMessage,
        reply: publisher::Reply,
    ) -> Result<(), (Option<publisher::Reply>, &'static str)> {
        if self.client.connection_state() != async_nats::connection::State::Connected {
            return Err((
                Some(reply),
                "this node cannot reach the cluster's NATS server now",
            ));
        }
        let route = self.route(origin, sender);
        let publish = Publish {
            route,
            message: huddle_protocol::ServerMessage::Chat(message),
            reply: Some(reply),
        };
        self.publish.try_send(publish).map_err(|err| match err {
            tokio::sync::mpsc::error::TrySendError::Full(p)
            | tokio::sync::mpsc::error::TrySendError::Closed(p) => {
                (p.reply, "too many messages are waiting for the cluster")
            }
        })
    }

    /// Tells the other nodes of a change in a room (`Presence`, `Topic`)
    /// made on connection `origin`; nobody waits for it. Lost (logged) if
    /// NATS cannot be reached.
    pub(crate) fn announce(&self, origin: ConnectionId, message: huddle_protocol::ServerMessage) {
        let publish = Publish {
            route: self.route(origin, huddle_protocol::ClientId::from_uuid(Uuid::nil())),
            message,
            reply: None,
        };
        if self.publish.try_send(publish).is_err() {
            tracing::warn!("a room change was not published: the cluster's queue is full");
        }
    }

    fn route(&self, origin: ConnectionId, sender: huddle_protocol::ClientId) -> envelope::Route {
        envelope::Route {
            node: self.node,
            origin,
            sender,
            recipient: None,
        }
    }

    fn gate(
        &self,
        stream: naming::Stream,
    ) -> std::sync::MutexGuard<'_, ack_gate::AckGate<WaitingAck>> {
        let gate = &self.gates[usize::from(stream == naming::Stream::Directs)];
        gate.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Acknowledges the message stored at `sequence` (with its reply and
    /// timestamp) once this node's fan-out has reached it.
    fn acknowledge_after_fanout(
        &self,
        stream: naming::Stream,
        sequence: u64,
        (reply, timestamp): (publisher::Reply, u64),
    ) {
        let ready = self
            .gate(stream)
            .after(sequence, (reply, sequence, timestamp));
        if let Some((reply, sequence, timestamp)) = ready {
            reply.acknowledge(stream, sequence, timestamp);
        }
    }

    /// This node's fan-out of `stream` reached `sequence`: the acks waiting
    /// for it go out.
    fn fanned_out(&self, stream: naming::Stream, sequence: u64) {
        let released = self.gate(stream).reached(sequence);
        for (reply, sequence, timestamp) in released {
            reply.acknowledge(stream, sequence, timestamp);
        }
    }

    /// The JetStream context.
    /// The chat addresses of the cluster's live nodes (for beacons).
    pub(crate) fn node_addresses(&self) -> Vec<std::net::SocketAddr> {
        self.node_addresses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the live nodes' addresses (`nodes.rs`, and at start).
    fn set_node_addresses(&self, addresses: Vec<std::net::SocketAddr>) {
        *self
            .node_addresses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = addresses;
    }

    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }
}

/// Starts the node's tasks: the publisher, the fan-out of each stream,
/// the liveness beat and the claims' refresher, all on `tasks` and ending with `shutdown`.
pub(crate) fn start(
    link: Arc<ClusterLink>,
    queue: PublishQueue,
    hub: Arc<crate::hub::Hub>,
    (advertised, guesses): (
        Vec<std::net::SocketAddr>,
        Arc<crate::password::AddressThrottles>,
    ),
    tasks: &tokio_util::task::TaskTracker,
    shutdown: &tokio_util::sync::CancellationToken,
) {
    // Its own addresses until the first beat lists every node's: a beacon
    // without them would not be known for a node's.
    link.set_node_addresses(advertised.clone());
    tasks.spawn(run_publisher(link.clone(), queue, shutdown.clone()));
    for stream in [naming::Stream::Rooms, naming::Stream::Directs] {
        tasks.spawn(run_fanout(
            stream,
            link.clone(),
            hub.clone(),
            shutdown.clone(),
        ));
    }
    tasks.spawn(room_meta::run_mirror(
        link.clone(),
        hub.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(guesses::run_sharing(
        link.clone(),
        guesses,
        shutdown.clone(),
    ));
    tasks.spawn(notices::run_receiver(
        link.clone(),
        hub.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(nodes::run_liveness(
        link.clone(),
        hub,
        advertised,
        shutdown.clone(),
    ));
    let shutdown = shutdown.clone();
    tasks.spawn(async move { link.nicks.keep_fresh(shutdown).await });
}

//! Server configuration: every bound the server enforces, in one place.

use std::{net::SocketAddr, time::Duration};

use huddle_protocol::{DEFAULT_DISCOVERY_PORT, DEFAULT_TCP_PORT, Limits};

/// How the server runs. `Default` is what `huddle-server` runs with no flags.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// TCP address to listen on for chat.
    pub bind: SocketAddr,
    /// Display name, shown in `Welcome` and in discovery beacons.
    pub name: String,
    /// Message of the day, sent in `Welcome`.
    pub motd: Option<String>,
    /// Most connections at once.
    pub max_clients: usize,
    /// Most connections at once from one IP address.
    pub max_clients_per_ip: usize,
    /// Most connections at once that have not said `Hello` yet.
    pub max_pending_handshakes: usize,
    /// Most connections at once from one IP address that have not said
    /// `Hello` yet.
    pub max_pending_handshakes_per_ip: usize,
    /// The listen backlog: connections the kernel queues before they are
    /// accepted.
    pub listen_backlog: u32,
    /// Limits advertised to and enforced on every connection.
    pub limits: Limits,
    /// Whether the per-client rate limit applies (benchmarks turn it off).
    pub rate_limit: bool,
    /// Rooms one client may create per minute (joining existing rooms is
    /// not limited by this).
    pub rooms_created_per_minute: u32,
    /// A file transfer with no progress (answer, chunk, credit) for this
    /// long is ended for everyone.
    pub transfer_stall_timeout: Duration,
    /// A connection that sends no `Hello` within this is dropped.
    pub hello_timeout: Duration,
    /// A frame must arrive whole within this of its first byte.
    pub frame_deadline: Duration,
    /// Most bytes all connections' unfinished frames may hold together; a
    /// connection whose read would pass it is dropped.
    pub partial_frame_budget: usize,
    /// A client silent this long is pinged.
    pub ping_after: Duration,
    /// A pinged client silent this much longer is dropped.
    pub ping_timeout: Duration,
    /// Most frames queued for one client before it counts as a slow consumer.
    pub outbound_max_frames: usize,
    /// Most bytes queued for one client before it counts as a slow consumer.
    pub outbound_max_bytes: usize,
    /// Least time between two passes of a flusher over the connections with
    /// frames waiting (frames in between are coalesced); zero writes at
    /// once.
    pub write_interval: Duration,
    /// How long queued frames may take to flush at shutdown or disconnect.
    pub flush_timeout: Duration,
    /// Messages of recent history kept in memory per room (all of it with
    /// `data_dir` unset).
    pub history_per_room: usize,
    /// Where history is stored durably; `None` keeps it in memory only
    /// (ephemeral: lost when the server stops).
    pub data_dir: Option<std::path::PathBuf>,
    /// Emptied rooms kept in memory for their history (more are forgotten,
    /// longest idle first; their history stays on disk with a store).
    pub max_idle_rooms: usize,
    /// Most bytes of history emptied rooms hold in memory together.
    pub idle_history_bytes: usize,
    /// Messages kept on disk per room; older ones are deleted.
    pub history_retention: usize,
    /// Bytes of messages kept on disk in all rooms and mailboxes together;
    /// past it the oldest, wherever they are, are deleted first.
    pub max_history_bytes: u64,
    /// How long a nick stays bound to the key that last held it (nobody
    /// else may take it meanwhile); zero turns binding off.
    pub nick_binding: Duration,
    /// Whether clients may also connect without TLS (benchmarks and
    /// debugging only: everything, passwords too, crosses the network in
    /// the clear). TLS is always accepted.
    pub insecure_plaintext: bool,
    /// LAN discovery responder; `None` turns it off.
    pub discovery: Option<DiscoveryConfig>,
    /// Where the HTTP status page, `/status.json`, `/metrics` and
    /// `/healthz` are served; `None` (the default) serves none.
    pub http: Option<SocketAddr>,
    /// Where the IRC gateway listens (plain TCP); `None` (the default):
    /// no gateway.
    pub irc_bind: Option<SocketAddr>,
    /// Where the IRC gateway listens over TLS (the server's own
    /// certificate); `None` (the default): not at all.
    pub irc_tls_bind: Option<SocketAddr>,
    /// NATS URLs of the cluster this server is a node of (`--cluster`:
    /// `nats://` or `tls://`, with `user:password@` or `token@` as
    /// nats-server expects); empty (the default): a single server. A node
    /// keeps no redb store: history is in JetStream, and in memory as a
    /// cache.
    pub cluster: Vec<String>,
    /// TLS to NATS beyond the URLs' scheme (`--cluster-ca`,
    /// `--cluster-cert`, `--cluster-key`).
    pub cluster_tls: ClusterTls,
    /// The chat addresses this node tells the cluster (and clients, in
    /// beacons) it is reached at (`--advertise`); empty: its bound address,
    /// or every interface's address when bound to all of them.
    pub advertise: Vec<SocketAddr>,
}

/// How a node checks NATS's certificate and proves its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterTls {
    /// PEM certificates that sign NATS's (for a private CA or a
    /// self-signed nats-server); given, TLS is required.
    pub ca: Option<std::path::PathBuf>,
    /// This node's client certificate and its key (PEM), for a
    /// nats-server that verifies its clients.
    pub client_cert: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// The UDP discovery responder's settings.
#[derive(Debug, Clone)]
pub struct DiscoveryConfig {
    /// UDP address to listen on for probes (bound with SO_REUSEPORT so
    /// several servers on one host all answer).
    pub bind: SocketAddr,
    /// Where announcements and the goodbye go (a broadcast address).
    pub announce_to: Vec<SocketAddr>,
    /// Time between periodic announcements.
    pub announce_every: Duration,
    /// Most beacons answered per source address per second.
    pub replies_per_second: u32,
}

impl DiscoveryConfig {
    /// The LAN-wide broadcast address and this host's loopback broadcast
    /// address on `port`: where announcements go by default.
    pub fn broadcast_targets(port: u16) -> Vec<SocketAddr> {
        vec![
            SocketAddr::from(([255, 255, 255, 255], port)),
            SocketAddr::from(([127, 255, 255, 255], port)),
        ]
    }
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], DEFAULT_DISCOVERY_PORT)),
            announce_to: Self::broadcast_targets(DEFAULT_DISCOVERY_PORT),
            announce_every: Duration::from_secs(5),
            replies_per_second: 4,
        }
    }
}

impl ServerConfig {
    /// The limits told to each client in `Welcome`: the configured ones,
    /// except that a server without a rate limit says so (`u32::MAX` for
    /// the rate and the burst), so paced clients do not wait for nothing.
    pub fn advertised_limits(&self) -> huddle_protocol::Limits {
        match self.rate_limit {
            true => self.limits,
            false => huddle_protocol::Limits {
                rate_per_second: u32::MAX,
                rate_burst: u32::MAX,
                ..self.limits
            },
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], DEFAULT_TCP_PORT)),
            name: "huddle".into(),
            motd: None,
            max_clients: 10_000,
            max_clients_per_ip: 1_000,
            max_pending_handshakes: 256,
            max_pending_handshakes_per_ip: 16,
            listen_backlog: 1024,
            limits: Limits::default(),
            rate_limit: true,
            rooms_created_per_minute: 60,
            transfer_stall_timeout: Duration::from_secs(60),
            hello_timeout: Duration::from_secs(5),
            frame_deadline: Duration::from_secs(10),
            partial_frame_budget: 64 * 1024 * 1024,
            ping_after: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(30),
            outbound_max_frames: 4096,
            outbound_max_bytes: 4 * 1024 * 1024,
            write_interval: crate::outbound::WRITE_INTERVAL,
            flush_timeout: Duration::from_secs(2),
            history_per_room: 500,
            data_dir: None,
            max_idle_rooms: 1000,
            idle_history_bytes: 64 * 1024 * 1024,
            history_retention: 10_000,
            max_history_bytes: 1024 * 1024 * 1024,
            insecure_plaintext: false,
            nick_binding: Duration::from_secs(30 * 24 * 60 * 60),
            discovery: None,
            http: None,
            irc_bind: None,
            irc_tls_bind: None,
            cluster: Vec::new(),
            cluster_tls: ClusterTls::default(),
            advertise: Vec::new(),
        }
    }
}

impl ServerConfig {
    /// A configuration for tests and embedding: loopback, port 0, discovery
    /// off.
    pub fn loopback() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Self::default()
        }
    }
}

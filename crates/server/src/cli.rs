//! The `huddle-server` command line (clap) and the configuration it
//! makes, in the library so `cargo xtask assets` can write the man page
//! and shell completions from it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Parser, ValueEnum};

use crate::{ClusterTls, DiscoveryConfig, ServerConfig};

/// The platform has no data directory and none was given.
#[derive(Debug, thiserror::Error)]
#[error("this platform has no data directory: pass --data-dir DIR or --ephemeral")]
pub struct NoDataDir;

/// Host huddle chat rooms on this machine's network. Clients on the LAN
/// find it by UDP broadcast; anyone can connect with `huddle --connect HOST`.
#[derive(Debug, Parser)]
#[command(name = "huddle-server", version)]
pub struct Args {
    /// TCP address to listen on for chat.
    #[arg(long, default_value_t = defaults().bind)]
    pub bind: SocketAddr,
    /// Server name shown to clients and in discovery.
    #[arg(long, default_value_t = defaults().name)]
    pub name: String,
    /// Message of the day, shown to every client on connect.
    #[arg(long)]
    pub motd: Option<String>,
    /// Most connections at once.
    #[arg(long, default_value_t = defaults().max_clients)]
    pub max_clients: usize,
    /// Most connections at once from one IP address.
    #[arg(long, default_value_t = defaults().max_clients_per_ip)]
    pub max_clients_per_ip: usize,
    /// Most connections at once that have not said Hello yet.
    #[arg(long, default_value_t = defaults().max_pending_handshakes)]
    pub max_pending_handshakes: usize,
    /// Most connections at once from one IP address that have not said
    /// Hello yet.
    #[arg(long, default_value_t = defaults().max_pending_handshakes_per_ip)]
    pub max_pending_handshakes_per_ip: usize,
    /// Listen backlog (connections the kernel queues before they are
    /// accepted).
    #[arg(long, default_value_t = defaults().listen_backlog)]
    pub listen_backlog: u32,
    /// Most rooms one client may be in at once.
    #[arg(long, default_value_t = defaults().limits.max_rooms_per_client)]
    pub max_rooms_per_client: u16,
    /// Rooms one client may create per minute (joining is not limited).
    #[arg(long, default_value_t = defaults().rooms_created_per_minute)]
    pub rooms_created_per_minute: u32,
    /// Sustained messages per second allowed per client.
    #[arg(long, default_value_t = defaults().limits.rate_per_second)]
    pub rate: u32,
    /// Messages a client may send in a burst above the rate.
    #[arg(long, default_value_t = defaults().limits.rate_burst)]
    pub burst: u32,
    /// Turn the per-client rate limit off (for benchmarks).
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Where history is stored [default: the platform's data dir, e.g.
    /// ~/.local/share/huddle-server].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep history in memory only: nothing is written to disk, and all
    /// history is lost when the server stops.
    #[arg(long, conflicts_with = "data_dir")]
    pub ephemeral: bool,
    /// Messages of history kept on disk per room (older ones are deleted).
    #[arg(long, default_value_t = defaults().history_retention)]
    pub history_retention: usize,
    /// Bytes of history kept on disk in all rooms and direct-message
    /// mailboxes together (the oldest messages go first).
    #[arg(long, default_value_t = defaults().max_history_bytes)]
    pub max_history_bytes: u64,
    /// Messages of recent history kept in memory per room.
    #[arg(long, default_value_t = defaults().history_per_room)]
    pub history: usize,
    /// Messages of recent history sent to a client joining a room.
    #[arg(long, default_value_t = defaults().limits.history_on_join)]
    pub history_on_join: u16,
    /// Seconds of silence before a client is pinged (and as long again
    /// before it is dropped).
    #[arg(long, default_value_t = defaults().ping_after.as_secs())]
    pub ping_after: u64,
    /// Largest file relayed, in bytes.
    #[arg(long, default_value_t = defaults().limits.max_file_size)]
    pub max_file_size: u64,
    /// File transfers one client may offer at once.
    #[arg(long, default_value_t = defaults().limits.max_transfers)]
    pub max_transfers: u16,
    /// Least milliseconds between two writes to one client while messages
    /// keep coming (they are coalesced); 0 writes each message at once.
    #[arg(long, default_value_t = defaults().write_interval.as_millis() as u64)]
    pub write_interval_ms: u64,
    /// Days a nick stays bound to the key that last held it (nobody else
    /// may take it meanwhile); 0 turns binding off.
    #[arg(long, default_value_t = defaults().nick_binding.as_secs() / 86_400)]
    pub nick_binding_days: u64,
    /// Also accept clients that do not use TLS (benchmarks and debugging:
    /// everything, room passwords too, crosses the network in the clear).
    #[arg(long)]
    pub insecure_plaintext: bool,
    /// Print this server's certificate fingerprint (making its identity in
    /// the data dir if there is none yet) and exit.
    #[arg(long, conflicts_with = "ephemeral")]
    pub fingerprint: bool,
    /// Serve a status page, /status.json, /metrics (Prometheus) and
    /// /healthz over HTTP on this address (127.0.0.1:7080 if given without
    /// one). Off by default; give 0.0.0.0:7080 to show it to the LAN.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:7080")]
    pub http: Option<SocketAddr>,
    /// Also serve IRC clients (weechat, irssi…) on this address, e.g.
    /// 0.0.0.0:6667: they join the same rooms (plain TCP; off by default).
    #[arg(long, value_name = "ADDR")]
    pub irc_bind: Option<SocketAddr>,
    /// The IRC gateway over TLS too, on this address (e.g. 0.0.0.0:6697),
    /// with the server's certificate: pin its fingerprint in the client.
    #[arg(long, value_name = "ADDR")]
    pub irc_tls_bind: Option<SocketAddr>,
    /// Be a node of a cluster through this NATS server (nats://HOST:4222,
    /// started with -js; tls://… and USER:PASSWORD@ as nats-server
    /// expects); repeat for several. Rooms and nicks are shared by every
    /// node; history lives in JetStream (no --data-dir store); with
    /// --fingerprint, prints the cluster's. HUDDLE_CLUSTER (URLs separated
    /// by commas) keeps a password out of the process list.
    #[arg(
        long,
        value_name = "URL",
        env = "HUDDLE_CLUSTER",
        value_delimiter = ','
    )]
    pub cluster: Vec<String>,
    /// With --cluster: the PEM certificates that sign NATS's (a private CA
    /// or a self-signed nats-server); TLS to NATS is then required.
    #[arg(long, value_name = "FILE", requires = "cluster")]
    pub cluster_ca: Option<PathBuf>,
    /// With --cluster: this node's TLS client certificate (PEM), for a
    /// nats-server that verifies clients; with --cluster-key.
    #[arg(long, value_name = "FILE", requires_all = ["cluster", "cluster_key"])]
    pub cluster_cert: Option<PathBuf>,
    /// The key of --cluster-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cluster_cert")]
    pub cluster_key: Option<PathBuf>,
    /// With --cluster: the chat address clients reach this node at, listed
    /// in every node's discovery beacons (repeat for several; default: the
    /// bound address, or every interface's when bound to 0.0.0.0).
    #[arg(long, value_name = "ADDR", requires = "cluster")]
    pub advertise: Vec<SocketAddr>,
    /// Do not answer or send LAN discovery datagrams.
    #[arg(long)]
    pub no_discovery: bool,
    /// UDP port for LAN discovery.
    #[arg(long, default_value_t = DiscoveryConfig::default().bind.port())]
    pub discovery_port: u16,
    /// Where discovery announcements and the goodbye go (repeat for
    /// several); default: 255.255.255.255 and 127.255.255.255 on the
    /// discovery port (the LAN and this host).
    #[arg(long, value_name = "ADDR")]
    pub announce_to: Vec<SocketAddr>,
    /// Seconds between discovery announcements.
    #[arg(long, default_value_t = DiscoveryConfig::default().announce_every.as_secs())]
    pub announce_every: u64,
    /// Log filter (tracing's env-filter syntax), e.g. `info` or `huddle_server=debug`.
    #[arg(long, env = "HUDDLE_LOG", default_value = "info")]
    pub log: String,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Every default comes from here, so `--help` and the library agree.
fn defaults() -> ServerConfig {
    ServerConfig::default()
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The server configuration the arguments ask for.
pub fn config_from(args: &Args) -> Result<ServerConfig, NoDataDir> {
    let data_dir = match (&args.data_dir, args.ephemeral) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => Some(
            dirs::data_dir()
                .map(|dir| dir.join("huddle-server"))
                .ok_or(NoDataDir)?,
        ),
    };
    let mut config = ServerConfig {
        data_dir,
        history_retention: args.history_retention,
        max_history_bytes: args.max_history_bytes,
        rooms_created_per_minute: args.rooms_created_per_minute,
        bind: args.bind,
        name: args.name.clone(),
        motd: args.motd.clone(),
        max_clients: args.max_clients,
        max_clients_per_ip: args.max_clients_per_ip,
        max_pending_handshakes: args.max_pending_handshakes,
        max_pending_handshakes_per_ip: args.max_pending_handshakes_per_ip,
        listen_backlog: args.listen_backlog,
        rate_limit: !args.no_rate_limit,
        history_per_room: args.history,
        ping_after: Duration::from_secs(args.ping_after),
        ping_timeout: Duration::from_secs(args.ping_after),
        write_interval: Duration::from_millis(args.write_interval_ms),
        insecure_plaintext: args.insecure_plaintext,
        nick_binding: Duration::from_secs(args.nick_binding_days.saturating_mul(86_400)),
        http: args.http,
        irc_bind: args.irc_bind,
        irc_tls_bind: args.irc_tls_bind,
        cluster: args.cluster.clone(),
        cluster_tls: ClusterTls {
            ca: args.cluster_ca.clone(),
            client_cert: args.cluster_cert.clone().zip(args.cluster_key.clone()),
        },
        advertise: args.advertise.clone(),
        ..ServerConfig::default()
    };
    config.limits.max_rooms_per_client = args.max_rooms_per_client;
    config.limits.rate_per_second = args.rate;
    config.limits.rate_burst = args.burst;
    config.limits.history_on_join = args.history_on_join;
    config.limits.max_file_size = args.max_file_size;
    config.limits.max_transfers = args.max_transfers;
    if !args.no_discovery {
        config.discovery = Some(DiscoveryConfig {
            bind: SocketAddr::from(([0, 0, 0, 0], args.discovery_port)),
            announce_to: match args.announce_to.is_empty() {
                true => DiscoveryConfig::broadcast_targets(args.discovery_port),
                false => args.announce_to.clone(),
            },
            announce_every: Duration::from_secs(args.announce_every.max(1)),
            ..DiscoveryConfig::default()
        });
    }
    Ok(config)
}

/// The command as clap sees it (for the man page and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn by_default_announcements_go_to_the_lan_and_to_this_host() {
        // PROTOCOL.md §8: 255.255.255.255 and 127.255.255.255, where
        // clients on this host listen. (Checked here, not by sending: tests
        // put nothing on the LAN.)
        let args = Args::parse_from(["huddle-server", "--ephemeral"]);
        let config = config_from(&args).unwrap();
        let announce_to = config.discovery.unwrap().announce_to;
        let port = DiscoveryConfig::default().bind.port();
        assert_eq!(announce_to, DiscoveryConfig::broadcast_targets(port));
        assert!(announce_to.contains(&SocketAddr::from(([127, 255, 255, 255], port))));
        let told = "127.255.255.255:9999";
        let args = Args::parse_from(["huddle-server", "--ephemeral", "--announce-to", told]);
        let config = config_from(&args).unwrap();
        assert_eq!(
            config.discovery.unwrap().announce_to,
            [told.parse().unwrap()]
        );
    }

    #[test]
    fn every_default_of_the_binary_is_the_library_default() {
        let args = Args::parse_from(["huddle-server", "--ephemeral"]);
        let config = config_from(&args).unwrap();
        let defaults = ServerConfig::default();
        assert_eq!(config.bind, defaults.bind);
        assert_eq!(config.limits, defaults.limits);
        assert_eq!(config.max_clients, defaults.max_clients);
        assert_eq!(
            config.max_pending_handshakes_per_ip,
            defaults.max_pending_handshakes_per_ip
        );
        assert_eq!(config.max_history_bytes, defaults.max_history_bytes);
        assert_eq!(config.ping_after, defaults.ping_after);
        assert_eq!(config.write_interval, defaults.write_interval);
        assert_eq!(config.nick_binding, defaults.nick_binding);
        assert!(!config.insecure_plaintext);
        assert_eq!(config.http, defaults.http);
    }

    #[test]
    fn the_status_page_is_off_by_default_and_on_loopback_when_asked_without_an_address() {
        let parse = |extra: &[&str]| {
            let args = Args::parse_from([&["huddle-server", "--ephemeral"], extra].concat());
            config_from(&args).unwrap().http
        };
        assert_eq!(parse(&[]), None);
        assert_eq!(
            parse(&["--http"]),
            Some(SocketAddr::from(([127, 0, 0, 1], 7080)))
        );
        assert_eq!(
            parse(&["--http", "0.0.0.0:9000"]),
            Some(SocketAddr::from(([0, 0, 0, 0], 9000)))
        );
    }
}

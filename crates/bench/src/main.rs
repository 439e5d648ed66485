//! `huddle-bench`: a load generator for huddle-server (and, with
//! `--protocol irc`, for IRC servers, to compare). It opens many client
//! connections over several rooms, has some of them send timestamped
//! messages, and reports fan-out deliveries per second, end-to-end latency
//! percentiles, losses and duplicates, connect time, and the server's CPU
//! time and memory when its pid is given.
//!
//! Single-threaded on purpose: pin it to one core (`taskset -c 1`) and the
//! server to another, and the figures compare servers, not schedulers.

mod client;
mod payload;
mod process;
mod run;
mod stats;

use std::net::{IpAddr, SocketAddr};

use clap::Parser;

use crate::client::Protocol;

/// Load-test a huddle (or IRC) server on this host.
#[derive(Debug, Clone, Parser, serde::Serialize)]
#[command(name = "huddle-bench", version)]
pub(crate) struct Args {
    /// The server to load; several, comma-separated (the nodes of a
    /// cluster), get the clients in turn.
    #[arg(long, default_value = "127.0.0.1:7007", value_delimiter = ',', num_args = 1..)]
    server: Vec<SocketAddr>,
    /// The protocol to speak.
    #[arg(long, value_enum, default_value_t = Protocol::Huddle)]
    protocol: Protocol,
    /// Client connections to open.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Rooms (channels) to spread them over.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// How many of the clients send (the first of each room first).
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Message size in bytes (at least 40).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Messages per second offered by each sender; 0 sends as fast as the
    /// server delivers (each sender keeps at most --window messages ahead of
    /// its room's slowest delivery).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// In-flight messages per sender when --rate is 0.
    #[arg(long, default_value_t = 64)]
    window: u64,
    /// Seconds to send for.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds to wait after sending for the last deliveries.
    #[arg(long, default_value_t = 5.0)]
    drain: f64,
    /// Connections opened at once (ngircd's listen backlog is 10: use 8).
    #[arg(long, default_value_t = 64)]
    connect_parallel: usize,
    /// Spread client source addresses over this many loopback addresses
    /// (127.0.0.2, 127.0.0.3, …) when ports run short.
    #[arg(long, default_value_t = 1)]
    source_ips: u32,
    /// The server's pid, to report its CPU time and memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Only connect and stay idle: measure memory per idle connection.
    #[arg(long)]
    idle: bool,
    /// A name for this run in the report.
    #[arg(long, default_value = "")]
    label: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Speak huddle over plain TCP instead of TLS (the server must run
    /// with --insecure-plaintext).
    #[arg(long)]
    insecure_plaintext: bool,
}

impl Args {
    /// The source address for client `index`.
    fn source(&self, index: usize) -> Option<IpAddr> {
        (self.source_ips > 1).then(|| {
            let offset = 2 + (index as u32 % self.source_ips);
            IpAddr::from(std::net::Ipv4Addr::from(
                u32::from(std::net::Ipv4Addr::new(127, 0, 0, 0)) + offset,
            ))
        })
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.size >= payload::MARKER_LEN,
        "--size must be at least {}",
        payload::MARKER_LEN
    );
    anyhow::ensure!(
        args.rooms >= 1 && args.clients >= args.rooms,
        "need at least one client per room"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let report = local.block_on(&runtime, run::run(args.clone()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        report.print();
    }
    Ok(())
}

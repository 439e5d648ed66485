//! The `huddle` command line (clap), in the library so `cargo xtask
//! assets` can write its man page and shell completions from it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use huddle_protocol::{DEFAULT_DISCOVERY_PORT, DEFAULT_TCP_PORT};

/// Terminal chat rooms for your LAN. With no arguments, opens a browser of
/// the servers on your network (Enter connects, h hosts one here).
#[derive(Debug, Parser)]
#[command(name = "huddle", version)]
pub struct Args {
    /// Host a server on this machine and join it.
    #[arg(long, conflicts_with = "connect")]
    pub host: bool,
    /// With --host: run the server in a process of its own that keeps
    /// serving after you quit (stop it with `kill PID`, as it says).
    #[arg(long, requires = "host")]
    pub detach: bool,
    /// The hosted server's name on the LAN.
    #[arg(long)]
    pub name: Option<String>,
    /// TCP port for the hosted server (another free port if taken).
    #[arg(long, default_value_t = DEFAULT_TCP_PORT)]
    pub port: u16,
    /// Connect to this server (HOST[:PORT]) instead of browsing; several,
    /// comma-separated (the nodes of a cluster), are tried in turn.
    #[arg(long, value_name = "HOST[:PORT][,…]")]
    pub connect: Option<String>,
    /// Your nick (remembered for next time).
    #[arg(long)]
    pub nick: Option<String>,
    /// Rooms to join (repeatable; default #general).
    #[arg(long = "room", value_name = "ROOM")]
    pub rooms: Vec<String>,
    /// Plain mode: print the last N messages of each room on joining it,
    /// marked as history.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub history: usize,
    /// Plain line mode: stdin lines are sent, events are printed one per line.
    #[arg(long)]
    pub plain: bool,
    /// Also probe this host by unicast, for networks that drop broadcast
    /// (repeatable).
    #[arg(long = "probe", value_name = "HOST[:PORT]", global = true)]
    pub probes: Vec<String>,
    /// Where received files are saved [default: the platform's download dir].
    #[arg(long, value_name = "DIR", global = true)]
    pub downloads: Option<PathBuf>,
    /// Accept files from this nick without asking (repeatable).
    #[arg(long = "accept-files-from", value_name = "NICK", global = true)]
    pub accept_files_from: Vec<String>,
    /// Accept files up to this many bytes from anyone without asking.
    #[arg(long, value_name = "BYTES", global = true)]
    pub accept_files_below: Option<u64>,
    /// UDP port for LAN discovery.
    #[arg(long, default_value_t = DEFAULT_DISCOVERY_PORT, global = true)]
    pub discovery_port: u16,
    /// With --host: do not announce the hosted server on the LAN (others
    /// connect by address).
    #[arg(long, requires = "host")]
    pub no_discovery: bool,
    /// Probe only this host's loopback, never the LAN (for tests).
    #[arg(long, hide = true, global = true)]
    pub loopback_only: bool,
    /// The config file (default: the platform's config dir). The
    /// known-servers file lives beside it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Trust only a server with this certificate fingerprint (SHA256:…),
    /// instead of the known-servers file.
    #[arg(long, value_name = "SHA256:HEX", global = true)]
    pub fingerprint: Option<huddle_protocol::Fingerprint>,
    /// No TLS: chat, passwords and files cross the network in the clear
    /// (benchmarks and debugging; the server must allow it too).
    #[arg(long, global = true, conflicts_with = "fingerprint")]
    pub insecure_plaintext: bool,
    #[command(subcommand)]
    pub command: Option<Commands>,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// List the huddle servers on your network, then exit.
    Discover {
        /// Seconds to listen for answers.
        #[arg(long, default_value_t = 3.0)]
        timeout: f64,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// (Internal) the detached hosted server of `--host --detach`.
    #[command(name = "__serve-hosted", hide = true)]
    ServeHosted,
    /// Accept the certificate the server at HOST[:PORT] presents now, and
    /// remember it (after its operator confirmed the fingerprint).
    Trust {
        /// The server's address, as you connect to it.
        #[arg(value_name = "HOST[:PORT]")]
        addr: String,
    },
}

/// The command as clap sees it (for the man page and completions).
pub fn command() -> clap::Command {
    <Args as clap::CommandFactory>::command()
}

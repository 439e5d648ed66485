//! huddle's relay server.
//!
//! [`Server::bind`] binds from a [`ServerConfig`], [`Server::run`] serves until
//! a shutdown token is cancelled (or [`Server::spawn`] runs it in the
//! background). The relay path and its bounds are described in
//! `ARCHITECTURE.md`.

mod admission;
pub mod cli;
mod cluster;
mod config;
mod connection;
mod deadlines;
mod discovery;
mod dispatch;
mod hub;
pub mod identity;
mod inbound;
mod irc;
mod keepalive;
mod link;
mod mailbox;
mod metrics;
mod outbound;
mod page;
mod password;
mod rate;
mod room;
mod server;
mod status;
mod store;
#[cfg(test)]
mod testkit;
mod transport;
mod wall_clock;

pub use cluster::{ClusterError, cluster_identity};
pub use config::{ClusterTls, DiscoveryConfig, ServerConfig};
pub use discovery::DiscoveryCounts;
pub use identity::{IdentityError, ServerIdentity};
pub use server::{RunningServer, Server, ServerError};
pub use store::StoreError;

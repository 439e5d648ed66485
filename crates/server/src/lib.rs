//! huddle's relay server.
//!
//! [`Server::bind`] binds from a [`ServerConfig`], [`Server::run`] serves until
//! a shutdown token is cancelled (or [`Server::spawn`] runs it in the
//! background). The relay path and its bounds are described in
//! `ARCHITECTURE.md`.

mod config;
mod connection;
mod discovery;
mod hub;
mod inbound;
mod mailbox;
mod outbound;
mod page;
mod rate;
mod room;
mod server;
mod session;
mod store;

pub use config::{DiscoveryConfig, ServerConfig};
pub use discovery::DiscoveryCounts;
pub use server::{RunningServer, Server, ServerError};
pub use store::StoreError;

//! The server's tests' helpers: a server started in this process, the
//! HTTP client (`http.rs`), and the shared protocol-level test client
//! (`crates/testkit`), re-exported.
#![allow(
    dead_code,
    unreachable_pub,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used
)] // Shared by several test binaries.

pub mod http;
pub mod irc;

use huddle_protocol::{ErrorCode, ServerMessage};
use huddle_server::{RunningServer, Server, ServerConfig};
pub use huddle_testkit::*;

/// A server with `config`, running in this process.
pub async fn start(config: ServerConfig) -> RunningServer {
    Server::bind(config).await.unwrap().spawn()
}

/// A default server (loopback, ephemeral port) running in this process.
pub async fn start_default() -> RunningServer {
    start(ServerConfig::loopback()).await
}

/// The loopback configuration without the message rate limit.
pub fn unlimited() -> ServerConfig {
    let mut config = ServerConfig::loopback();
    config.rate_limit = false;
    config
}

/// The error codes among `messages` (errors, rejects and goodbyes).
pub fn codes(messages: &[ServerMessage]) -> Vec<ErrorCode> {
    messages
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Error(report) => Some(report.code),
            ServerMessage::Reject(reject) => Some(reject.code),
            ServerMessage::Bye { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

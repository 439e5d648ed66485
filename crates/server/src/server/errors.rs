//! What can stop a server from starting.

use std::net::SocketAddr;

use crate::identity::IdentityError;

/// Errors starting or running a server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The chat listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The data directory cannot hold the history.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The server's certificate and key could not be loaded or made.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The TLS configuration could not be built from the identity.
    #[error(transparent)]
    Tls(#[from] huddle_protocol::tls::TlsConfigError),
    /// The HTTP status listener could not be bound.
    #[error("cannot serve the status page on {addr}: {source}")]
    Http {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The IRC gateway's listener could not be bound.
    #[error("cannot listen for IRC on {addr}: {source}")]
    Irc {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The cluster could not be joined (`--cluster`).
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The discovery responder could not be bound.
    #[error("cannot bind the discovery port {addr}: {source}")]
    Discovery {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

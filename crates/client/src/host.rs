//! Hosting a server inside the client (`huddle --host`, or `h` in the
//! browser): the real `huddle-server` library, announced on the LAN.

use std::{
    io,
    net::{Ipv4Addr, SocketAddr},
};

use huddle_server::{DiscoveryConfig, RunningServer, Server, ServerConfig, ServerError};

/// How to host.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// The server's name on the LAN.
    pub name: String,
    /// TCP port to listen on; if taken, any free port is used instead.
    pub port: u16,
    /// UDP discovery port; `None` turns discovery off.
    pub discovery_port: Option<u16>,
    /// Where the hosted server keeps its history and its identity; `None`
    /// keeps both in memory.
    pub data_dir: Option<std::path::PathBuf>,
    /// Whether clients may connect without TLS (`--insecure-plaintext`).
    pub insecure_plaintext: bool,
}

/// A hosted server and the notes worth telling the user about it.
#[derive(Debug)]
pub struct Hosted {
    pub server: RunningServer,
    /// The address the local client connects to.
    pub local_addr: String,
    /// How the local client connects: pinned to the hosted server's
    /// fingerprint, which it knows without asking the network.
    pub security: crate::trust::Security,
    pub notes: Vec<String>,
}

/// Starts a server on all interfaces.
pub async fn host(options: &HostOptions) -> Result<Hosted, ServerError> {
    let mut notes = Vec::new();
    let discovery = options.discovery_port.map(|port| DiscoveryConfig {
        bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        announce_to: DiscoveryConfig::broadcast_targets(port),
        ..DiscoveryConfig::default()
    });
    let config = |port: u16, discovery: Option<DiscoveryConfig>| ServerConfig {
        bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        name: options.name.clone(),
        discovery,
        data_dir: options.data_dir.clone(),
        insecure_plaintext: options.insecure_plaintext,
        ..ServerConfig::default()
    };
    let server = match Server::bind(config(options.port, discovery.clone())).await {
        Ok(server) => server,
        Err(ServerError::Bind { source, .. }) if source.kind() == io::ErrorKind::AddrInUse => {
            notes.push(format!(
                "port {} is in use; hosting on another port",
                options.port
            ));
            Server::bind(config(0, discovery.clone())).await?
        }
        Err(ServerError::Discovery { source, .. }) => {
            notes.push(format!(
                "LAN discovery is off ({source}); others can still connect by address"
            ));
            Server::bind(config(options.port, None)).await?
        }
        Err(err) => return Err(err),
    };
    let running = server.spawn();
    let local_addr = format!("127.0.0.1:{}", running.addr.port());
    notes.push(format!(
        "Hosting \"{}\" on port {}: others on your network will find it in their browser",
        options.name,
        running.addr.port()
    ));
    let security = match options.insecure_plaintext {
        true => crate::trust::Security::InsecurePlaintext,
        false => crate::trust::Security::Tls(crate::trust::Trust::Pinned(running.fingerprint)),
    };
    notes.push(format!(
        "Its fingerprint is {} (short: {}); others can check it with /server",
        running.fingerprint,
        running.fingerprint.short()
    ));
    Ok(Hosted {
        server: running,
        local_addr,
        security,
        notes,
    })
}

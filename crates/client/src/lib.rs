//! The huddle client: LAN discovery, the network session, the TUI and the
//! plain line mode. The binary in `main.rs` only parses arguments and picks
//! one of these.

pub mod chatlog;
pub mod cli;
pub mod command;
pub mod config;
pub mod core;
pub mod detach;
pub mod discovery;
pub mod host;
pub mod identity;
pub mod net;
pub mod plain;
pub mod sanitize;
pub mod transfer;
pub mod transport;
pub mod trust;
pub mod tui;

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `host` with `:port` appended unless it already names a port; each of
/// them, for several separated by commas (the nodes of a cluster).
pub fn with_default_port(host: &str, port: u16) -> String {
    if host.contains(',') {
        let each: Vec<String> = host
            .split(',')
            .map(str::trim)
            .filter(|one| !one.is_empty())
            .map(|one| with_default_port(one, port))
            .collect();
        return each.join(",");
    }
    if host.parse::<std::net::SocketAddr>().is_ok() {
        return host.to_owned();
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return format!("[{host}]:{port}");
    }
    match host.rsplit_once(':') {
        // Digits after the colon are the port the user meant, even when they
        // are not one (`:99999`): left as typed, the error names them.
        Some((_, p)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => host.to_owned(),
        _ => format!("{host}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports() {
        assert_eq!(with_default_port("box", 7007), "box:7007");
        assert_eq!(with_default_port("box:9", 7007), "box:9");
        assert_eq!(
            with_default_port("127.0.0.1:99999", 7007),
            "127.0.0.1:99999",
            "a typo is not given a second port"
        );
        assert_eq!(with_default_port("10.0.0.1", 7007), "10.0.0.1:7007");
        assert_eq!(with_default_port("::1", 7007), "[::1]:7007");
        assert_eq!(with_default_port("[::1]:8", 7007), "[::1]:8");
        assert_eq!(
            with_default_port("alpha, beta:9,::1,", 7007),
            "alpha:7007,beta:9,[::1]:7007"
        );
    }
}

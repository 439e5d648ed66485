//! The discovery browser: probes the LAN (and known hosts) for huddle
//! servers, listens for their beacons, and keeps a merged, expiring list.
//!
//! [`ServerList`] (in `list.rs`) is plain state, time passed in, so it
//! tests without sockets; [`Browser`] owns the sockets and feeds it.

mod list;

pub use list::{FoundRoom, FoundServer, ServerList};

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use huddle_protocol::{
    DEFAULT_DISCOVERY_PORT,
    discovery::{Datagram, DatagramError, Probe, decode_datagram, encode_datagram},
    limits::MAX_DATAGRAM_LEN,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// Where and how often the browser probes.
#[derive(Debug, Clone)]
pub struct BrowserConfig {
    /// The discovery port servers listen on.
    pub port: u16,
    /// Probe the broadcast address of every up, broadcast-capable IPv4
    /// interface and 255.255.255.255 (turned off in loopback-only tests).
    pub broadcast: bool,
    /// Known hosts probed by unicast (servers used before, `--probe`).
    pub unicast: Vec<SocketAddr>,
    /// Time between probe rounds.
    pub probe_every: Duration,
    /// Forget a server silent this long.
    pub expire_after: Duration,
}

impl Default for BrowserConfig {
    fn default() -> Self {
        Self {
            port: DEFAULT_DISCOVERY_PORT,
            broadcast: true,
            unicast: Vec::new(),
            probe_every: Duration::from_secs(2),
            expire_after: Duration::from_secs(15),
        }
    }
}

/// The broadcast addresses of every up, broadcast-capable IPv4 interface.
fn interface_broadcasts() -> Vec<Ipv4Addr> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    interfaces
        .iter()
        .filter(|iface| iface.is_oper_up() && !iface.is_loopback())
        .filter_map(|iface| match &iface.addr {
            if_addrs::IfAddr::V4(v4) => v4.broadcast,
            if_addrs::IfAddr::V6(_) => None,
        })
        .collect()
}

fn udp_socket(bind: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(bind), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_broadcast(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&bind.into())?;
    UdpSocket::from_std(socket.into())
}

/// Probes and listens; feed it with [`Browser::probe`] and
/// [`Browser::receive`].
#[derive(Debug)]
pub struct Browser {
    config: BrowserConfig,
    /// Sends probes and receives the answers (an ephemeral port).
    socket: UdpSocket,
    /// Receives broadcast announcements without taking unicast probes away
    /// from servers on this host (it is bound to the broadcast address).
    listener: Option<UdpSocket>,
    list: ServerList,
    probes: HashMap<u64, Instant>,
}

impl Browser {
    /// Opens the browser's sockets.
    pub fn new(config: BrowserConfig) -> io::Result<Self> {
        let socket = udp_socket(SocketAddr::from(([0, 0, 0, 0], 0)))?;
        let listener = if config.broadcast {
            udp_socket(SocketAddr::from(([255, 255, 255, 255], config.port))).ok()
        } else {
            udp_socket(SocketAddr::from(([127, 255, 255, 255], config.port))).ok()
        };
        let mut list = ServerList::new(config.expire_after);
        if let Ok(interfaces) = if_addrs::get_if_addrs() {
            list.set_local_addresses(interfaces.iter().map(if_addrs::Interface::ip));
        }
        Ok(Self {
            list,
            config,
            socket,
            listener,
            probes: HashMap::new(),
        })
    }

    fn targets(&self) -> Vec<SocketAddr> {
        let port = self.config.port;
        let mut targets: Vec<SocketAddr> = vec![
            SocketAddr::from(([127, 255, 255, 255], port)),
            SocketAddr::from(([127, 0, 0, 1], port)),
        ];
        if self.config.broadcast {
            targets.push(SocketAddr::from(([255, 255, 255, 255], port)));
            targets.extend(
                interface_broadcasts()
                    .into_iter()
                    .map(|ip| SocketAddr::new(IpAddr::V4(ip), port)),
            );
        }
        targets.extend(self.config.unicast.iter().copied());
        targets.sort();
        targets.dedup();
        targets
    }

    /// Sends one round of probes to every target.
    pub async fn probe(&mut self) {
        let now = Instant::now();
        self.probes
            .retain(|_, sent| now.duration_since(*sent) < Duration::from_secs(10));
        let nonce = fastrand::u64(1..);
        self.probes.insert(nonce, now);
        let Ok(bytes) = encode_datagram(&Datagram::Probe(Probe::padded(nonce))) else {
            return;
        };
        for target in self.targets() {
            // Unreachable networks are normal (no route, VPN down): skip them.
            let _ = self.socket.send_to(&bytes, target).await;
        }
    }

    /// Waits for one datagram (answer or announcement) and records it.
    pub async fn receive(&mut self) {
        let mut answer = [0u8; MAX_DATAGRAM_LEN + 1];
        let mut announcement = [0u8; MAX_DATAGRAM_LEN + 1];
        let received = match &self.listener {
            Some(listener) => tokio::select! {
                r = self.socket.recv_from(&mut answer) => r.map(|(len, from)| (&answer[..len], from)),
                r = listener.recv_from(&mut announcement) => r.map(|(len, from)| (&announcement[..len], from)),
            },
            None => self
                .socket
                .recv_from(&mut answer)
                .await
                .map(|(len, from)| (&answer[..len], from)),
        };
        let Ok((bytes, source)) = received else {
            return;
        };
        let now = Instant::now();
        match decode_datagram(bytes) {
            Ok(Datagram::Beacon(signed)) => {
                let Ok(opened) = signed.open() else { return };
                let rtt = self
                    .probes
                    .get(&opened.beacon.nonce)
                    .map(|sent| now.duration_since(*sent));
                self.list.on_beacon(&opened, source, rtt, now);
            }
            Err(DatagramError::Incompatible { theirs }) => {
                self.list.on_incompatible(source, theirs, now)
            }
            // Probes from other browsers, foreign and malformed traffic.
            Ok(Datagram::Probe(_)) | Err(_) => {}
        }
    }

    /// The current list, after expiring silent servers.
    pub fn servers(&mut self) -> Vec<FoundServer> {
        self.list.expire(Instant::now());
        self.list.servers()
    }

    /// Probes for `timeout` (re-probing on the configured period) and returns
    /// what was found: the `huddle discover` command.
    pub async fn discover(mut self, timeout: Duration) -> Vec<FoundServer> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut ticker = tokio::time::interval(self.config.probe_every);
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                _ = ticker.tick() => self.probe().await,
                () = self.receive() => {}
            }
        }
        self.servers()
    }
}

/// Compares each server's fingerprint with the known-servers file (by its
/// address): `known`, `new`, or `CHANGED` naming the recorded fingerprint.
pub fn mark_trust(servers: &mut [FoundServer], known: &crate::trust::KnownServers) {
    for server in servers {
        let Some(fingerprint) = server.fingerprint else {
            continue;
        };
        server.trust = Some(match known.get(&server.addr.to_string()) {
            None => "new".to_owned(),
            Some(recorded) if recorded == fingerprint => "known".to_owned(),
            Some(recorded) => format!("CHANGED: you trusted {recorded} at this address"),
        });
    }
}

/// `huddle discover`'s table: one line per server, text sanitised.
pub fn print_table(servers: &[FoundServer]) {
    if servers.is_empty() {
        println!(
            "No huddle server answered. Host one with `huddle --host`, or probe a host directly with --probe HOST."
        );
        return;
    }
    println!(
        "{:<20} {:<22} {:>5} {:>9}  {:<7} ROOMS",
        "NAME", "ADDRESS", "USERS", "RTT", "VERSION"
    );
    for server in servers {
        let rtt = server
            .rtt_ms
            .map_or_else(|| "-".into(), |ms| format!("{ms:.2} ms"));
        let changed = server.trust.as_deref().filter(|t| t.starts_with("CHANGED"));
        let rooms = match (&server.incompatible, &server.conflict, changed) {
            (Some(why), ..) => format!("incompatible: {why}"),
            (None, Some(conflict), _) => format!("SUSPECT: {conflict}"),
            (None, None, Some(changed)) => format!("fingerprint {changed}"),
            (None, None, None) => server
                .rooms
                .iter()
                .map(|r| format!("{} ({})", r.name, r.members))
                .collect::<Vec<_>>()
                .join(", "),
        };
        println!(
            "{:<20} {:<22} {:>5} {:>9}  {:<7} {}",
            crate::sanitize::sanitize(&server.name),
            server.addr,
            server.users,
            rtt,
            server.version,
            crate::sanitize::sanitize(&rooms)
        );
        if server.nodes.len() > 1 {
            let nodes: Vec<String> = server.nodes.iter().map(ToString::to_string).collect();
            println!("{:<20} cluster nodes: {}", "", nodes.join(", "));
        }
        if let Some(url) = &server.status_url {
            println!("{:<20} status page: {url}", "");
        }
    }
}

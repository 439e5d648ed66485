//! The discovery browser: probes the LAN (and known hosts) for huddle
//! servers, listens for their beacons, and keeps a merged, expiring list.
//!
//! [`ServerList`] is plain state (time passed in) so it tests without
//! sockets; [`Browser`] owns the sockets and feeds it.

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};

use huddle_protocol::{
    DEFAULT_DISCOVERY_PORT, PROTOCOL_VERSION, ServerId,
    discovery::{
        Beacon, Datagram, DatagramError, Probe, RoomSummary, decode_datagram, encode_datagram,
    },
    limits::MAX_DATAGRAM_LEN,
};
use serde::Serialize;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

/// One server the browser knows about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoundServer {
    /// The server's id (absent for an incompatible server, which is keyed by
    /// address).
    pub server_id: Option<ServerId>,
    /// Its display name.
    pub name: String,
    /// The best chat address seen (lowest round-trip time).
    pub addr: SocketAddr,
    /// Connected users.
    pub users: u32,
    /// Its busiest rooms.
    pub rooms: Vec<FoundRoom>,
    /// Whether the beacon left rooms out.
    pub rooms_truncated: bool,
    /// Whether a room needs a password.
    pub needs_password: bool,
    /// Round-trip time of the last answered probe, in milliseconds.
    pub rtt_ms: Option<f64>,
    /// The protocol version it speaks.
    pub version: u16,
    /// Why it cannot be used, if it cannot (other protocol version).
    pub incompatible: Option<String>,
    #[serde(skip)]
    pub(crate) last_seen: Option<Instant>,
}

/// A room in a found server's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundRoom {
    /// The room's name.
    pub name: String,
    /// Its member count.
    pub members: u32,
}

impl From<&RoomSummary> for FoundRoom {
    fn from(room: &RoomSummary) -> Self {
        Self {
            name: room.name.to_string(),
            members: room.members,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Id(ServerId),
    Address(SocketAddr),
}

/// The merged list of servers heard from.
#[derive(Debug)]
pub struct ServerList {
    servers: HashMap<Key, FoundServer>,
    expire_after: Duration,
}

impl ServerList {
    /// An empty list forgetting servers silent for `expire_after`.
    pub fn new(expire_after: Duration) -> Self {
        Self {
            servers: HashMap::new(),
            expire_after,
        }
    }

    /// Records a beacon from `source`; `rtt` if it answers one of our probes.
    pub fn on_beacon(
        &mut self,
        beacon: &Beacon,
        source: SocketAddr,
        rtt: Option<Duration>,
        now: Instant,
    ) {
        let key = Key::Id(beacon.server_id);
        if beacon.goodbye {
            self.servers.remove(&key);
            return;
        }
        let addr = SocketAddr::new(source.ip(), beacon.tcp_port);
        let rtt_ms = rtt.map(|rtt| rtt.as_secs_f64() * 1000.0);
        let entry = self.servers.entry(key).or_insert_with(|| FoundServer {
            server_id: Some(beacon.server_id),
            name: String::new(),
            addr,
            users: 0,
            rooms: Vec::new(),
            rooms_truncated: false,
            needs_password: false,
            rtt_ms,
            version: PROTOCOL_VERSION,
            incompatible: None,
            last_seen: None,
        });
        // Prefer the address that answers fastest; announcements carry no
        // round-trip time and never displace a measured address.
        let better = match (rtt_ms, entry.rtt_ms) {
            (Some(new), Some(old)) => new < old || addr == entry.addr,
            (Some(_), None) => true,
            (None, _) => addr == entry.addr,
        };
        if better {
            entry.addr = addr;
            entry.rtt_ms = rtt_ms.or(entry.rtt_ms);
        }
        entry.name = beacon.server_name.to_string();
        entry.users = beacon.users;
        entry.rooms = beacon.rooms.iter().map(FoundRoom::from).collect();
        entry.rooms_truncated = beacon.rooms_truncated;
        entry.needs_password = beacon.needs_password;
        entry.last_seen = Some(now);
    }

    /// Records a datagram from a server speaking another version.
    pub fn on_incompatible(&mut self, source: SocketAddr, theirs: u16, now: Instant) {
        let entry = self
            .servers
            .entry(Key::Address(source))
            .or_insert_with(|| FoundServer {
                server_id: None,
                name: format!("? ({})", source.ip()),
                addr: source,
                users: 0,
                rooms: Vec::new(),
                rooms_truncated: false,
                needs_password: false,
                rtt_ms: None,
                version: theirs,
                incompatible: None,
                last_seen: None,
            });
        entry.version = theirs;
        entry.incompatible = Some(format!(
            "speaks protocol version {theirs}; this huddle speaks {PROTOCOL_VERSION}"
        ));
        entry.last_seen = Some(now);
    }

    /// Forgets servers not heard from within the expiry time.
    pub fn expire(&mut self, now: Instant) {
        let expire_after = self.expire_after;
        self.servers.retain(|_, server| {
            server
                .last_seen
                .is_some_and(|seen| now.saturating_duration_since(seen) < expire_after)
        });
    }

    /// The servers, compatible ones first, then by name and address.
    pub fn servers(&self) -> Vec<FoundServer> {
        let mut servers: Vec<FoundServer> = self.servers.values().cloned().collect();
        servers.sort_by(|a, b| {
            (a.incompatible.is_some(), &a.name, a.addr).cmp(&(
                b.incompatible.is_some(),
                &b.name,
                b.addr,
            ))
        });
        servers
    }
}

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
        Ok(Self {
            list: ServerList::new(config.expire_after),
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
        let Ok(bytes) = encode_datagram(&Datagram::Probe(Probe { nonce })) else {
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
            Ok(Datagram::Beacon(beacon)) => {
                let rtt = self
                    .probes
                    .get(&beacon.nonce)
                    .map(|sent| now.duration_since(*sent));
                self.list.on_beacon(&beacon, source, rtt, now);
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

#[cfg(test)]
mod tests {
    use huddle_protocol::ShortText;
    use uuid::Uuid;

    use super::*;

    fn beacon(id: u128, goodbye: bool) -> Beacon {
        Beacon {
            server_id: ServerId::from_uuid(Uuid::from_u128(id)),
            server_name: ShortText::new(format!("s{id}")).unwrap(),
            tcp_port: 7000 + id as u16,
            users: 2,
            rooms: Vec::new(),
            rooms_truncated: false,
            needs_password: false,
            nonce: 0,
            goodbye,
        }
    }

    fn addr(ip: [u8; 4]) -> SocketAddr {
        SocketAddr::from((ip, 7007))
    }

    #[test]
    fn a_server_heard_on_two_interfaces_is_one_entry_at_its_fastest_address() {
        let now = Instant::now();
        let mut list = ServerList::new(Duration::from_secs(15));
        list.on_beacon(
            &beacon(1, false),
            addr([10, 0, 0, 5]),
            Some(Duration::from_millis(9)),
            now,
        );
        list.on_beacon(
            &beacon(1, false),
            addr([192, 168, 1, 5]),
            Some(Duration::from_millis(2)),
            now,
        );
        list.on_beacon(&beacon(1, false), addr([10, 0, 0, 5]), None, now);
        let servers = list.servers();
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].addr, SocketAddr::from(([192, 168, 1, 5], 7001)));
        assert_eq!(servers[0].rtt_ms, Some(2.0));
    }

    #[test]
    fn servers_expire_when_silent_and_at_once_on_goodbye() {
        let now = Instant::now();
        let mut list = ServerList::new(Duration::from_secs(15));
        list.on_beacon(&beacon(1, false), addr([10, 0, 0, 5]), None, now);
        list.on_beacon(
            &beacon(2, false),
            addr([10, 0, 0, 6]),
            None,
            now + Duration::from_secs(10),
        );
        list.on_beacon(
            &beacon(2, true),
            addr([10, 0, 0, 6]),
            None,
            now + Duration::from_secs(11),
        );
        assert_eq!(list.servers().len(), 1);
        list.expire(now + Duration::from_secs(16));
        assert!(list.servers().is_empty());
    }

    #[test]
    fn incompatible_servers_are_listed_with_the_reason() {
        let mut list = ServerList::new(Duration::from_secs(15));
        list.on_incompatible(addr([10, 0, 0, 9]), 7, Instant::now());
        let servers = list.servers();
        assert_eq!(servers.len(), 1);
        assert!(
            servers[0]
                .incompatible
                .as_deref()
                .unwrap()
                .contains("version 7")
        );
    }
}

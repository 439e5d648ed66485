//! The merged list of servers heard from: plain state, time passed in.

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use huddle_protocol::{
    PROTOCOL_VERSION, ServerId,
    discovery::{Beacon, OpenedBeacon, RoomSummary},
};
use serde::Serialize;

mod cluster;

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
    /// Set when another machine had already announced this server id:
    /// this entry may be an impostor, or when its beacon's signature does
    /// not check out (a forgery). Never merged with the other, and flagged
    /// for as long as it is listed.
    pub conflict: Option<String>,
    /// The SHA-256 of the certificate its beacons carry (`SHA256:…`).
    #[serde(serialize_with = "as_text")]
    pub fingerprint: Option<huddle_protocol::Fingerprint>,
    /// How the fingerprint compares with the known-servers file: `known`,
    /// `new`, or `CHANGED` (with the recorded one); set by
    /// [`crate::discovery::mark_trust`].
    pub trust: Option<String>,
    /// Its HTTP status page, when its beacons tell one
    /// (`http://ADDRESS:PORT/`, the address a beacon carrying it came from).
    pub status_url: Option<String>,
    /// For a cluster: the chat address of each of its nodes (`addr` is the
    /// fastest of them); empty for a single server.
    pub nodes: Vec<SocketAddr>,
    /// For a cluster: the users each node said it has, and when.
    #[serde(skip)]
    pub(crate) node_users: HashMap<SocketAddr, (u32, Instant)>,
    #[serde(skip)]
    pub(crate) last_seen: Option<Instant>,
}

impl FoundServer {
    /// An entry at `addr` that knows nothing else yet.
    pub fn blank(addr: SocketAddr) -> Self {
        Self {
            server_id: None,
            name: String::new(),
            addr,
            users: 0,
            rooms: Vec::new(),
            rooms_truncated: false,
            needs_password: false,
            rtt_ms: None,
            version: PROTOCOL_VERSION,
            incompatible: None,
            conflict: None,
            fingerprint: None,
            trust: None,
            status_url: None,
            nodes: Vec::new(),
            node_users: HashMap::new(),
            last_seen: None,
        }
    }

    /// What to connect to: `addr`, then the cluster's other nodes, comma
    /// separated (the session tries them in turn).
    pub fn connect_addresses(&self) -> String {
        let others = self.nodes.iter().filter(|node| **node != self.addr);
        std::iter::once(&self.addr)
            .chain(others)
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Takes what every beacon tells, whoever sent it.
    fn update_from(&mut self, beacon: &Beacon, source: IpAddr, now: Instant) {
        self.name = beacon.server_name.to_string();
        self.users = beacon.users;
        self.rooms = beacon.rooms.iter().map(FoundRoom::from).collect();
        self.rooms_truncated = beacon.rooms_truncated;
        self.needs_password = beacon.needs_password;
        // A beacon without it does not unlearn it: the same server is heard
        // on loopback (told) and on its LAN address (maybe not).
        if let Some(port) = beacon.status_port {
            self.status_url = Some(status_url(source, port));
        }
        self.last_seen = Some(now);
    }

    /// Keeps `addr` if it answered faster than the address known (or is
    /// it); announcements carry no round-trip time and never displace a
    /// measured address.
    fn prefer_faster(&mut self, addr: SocketAddr, rtt_ms: Option<f64>) {
        let better = match (rtt_ms, self.rtt_ms) {
            (Some(new), Some(old)) => new < old || addr == self.addr,
            (Some(_), None) => true,
            (None, _) => addr == self.addr,
        };
        if better {
            self.addr = addr;
            self.rtt_ms = rtt_ms.or(self.rtt_ms);
        }
    }
}

fn as_text<S: serde::Serializer>(
    fingerprint: &Option<huddle_protocol::Fingerprint>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match fingerprint {
        Some(fingerprint) => serializer.serialize_str(&fingerprint.to_string()),
        None => serializer.serialize_none(),
    }
}

/// The status page's address on `ip`.
fn status_url(ip: IpAddr, port: u16) -> String {
    format!("http://{}/", SocketAddr::new(ip, port))
}

/// Whether `ip` is this host: loopback's own address, or one of the
/// host's addresses (`local`).
fn on_this_host(local: &HashSet<IpAddr>, ip: IpAddr) -> bool {
    ip == IpAddr::from([127, 0, 0, 1])
        || ip == IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        || local.contains(&ip)
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

/// Which machine a datagram came from: a server on this host answers from
/// loopback and from each of the host's addresses, and is one origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Origin {
    ThisHost,
    Remote(IpAddr),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A server id as announced from one origin: only datagrams from that
    /// origin change or remove its entry.
    Id(ServerId, Origin),
    Address(SocketAddr),
    /// A beacon whose signature or id does not check out, by its source.
    Forged(SocketAddr),
    /// A cluster, whichever of its nodes (`cluster.rs`) a beacon came from.
    Cluster(ServerId),
}

/// The merged list of servers heard from.
#[derive(Debug)]
pub struct ServerList {
    servers: HashMap<Key, FoundServer>,
    expire_after: Duration,
    /// This host's own addresses (besides loopback).
    local: HashSet<IpAddr>,
}

impl ServerList {
    /// An empty list forgetting servers silent for `expire_after`.
    pub fn new(expire_after: Duration) -> Self {
        Self {
            servers: HashMap::new(),
            expire_after,
            local: HashSet::new(),
        }
    }

    /// Tells the list this host's addresses, so a server here heard on
    /// several of them stays one entry.
    pub fn set_local_addresses(&mut self, addresses: impl IntoIterator<Item = IpAddr>) {
        self.local = addresses.into_iter().collect();
    }

    /// Loopback's own address and the host's interface addresses are this
    /// host; any other address (even 127.0.0.2) is a machine of its own.
    fn origin(&self, ip: IpAddr) -> Origin {
        match on_this_host(&self.local, ip) {
            true => Origin::ThisHost,
            false => Origin::Remote(ip),
        }
    }

    /// Where else `id` was announced from (a cluster: anywhere), if
    /// anywhere.
    fn claimed_elsewhere(&self, id: ServerId, origin: Origin) -> Option<SocketAddr> {
        self.servers.iter().find_map(|(key, server)| match key {
            Key::Id(other, from) if *other == id && *from != origin => Some(server.addr),
            Key::Cluster(other) if *other == id => Some(server.addr),
            _ => None,
        })
    }

    /// Records a beacon from `source`; `rtt` if it answers one of our probes.
    /// A beacon changes (or, as a goodbye, removes) only the entry learned
    /// from its own origin: a forged datagram from another machine with a
    /// real server's id is listed apart and flagged, never merged.
    pub fn on_beacon(
        &mut self,
        opened: &OpenedBeacon,
        source: SocketAddr,
        rtt: Option<Duration>,
        now: Instant,
    ) {
        let beacon = &opened.beacon;
        let origin = self.origin(source.ip());
        if opened.authentic && self.is_cluster_node(beacon, source.ip()) {
            return self.on_cluster_beacon(opened, source, rtt, now);
        }
        let key = match opened.authentic {
            true => Key::Id(beacon.server_id, origin),
            false => Key::Forged(source),
        };
        if beacon.goodbye {
            self.servers.remove(&key);
            return;
        }
        let addr = SocketAddr::new(source.ip(), beacon.tcp_port);
        let rtt_ms = rtt.map(|rtt| rtt.as_secs_f64() * 1000.0);
        let conflict = match (opened.authentic, self.servers.contains_key(&key)) {
            (false, _) => {
                Some("its signature does not match its certificate: a forged beacon".to_owned())
            }
            (true, true) => None,
            (true, false) => self
                .claimed_elsewhere(beacon.server_id, origin)
                .map(|other| {
                    format!(
                        "{other} announced this server first: one of the two may be an impostor"
                    )
                }),
        };
        let entry = self.servers.entry(key).or_insert_with(|| FoundServer {
            server_id: Some(beacon.server_id),
            rtt_ms,
            conflict,
            fingerprint: Some(opened.fingerprint),
            ..FoundServer::blank(addr)
        });
        entry.prefer_faster(addr, rtt_ms);
        entry.update_from(beacon, source.ip(), now);
    }

    /// Records a datagram from a server speaking another version.
    pub fn on_incompatible(&mut self, source: SocketAddr, theirs: u16, now: Instant) {
        let entry = self
            .servers
            .entry(Key::Address(source))
            .or_insert_with(|| FoundServer {
                name: format!("? ({})", source.ip()),
                ..FoundServer::blank(source)
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
        let fresh = |seen: Instant| now.saturating_duration_since(seen) < expire_after;
        self.servers
            .retain(|_, server| server.last_seen.is_some_and(fresh));
        for server in self.servers.values_mut() {
            server.forget_silent_nodes(fresh);
        }
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

#[cfg(test)]
mod tests;

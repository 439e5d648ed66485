//! The merged list of servers heard from: plain state, time passed in.

use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use huddle_protocol::{
    PROTOCOL_VERSION, ServerId,
    discovery::{OpenedBeacon, RoomSummary},
};
use serde::Serialize;

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
    #[serde(skip)]
    pub(crate) last_seen: Option<Instant>,
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
        let loopback =
            ip == IpAddr::from([127, 0, 0, 1]) || ip == IpAddr::from(std::net::Ipv6Addr::LOCALHOST);
        if loopback || self.local.contains(&ip) {
            Origin::ThisHost
        } else {
            Origin::Remote(ip)
        }
    }

    /// Where else `id` was announced from, if anywhere.
    fn claimed_elsewhere(&self, id: ServerId, origin: Origin) -> Option<SocketAddr> {
        self.servers.iter().find_map(|(key, server)| match key {
            Key::Id(other, from) if *other == id && *from != origin => Some(server.addr),
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
            name: String::new(),
            addr,
            users: 0,
            rooms: Vec::new(),
            rooms_truncated: false,
            needs_password: false,
            rtt_ms,
            version: PROTOCOL_VERSION,
            incompatible: None,
            conflict,
            fingerprint: Some(opened.fingerprint),
            trust: None,
            status_url: None,
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
        // A beacon without it does not unlearn it: the same server is heard
        // on loopback (told) and on its LAN address (maybe not).
        if let Some(port) = beacon.status_port {
            entry.status_url = Some(status_url(source.ip(), port));
        }
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
                conflict: None,
                fingerprint: None,
                trust: None,
                status_url: None,
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

#[cfg(test)]
mod tests {
    use huddle_protocol::ShortText;
    use uuid::Uuid;

    use super::*;

    fn beacon(id: u128, goodbye: bool) -> OpenedBeacon {
        OpenedBeacon {
            beacon: plain_beacon(id, goodbye),
            fingerprint: huddle_protocol::Fingerprint([id as u8; 32]),
            authentic: true,
        }
    }

    fn plain_beacon(id: u128, goodbye: bool) -> huddle_protocol::discovery::Beacon {
        huddle_protocol::discovery::Beacon {
            server_id: ServerId::from_uuid(Uuid::from_u128(id)),
            server_name: ShortText::new(format!("s{id}")).unwrap(),
            tcp_port: 7000 + id as u16,
            users: 2,
            rooms: Vec::new(),
            rooms_truncated: false,
            needs_password: false,
            nonce: 0,
            goodbye,
            status_port: None,
        }
    }

    fn addr(ip: [u8; 4]) -> SocketAddr {
        SocketAddr::from((ip, 7007))
    }

    #[test]
    fn a_server_on_this_host_heard_on_two_addresses_is_one_entry_at_its_fastest() {
        let now = Instant::now();
        let mut list = ServerList::new(Duration::from_secs(15));
        list.set_local_addresses([IpAddr::from([192, 168, 1, 5])]);
        let fast = Some(Duration::from_millis(2));
        list.on_beacon(
            &beacon(1, false),
            addr([192, 168, 1, 5]),
            Some(Duration::from_millis(9)),
            now,
        );
        list.on_beacon(&beacon(1, false), addr([127, 0, 0, 1]), fast, now);
        list.on_beacon(&beacon(1, false), addr([192, 168, 1, 5]), None, now);
        let servers = list.servers();
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].addr, SocketAddr::from(([127, 0, 0, 1], 7001)));
        assert_eq!(servers[0].rtt_ms, Some(2.0));
        assert_eq!(servers[0].conflict, None);
    }

    #[test]
    fn the_status_page_is_at_the_address_that_told_it_and_is_not_unlearned() {
        let now = Instant::now();
        let mut list = ServerList::new(Duration::from_secs(15));
        list.set_local_addresses([IpAddr::from([192, 168, 1, 5])]);
        let mut told = beacon(1, false);
        told.beacon.status_port = Some(7080);
        list.on_beacon(&told, addr([127, 0, 0, 1]), None, now);
        // The same server heard on its LAN address without it (its page is
        // on loopback only).
        list.on_beacon(&beacon(1, false), addr([192, 168, 1, 5]), None, now);
        let servers = list.servers();
        assert_eq!(servers.len(), 1);
        assert_eq!(
            servers[0].status_url.as_deref(),
            Some("http://127.0.0.1:7080/")
        );
    }

    #[test]
    fn a_forged_beacon_or_goodbye_from_another_machine_changes_nothing() {
        let now = Instant::now();
        let mut list = ServerList::new(Duration::from_secs(15));
        list.on_beacon(&beacon(1, false), addr([10, 0, 0, 5]), None, now);
        // Mallory, at 10.0.0.66, says goodbye in the server's name...
        list.on_beacon(&beacon(1, true), addr([10, 0, 0, 66]), None, now);
        // ...and announces it at her address, on another port.
        let mut forged = beacon(1, false);
        forged.beacon.tcp_port = 6666;
        list.on_beacon(&forged, addr([10, 0, 0, 66]), Some(Duration::ZERO), now);
        let servers = list.servers();
        assert_eq!(servers.len(), 2, "{servers:?}");
        let genuine = servers.iter().find(|s| s.conflict.is_none()).unwrap();
        assert_eq!(genuine.addr, SocketAddr::from(([10, 0, 0, 5], 7001)));
        let flagged = servers.iter().find(|s| s.conflict.is_some()).unwrap();
        assert_eq!(flagged.addr, SocketAddr::from(([10, 0, 0, 66], 6666)));
        assert!(
            flagged
                .conflict
                .as_deref()
                .unwrap()
                .contains("10.0.0.5:7001")
        );
        // The genuine goodbye still works.
        list.on_beacon(&beacon(1, true), addr([10, 0, 0, 5]), None, now);
        assert!(list.servers().iter().all(|s| s.conflict.is_some()));
    }

    #[test]
    fn a_beacon_that_fails_its_signature_is_listed_apart_even_from_this_host() {
        let now = Instant::now();
        let mut list = ServerList::new(Duration::from_secs(15));
        list.on_beacon(&beacon(1, false), addr([127, 0, 0, 1]), None, now);
        let mut forged = beacon(1, false);
        forged.authentic = false;
        forged.beacon.tcp_port = 6666;
        list.on_beacon(&forged, addr([127, 0, 0, 1]), None, now);
        // Nor can an unsigned goodbye remove the genuine entry.
        let mut goodbye = beacon(1, true);
        goodbye.authentic = false;
        list.on_beacon(&goodbye, addr([127, 0, 0, 1]), None, now);
        let servers = list.servers();
        assert_eq!(servers.len(), 1, "{servers:?}");
        let genuine = list.servers();
        assert!(genuine.iter().all(|s| s.conflict.is_none()), "{genuine:?}");
        // (The forged entry was removed by its own forged goodbye; another
        // forged beacon lists it again, flagged.)
        list.on_beacon(&forged, addr([127, 0, 0, 1]), None, now);
        let servers = list.servers();
        assert_eq!(servers.len(), 2);
        let flagged = servers.iter().find(|s| s.conflict.is_some()).unwrap();
        assert!(flagged.conflict.as_deref().unwrap().contains("forged"));
        assert_eq!(flagged.addr.port(), 6666);
        assert_eq!(servers.iter().filter(|s| s.addr.port() == 7001).count(), 1);
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

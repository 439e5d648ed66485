//! The LAN discovery responder: answers each valid `Probe` with one `Beacon`
//! sent back to the prober, announces the server by broadcast at start,
//! periodically, and with a goodbye at stop.
//!
//! Bound with SO_REUSEADDR and SO_REUSEPORT so several servers on one host
//! share the port (broadcast probes reach all of them). Replies are limited
//! per source address, so a flood of probes (or spoofed ones) cannot turn the
//! server into an amplifier: one probe yields at most one beacon.

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use huddle_protocol::{
    ShortText,
    discovery::{
        Beacon, Datagram, DatagramError, MAX_REPLY_FACTOR, decode_datagram, is_version_only,
        version_only,
    },
    limits::MAX_DATAGRAM_LEN,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::{config::DiscoveryConfig, connection::Context, hub::BeaconRooms};

/// Forget per-source counters when the table grows past this, so spoofed
/// sources cannot grow it without bound.
const MAX_TRACKED_SOURCES: usize = 4096;

/// Probers heard from within this long get the goodbye beacon by unicast
/// (clients do not listen on the discovery port, so a broadcast goodbye
/// alone would miss them).
const RECENT_PROBER_WINDOW: Duration = Duration::from_secs(60);

/// At most this many recent probers are remembered for the goodbye.
const MAX_RECENT_PROBERS: usize = 256;

/// Counters of what the responder did.
#[derive(Debug, Default)]
pub(crate) struct DiscoveryStats {
    answered: AtomicU64,
    foreign: AtomicU64,
    malformed: AtomicU64,
    rate_limited: AtomicU64,
    incompatible: AtomicU64,
    too_short: AtomicU64,
}

/// A snapshot of the discovery responder's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiscoveryCounts {
    /// Probes answered with a beacon.
    pub answered: u64,
    /// Datagrams without the huddle magic, dropped.
    pub foreign: u64,
    /// huddle datagrams that did not decode or came from another version,
    /// dropped.
    pub malformed: u64,
    /// Probes not answered because their source asked too often.
    pub rate_limited: u64,
    /// Datagrams of another version answered with the bare version prefix.
    pub incompatible: u64,
    /// Probes too short for even the smallest beacon within three times
    /// their size, not answered.
    pub too_short: u64,
}

impl DiscoveryStats {
    pub(crate) fn snapshot(&self) -> DiscoveryCounts {
        DiscoveryCounts {
            answered: self.answered.load(Ordering::Relaxed),
            foreign: self.foreign.load(Ordering::Relaxed),
            malformed: self.malformed.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            incompatible: self.incompatible.load(Ordering::Relaxed),
            too_short: self.too_short.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Responder {
    socket: UdpSocket,
    config: DiscoveryConfig,
    pub(crate) stats: Arc<DiscoveryStats>,
}

/// A UDP socket on `addr` that shares its port with other servers and may
/// broadcast.
fn shared_socket(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_broadcast(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Per-source reply budget: `per_second` replies in each one-second window.
#[derive(Debug)]
struct ReplyBudget {
    per_second: u32,
    windows: HashMap<IpAddr, (Instant, u32)>,
}

impl ReplyBudget {
    fn allow(&mut self, source: IpAddr, now: Instant) -> bool {
        if self.windows.len() >= MAX_TRACKED_SOURCES {
            self.windows
                .retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(1));
            if self.windows.len() >= MAX_TRACKED_SOURCES {
                // Under a spoofed flood: answer nobody new until it passes.
                return false;
            }
        }
        let window = self.windows.entry(source).or_insert((now, 0));
        if now.duration_since(window.0) >= Duration::from_secs(1) {
            *window = (now, 0);
        }
        if window.1 >= self.per_second {
            return false;
        }
        window.1 += 1;
        true
    }
}

impl Responder {
    pub(crate) fn bind(config: &DiscoveryConfig) -> io::Result<Self> {
        let socket = UdpSocket::from_std(shared_socket(config.bind)?)?;
        Ok(Self {
            socket,
            config: config.clone(),
            stats: Arc::new(DiscoveryStats::default()),
        })
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// A beacon for `to` in at most `max_len` bytes (rooms dropped to fit;
    /// none in a goodbye), or `None` if even the smallest does not fit.
    fn beacon(
        context: &Context,
        tcp_port: u16,
        (nonce, goodbye): (u64, bool),
        max_len: usize,
        to: IpAddr,
    ) -> Option<Vec<u8>> {
        let BeaconRooms {
            mut rooms,
            needs_password,
        } = context.hub.summary();
        if goodbye {
            rooms.clear();
        }
        let beacon = Beacon {
            server_id: context.server_id,
            server_name: ShortText::lossy(&context.config.name),
            tcp_port,
            users: context.hub.user_count() as u32,
            rooms,
            rooms_truncated: false,
            needs_password,
            nonce,
            goodbye,
            status_port: status_port_for(context.status_addr, to).filter(|_| !goodbye),
            nodes: cluster_nodes_for(context, to),
        };
        match context.identity.seal_beacon(&beacon, max_len) {
            Ok(bytes) => Some(bytes),
            Err(DatagramError::TooLarge(_)) => None,
            Err(err) => {
                tracing::error!(%err, "cannot encode a beacon");
                None
            }
        }
    }

    async fn announce(&self, context: &Context, tcp_port: u16, goodbye: bool) {
        for target in &self.config.announce_to {
            let beacon = (0, goodbye);
            let Some(bytes) =
                Self::beacon(context, tcp_port, beacon, MAX_DATAGRAM_LEN, target.ip())
            else {
                continue;
            };
            if let Err(err) = self.socket.send_to(&bytes, target).await {
                debug!(%target, %err, "announcement not sent");
            }
        }
    }

    pub(crate) async fn run(
        self,
        context: Arc<Context>,
        tcp_port: u16,
        shutdown: CancellationToken,
    ) {
        let mut budget = ReplyBudget {
            per_second: self.config.replies_per_second,
            windows: HashMap::new(),
        };
        let mut recent_probers: HashMap<SocketAddr, (Instant, usize)> = HashMap::new();
        let mut announce = tokio::time::interval(self.config.announce_every);
        let mut buffer = vec![0u8; MAX_DATAGRAM_LEN + 1];
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = announce.tick() => self.announce(&context, tcp_port, false).await,
                received = self.socket.recv_from(&mut buffer) => {
                    let Ok((len, source)) = received else { continue };
                    if self.on_datagram(&buffer[..len], source, &context, tcp_port, &mut budget).await {
                        remember(&mut recent_probers, source, (Instant::now(), len));
                    }
                }
            }
        }
        self.announce(&context, tcp_port, true).await;
        for (prober, (heard, probe_len)) in &recent_probers {
            let max_len = probe_len * MAX_REPLY_FACTOR;
            if heard.elapsed() < RECENT_PROBER_WINDOW
                && let Some(goodbye) =
                    Self::beacon(&context, tcp_port, (0, true), max_len, prober.ip())
            {
                let _ = self.socket.send_to(&goodbye, prober).await;
            }
        }
    }

    /// Handles one datagram; true if it was a probe that got an answer.
    async fn on_datagram(
        &self,
        bytes: &[u8],
        source: SocketAddr,
        context: &Context,
        tcp_port: u16,
        budget: &mut ReplyBudget,
    ) -> bool {
        let probe = match decode_datagram(bytes) {
            Ok(Datagram::Probe(probe)) => probe,
            // Beacons from other servers (or our own announcements) need no answer.
            Ok(Datagram::Beacon(_)) => return false,
            Err(DatagramError::Foreign) => {
                self.stats.foreign.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            // Another version: tell it ours, in 6 bytes (never in answer
            // to such an answer, which would ping-pong between servers).
            Err(DatagramError::Incompatible { .. }) if !is_version_only(bytes) => {
                if budget.allow(source.ip(), Instant::now()) {
                    self.stats.incompatible.fetch_add(1, Ordering::Relaxed);
                    let _ = self.socket.send_to(&version_only(), source).await;
                }
                return false;
            }
            Err(err) => {
                debug!(%source, %err, "discovery datagram dropped");
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        };
        let now = Instant::now();
        if !budget.allow(source.ip(), now) {
            self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        // The source is not validated (UDP can be forged): answer with at
        // most three times what it sent.
        let max_len = bytes.len() * MAX_REPLY_FACTOR;
        let beacon = (probe.nonce, false);
        let Some(reply) = Self::beacon(context, tcp_port, beacon, max_len, source.ip()) else {
            self.stats.too_short.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        // Counted first, so whoever reads the answer finds it counted.
        self.stats.answered.fetch_add(1, Ordering::Relaxed);
        self.socket.send_to(&reply, source).await.is_ok()
    }
}

/// The status page's port to tell `to`, if it can reach it there: a page
/// on loopback only to loopback, any other to anyone.
/// The cluster's node addresses as told to `to`: loopback ones only to
/// loopback (elsewhere they would name the receiver's own host).
fn cluster_nodes_for(context: &Context, to: IpAddr) -> Vec<SocketAddr> {
    let Some(cluster) = context.hub.cluster() else {
        return Vec::new();
    };
    let mut nodes = cluster.node_addresses();
    if !to.is_loopback() {
        nodes.retain(|node| !node.ip().is_loopback());
    }
    nodes
}

fn status_port_for(status: Option<SocketAddr>, to: IpAddr) -> Option<u16> {
    let status = status?;
    (!status.ip().is_loopback() || to.is_loopback()).then_some(status.port())
}

/// Remembers a prober, with when it probed and its probe's size.
fn remember(
    recent: &mut HashMap<SocketAddr, (Instant, usize)>,
    prober: SocketAddr,
    (now, probe_len): (Instant, usize),
) {
    if recent.len() >= MAX_RECENT_PROBERS && !recent.contains_key(&prober) {
        recent.retain(|_, (heard, _)| now.duration_since(*heard) < RECENT_PROBER_WINDOW);
        if recent.len() >= MAX_RECENT_PROBERS {
            return;
        }
    }
    recent.insert(prober, (now, probe_len));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_budget_is_per_source_and_per_second() {
        let mut budget = ReplyBudget {
            per_second: 2,
            windows: HashMap::new(),
        };
        let now = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(budget.allow(a, now));
        assert!(budget.allow(a, now));
        assert!(!budget.allow(a, now));
        assert!(budget.allow(b, now));
        assert!(budget.allow(a, now + Duration::from_secs(1)));
    }

    #[test]
    fn a_loopback_status_page_is_told_only_to_loopback() {
        let on = |addr: &str| Some(addr.parse::<SocketAddr>().unwrap());
        let lan: IpAddr = [192, 168, 1, 9].into();
        let here: IpAddr = [127, 255, 255, 255].into();
        assert_eq!(status_port_for(None, here), None);
        assert_eq!(status_port_for(on("127.0.0.1:7080"), here), Some(7080));
        assert_eq!(status_port_for(on("127.0.0.1:7080"), lan), None);
        assert_eq!(status_port_for(on("0.0.0.0:7080"), lan), Some(7080));
        assert_eq!(status_port_for(on("[::]:9000"), lan), Some(9000));
        assert_eq!(status_port_for(on("192.168.1.2:7080"), lan), Some(7080));
    }
}

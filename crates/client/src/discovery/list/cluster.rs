//! Clusters in the server list: the nodes of one cluster present one
//! certificate (one server id) and each beacon lists every node's chat
//! address, signed. A beacon whose own chat address is listed is a node's:
//! it joins the cluster's one entry, whatever machine it came from; a
//! beacon with the cluster's id from an address nobody lists is a replay
//! and stays apart, flagged.

use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use huddle_protocol::discovery::{Beacon, OpenedBeacon};

use super::{FoundServer, Key, Origin, ServerList, on_this_host};

/// Whether `listed` (a node's advertised address) and `heard` (a beacon's
/// chat address) are one node: equal, or both on this host on one port
/// (a node here is heard on loopback and on its LAN address alike).
fn same_node(local: &HashSet<IpAddr>, listed: SocketAddr, heard: SocketAddr) -> bool {
    listed == heard
        || (listed.port() == heard.port()
            && on_this_host(local, listed.ip())
            && on_this_host(local, heard.ip()))
}

impl ServerList {
    /// Whether an authentic `beacon` from `source` comes from a cluster's
    /// node: its chat address is among the nodes it lists, or among those
    /// of the cluster already listed (a goodbye's list may be cut short).
    pub(super) fn is_cluster_node(&self, beacon: &Beacon, source: IpAddr) -> bool {
        let heard = SocketAddr::new(source, beacon.tcp_port);
        let lists = |nodes: &[SocketAddr]| nodes.iter().any(|n| same_node(&self.local, *n, heard));
        lists(&beacon.nodes)
            || self
                .servers
                .get(&Key::Cluster(beacon.server_id))
                .is_some_and(|cluster| lists(&cluster.nodes))
    }

    /// Records an authentic beacon from one of a cluster's nodes.
    pub(super) fn on_cluster_beacon(
        &mut self,
        opened: &OpenedBeacon,
        source: SocketAddr,
        rtt: Option<Duration>,
        now: Instant,
    ) {
        let beacon = &opened.beacon;
        let key = Key::Cluster(beacon.server_id);
        let heard = SocketAddr::new(source.ip(), beacon.tcp_port);
        if beacon.goodbye {
            return self.forget_node(key, heard);
        }
        let local = &self.local;
        // The node as the cluster lists it, so that hearing it on two
        // addresses does not count its users twice.
        let node = beacon
            .nodes
            .iter()
            .copied()
            .find(|listed| same_node(local, *listed, heard))
            .unwrap_or(heard);
        // Loopback addresses name the receiver's own host: only from here.
        let from_here = self.origin(source.ip()) == Origin::ThisHost;
        let nodes: Vec<SocketAddr> = beacon
            .nodes
            .iter()
            .copied()
            .filter(|node| from_here || !node.ip().is_loopback())
            .collect();
        let rtt_ms = rtt.map(|rtt| rtt.as_secs_f64() * 1000.0);
        let cluster = self.servers.entry(key).or_insert_with(|| FoundServer {
            server_id: Some(beacon.server_id),
            rtt_ms,
            fingerprint: Some(opened.fingerprint),
            ..FoundServer::blank(heard)
        });
        cluster.nodes = nodes;
        cluster.node_users.insert(node, (beacon.users, now));
        cluster.prefer_faster(heard, rtt_ms);
        if !cluster
            .nodes
            .iter()
            .any(|n| same_node(local, *n, cluster.addr))
        {
            // The fastest node left the cluster.
            cluster.addr = heard;
            cluster.rtt_ms = rtt_ms;
        }
        cluster.update_from(beacon, source.ip(), now);
        cluster.count_node_users();
        self.flag_replays(beacon.server_id);
    }

    /// A node's goodbye: that node is gone, the cluster stays while any
    /// other node has been heard.
    fn forget_node(&mut self, key: Key, heard: SocketAddr) {
        let local = &self.local;
        let Some(cluster) = self.servers.get_mut(&key) else {
            return;
        };
        cluster.nodes.retain(|n| !same_node(local, *n, heard));
        cluster
            .node_users
            .retain(|n, _| !same_node(local, *n, heard));
        if cluster.node_users.is_empty() {
            self.servers.remove(&key);
            return;
        }
        cluster.count_node_users();
        if same_node(local, cluster.addr, heard)
            && let Some(next) = cluster.node_users.keys().next()
        {
            cluster.addr = *next;
            cluster.rtt_ms = None;
        }
    }

    /// Entries of a cluster's id learned before it listed its nodes: one
    /// of them (a node heard before its first list) is dropped, being the
    /// cluster; one from an address that is none of its nodes is a replay
    /// of its signed beacons, flagged whichever came first.
    fn flag_replays(&mut self, id: huddle_protocol::ServerId) {
        let Some(cluster) = self.servers.get(&Key::Cluster(id)) else {
            return;
        };
        let nodes = cluster.nodes.clone();
        let why = format!(
            "not one of the nodes of the cluster at {}: a replayed beacon?",
            cluster.addr
        );
        let local = &self.local;
        self.servers.retain(|key, server| {
            let Key::Id(other, _) = key else { return true };
            if *other != id {
                return true;
            }
            if nodes
                .iter()
                .any(|node| same_node(local, *node, server.addr))
            {
                return false;
            }
            server.conflict.get_or_insert_with(|| why.clone());
            true
        });
    }
}

impl FoundServer {
    /// A cluster's users: what each node it heard from has.
    fn count_node_users(&mut self) {
        self.users = self.node_users.values().map(|(users, _)| users).sum();
    }

    /// Forgets the nodes of a cluster not heard from lately (`fresh` says
    /// which times are recent), and their users.
    pub(super) fn forget_silent_nodes(&mut self, fresh: impl Fn(Instant) -> bool) {
        if self.node_users.is_empty() {
            return;
        }
        self.node_users.retain(|_, (_, seen)| fresh(*seen));
        self.count_node_users();
    }
}

//! Which nodes are alive, and where clients reach them: each node puts its
//! id in the `HUDDLE_NODES` bucket every [`BEAT`], with the chat addresses
//! it advertises as the value (JSON), and the bucket forgets a key
//! [`NODE_TTL`] after its last put. Each beat, a node lists the live nodes,
//! drops the room members of the others (`Hub::forget_nodes`) — so a node
//! killed without a word has its members leave every room within
//! [`NODE_TTL`] + [`BEAT`] — and keeps the live nodes' addresses for its
//! discovery beacons.

use std::{
    collections::HashSet,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use huddle_protocol::discovery::MAX_BEACON_NODES;
use tokio_util::sync::CancellationToken;

use super::{ClusterError, ClusterLink, naming, open_bucket};
use crate::hub::Hub;

/// How often a node says it is alive.
const BEAT: Duration = Duration::from_secs(2);
/// How long a node counts as alive after it last said so.
const NODE_TTL: Duration = Duration::from_secs(6);
/// A node advertises at most this many addresses.
const MAX_ADVERTISED: usize = 8;

/// Opens the nodes bucket.
pub(super) async fn open(jetstream: &jetstream::Context) -> Result<kv::Store, ClusterError> {
    open_bucket(jetstream, naming::NODES_BUCKET, Some(NODE_TTL), false).await
}

/// The chat addresses a node bound to `bound` advertises: the configured
/// ones; else `bound` itself, or, bound to all addresses, each up
/// interface's address of that family (loopback included: clients on the
/// same host hear its beacons from loopback) with the bound port.
pub(crate) fn advertised(configured: &[SocketAddr], bound: SocketAddr) -> Vec<SocketAddr> {
    let mut addresses: Vec<SocketAddr> = match (configured, bound.ip().is_unspecified()) {
        ([], false) => vec![bound],
        ([], true) => if_addrs::get_if_addrs()
            .unwrap_or_default()
            .iter()
            .map(if_addrs::Interface::ip)
            .filter(|ip| ip.is_ipv4() == bound.is_ipv4() && !is_link_local(ip))
            .map(|ip| SocketAddr::new(ip, bound.port()))
            .collect(),
        (configured, _) => configured.to_vec(),
    };
    // Reachable ones first; loopback last, so it is what a full list drops.
    addresses.sort_by_key(|addr| addr.ip().is_loopback());
    addresses.dedup();
    addresses.truncate(MAX_ADVERTISED);
    addresses
}

fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_link_local(),
        IpAddr::V6(ip) => ip.is_unicast_link_local(),
    }
}

/// Beats, forgets dead nodes' members and keeps the live nodes' addresses
/// until `shutdown`.
pub(crate) async fn run_liveness(
    link: Arc<ClusterLink>,
    hub: Arc<Hub>,
    advertised: Vec<SocketAddr>,
    shutdown: CancellationToken,
) {
    let me = link.node.simple().to_string();
    let beat = bytes::Bytes::from(serde_json::to_vec(&advertised).unwrap_or_default());
    loop {
        if let Err(err) = link.nodes.put(&me, beat.clone()).await {
            tracing::warn!(%err, "cannot tell the cluster this node is alive");
        }
        match live_nodes(&link.nodes).await {
            Ok((alive, addresses)) => {
                hub.forget_nodes(&alive);
                link.set_node_addresses(addresses);
            }
            Err(err) => tracing::warn!(%err, "cannot list the cluster's live nodes"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(BEAT) => {}
        }
    }
    // Gone at once rather than after the TTL.
    let _ = link.nodes.delete(&me).await;
}

/// The live nodes, and the addresses they advertise (at most
/// [`MAX_BEACON_NODES`], each node's first ones first, in node id order
/// so every node lists them alike).
async fn live_nodes(bucket: &kv::Store) -> Result<(HashSet<uuid::Uuid>, Vec<SocketAddr>), String> {
    let mut keys = bucket.keys().await.map_err(|err| err.to_string())?;
    let mut alive = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|err| err.to_string())?;
        if let Ok(node) = uuid::Uuid::parse_str(&key) {
            alive.push((node, key));
        }
    }
    alive.sort();
    let mut per_node = Vec::new();
    for (_, key) in &alive {
        // A node that went between the listing and now has no entry.
        let value = bucket.get(key).await.map_err(|err| err.to_string())?;
        let listed: Vec<SocketAddr> = value
            .and_then(|value| serde_json::from_slice(&value).ok())
            .unwrap_or_default();
        per_node.push(listed);
    }
    Ok((
        alive.into_iter().map(|(node, _)| node).collect(),
        interleave(per_node, MAX_BEACON_NODES),
    ))
}

/// Each node's first address, then each one's second…, at most `limit`:
/// a long list cut short still names every node it can.
fn interleave(per_node: Vec<Vec<SocketAddr>>, limit: usize) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    let longest = per_node.iter().map(Vec::len).max().unwrap_or(0);
    for rank in 0..longest {
        out.extend(per_node.iter().filter_map(|addresses| addresses.get(rank)));
    }
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_node_advertises_what_it_is_told_or_its_bound_address() {
        let told = [at("192.168.1.5:7007"), at("10.0.0.5:7007")];
        assert_eq!(advertised(&told, at("0.0.0.0:7007")), told);
        assert_eq!(
            advertised(&[], at("127.0.0.1:4000")),
            [at("127.0.0.1:4000")]
        );
    }

    #[test]
    fn bound_to_all_it_advertises_every_interface_with_loopback_last() {
        let addresses = advertised(&[], at("0.0.0.0:7007"));
        assert!(addresses.contains(&at("127.0.0.1:7007")), "{addresses:?}");
        assert!(addresses.iter().all(|a| a.is_ipv4() && a.port() == 7007));
        assert!(addresses.len() <= MAX_ADVERTISED);
        let first_loopback = addresses.iter().position(|a| a.ip().is_loopback());
        assert!(
            addresses[first_loopback.unwrap()..]
                .iter()
                .all(|a| a.ip().is_loopback())
        );
    }

    #[test]
    fn a_full_list_names_every_node_before_anyone_s_second_address() {
        let nodes = (1..=3)
            .map(|n| (0..10).map(|i| at(&format!("10.0.{n}.{i}:7007"))).collect())
            .collect();
        let listed = interleave(nodes, 5);
        assert_eq!(
            listed,
            [
                at("10.0.1.0:7007"),
                at("10.0.2.0:7007"),
                at("10.0.3.0:7007"),
                at("10.0.1.1:7007"),
                at("10.0.2.1:7007")
            ]
        );
    }
}

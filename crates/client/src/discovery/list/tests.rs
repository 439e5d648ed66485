//! The server list's merging rules, without sockets.
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
        nodes: Vec::new(),
    }
}

/// `ip` at server 1's chat port (a beacon's source port does not matter).
fn addr(ip: [u8; 4]) -> SocketAddr {
    SocketAddr::from((ip, 7001))
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

/// Server 1's beacon as a node of a cluster whose nodes are at `nodes`.
fn node_beacon(nodes: &[SocketAddr], goodbye: bool) -> OpenedBeacon {
    let mut opened = beacon(1, goodbye);
    opened.beacon.nodes = nodes.to_vec();
    opened
}

#[test]
fn a_cluster_heard_from_three_machines_is_one_entry_with_every_node() {
    let now = Instant::now();
    let mut list = ServerList::new(Duration::from_secs(15));
    let nodes = [
        addr([10, 0, 0, 5]),
        addr([10, 0, 0, 6]),
        addr([10, 0, 0, 7]),
    ];
    for (at, rtt) in [([10, 0, 0, 5], 9), ([10, 0, 0, 6], 3), ([10, 0, 0, 7], 5)] {
        let rtt = Some(Duration::from_millis(rtt));
        list.on_beacon(&node_beacon(&nodes, false), addr(at), rtt, now);
    }
    let servers = list.servers();
    assert_eq!(servers.len(), 1, "{servers:?}");
    let cluster = &servers[0];
    assert_eq!(cluster.conflict, None);
    assert_eq!(cluster.nodes, nodes);
    assert_eq!(cluster.users, 6, "each node's 2 users, added up");
    assert_eq!(cluster.addr, nodes[1], "the fastest node first");
    assert_eq!(
        cluster.connect_addresses(),
        "10.0.0.6:7001,10.0.0.5:7001,10.0.0.7:7001"
    );
    // Heard again, nobody counts twice.
    list.on_beacon(&node_beacon(&nodes, false), addr([10, 0, 0, 5]), None, now);
    assert_eq!(list.servers()[0].users, 6);
}

#[test]
fn a_node_beacon_replayed_from_a_machine_the_nodes_do_not_list_is_flagged() {
    let now = Instant::now();
    let mut list = ServerList::new(Duration::from_secs(15));
    let nodes = [addr([10, 0, 0, 5]), addr([10, 0, 0, 6])];
    // Mallory replays a genuine node beacon before the cluster is heard...
    list.on_beacon(&node_beacon(&nodes, false), addr([10, 0, 0, 66]), None, now);
    list.on_beacon(&node_beacon(&nodes, false), addr([10, 0, 0, 5]), None, now);
    // ...and after.
    list.on_beacon(&node_beacon(&nodes, false), addr([10, 0, 0, 67]), None, now);
    let servers = list.servers();
    assert_eq!(servers.len(), 3, "{servers:?}");
    let genuine: Vec<_> = servers.iter().filter(|s| s.conflict.is_none()).collect();
    assert_eq!(genuine.len(), 1, "{servers:?}");
    assert_eq!(genuine[0].nodes, nodes);
    assert_eq!(genuine[0].users, 2, "the replays add no users");
    for replay in servers.iter().filter(|s| s.conflict.is_some()) {
        assert!([66, 67].contains(&match replay.addr.ip() {
            IpAddr::V4(ip) => ip.octets()[3],
            IpAddr::V6(_) => 0,
        }));
    }
    // A replayed goodbye removes no node.
    list.on_beacon(&node_beacon(&nodes, true), addr([10, 0, 0, 66]), None, now);
    let cluster = list.servers().into_iter().find(|s| s.conflict.is_none());
    assert_eq!(cluster.map(|c| c.nodes.len()), Some(2));
}

#[test]
fn a_node_s_goodbye_or_silence_takes_that_node_only_and_the_last_the_cluster() {
    let now = Instant::now();
    let mut list = ServerList::new(Duration::from_secs(15));
    let nodes = [
        addr([10, 0, 0, 5]),
        addr([10, 0, 0, 6]),
        addr([10, 0, 0, 7]),
    ];
    list.on_beacon(&node_beacon(&nodes, false), addr([10, 0, 0, 5]), None, now);
    list.on_beacon(&node_beacon(&nodes, false), addr([10, 0, 0, 6]), None, now);
    let later = now + Duration::from_secs(10);
    list.on_beacon(
        &node_beacon(&nodes, false),
        addr([10, 0, 0, 7]),
        None,
        later,
    );
    list.on_beacon(&node_beacon(&nodes, true), addr([10, 0, 0, 5]), None, later);
    let cluster = list.servers().remove(0);
    assert_eq!(cluster.nodes, nodes[1..]);
    assert_eq!(cluster.users, 4);
    assert_ne!(cluster.addr, nodes[0], "not the node that left");
    // 10.0.0.6 falls silent: its users go, the cluster stays.
    list.expire(now + Duration::from_secs(16));
    assert_eq!(list.servers()[0].users, 2);
    list.on_beacon(
        &node_beacon(&nodes[2..], true),
        addr([10, 0, 0, 7]),
        None,
        later,
    );
    assert!(list.servers().is_empty(), "{:?}", list.servers());
}

#[test]
fn a_node_here_heard_on_two_addresses_counts_once_and_remote_loopback_is_dropped() {
    let now = Instant::now();
    let mut list = ServerList::new(Duration::from_secs(15));
    list.set_local_addresses([IpAddr::from([192, 168, 1, 5])]);
    let here = [addr([192, 168, 1, 5]), addr([127, 0, 0, 1])];
    list.on_beacon(&node_beacon(&here, false), addr([127, 0, 0, 1]), None, now);
    list.on_beacon(
        &node_beacon(&here, false),
        addr([192, 168, 1, 5]),
        None,
        now,
    );
    let cluster = list.servers().remove(0);
    assert_eq!(cluster.users, 2);
    assert_eq!(cluster.nodes, here, "from this host, loopback is kept");
    // A node elsewhere listing loopback addresses: not ours to try.
    let mut list = ServerList::new(Duration::from_secs(15));
    let there = [addr([10, 0, 0, 5]), addr([127, 0, 0, 1])];
    list.on_beacon(&node_beacon(&there, false), addr([10, 0, 0, 5]), None, now);
    assert_eq!(list.servers()[0].nodes, [addr([10, 0, 0, 5])]);
}

#[test]
fn a_node_heard_before_it_listed_its_nodes_becomes_the_cluster_not_a_suspect() {
    let now = Instant::now();
    let mut list = ServerList::new(Duration::from_secs(15));
    let nodes = [addr([10, 0, 0, 5]), addr([10, 0, 0, 6])];
    // Its first beacon, before it had read the cluster's nodes.
    list.on_beacon(&node_beacon(&[], false), addr([10, 0, 0, 5]), None, now);
    list.on_beacon(&node_beacon(&nodes, false), addr([10, 0, 0, 5]), None, now);
    let servers = list.servers();
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0].nodes, nodes);
    assert_eq!(servers[0].conflict, None);
}

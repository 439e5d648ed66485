//! Cluster mode and LAN discovery, end to end: three real
//! `huddle-server --cluster` processes with discovery on (announcing to
//! this host's loopback broadcast address only), a real `huddle discover
//! --json` that lists them as one server with three nodes, and a real
//! `huddle --plain` connected with the nodes it found that carries on
//! through another node when its own is killed. A list naming two
//! unrelated servers is refused at the second, naming both fingerprints.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

#[allow(dead_code)] // Shared with the other cluster tests.
mod nats;
#[allow(dead_code)] // The durability tests' harness; only its processes are used here.
mod tui_peer;

use std::{net::SocketAddr, process::Command, time::Duration};

use huddle_e2e::{PlainWatcher, free_udp_port, workspace_binary};
use nats::{NatsServer, start_node_with};

/// `huddle discover --json` on loopback, on discovery port `port`.
fn discover(port: u16, home: &std::path::Path) -> serde_json::Value {
    let output = Command::new(workspace_binary("huddle"))
        .args(["--loopback-only", "--discovery-port", &port.to_string()])
        .arg("--config")
        .arg(home.join("config.toml"))
        .args(["discover", "--json", "--timeout", "3"])
        .output()
        .expect("huddle runs");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("discover --json prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_is_found_once_with_its_nodes_and_a_client_moves_between_them() {
    let Some(nats) = NatsServer::start().await else {
        return;
    };
    let port = free_udp_port().unwrap().to_string();
    let announce = format!("127.255.255.255:{port}");
    let discovery = [
        "--discovery-port",
        &port,
        "--announce-to",
        &announce,
        "--announce-every",
        "1",
    ];
    let mut nodes = Vec::new();
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for _ in 0..3 {
        let (node, addr, _) = start_node_with(&nats.url(), &discovery).await;
        nodes.push(node);
        addrs.push(addr);
    }
    // Each node lists the others once their beats are read (every 2 s).
    let home = tempfile::tempdir().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let cluster = loop {
        let found = discover(port.parse().unwrap(), home.path());
        let servers = found["servers"].as_array().unwrap().clone();
        let listed: Vec<SocketAddr> = servers
            .first()
            .and_then(|server| server["nodes"].as_array())
            .map(|nodes| {
                nodes
                    .iter()
                    .map(|n| n.as_str().unwrap().parse().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        let all = addrs.iter().all(|addr| listed.contains(addr));
        if servers.len() == 1 && all && listed.len() == addrs.len() {
            break servers[0].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not one server with nodes {addrs:?}: {servers:#?}"
        );
    };
    assert!(cluster["conflict"].is_null(), "{cluster}");
    let addr: SocketAddr = cluster["addr"].as_str().unwrap().parse().unwrap();
    assert!(addrs.contains(&addr));

    // A plain client told every node it found, fastest first, as the
    // browser connects; then its node is killed mid-chat.
    let mut list = vec![addr.to_string()];
    list.extend(
        addrs
            .iter()
            .filter(|a| **a != addr)
            .map(ToString::to_string),
    );
    let mut zed = PlainWatcher::start(&list.join(","), "zed", "#hall");
    // (Plain mode prints no history by default: only what comes after.)
    let joined = |line: &str| line.starts_with("[#hall] -!- joined");
    assert!(
        zed.wait_for(joined, Duration::from_secs(15)),
        "{:?}",
        zed.seen
    );
    let other = addrs.iter().position(|a| *a != addr).unwrap();
    let mut amy = huddle_testkit::Client::joined(addrs[other], "amy", &["#hall"]).await;
    amy.say("#hall", "before the crash").await;
    assert!(
        zed.wait_for(|l| l.contains("before the crash"), Duration::from_secs(15)),
        "{:?}",
        zed.seen
    );
    let zeds = addrs.iter().position(|a| *a == addr).unwrap();
    nodes[zeds].kill();
    amy.say("#hall", "after the crash").await;
    assert!(
        zed.wait_for(|l| l.contains("after the crash"), Duration::from_secs(20)),
        "zed did not follow the cluster to another node: {:?}",
        zed.seen
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_nodes_accepts_only_the_fingerprint_the_first_node_presented() {
    use huddle::net::{NetEvent, SessionConfig, spawn_session};
    let config = || huddle_server::ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: None,
        discovery: None,
        ..huddle_server::ServerConfig::default()
    };
    let first = huddle_server::Server::bind(config()).await.unwrap().spawn();
    let other = huddle_server::Server::bind(config()).await.unwrap().spawn();
    let (first_addr, other_addr) = (first.addr, other.addr);
    let (first_print, other_print) = (first.fingerprint, other.fingerprint);
    // Both unknown to this known-servers file: alone, each would be
    // trusted on first use.
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let _net = spawn_session(
        SessionConfig {
            addr: format!("{first_addr},{other_addr}"),
            nick: huddle_protocol::Nick::new("tess").unwrap(),
            security: huddle_e2e::any_server(),
            key: huddle_e2e::fresh_key(),
            retry_nick: true,
        },
        tx,
    );
    let next = async |events: &mut tokio::sync::mpsc::UnboundedReceiver<NetEvent>| {
        tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("the session said something")
            .expect("the session is running")
    };
    while !matches!(next(&mut events).await, NetEvent::Connected(_)) {}
    first.stop().await;
    let failed = loop {
        if let NetEvent::Failed(why) = next(&mut events).await {
            break why;
        }
    };
    for named in [
        first_addr.to_string(),
        other_addr.to_string(),
        first_print.to_string(),
        other_print.to_string(),
    ] {
        assert!(failed.contains(&named), "{failed} does not name {named}");
    }
    other.stop().await;
}

//! The cluster tests' kit: a real nats-server with JetStream and three
//! real `huddle-server --cluster` processes on loopback (`nats.rs`), TUI
//! peers spread over them (`tui_peer.rs`), and the checks the tests share.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers may panic.

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use huddle_protocol::ServerMessage;

use crate::{
    nats::{NatsServer, start_node},
    tui_peer::{Peer, ServerProcess, pump_until},
};

pub(crate) const NODES: usize = 3;

pub(crate) struct Cluster {
    pub(crate) nats: NatsServer,
    pub(crate) addrs: Vec<SocketAddr>,
    /// Each node's IRC gateway.
    pub(crate) irc: Vec<SocketAddr>,
    pub(crate) nodes: Vec<ServerProcess>,
}

impl Cluster {
    /// NATS and three nodes, or `None` (SKIPPED said) without nats-server.
    pub(crate) async fn start() -> Option<Self> {
        let nats = NatsServer::start().await?;
        let (mut nodes, mut addrs, mut irc) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..NODES {
            let (node, addr, irc_addr) = start_node(&nats.url()).await;
            nodes.push(node);
            addrs.push(addr);
            irc.push(irc_addr);
        }
        Some(Self {
            nats,
            addrs,
            irc,
            nodes,
        })
    }

    /// Every node's address, node `first`'s first: how a client of that
    /// node is told the cluster.
    pub(crate) fn addresses_from(&self, first: usize) -> String {
        (0..NODES)
            .map(|i| self.addrs[(first + i) % NODES].to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Six peers, two per node, joined to #load.
    pub(crate) async fn peers(&self) -> Vec<Peer> {
        let names = ["alice", "bob", "carol", "dave", "erin", "frank"];
        let mut peers: Vec<Peer> = names
            .iter()
            .enumerate()
            .map(|(i, nick)| Peer::connecting_to(nick, &self.addresses_from(i % NODES)))
            .collect();
        pump_until(&mut peers, Duration::from_secs(20), |peers| {
            peers.iter().all(Peer::joined)
        })
        .await;
        peers
    }

    /// The room's history as node `node` serves it: (id, text).
    pub(crate) async fn history(&self, node: usize) -> Vec<(huddle_protocol::MessageId, String)> {
        let auditor = format!("auditor{node}");
        let (mut client, _) = huddle_testkit::Client::connect(self.addrs[node], &auditor).await;
        let history = client.whole_history("#load").await;
        history
            .into_iter()
            .map(|m| (m.id, m.text.to_string()))
            .collect()
    }
}

/// Where erin (who writes to dave directly in the SIGKILL test) and dave
/// (on node 0, which that test kills) sit among the peers.
pub(crate) const ERIN: usize = 4;
pub(crate) const DAVE: usize = 3;

/// Each peer says `count` numbered lines, a few at a time, all pumping;
/// with `direct`, erin writes to dave instead (`/msg` leaves her in the
/// conversation's buffer).
pub(crate) async fn chat(peers: &mut [Peer], from: usize, count: usize, direct: bool) {
    for n in from..from + count {
        for (i, peer) in peers.iter_mut().enumerate() {
            let text = if direct && i == ERIN {
                format!("/msg dave erin {n}")
            } else {
                format!("{} {n}", peer.nick)
            };
            peer.type_line(&text);
        }
        for _ in 0..5 {
            for peer in peers.iter_mut() {
                peer.pump();
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Checks what every peer shows against the room's order (`order`, the
/// texts as the stream holds them): each message once; the others'
/// messages in the stream's order (a peer shows its own where it typed
/// them); each sender's in the order sent.
pub(crate) fn assert_one_order(peers: &[Peer], order: &[String]) {
    // Each sender's messages are in the stream in the order sent.
    let mut next: HashMap<&str, usize> = HashMap::new();
    for text in order {
        if let Some((sender, n)) = text.split_once(' ')
            && let Ok(n) = n.parse::<usize>()
        {
            let expected = next.entry(sender).or_insert(n);
            assert!(n >= *expected, "{sender}'s {n} is stored after a later one");
            *expected = n + 1;
        }
    }
    for peer in peers {
        let shown: Vec<String> = peer.chat().into_iter().map(|(text, _)| text).collect();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for text in &shown {
            *counts.entry(text).or_default() += 1;
        }
        let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
        assert!(twice.is_empty(), "{} saw duplicates: {twice:?}", peer.nick);
        assert_eq!(
            shown.len(),
            order.len(),
            "{} shows {} of {}",
            peer.nick,
            shown.len(),
            order.len()
        );
        let own = |text: &&String| text.starts_with(&format!("{} ", peer.nick));
        let others_shown: Vec<&String> = shown.iter().filter(|t| !own(t)).collect();
        let others_stream: Vec<&String> = order.iter().filter(|t| !own(t)).collect();
        assert_eq!(
            others_shown, others_stream,
            "{} shows another order",
            peer.nick
        );
        let mine_shown: Vec<&String> = shown.iter().filter(own).collect();
        let mine_stream: Vec<&String> = order.iter().filter(own).collect();
        assert_eq!(
            mine_shown, mine_stream,
            "{}'s own messages reordered",
            peer.nick
        );
    }
}

/// Asks `client` for #hall's members until they are `expected` (sorted),
/// for at most `limit`; returns every frame seen meanwhile.
pub(crate) async fn members_become(
    client: &mut huddle_testkit::Client,
    expected: &[&str],
    limit: Duration,
) -> Vec<ServerMessage> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        client
            .send(huddle_protocol::ClientMessage::ListMembers {
                room: huddle_testkit::room("#hall"),
            })
            .await;
        loop {
            let message = client.recv().await;
            if let ServerMessage::MemberList { members, .. } = &message {
                let members: Vec<&str> = members.iter().map(|n| n.as_str()).collect();
                if members == expected {
                    return seen;
                }
                assert!(
                    Instant::now() < deadline,
                    "members stayed {members:?}, not {expected:?}"
                );
                break;
            }
            seen.push(message);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether `seen` holds a quit of `nick`.
pub(crate) fn quit_seen(seen: &[ServerMessage], nick: &str) -> bool {
    seen.iter().any(|m| {
        matches!(m, ServerMessage::Presence(p) if p.nick.as_str() == nick
            && matches!(p.event, huddle_protocol::PresenceEvent::Quit { .. }))
    })
}

/// Waits for a frame `wanted` picks unless it is among those `seen` already.
pub(crate) async fn seen_or_next(
    client: &mut huddle_testkit::Client,
    seen: &[ServerMessage],
    wanted: impl Fn(&ServerMessage) -> bool,
) {
    if !seen.iter().any(&wanted) {
        client.recv_until(wanted).await;
    }
}

/// Registers on an IRC gateway as `nick`: the first line answering it
/// (001 welcome or 433 taken), and the connection.
pub(crate) async fn irc_register(addr: SocketAddr, nick: &str) -> (String, tokio::net::TcpStream) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let hello = format!("NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n");
    stream.write_all(hello.as_bytes()).await.unwrap();
    let (read, write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    let answer = loop {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if line.contains(" 001 ") || line.contains(" 433 ") {
            break line;
        }
    };
    let stream = lines.into_inner().into_inner().reunite(write).unwrap();
    (answer, stream)
}

/// Tries `check` every 100 ms until it holds, for at most `limit`.
pub(crate) async fn eventually<F, Fut>(limit: Duration, check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

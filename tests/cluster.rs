//! Cluster mode end to end: a real nats-server with JetStream and three
//! real `huddle-server --cluster` processes on loopback, TUI clients (the
//! real `App` and network session) spread over them. One room, one order
//! at every member; a nick claimed from all nodes at once has exactly one
//! winner; a node killed with SIGKILL mid-chat loses no acknowledged
//! message and shows none twice, its clients moving to the other nodes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod nats;
#[allow(dead_code)] // The durability tests' harness; not all of it is used here.
mod tui_peer;

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use huddle_protocol::{ErrorCode, ServerMessage};
use nats::{NatsServer, start_node};
use tui_peer::{Peer, ServerProcess, free_loopback_addr, pump_until};

const NODES: usize = 3;

struct Cluster {
    nats: NatsServer,
    addrs: Vec<SocketAddr>,
    /// Each node's IRC gateway.
    irc: Vec<SocketAddr>,
    nodes: Vec<ServerProcess>,
}

impl Cluster {
    /// NATS and three nodes, or `None` (SKIPPED said) without nats-server.
    async fn start() -> Option<Self> {
        let nats = NatsServer::start().await?;
        let addrs: Vec<SocketAddr> = (0..NODES).map(|_| free_loopback_addr()).collect();
        let irc: Vec<SocketAddr> = (0..NODES).map(|_| free_loopback_addr()).collect();
        let mut nodes = Vec::new();
        for (addr, irc) in addrs.iter().zip(&irc) {
            nodes.push(start_node(*addr, *irc, &nats.url()).await);
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
    fn addresses_from(&self, first: usize) -> String {
        (0..NODES)
            .map(|i| self.addrs[(first + i) % NODES].to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Six peers, two per node, joined to #load.
    async fn peers(&self) -> Vec<Peer> {
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
    async fn history(&self, node: usize) -> Vec<(huddle_protocol::MessageId, String)> {
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
const ERIN: usize = 4;
const DAVE: usize = 3;

/// Each peer says `count` numbered lines, a few at a time, all pumping;
/// with `direct`, erin writes to dave instead (`/msg` leaves her in the
/// conversation's buffer).
async fn chat(peers: &mut [Peer], from: usize, count: usize, direct: bool) {
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
fn assert_one_order(peers: &[Peer], order: &[String]) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_serve_one_room_in_one_order_with_the_same_ids() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let mut peers = cluster.peers().await;
    const EACH: usize = 25;
    chat(&mut peers, 0, EACH, false).await;
    let total = EACH * peers.len();
    pump_until(&mut peers, Duration::from_secs(60), |peers| {
        peers.iter().all(|p| {
            let chat = p.chat();
            chat.len() >= total && chat.iter().all(|(_, pending)| !pending)
        })
    })
    .await;
    // Every node serves the same history: the same messages, ids, order.
    let history = cluster.history(0).await;
    assert_eq!(history.len(), total);
    for node in 1..NODES {
        assert_eq!(cluster.history(node).await, history, "node {node} differs");
    }
    let order: Vec<String> = history.into_iter().map(|(_, text)| text).collect();
    assert_one_order(&peers, &order);

    // A direct message crosses nodes (node 2 to alice on node 0); one to a
    // nick nobody holds anywhere is refused.
    let (mut writer, _) = huddle_testkit::Client::connect(cluster.addrs[2], "writer").await;
    for (to, text) in [("ghost", "anyone?"), ("alice", "psst")] {
        writer
            .send(huddle_protocol::ClientMessage::Direct {
                to: huddle_protocol::Nick::new(to).unwrap(),
                id: huddle_protocol::ClientMsgId::random(),
                kind: huddle_protocol::MessageKind::Normal,
                text: huddle_protocol::ChatText::new(text).unwrap(),
            })
            .await;
    }
    let answer = writer
        .recv_until(|m| matches!(m, ServerMessage::Error(_) | ServerMessage::Ack { .. }))
        .await;
    assert!(
        matches!(&answer, ServerMessage::Error(e) if e.code == ErrorCode::NoSuchNick),
        "{answer:?}"
    );
    let answer = writer
        .recv_until(|m| matches!(m, ServerMessage::Error(_) | ServerMessage::Ack { .. }))
        .await;
    assert!(matches!(answer, ServerMessage::Ack { .. }), "{answer:?}");
    pump_until(&mut peers, Duration::from_secs(10), |peers| {
        peers[0]
            .chat_in("@writer")
            .iter()
            .any(|(text, _)| text == "psst")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nick_claimed_from_every_node_at_once_has_exactly_one_winner() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    const TRIALS: usize = 100;
    const RACERS: usize = 20;
    for trial in 0..TRIALS {
        let nick = format!("racer{trial}");
        let racers = (0..RACERS).map(|i| {
            let (addr, nick) = (cluster.addrs[i % NODES], nick.clone());
            tokio::spawn(async move { huddle_testkit::Client::handshake(addr, &nick).await })
        });
        let mut winners = 0;
        let mut clients = Vec::new();
        for racer in racers {
            let (client, answer) = racer.await.unwrap();
            match answer {
                ServerMessage::Welcome(_) => winners += 1,
                ServerMessage::Reject(reject) => {
                    assert_eq!(
                        reject.code,
                        ErrorCode::NickInUse,
                        "trial {trial}: {reject:?}"
                    );
                }
                other => panic!("trial {trial}: {other:?}"),
            }
            clients.push(client);
        }
        assert_eq!(winners, 1, "trial {trial}: {winners} clients got {nick}");
    }
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_a_node_loses_nothing_acknowledged_and_its_clients_move_within_3_s() {
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let mut peers = cluster.peers().await;
    const BEFORE: usize = 15;
    const AFTER: usize = 15;
    chat(&mut peers, 0, BEFORE, true).await;
    // Node 0 dies with messages in flight; its clients are peers 0 and 3.
    let acked_before_kill: Vec<String> = peers
        .iter()
        .flat_map(|p| {
            p.chat()
                .into_iter()
                .filter(|(text, pending)| !pending && text.starts_with(&format!("{} ", p.nick)))
                .map(|(text, _)| text)
        })
        .collect();
    cluster.nodes[0].kill();
    let killed = Instant::now();
    let moved = |peers: &[Peer]| {
        [0, 3].iter().all(|&i| {
            peers[i]
                .app
                .buffers
                .iter()
                .any(|b| b.lines.iter().any(|l| l.text.starts_with("Reconnected")))
                && peers[i].joined()
        })
    };
    pump_until(&mut peers, Duration::from_secs(10), moved).await;
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the killed node's clients took {took:?} to move"
    );
    chat(&mut peers, BEFORE, AFTER, true).await;
    // Everyone speaks in the room but erin, who writes to dave.
    let total = (BEFORE + AFTER) * (peers.len() - 1);
    pump_until(&mut peers, Duration::from_secs(60), |peers| {
        let directs = &peers[ERIN].chat_in("@dave");
        let answered = directs.iter().all(|(_, pending)| !pending);
        let sent = directs.len();
        answered
            && peers[DAVE].chat_in("@erin").len() >= sent
            && peers.iter().all(|p| {
                let chat = p.chat();
                chat.len() >= total && chat.iter().all(|(_, pending)| !pending)
            })
    })
    .await;
    let history = cluster.history(1).await;
    assert_eq!(
        cluster.history(2).await,
        history,
        "the surviving nodes differ"
    );
    let order: Vec<String> = history.into_iter().map(|(_, text)| text).collect();
    for text in &acked_before_kill {
        assert!(order.contains(text), "{text:?} was acknowledged, then lost");
    }
    assert_eq!(
        order.len(),
        total,
        "the stream holds duplicates or misses messages"
    );
    assert_one_order(&peers, &order);
    // Only the killed node's clients lost their connection.
    for (i, peer) in peers.iter().enumerate() {
        let drops = peer
            .app
            .buffers
            .iter()
            .filter(|b| b.title() == "#load")
            .flat_map(|b| b.lines.iter())
            .filter(|l| l.text.starts_with("Disconnected"))
            .count();
        let expected = usize::from(i % NODES == 0);
        assert_eq!(
            drops, expected,
            "{} was disconnected {drops} times",
            peer.nick
        );
    }
    // Every direct message the cluster accepted reaches dave once, in
    // order, though his node died; the others were refused, saying so.
    let sent: Vec<String> = peers[ERIN]
        .chat_in("@dave")
        .into_iter()
        .map(|(text, pending)| {
            assert!(!pending, "erin's {text:?} is still pending");
            text
        })
        .collect();
    let refused = peers[ERIN].refused_in("@dave");
    assert_eq!(sent.len() + refused.len(), BEFORE + AFTER, "{refused:?}");
    assert!(
        sent.len() >= AFTER,
        "only {} direct messages accepted",
        sent.len()
    );
    let received: Vec<String> = peers[DAVE]
        .chat_in("@erin")
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    assert_eq!(
        received, sent,
        "dave lost, duplicated or reordered a direct message"
    );
    let _ = &cluster.nats;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarted_under_load_loses_nothing_acknowledged_and_a_cut_off_node_refuses() {
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let mut peers = cluster.peers().await;
    let mut probe = huddle_testkit::Client::joined(cluster.addrs[1], "probe", &["#load"]).await;
    chat(&mut peers, 0, 10, false).await;

    cluster.nats.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Cut off, a node refuses a message at once, saying why, instead of
    // acknowledging what it cannot store.
    probe.say("#load", "into the void").await;
    let answer = probe
        .recv_until(|m| matches!(m, ServerMessage::Error(_) | ServerMessage::Ack { .. }))
        .await;
    let ServerMessage::Error(report) = answer else {
        panic!("a node without NATS acknowledged a message: {answer:?}");
    };
    assert_eq!(report.code, ErrorCode::Internal);
    assert!(
        report.text.as_str().contains("cannot reach the cluster"),
        "{report:?}"
    );
    // The peers go on typing through the outage (refused, or held and
    // retried until NATS is back), and after it.
    chat(&mut peers, 10, 5, false).await;
    cluster.nats.restart().await;
    // The nodes are back within seconds: the probe's message is stored.
    let back = Instant::now();
    for attempt in 0.. {
        probe.say("#load", &format!("back {attempt}")).await;
        let answer = probe
            .recv_until(|m| matches!(m, ServerMessage::Error(_) | ServerMessage::Ack { .. }))
            .await;
        if matches!(answer, ServerMessage::Ack { .. }) {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "node 1 did not come back: {answer:?}"
        );
        for peer in peers.iter_mut() {
            peer.pump();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    chat(&mut peers, 15, 10, false).await;
    pump_until(&mut peers, Duration::from_secs(60), |peers| {
        peers
            .iter()
            .all(|p| p.chat().iter().all(|(_, pending)| !pending))
    })
    .await;
    let history = cluster.history(0).await;
    for node in 1..NODES {
        assert_eq!(cluster.history(node).await, history, "node {node} differs");
    }
    let order: Vec<String> = history.into_iter().map(|(_, text)| text).collect();
    assert!(
        !order.iter().any(|t| t == "into the void"),
        "a refused message was stored"
    );
    assert!(
        order.len() >= 20 * peers.len(),
        "only {} messages stored",
        order.len()
    );
    // Every message a peer shows as acknowledged is stored, once; everyone
    // shows the same messages in the stream's order.
    for peer in &peers {
        for (text, _) in peer.chat() {
            assert_eq!(
                order.iter().filter(|t| **t == text).count(),
                1,
                "{}: {text:?}",
                peer.nick
            );
        }
    }
    let stored = order.len();
    pump_until(&mut peers, Duration::from_secs(30), |peers| {
        peers.iter().all(|p| p.chat().len() >= stored)
    })
    .await;
    assert_one_order(&peers, &order);
}

/// Asks `client` for #hall's members until they are `expected` (sorted),
/// for at most `limit`; returns every frame seen meanwhile.
async fn members_become(
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

fn presence_of(seen: &[ServerMessage], nick: &str, quit: bool) -> bool {
    seen.iter().any(|m| match m {
        ServerMessage::Presence(p) if p.nick.as_str() == nick => match &p.event {
            huddle_protocol::PresenceEvent::Joined => !quit,
            huddle_protocol::PresenceEvent::Quit { .. } => quit,
            _ => false,
        },
        _ => false,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_topics_and_departures_are_seen_on_every_node() {
    let Some(mut cluster) = Cluster::start().await else {
        return;
    };
    let mut bob = huddle_testkit::Client::joined(cluster.addrs[1], "bob", &["#hall"]).await;
    let mut carol = huddle_testkit::Client::joined(cluster.addrs[2], "carol", &["#hall"]).await;
    let mut alice = huddle_testkit::Client::joined(cluster.addrs[0], "alice", &["#hall"]).await;
    let limit = Duration::from_secs(5);
    members_become(&mut alice, &["alice", "bob", "carol"], limit).await;
    let seen = members_become(&mut bob, &["alice", "bob", "carol"], limit).await;
    let joined = |m: &ServerMessage| {
        matches!(m, ServerMessage::Presence(p) if p.nick.as_str() == "alice"
            && p.event == huddle_protocol::PresenceEvent::Joined)
    };
    if !seen.iter().any(joined) {
        bob.recv_until(joined).await;
    }

    // A topic set on node 2 is the topic on node 0.
    carol
        .send(huddle_protocol::ClientMessage::SetTopic {
            room: huddle_testkit::room("#hall"),
            topic: huddle_protocol::ShortText::new("plans").unwrap(),
        })
        .await;
    alice
        .recv_until(
            |m| matches!(m, ServerMessage::Topic { topic, .. } if topic.as_str() == "plans"),
        )
        .await;

    // A file offered to the room is refused while members are elsewhere:
    // transfers stay within one node.
    alice
        .send(huddle_protocol::ClientMessage::FileOffer(
            huddle_protocol::FileOffer {
                transfer: huddle_protocol::TransferId::random(),
                target: huddle_protocol::Target::Room(huddle_testkit::room("#hall")),
                name: huddle_protocol::ShortText::new("notes.txt").unwrap(),
                size: 10,
                sha256: [0; 32],
            },
        ))
        .await;
    let answer = alice
        .recv_until(|m| matches!(m, ServerMessage::Error(_)))
        .await;
    assert!(
        matches!(&answer, ServerMessage::Error(e) if e.code == ErrorCode::TransferBroken
            && e.text.as_str().contains("bob, carol are on other nodes")),
        "{answer:?}"
    );

    // carol leaves; node 1 (bob's) dies without a word: alice sees both go.
    carol
        .send(huddle_protocol::ClientMessage::Part {
            room: huddle_testkit::room("#hall"),
            reason: huddle_protocol::ShortText::new("bye").unwrap(),
        })
        .await;
    members_become(&mut alice, &["alice", "bob"], limit).await;
    cluster.nodes[1].kill();
    let seen = members_become(&mut alice, &["alice"], Duration::from_secs(15)).await;
    assert!(presence_of(&seen, "bob", true), "no quit for bob: {seen:?}");
    drop(bob);
}

/// Registers on an IRC gateway as `nick`: the first line answering it
/// (001 welcome or 433 taken), and the connection.
async fn irc_register(addr: SocketAddr, nick: &str) -> (String, tokio::net::TcpStream) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irc_users_hold_nicks_across_the_cluster_too() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let (_alice, _) = huddle_testkit::Client::connect(cluster.addrs[0], "alice").await;
    // An IRC user on node 1 cannot take a nick held on node 0 ...
    let (answer, _) = irc_register(cluster.irc[1], "alice").await;
    assert!(
        answer.contains(" 433 ") && answer.contains("in use"),
        "{answer}"
    );
    // ... and a nick an IRC user holds is taken for native clients elsewhere.
    let (answer, irc_bob) = irc_register(cluster.irc[1], "ircbob").await;
    assert!(answer.contains(" 001 "), "{answer}");
    let (_, refused) = huddle_testkit::Client::handshake(cluster.addrs[2], "ircbob").await;
    assert!(
        matches!(&refused, ServerMessage::Reject(r) if r.code == ErrorCode::NickInUse),
        "{refused:?}"
    );
    // Once the IRC user leaves, the nick is free on every node.
    drop(irc_bob);
    let free = nats::eventually(Duration::from_secs(5), || async {
        matches!(
            huddle_testkit::Client::handshake(cluster.addrs[2], "ircbob")
                .await
                .1,
            ServerMessage::Welcome(_)
        )
    })
    .await;
    assert!(free, "ircbob stayed claimed after the IRC user left");
}

//! Cluster mode end to end, messages: a real nats-server with JetStream
//! and three real `huddle-server --cluster` processes on loopback, TUI
//! clients (the real `App` and network session) spread over them. One
//! room, one order at every member; a node killed with SIGKILL mid-chat
//! loses no acknowledged message and shows none twice, its clients moving
//! to the other nodes; NATS restarted under load loses nothing
//! acknowledged. (Who is where: `cluster_presence.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

#[allow(dead_code)] // Shared by the cluster tests; not all of it is used here.
mod cluster_kit;
#[allow(dead_code)] // Shared by the cluster tests; not all of it is used here.
mod nats;
#[allow(dead_code)] // The durability tests' harness; not all of it is used here.
mod tui_peer;

use std::time::{Duration, Instant};

use cluster_kit::{Cluster, DAVE, ERIN, NODES, assert_one_order, chat};
use huddle_protocol::{ErrorCode, ServerMessage};
use tui_peer::{Peer, pump_until};

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
    // nick nobody holds or is bound to anywhere is refused.
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

    // One to a nick whose holder has left (still bound to its key) is
    // accepted and waits in that key's mailbox, read from any node.
    let zed = huddle_protocol::ClientId::random();
    drop(huddle_testkit::Client::connect_as(cluster.addrs[1], "zed", zed).await);
    writer
        .send(huddle_protocol::ClientMessage::Direct {
            to: huddle_protocol::Nick::new("zed").unwrap(),
            id: huddle_protocol::ClientMsgId::random(),
            kind: huddle_protocol::MessageKind::Normal,
            text: huddle_protocol::ChatText::new("call me").unwrap(),
        })
        .await;
    let answer = writer
        .recv_until(|m| matches!(m, ServerMessage::Error(_) | ServerMessage::Ack { .. }))
        .await;
    assert!(matches!(answer, ServerMessage::Ack { .. }), "{answer:?}");
    let mut back = huddle_testkit::Client::reconnect_as(cluster.addrs[0], "zed", zed).await;
    back.send(huddle_protocol::ClientMessage::FetchDirectHistory {
        with: None,
        before: None,
        after: None,
        limit: 10,
    })
    .await;
    let page = back
        .recv_until(|m| matches!(m, ServerMessage::DirectHistoryPage { .. }))
        .await;
    let ServerMessage::DirectHistoryPage { messages, .. } = page else {
        unreachable!()
    };
    let texts: Vec<&str> = messages.iter().map(|e| e.message.text.as_str()).collect();
    assert_eq!(texts, ["call me"]);
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

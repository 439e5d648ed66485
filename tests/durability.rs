//! No message lost, none seen twice: a real `huddle-server` process under
//! steady load from several TUI clients (the real `App` and network session),
//! in a room and in direct messages, is killed with SIGKILL with messages in
//! flight and restarted on the same data directory; and a connection is cut
//! mid-stream by a proxy.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod tui_peer;

use std::{collections::HashMap, time::Duration};

use tui_peer::{Peer, cutting_proxy, free_loopback_addr, pump_until, start_server};

const SENDERS: [&str; 3] = ["alice", "bob", "carol"];
const PER_SENDER: usize = 120;
/// Where the reader and the one sending direct messages sit in `peers`.
const DAVE: usize = SENDERS.len();
const ERIN: usize = SENDERS.len() + 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_message_and_nobody_sees_a_gap_or_a_duplicate() {
    let data = tempfile::tempdir().unwrap();
    let addr = free_loopback_addr();
    let mut server = start_server(addr, data.path()).await;

    let mut peers: Vec<Peer> = SENDERS
        .iter()
        .chain(["dave", "erin"].iter())
        .map(|nick| Peer::new(nick, addr))
        .collect();
    pump_until(&mut peers, Duration::from_secs(15), |peers| {
        peers.iter().all(Peer::joined)
    })
    .await;

    let mut acked_before_kill: Vec<String> = Vec::new();
    for n in 0..PER_SENDER {
        for sender in 0..SENDERS.len() {
            let text = format!("{} {n}", SENDERS[sender]);
            peers[sender].type_line(&text);
        }
        // And erin writes to dave directly, all along.
        peers[ERIN].type_line(&format!("/msg dave erin {n}"));
        for peer in peers.iter_mut() {
            peer.pump();
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
        if n == PER_SENDER / 3 {
            // Note what is acknowledged so far, then kill the server hard
            // at once, with messages in flight: some fanned out but not yet
            // on disk, which their senders will resend (same client ids).
            for peer in &peers[..SENDERS.len()] {
                let own = peer
                    .chat()
                    .into_iter()
                    .filter(|(text, pending)| !pending && text.starts_with(&peer.nick));
                acked_before_kill.extend(own.map(|(text, _)| text));
            }
            server.kill();
            tokio::time::sleep(Duration::from_millis(200)).await;
            server = start_server(addr, data.path()).await;
        }
    }
    assert!(
        acked_before_kill.len() >= SENDERS.len(),
        "nothing was acked before the kill"
    );

    // Once dave is back, erin's last direct messages reach him live.
    pump_until(&mut peers, Duration::from_secs(30), |peers| {
        let back = peers[DAVE]
            .app
            .buffers
            .iter()
            .any(|b| b.lines.iter().any(|l| l.text.starts_with("Reconnected")));
        back && peers[DAVE].joined()
    })
    .await;
    const DMS_AFTER: usize = 10;
    for n in 0..DMS_AFTER {
        peers[ERIN].type_line(&format!("/msg dave erin after {n}"));
    }

    // Everyone ends connected, with every message acknowledged and shown.
    let total = SENDERS.len() * PER_SENDER;
    pump_until(&mut peers, Duration::from_secs(60), |peers| {
        let dms_answered = peers[ERIN]
            .chat_in("@dave")
            .iter()
            .all(|(_, pending)| !pending);
        dms_answered
            && peers.iter().all(|p| {
                let chat = p.chat();
                chat.len() >= total && chat.iter().all(|(_, pending)| !pending)
            })
    })
    .await;
    // Every direct message is accepted — those said while dave was away
    // wait in his mailbox — and reaches dave once, in order.
    let accepted: Vec<String> = peers[ERIN]
        .chat_in("@dave")
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    let refused = peers[ERIN].refused_in("@dave");
    assert!(
        refused.is_empty(),
        "dave's nick is bound to him: {refused:?}"
    );
    assert_eq!(accepted.len(), PER_SENDER + DMS_AFTER);
    assert_eq!(accepted.first().map(String::as_str), Some("erin 0"));
    assert!(
        accepted.ends_with(
            &(0..DMS_AFTER)
                .map(|n| format!("erin after {n}"))
                .collect::<Vec<_>>()
        ),
        "{accepted:?}"
    );
    let received: Vec<String> = peers[DAVE]
        .chat_in("@erin")
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    assert_eq!(
        received, accepted,
        "dave lost, duplicated or reordered a direct message"
    );

    for peer in &peers {
        let saw_outage = peer
            .app
            .buffers
            .iter()
            .any(|b| b.lines.iter().any(|l| l.text.starts_with("Disconnected")));
        let rejoined = peer
            .app
            .buffers
            .iter()
            .any(|b| b.lines.iter().any(|l| l.text.starts_with("Reconnected")));
        assert!(
            saw_outage && rejoined,
            "{} never noticed the crash",
            peer.nick
        );
        let chat = peer.chat();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        let mut next: HashMap<&str, usize> = HashMap::new();
        for (text, _) in &chat {
            *counts.entry(text.as_str()).or_default() += 1;
            let (sender, n) = text.split_once(' ').unwrap();
            let n: usize = n.parse().unwrap();
            let expected = next.entry(sender).or_default();
            assert_eq!(
                n,
                *expected,
                "{}: {sender}'s messages out of order or missing at {n}; around it: {:?}",
                peer.nick,
                chat.iter()
                    .enumerate()
                    .filter(|(_, (t, _))| t.starts_with(sender))
                    .skip(n.saturating_sub(3))
                    .take(6)
                    .chain(
                        chat.iter()
                            .enumerate()
                            .filter(|(_, (t, _))| *t == format!("{sender} {}", *expected))
                    )
                    .collect::<Vec<_>>()
            );
            *expected += 1;
        }
        assert_eq!(chat.len(), total, "{}: {} lines", peer.nick, chat.len());
        let duplicated: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
        assert!(
            duplicated.is_empty(),
            "{} saw duplicates: {duplicated:?}",
            peer.nick
        );
    }

    // And the store has every message acknowledged before the kill.
    let (mut auditor, _) = huddle_testkit::Client::connect(addr, "auditor").await;
    let stored: Vec<String> = auditor
        .whole_history("#load")
        .await
        .iter()
        .map(|m| m.text.to_string())
        .collect();
    for text in &acked_before_kill {
        assert!(
            stored.contains(text),
            "{text:?} was acknowledged before the kill but is not stored"
        );
    }
    assert_eq!(
        stored.len(),
        total,
        "the store holds duplicates or misses messages"
    );

    for peer in peers {
        peer.net.shutdown("done").await;
    }
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_stream_recovers_without_loss_or_duplicates() {
    let data = tempfile::tempdir().unwrap();
    let addr = free_loopback_addr();
    let mut server = start_server(addr, data.path()).await;
    let (proxy, cut) = cutting_proxy(addr).await;
    let mut peers = vec![Peer::new("alice", proxy), Peer::new("bob", addr)];
    pump_until(&mut peers, Duration::from_secs(15), |peers| {
        peers.iter().all(Peer::joined)
    })
    .await;
    const COUNT: usize = 100;
    for n in 0..COUNT {
        peers[0].type_line(&format!("alice {n}"));
        // Direct messages to alice while her connection is cut: those the
        // server accepted must reach her once each; the rest are refused.
        peers[1].type_line(&format!("/msg alice dm {n}"));
        for peer in peers.iter_mut() {
            peer.pump();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        if n == 30 {
            cut.send_modify(|cuts| *cuts += 1);
        }
    }
    // Once alice is back, direct messages to her are accepted again.
    pump_until(&mut peers, Duration::from_secs(30), |peers| {
        let reconnected = peers[0]
            .app
            .buffers
            .iter()
            .any(|b| b.lines.iter().any(|l| l.text.starts_with("Reconnected")));
        reconnected && peers[0].joined()
    })
    .await;
    const AFTER: usize = 10;
    for n in 0..AFTER {
        peers[1].type_line(&format!("/msg alice dm after {n}"));
    }
    pump_until(&mut peers, Duration::from_secs(30), |peers| {
        let dms_answered = peers[1]
            .chat_in("@alice")
            .iter()
            .all(|(_, pending)| !pending);
        dms_answered
            && peers
                .iter()
                .all(|p| p.chat().len() >= COUNT && p.chat().iter().all(|(_, pending)| !pending))
    })
    .await;
    let accepted: Vec<String> = peers[1]
        .chat_in("@alice")
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    let refused = peers[1].refused_in("@alice");
    assert_eq!(accepted.len() + refused.len(), COUNT + AFTER, "{refused:?}");
    assert!(
        accepted.len() >= 25 + AFTER,
        "only {} accepted: {accepted:?}",
        accepted.len()
    );
    let received: Vec<String> = peers[0]
        .chat_in("@bob")
        .into_iter()
        .map(|(text, _)| text)
        .collect();
    assert_eq!(
        received, accepted,
        "alice lost or duplicated a direct message across the cut"
    );
    assert!(
        peers[0]
            .app
            .buffers
            .iter()
            .any(|b| b.lines.iter().any(|l| l.text.starts_with("Disconnected"))),
        "the cut was not noticed"
    );
    for peer in &peers {
        let texts: Vec<String> = peer.chat().into_iter().map(|(text, _)| text).collect();
        let expected: Vec<String> = (0..COUNT).map(|n| format!("alice {n}")).collect();
        assert_eq!(
            texts, expected,
            "{} lost, duplicated or reordered a message",
            peer.nick
        );
    }
    for peer in peers {
        peer.net.shutdown("done").await;
    }
    server.kill();
}

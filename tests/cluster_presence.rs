//! Cluster mode end to end, who is where: a nick raced from every node
//! has one winner; members, topics and departures (a node's death too)
//! are seen on every node; a file offer reaching other nodes is refused;
//! IRC users hold their nicks cluster-wide; a nick stays bound to its
//! key on every node after its holder leaves; wrong room passwords are
//! counted against an address on every node. Real nats-server, real nodes
//! (`cluster_kit.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

#[allow(dead_code)] // Shared by the cluster tests; not all of it is used here.
mod cluster_kit;
#[allow(dead_code)] // Restarting NATS is for the messages tests.
mod nats;
#[allow(dead_code)] // The durability tests' harness; not all of it is used here.
mod tui_peer;

use std::time::Duration;

use cluster_kit::{Cluster, NODES, irc_register, members_become, quit_seen, seen_or_next};
use huddle_protocol::{ErrorCode, ServerMessage};

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
    seen_or_next(&mut bob, &seen, joined).await;

    // Away on node 1 is seen on node 0.
    bob.send(huddle_protocol::ClientMessage::SetAway {
        message: huddle_protocol::ShortText::new("lunch").unwrap(),
    })
    .await;
    alice
        .recv_until(|m| {
            matches!(m, ServerMessage::Presence(p) if p.nick.as_str() == "bob"
                && matches!(&p.event, huddle_protocol::PresenceEvent::Away { message }
                    if message.as_str() == "lunch"))
        })
        .await;
    // A direct message to bob from node 0: his node answers, once, that
    // he is away.
    for text in ["hi", "there?"] {
        alice
            .send(huddle_protocol::ClientMessage::Direct {
                to: huddle_protocol::Nick::new("bob").unwrap(),
                id: huddle_protocol::ClientMsgId::random(),
                kind: huddle_protocol::MessageKind::Normal,
                text: huddle_protocol::ChatText::new(text).unwrap(),
            })
            .await;
    }
    let notice = alice
        .recv_until(|m| matches!(m, ServerMessage::Notice { .. }))
        .await;
    assert!(
        matches!(&notice, ServerMessage::Notice { text } if text.as_str() == "bob is away: lunch"),
        "{notice:?}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = alice.sync().await;
    assert!(
        !later
            .iter()
            .any(|m| matches!(m, ServerMessage::Notice { .. })),
        "told twice: {later:?}"
    );

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
    assert!(quit_seen(&seen, "bob"), "no quit for bob: {seen:?}");
    drop(bob);
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
    let free = cluster_kit::eventually(Duration::from_secs(5), || async {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nick_stays_bound_to_its_key_on_every_node_after_its_holder_leaves() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let alice_key = huddle_protocol::ClientId::random();
    let alice = huddle_testkit::Client::connect_as(cluster.addrs[0], "alice", alice_key).await;
    drop(alice);
    // Another key on another node: in use until node 0 lets go, then bound.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, answer) = huddle_testkit::Client::handshake(cluster.addrs[1], "alice").await;
        match &answer {
            ServerMessage::Reject(r) if r.code == ErrorCode::NickBound => break,
            ServerMessage::Reject(r) if r.code == ErrorCode::NickInUse => {}
            other => panic!("alice's nick went to another key: {other:?}"),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still in use: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Nor can a keyless IRC user take it, on any node's gateway.
    let (answer, _) = irc_register(cluster.irc[2], "alice").await;
    assert!(
        answer.contains(" 433 ") && answer.contains("belongs"),
        "{answer}"
    );
    // Her own key takes it back anywhere.
    let _alice = huddle_testkit::Client::connect_as(cluster.addrs[2], "alice", alice_key).await;
}

/// `client` asks to join `#vault` with `password`: the answer.
async fn join_vault(client: &mut huddle_testkit::Client, password: Option<&str>) -> ServerMessage {
    client
        .send(huddle_protocol::ClientMessage::Join {
            room: huddle_testkit::room("#vault"),
            password: password.map(|p| huddle_protocol::ShortText::new(p).unwrap()),
        })
        .await;
    client
        .recv_until(|m| matches!(m, ServerMessage::Joined { .. } | ServerMessage::Error(_)))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_password_set_on_one_node_is_asked_on_every_node() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let (mut alice, _) = huddle_testkit::Client::connect(cluster.addrs[0], "alice").await;
    let answer = join_vault(&mut alice, Some("hunter2")).await;
    assert!(matches!(answer, ServerMessage::Joined { .. }), "{answer:?}");
    for node in 1..NODES {
        let nick = format!("guest{node}");
        let (mut guest, _) = huddle_testkit::Client::connect(cluster.addrs[node], &nick).await;
        // Shared within moments; until then a join could find no password.
        let tries = std::sync::atomic::AtomicUsize::new(0);
        let refused = cluster_kit::eventually(Duration::from_secs(5), || async {
            let n = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let probe = format!("p{n}{nick}");
            let (mut probe, _) = huddle_testkit::Client::connect(cluster.addrs[node], &probe).await;
            matches!(join_vault(&mut probe, Some("wrong")).await,
                ServerMessage::Error(e) if e.code == ErrorCode::BadPassword)
        })
        .await;
        assert!(refused, "node {node} let a wrong password in");
        let answer = join_vault(&mut guest, None).await;
        assert!(
            matches!(&answer, ServerMessage::Error(e) if e.code == ErrorCode::BadPassword),
            "{answer:?}"
        );
        // (Every node counts these wrong guesses against 127.0.0.1: past
        // the free ones, even the right password waits a second.)
        let joined = cluster_kit::eventually(Duration::from_secs(5), || async {
            let n = tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let nick = format!("m{n}{node}");
            let (mut member, _) = huddle_testkit::Client::connect(cluster.addrs[node], &nick).await;
            matches!(
                join_vault(&mut member, Some("hunter2")).await,
                ServerMessage::Joined { .. }
            )
        })
        .await;
        assert!(joined, "node {node} refused the right password");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_room_passwords_are_counted_across_the_cluster() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let (mut owner, _) = huddle_testkit::Client::connect(cluster.addrs[0], "owner").await;
    let answer = join_vault(&mut owner, Some("hunter2")).await;
    assert!(matches!(answer, ServerMessage::Joined { .. }), "{answer:?}");
    tokio::time::sleep(Duration::from_secs(1)).await; // The password reaches every node.
    // The free wrong guesses, all through node 1...
    let (mut mallory, _) = huddle_testkit::Client::connect(cluster.addrs[1], "mallory").await;
    for guess in 0..5 {
        let answer = join_vault(&mut mallory, Some(&format!("guess{guess}"))).await;
        assert!(
            matches!(&answer, ServerMessage::Error(e) if e.code == ErrorCode::BadPassword
                && !e.text.contains("too many")),
            "{answer:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // The nodes hear of them.
    // ...leave none for a fresh connection from the same address on node 2.
    let (mut accomplice, _) = huddle_testkit::Client::connect(cluster.addrs[2], "accomplice").await;
    let answer = join_vault(&mut accomplice, Some("guess5")).await;
    assert!(
        matches!(&answer, ServerMessage::Error(e) if e.code == ErrorCode::BadPassword
            && e.text.contains("too many wrong passwords")),
        "{answer:?}"
    );
}

/// `client` asks to be called `nick`: the answer.
async fn change_nick(client: &mut huddle_testkit::Client, nick: &str) -> ServerMessage {
    client
        .send(huddle_protocol::ClientMessage::ChangeNick {
            nick: huddle_protocol::Nick::new(nick).unwrap(),
        })
        .await;
    let answered = |m: &ServerMessage| {
        matches!(
            m,
            ServerMessage::Error(_) | ServerMessage::NickChanged { .. }
        )
    };
    client.recv_until(answered).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nick_change_is_claimed_across_the_cluster_and_seen_everywhere() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let mut bob = huddle_testkit::Client::joined(cluster.addrs[1], "bob", &["#hall"]).await;
    let mut alice = huddle_testkit::Client::joined(cluster.addrs[0], "alice", &["#hall"]).await;
    let (_carol, _) = huddle_testkit::Client::connect(cluster.addrs[2], "carol").await;
    members_become(&mut bob, &["alice", "bob"], Duration::from_secs(5)).await;
    // carol holds "carol" on node 2: alice cannot take it on node 0.
    let answer = change_nick(&mut alice, "carol").await;
    assert!(
        matches!(&answer, ServerMessage::Error(e) if e.code == ErrorCode::NickInUse),
        "{answer:?}"
    );
    let answer = change_nick(&mut alice, "alicia").await;
    assert!(
        matches!(answer, ServerMessage::NickChanged { .. }),
        "{answer:?}"
    );
    // bob, on node 1, sees the rename and the new member list.
    let seen = members_become(&mut bob, &["alicia", "bob"], Duration::from_secs(5)).await;
    let renamed = |m: &ServerMessage| {
        matches!(m, ServerMessage::Presence(p) if p.nick.as_str() == "alice"
            && matches!(&p.event, huddle_protocol::PresenceEvent::Renamed { new_nick }
                if new_nick.as_str() == "alicia"))
    };
    seen_or_next(&mut bob, &seen, renamed).await;
    // "alicia" is held cluster-wide now; "alice" is no longer in use but
    // stays bound to her key, as on one server.
    let (_, answer) = huddle_testkit::Client::handshake(cluster.addrs[2], "alicia").await;
    assert!(
        matches!(&answer, ServerMessage::Reject(r) if r.code == ErrorCode::NickInUse),
        "{answer:?}"
    );
    let (_, answer) = huddle_testkit::Client::handshake(cluster.addrs[2], "alice").await;
    assert!(
        matches!(&answer, ServerMessage::Reject(r) if r.code == ErrorCode::NickBound),
        "{answer:?}"
    );
}

/// The fingerprint of the certificate the server at `addr` presents.
async fn presented_fingerprint(addr: std::net::SocketAddr) -> String {
    let stream = huddle_testkit::open(addr).await;
    let certificates = stream.get_ref().1.peer_certificates().unwrap();
    huddle_protocol::Fingerprint::of_certificate(&certificates[0]).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_presents_the_fingerprint_the_cluster_prints() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let output = std::process::Command::new(huddle_e2e::workspace_binary("huddle-server"))
        .args(["--cluster", &cluster.nats.url(), "--fingerprint"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let printed = printed.lines().next().unwrap().to_owned();
    assert!(printed.starts_with("SHA256:"), "{printed}");
    for addr in &cluster.addrs {
        assert_eq!(presented_fingerprint(*addr).await, printed, "{addr}");
    }
}

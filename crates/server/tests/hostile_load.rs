//! Hostile clients under load: a flood is told to slow down and then
//! dropped, a reader that never reads is dropped without holding anyone
//! up, and connections are limited per address and in all. (Malformed
//! input: `hostile.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::time::Duration;

use common::{Client, codes, start, unlimited};
use futures_util::SinkExt;
use huddle_protocol::{ClientMessage, ErrorCode, ServerMessage};
use huddle_server::ServerConfig;

#[tokio::test]
async fn a_flood_is_told_to_slow_down_then_dropped() {
    let mut config = ServerConfig::loopback();
    config.limits.rate_per_second = 20;
    config.limits.rate_burst = 30;
    let server = start(config).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    let mut flooder = Client::joined(server.addr, "flooder", &["#lan"]).await;
    bob.sync().await;
    for n in 0..200 {
        if flooder
            .framed
            .send(common::say("#lan", &format!("spam {n}")))
            .await
            .is_err()
        {
            break;
        }
    }
    let seen = flooder.until_closed().await;
    let codes = codes(&seen);
    assert!(codes.contains(&ErrorCode::RateLimited), "{codes:?}");
    assert_eq!(codes.last(), Some(&ErrorCode::Flooding));
    let acks = seen
        .iter()
        .filter(|m| matches!(m, ServerMessage::Ack { .. }))
        .count();
    // Bob got exactly the accepted messages, in order, then the quit.
    for n in 0..acks {
        assert_eq!(bob.next_chat().await, format!("spam {n}"));
    }
    let ServerMessage::Presence(quit) = bob.recv().await else {
        panic!()
    };
    assert_eq!(
        quit.event,
        huddle_protocol::PresenceEvent::Quit {
            reason: huddle_protocol::ShortText::new("flooding").unwrap()
        }
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_is_dropped_and_nobody_else_waits() {
    let mut config = unlimited();
    config.outbound_max_frames = 1024;
    config.outbound_max_bytes = 1024 * 1024;
    let server = start(config).await;
    let mut alice = Client::joined(server.addr, "alice", &["#big"]).await;
    let mut bob = Client::joined(server.addr, "bob", &["#big"]).await;

    // The slow client asks for a tiny receive buffer and then never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(server.addr).await.unwrap();
    let mut slow = Client {
        nick: "slow".into(),
        framed: tokio_util::codec::Framed::new(common::tls_over(stream).await, Default::default()),
    };
    slow.greet().await;
    assert!(matches!(slow.recv().await, ServerMessage::Welcome(_)));
    slow.join("#big").await;
    alice.sync().await;
    bob.sync().await;

    let text = "x".repeat(4000);
    const COUNT: usize = 5000;
    let delivered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let delivered_to_bob = delivered.clone();
    let reader = tokio::spawn(async move {
        let mut quit_seen = false;
        for _ in 0..COUNT {
            loop {
                match bob.recv().await {
                    ServerMessage::Chat(chat) => {
                        assert_eq!(chat.text.len(), 4000);
                        delivered_to_bob.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                    ServerMessage::Presence(p) => {
                        assert_eq!(p.nick.as_str(), "slow");
                        quit_seen = true;
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        if !quit_seen {
            let ServerMessage::Presence(p) = bob.recv().await else {
                panic!()
            };
            assert_eq!(
                p.event,
                huddle_protocol::PresenceEvent::Quit {
                    reason: huddle_protocol::ShortText::new("slow consumer").unwrap()
                }
            );
        }
    });
    // Alice reads her acks on the side, so she is not a slow reader herself.
    let (mut sink, mut acks) = futures_util::StreamExt::split(alice.framed);
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let acked_by_reader = acked.clone();
    let ack_reader = tokio::spawn(async move {
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        while acked_by_reader.load(relaxed) < COUNT {
            match futures_util::StreamExt::next(&mut acks).await {
                Some(Ok(ServerMessage::Ack { .. })) => {
                    acked_by_reader.fetch_add(1, relaxed);
                }
                Some(Ok(_)) => {}
                other => panic!("alice: {other:?}"),
            }
        }
    });
    // Alice keeps at most 100 messages ahead of bob and of her own reader
    // (she gets her echoes too): both are fair readers, however loaded the
    // machine; only the silent client falls behind.
    let behind = |n: usize| {
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        n - delivered.load(relaxed).min(acked.load(relaxed))
    };
    for n in 0..COUNT {
        while behind(n) >= 100 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        sink.send(common::say("#big", &text)).await.unwrap();
    }
    reader.await.unwrap();
    ack_reader.await.unwrap();
    // The slow client, reading at last, finds the error (if its socket took
    // it) and the end of the stream well before all 20 MB.
    let seen = slow.until_closed().await;
    let chats = seen
        .iter()
        .filter(|m| matches!(m, ServerMessage::Chat(_)))
        .count();
    assert!(
        chats < COUNT / 2,
        "the slow client got {chats} messages: not dropped early"
    );
    server.stop().await;
}

#[tokio::test]
async fn connection_limits_per_address_and_in_total() {
    let mut config = unlimited();
    config.max_clients_per_ip = 2;
    let server = start(config).await;
    let _a = Client::connect(server.addr, "a").await;
    let _b = Client::connect(server.addr, "b").await;
    let (_, answer) = Client::handshake(server.addr, "c").await;
    let ServerMessage::Reject(reject) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(reject.code, ErrorCode::TooManyConnectionsFromAddress);
    server.stop().await;

    let mut config = unlimited();
    config.max_clients = 1;
    let server = start(config).await;
    let (mut a, _) = Client::connect(server.addr, "a").await;
    let (_, answer) = Client::handshake(server.addr, "b").await;
    let ServerMessage::Reject(reject) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(reject.code, ErrorCode::ServerFull);
    // A slot frees when a client leaves.
    a.send(ClientMessage::Quit {
        reason: Default::default(),
    })
    .await;
    a.until_closed().await;
    let mut admitted = false;
    for _ in 0..50 {
        if let (_, ServerMessage::Welcome(_)) = Client::handshake(server.addr, "b").await {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "the slot was never released");
    server.stop().await;
}

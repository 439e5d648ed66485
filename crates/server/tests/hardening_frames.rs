//! What a hostile user on the LAN could do to a default server with
//! frames and transfers, over real sockets: unfinished frames (a deadline
//! each, one memory budget for all), resends recognised however much
//! others said meanwhile, stalled transfers ended for everyone. (Rooms and
//! passwords: `hardening.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::time::{Duration, Instant};

use common::{Client, room, start};
use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{ClientMessage, ErrorCode, ServerMessage, ShortText};
use huddle_server::ServerConfig;

/// Writes a frame header announcing `len` bytes, then `sent` of them.
async fn begin_frame(stream: &mut common::Stream, len: u32, sent: usize) {
    use tokio::io::AsyncWriteExt;
    stream.write_all(&len.to_be_bytes()).await.unwrap();
    stream.write_all(&vec![0u8; sent]).await.unwrap();
}

#[tokio::test]
async fn a_frame_trickling_in_is_cut_off_at_its_deadline_and_others_carry_on() {
    use tokio::io::AsyncWriteExt;
    let config = ServerConfig {
        frame_deadline: Duration::from_millis(600),
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    let mut bystander = Client::joined(server.addr, "bystander", &["#lan"]).await;
    let (mut slowpoke, _) = Client::connect(server.addr, "slowpoke").await;
    begin_frame(slowpoke.framed.get_mut(), 1000, 10).await;
    // One byte every 100 ms: never idle long enough for a ping timeout,
    // never finishing the frame.
    let started = Instant::now();
    let bye = loop {
        assert!(started.elapsed() < Duration::from_secs(5), "never cut off");
        let _ = slowpoke.framed.get_mut().write_all(b"x").await;
        match tokio::time::timeout(Duration::from_millis(100), slowpoke.framed.next()).await {
            Ok(Some(Ok(ServerMessage::Bye { code, reason }))) => break (code, reason),
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(other) => panic!("closed without a word: {other:?}"),
        }
    };
    assert_eq!(bye.0, ErrorCode::MalformedMessage);
    assert!(bye.1.contains("within"), "{}", bye.1);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(2),
        "{took:?}"
    );
    bystander.say("#lan", "still here").await;
    assert!(matches!(bystander.recv().await, ServerMessage::Ack { .. }));
    server.stop().await;
}

#[tokio::test]
async fn unfinished_frames_share_one_memory_budget() {
    let config = ServerConfig {
        partial_frame_budget: 256 * 1024,
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    let mut bystander = Client::joined(server.addr, "bystander", &["#lan"]).await;
    // Eight strangers each start a 1 MiB frame and send 100 KiB of it: the
    // budget holds two or three of them; the others are dropped at once
    // (closed, or reset since the server left their bytes unread).
    let mut strangers = Vec::new();
    for n in 0..8 {
        let (stranger, _) = Client::connect(server.addr, &format!("s{n}")).await;
        strangers.push(stranger);
    }
    for stranger in &mut strangers {
        begin_frame(stranger.framed.get_mut(), 1 << 20, 100 * 1024).await;
    }
    let mut dropped = 0;
    for stranger in &mut strangers {
        match tokio::time::timeout(Duration::from_secs(2), stranger.framed.next()).await {
            Ok(None | Some(Err(_))) => dropped += 1,
            Ok(Some(Ok(ServerMessage::Bye { reason, .. }))) => {
                assert!(reason.contains("unfinished frames"), "{reason}");
                dropped += 1;
            }
            Ok(Some(Ok(other))) => panic!("{other:?}"),
            Err(_) => {} // Held, within the budget.
        }
    }
    assert!((5..8).contains(&dropped), "{dropped} of 8 dropped");
    // Newcomers still get in: a handshake never counts against the budget.
    let (_newcomer, _) = Client::connect(server.addr, "newcomer").await;
    bystander.say("#lan", "still here").await;
    assert!(matches!(bystander.recv().await, ServerMessage::Ack { .. }));
    server.stop().await;
}

#[tokio::test]
async fn a_resend_is_recognised_after_100_000_messages_from_others() {
    let config = ServerConfig {
        rate_limit: false,
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    let mut alice = Client::joined(server.addr, "alice", &["#a"]).await;
    let mut carol = Client::joined(server.addr, "carol", &["#a"]).await;
    let mut bob = Client::joined(server.addr, "bob", &["#b"]).await;
    let id = huddle_protocol::ClientMsgId::random();
    let say = || ClientMessage::Say {
        room: room("#a"),
        id,
        kind: huddle_protocol::MessageKind::Normal,
        text: huddle_protocol::ChatText::new("once").unwrap(),
    };
    alice.send(say()).await;
    let is_ack = |m: &ServerMessage| matches!(m, ServerMessage::Ack { .. });
    let ServerMessage::Ack { message_id, .. } = alice.recv_until(is_ack).await else {
        unreachable!()
    };
    assert_eq!(carol.next_chat().await, "once");
    // Bob sends 100,000 messages, pipelined, reading his acks as he goes.
    const OTHERS: usize = 100_000;
    let (mut sent, mut acked) = (0, 0);
    while acked < OTHERS {
        while sent < OTHERS && sent - acked < 1000 {
            bob.framed.feed(common::say("#b", "noise")).await.unwrap();
            sent += 1;
        }
        SinkExt::<ClientMessage>::flush(&mut bob.framed)
            .await
            .unwrap();
        if let ServerMessage::Ack { .. } = bob.recv().await {
            acked += 1;
        }
    }
    alice.send(say()).await;
    let ServerMessage::Ack {
        message_id: again, ..
    } = alice.recv_until(is_ack).await
    else {
        unreachable!()
    };
    assert_eq!(again, message_id, "the resend got a new id");
    assert!(
        carol.sync().await.is_empty(),
        "the resend was delivered again"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_transfer_that_stalls_is_ended_for_everyone() {
    let config = ServerConfig {
        transfer_stall_timeout: Duration::from_millis(500),
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    let (mut alice, _) = Client::connect(server.addr, "alice").await;
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    let transfer = huddle_protocol::TransferId::random();
    alice
        .send(ClientMessage::FileOffer(huddle_protocol::FileOffer {
            transfer,
            target: huddle_protocol::Target::Direct(huddle_protocol::Nick::new("bob").unwrap()),
            name: ShortText::new("big.iso").unwrap(),
            size: 1 << 30,
            sha256: [0; 32],
        }))
        .await;
    bob.recv_until(|m| matches!(m, ServerMessage::FileOffered { .. }))
        .await;
    // Bob accepts, answers pings, and never grants credit.
    bob.send(ClientMessage::FileAnswer {
        transfer,
        accept: true,
    })
    .await;
    let started = Instant::now();
    for client in [&mut alice, &mut bob] {
        let ServerMessage::FileCancelled { ended, reason, .. } = client
            .recv_until(|m| matches!(m, ServerMessage::FileCancelled { .. }))
            .await
        else {
            unreachable!()
        };
        assert!(ended && reason.contains("no progress"), "{reason}");
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    server.stop().await;
}

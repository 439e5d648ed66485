//! Who a client is: a `Hello` proves its key for this very connection, so
//! a captured one logs in nowhere; a nick stays with the key that last held
//! it. Over real sockets, against a default server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use common::{Client, hello_as, start_default};
use huddle_protocol::{ClientCodec, ClientId, ClientMessage, ErrorCode, ServerMessage};
use tokio_util::codec::Framed;

#[tokio::test]
async fn a_replayed_hello_cannot_log_in_or_read_a_mailbox() {
    let server = start_default().await;
    // Alice logs in; someone captures her Hello (as it was before TLS
    // encrypted it: the strongest capture there is).
    let alice_id = ClientId::random();
    let stream = common::open(server.addr).await;
    let captured = hello_as("alice", alice_id, &common::binding_of(&stream));
    let mut alice = Client {
        nick: "alice".into(),
        framed: Framed::new(stream, ClientCodec::new()),
    };
    alice.send(captured.clone()).await;
    assert!(matches!(alice.recv().await, ServerMessage::Welcome(_)));
    // Bob leaves her a direct message, and she goes offline.
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    bob.send(ClientMessage::Direct {
        to: huddle_protocol::Nick::new("alice").unwrap(),
        id: huddle_protocol::ClientMsgId::random(),
        kind: huddle_protocol::MessageKind::Normal,
        text: huddle_protocol::ChatText::new("for alice only").unwrap(),
    })
    .await;
    bob.sync().await;
    drop(alice);
    // The replay, on a connection of its own, under another nick too.
    for nick in ["alice", "mallory"] {
        let stream = common::open(server.addr).await;
        let mut replay = Client {
            nick: nick.into(),
            framed: Framed::new(stream, ClientCodec::new()),
        };
        let mut replayed = captured.clone();
        if let ClientMessage::Hello(hello) = &mut replayed {
            hello.nick = huddle_protocol::Nick::new(nick).unwrap();
        }
        replay.send(replayed).await;
        let ServerMessage::Reject(reject) = replay.recv().await else {
            panic!("a replayed Hello was accepted")
        };
        assert_eq!(reject.code, ErrorCode::BadIdentityProof);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_nick_stays_with_its_key_after_it_leaves() {
    let server = start_default().await;
    let alice_id = ClientId::random();
    let alice = Client::connect_as(server.addr, "alice", alice_id).await;
    drop(alice);
    // Another key cannot take it, even once she is gone...
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        let (_, answer) = Client::handshake(server.addr, "alice").await;
        let ServerMessage::Reject(reject) = answer else {
            panic!("another key took a bound nick: {answer:?}")
        };
        if reject.code == ErrorCode::NickBound {
            assert!(reject.text.contains("day"), "{}", reject.text);
            break;
        }
        // Still connected for a moment: in use, then bound.
        assert_eq!(reject.code, ErrorCode::NickInUse);
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // ...but her own key can.
    let again = Client::connect_as(server.addr, "alice", alice_id).await;
    drop(again);
    server.stop().await;
}

//! Chat semantics end to end over real sockets: a join, a relayed message
//! and a refused handshake. The rules themselves (membership, nicks, topics,
//! passwords, lists, paging, direct messages) are unit-tested on the hub
//! without sockets in `src/hub/tests.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use common::{Client, room, start_default};
use huddle_protocol::{
    ChatText, ClientMessage, ClientMsgId, ErrorCode, MessageKind, Nick, PresenceEvent,
    ServerMessage, ShortText,
};

fn nick(name: &str) -> Nick {
    Nick::new(name).unwrap()
}

#[tokio::test]
async fn join_announces_presence_and_returns_members_topic_and_history() {
    let server = start_default().await;
    let mut alice = Client::joined(server.addr, "alice", &["#lan"]).await;
    alice.say("#lan", "first").await;
    alice
        .send(ClientMessage::SetTopic {
            room: room("#lan"),
            topic: ShortText::new("lunch at 12").unwrap(),
        })
        .await;
    alice.sync().await;

    let (mut bob, _) = Client::connect(server.addr, "Bob").await;
    let ServerMessage::Joined {
        room: joined,
        topic,
        members,
        history,
    } = bob.join("#LAN").await
    else {
        panic!("not joined");
    };
    assert_eq!(
        joined.as_str(),
        "#lan",
        "the room keeps its creator's spelling"
    );
    assert_eq!(topic.as_str(), "lunch at 12");
    assert_eq!(members, vec![nick("alice"), nick("bob")]);
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].text.as_str(), "first");

    let ServerMessage::Presence(presence) = alice.recv().await else {
        panic!()
    };
    assert_eq!(
        (presence.nick.as_str(), presence.event),
        ("Bob", PresenceEvent::Joined)
    );
    server.stop().await;
}

#[tokio::test]
async fn messages_are_acked_to_the_sender_and_relayed_to_the_others() {
    let server = start_default().await;
    let mut alice = Client::joined(server.addr, "alice", &["#lan"]).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    alice.sync().await;
    let id = ClientMsgId::random();
    alice
        .send(ClientMessage::Say {
            room: room("#lan"),
            id,
            kind: MessageKind::Action,
            text: ChatText::new("waves").unwrap(),
        })
        .await;
    let ServerMessage::Ack {
        id: acked,
        message_id,
        ..
    } = alice.recv().await
    else {
        panic!()
    };
    assert_eq!(acked, id);
    let ServerMessage::Chat(chat) = bob.recv().await else {
        panic!()
    };
    assert_eq!(chat.id, message_id);
    assert_eq!(chat.kind, MessageKind::Action);
    assert_eq!(chat.from.as_str(), "alice");
    assert!(message_id.as_uuid().get_version_num() == 7);
    server.stop().await;
}

#[tokio::test]
async fn nicks_are_unique_case_insensitively() {
    let server = start_default().await;
    let (_alice, _) = Client::connect(server.addr, "Alice").await;
    let (_, answer) = Client::handshake(server.addr, "aLiCe").await;
    let ServerMessage::Reject(reject) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(reject.code, ErrorCode::NickInUse);
    assert!(reject.text.contains("aLiCe"), "{}", reject.text);

    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    bob.send(ClientMessage::ChangeNick {
        nick: nick("ALICE"),
    })
    .await;
    let ServerMessage::Error(report) = bob.recv().await else {
        panic!()
    };
    assert_eq!(report.code, ErrorCode::NickInUse);
    server.stop().await;
}

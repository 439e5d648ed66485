//! Chat semantics: join, part, nick, topic, direct messages, lists, and the
//! errors for collisions and unknown targets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use common::{Client, room, start_default};
use huddle_protocol::{
    ChatText, ClientMessage, ClientMsgId, ErrorCode, MessageKind, Nick, PresenceEvent,
    ServerMessage, ShortText, Target,
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
async fn part_tells_the_room_and_stops_delivery() {
    let server = start_default().await;
    let mut alice = Client::joined(server.addr, "alice", &["#lan"]).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    alice.sync().await;
    bob.send(ClientMessage::Part {
        room: room("#lan"),
        reason: ShortText::new("lunch").unwrap(),
    })
    .await;
    assert!(matches!(bob.recv().await, ServerMessage::Parted { .. }));
    let ServerMessage::Presence(presence) = alice.recv().await else {
        panic!()
    };
    assert_eq!(
        presence.event,
        PresenceEvent::Left {
            reason: ShortText::new("lunch").unwrap()
        }
    );
    alice.say("#lan", "anyone?").await;
    assert!(
        bob.sync().await.is_empty(),
        "bob still gets the room's messages"
    );
    // Saying something in a room one is not in is an error naming the room.
    bob.say("#lan", "hello?").await;
    let ServerMessage::Error(report) = bob.recv().await else {
        panic!()
    };
    assert_eq!(report.code, ErrorCode::NotInRoom);
    assert!(report.text.contains("#lan"));
    assert!(report.id.is_some());
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

#[tokio::test]
async fn a_nick_change_is_announced_in_every_room_and_frees_the_old_nick() {
    let server = start_default().await;
    let mut alice = Client::joined(server.addr, "alice", &["#a", "#b"]).await;
    let mut bob = Client::joined(server.addr, "bob", &["#a"]).await;
    let mut carol = Client::joined(server.addr, "carol", &["#b"]).await;
    alice.sync().await;
    alice
        .send(ClientMessage::ChangeNick {
            nick: nick("alicia"),
        })
        .await;
    let ServerMessage::NickChanged { old, new } = alice.recv().await else {
        panic!()
    };
    assert_eq!((old.as_str(), new.as_str()), ("alice", "alicia"));
    for watcher in [&mut bob, &mut carol] {
        let ServerMessage::Presence(presence) = watcher.recv().await else {
            panic!()
        };
        assert_eq!(presence.nick.as_str(), "alice");
        assert_eq!(
            presence.event,
            PresenceEvent::Renamed {
                new_nick: nick("alicia")
            }
        );
    }
    alice.say("#a", "renamed").await;
    let ServerMessage::Chat(chat) = bob.recv().await else {
        panic!()
    };
    assert_eq!(chat.from.as_str(), "alicia");
    let (_, welcome) = Client::connect(server.addr, "alice").await;
    assert_eq!(welcome.nick.as_str(), "alice");
    server.stop().await;
}

#[tokio::test]
async fn direct_messages_reach_one_user_and_unknown_nicks_are_named() {
    let server = start_default().await;
    let (mut alice, _) = Client::connect(server.addr, "alice").await;
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    let (mut carol, _) = Client::connect(server.addr, "carol").await;
    alice
        .send(ClientMessage::Direct {
            to: nick("BOB"),
            id: ClientMsgId::random(),
            kind: MessageKind::Normal,
            text: ChatText::new("psst").unwrap(),
        })
        .await;
    assert!(matches!(alice.recv().await, ServerMessage::Ack { .. }));
    let ServerMessage::Chat(chat) = bob.recv().await else {
        panic!()
    };
    assert_eq!(chat.target, Target::Direct(nick("bob")));
    assert_eq!(chat.text.as_str(), "psst");
    assert!(carol.sync().await.is_empty());

    alice
        .send(ClientMessage::Direct {
            to: nick("nobody"),
            id: ClientMsgId::random(),
            kind: MessageKind::Normal,
            text: ChatText::new("hi").unwrap(),
        })
        .await;
    let ServerMessage::Error(report) = alice.recv().await else {
        panic!()
    };
    assert_eq!(report.code, ErrorCode::NoSuchNick);
    assert!(report.text.contains("nobody"), "{}", report.text);
    server.stop().await;
}

#[tokio::test]
async fn room_and_member_lists() {
    let server = start_default().await;
    let mut alice = Client::joined(server.addr, "alice", &["#b", "#a"]).await;
    let _bob = Client::joined(server.addr, "bob", &["#a"]).await;
    alice.sync().await;
    alice
        .send(ClientMessage::SetTopic {
            room: room("#a"),
            topic: ShortText::new("apples").unwrap(),
        })
        .await;
    alice.send(ClientMessage::ListRooms).await;
    let ServerMessage::RoomList { rooms } = alice
        .recv_until(|m| matches!(m, ServerMessage::RoomList { .. }))
        .await
    else {
        panic!()
    };
    let summary: Vec<_> = rooms
        .iter()
        .map(|r| (r.name.as_str(), r.members, r.topic.as_str()))
        .collect();
    assert_eq!(summary, [("#a", 2, "apples"), ("#b", 1, "")]);

    alice
        .send(ClientMessage::ListMembers { room: room("#A") })
        .await;
    let ServerMessage::MemberList { members, .. } = alice.recv().await else {
        panic!()
    };
    assert_eq!(members, [nick("alice"), nick("bob")]);
    alice
        .send(ClientMessage::ListMembers {
            room: room("#nowhere"),
        })
        .await;
    let ServerMessage::Error(report) = alice.recv().await else {
        panic!()
    };
    assert_eq!(report.code, ErrorCode::NoSuchRoom);
    assert!(report.text.contains("#nowhere"));
    server.stop().await;
}

#[tokio::test]
async fn topic_changes_reach_every_member() {
    let server = start_default().await;
    let mut alice = Client::joined(server.addr, "alice", &["#lan"]).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    alice.sync().await;
    bob.send(ClientMessage::SetTopic {
        room: room("#lan"),
        topic: ShortText::new("deploy friday").unwrap(),
    })
    .await;
    for client in [&mut alice, &mut bob] {
        let ServerMessage::Topic { topic, by, .. } = client.recv().await else {
            panic!()
        };
        assert_eq!((topic.as_str(), by.as_str()), ("deploy friday", "bob"));
    }
    server.stop().await;
}

#[tokio::test]
async fn room_passwords_and_the_room_limit() {
    let mut config = huddle_server::ServerConfig::loopback();
    config.limits.max_rooms_per_client = 2;
    let server = common::start(config).await;
    let (mut alice, _) = Client::connect(server.addr, "alice").await;
    alice
        .send(ClientMessage::Join {
            room: room("#secret"),
            password: Some(ShortText::new("hunter2").unwrap()),
        })
        .await;
    assert!(matches!(alice.recv().await, ServerMessage::Joined { .. }));
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    bob.send(ClientMessage::Join {
        room: room("#secret"),
        password: Some(ShortText::new("guess").unwrap()),
    })
    .await;
    let ServerMessage::Error(report) = bob.recv().await else {
        panic!()
    };
    assert_eq!(report.code, ErrorCode::BadPassword);

    assert!(matches!(
        alice.join("#two").await,
        ServerMessage::Joined { .. }
    ));
    let ServerMessage::Error(report) = alice.join("#three").await else {
        panic!()
    };
    assert_eq!(report.code, ErrorCode::TooManyRooms);
    server.stop().await;
}

#[tokio::test]
async fn history_pages_go_back_and_forward() {
    let server = start_default().await;
    let mut alice = Client::joined(server.addr, "alice", &["#h"]).await;
    let mut ids = Vec::new();
    for n in 0..10 {
        alice.say("#h", &format!("m{n}")).await;
        let ServerMessage::Ack { message_id, .. } = alice.recv().await else {
            panic!()
        };
        ids.push(message_id);
    }
    alice
        .send(ClientMessage::FetchHistory {
            room: room("#h"),
            before: Some(ids[5]),
            after: None,
            limit: 3,
        })
        .await;
    let ServerMessage::HistoryPage { messages, more, .. } = alice.recv().await else {
        panic!()
    };
    let texts: Vec<_> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!((texts, more), (vec!["m2", "m3", "m4"], true));
    alice
        .send(ClientMessage::FetchHistory {
            room: room("#h"),
            before: None,
            after: Some(ids[7]),
            limit: 50,
        })
        .await;
    let ServerMessage::HistoryPage { messages, more, .. } = alice.recv().await else {
        panic!()
    };
    let texts: Vec<_> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!((texts, more), (vec!["m8", "m9"], false));
    server.stop().await;
}

//! The hub's chat semantics, tested as plain state: each peer's frames are
//! captured (`Outbound::capture`) and decoded, so no socket, task or sleep
//! is involved. `tests/semantics.rs` keeps a few of these end to end.

use huddle_protocol::{
    ChatText, ClientMsgId, ErrorCode, MessageId, MessageKind, PresenceEvent, ServerMessage,
    ShortText,
};

use super::{Refusal, Unlimited};
use crate::{
    outbound::Outbound,
    page::PageRequest,
    testkit::{Peer, connect, hub, nick, room, unregistered},
};

fn refusal_code(result: Result<impl std::fmt::Debug, Refusal>) -> ErrorCode {
    result.expect_err("expected a refusal").code
}

#[test]
fn join_announces_presence_and_returns_members_topic_and_history() {
    let hub = hub();
    let alice = connect(&hub, "alice");
    alice.join(&hub, "#lan");
    alice.say_acked(&hub, "#lan", "first");
    hub.set_topic(
        alice.caller(),
        &room("#lan"),
        ShortText::new("lunch at 12").unwrap(),
    )
    .unwrap();
    alice.take();

    let bob = connect(&hub, "Bob");
    let ServerMessage::Joined {
        room: joined,
        topic,
        members,
        history,
    } = bob.join(&hub, "#LAN")
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
    let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first"]);
    let ServerMessage::Presence(presence) = alice.only() else {
        panic!("alice was not told")
    };
    assert_eq!(
        (presence.nick.as_str(), presence.event),
        ("Bob", PresenceEvent::Joined)
    );
}

#[test]
fn a_message_is_acked_to_its_sender_and_relayed_once_to_each_other_member() {
    let hub = hub();
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|name| connect(&hub, name));
    for peer in [&alice, &bob] {
        peer.join(&hub, "#lan");
    }
    carol.join(&hub, "#elsewhere");
    alice.take();
    let id = ClientMsgId::random();
    hub.say(
        alice.caller(),
        &room("#lan"),
        id,
        MessageKind::Action,
        ChatText::new("waves").unwrap(),
    )
    .unwrap();
    let ServerMessage::Ack {
        id: acked,
        message_id,
        ..
    } = alice.only()
    else {
        panic!("no ack")
    };
    assert_eq!(acked, id);
    let ServerMessage::Chat(chat) = bob.only() else {
        panic!("not relayed")
    };
    assert_eq!(
        (chat.id, chat.kind, chat.from.as_str()),
        (message_id, MessageKind::Action, "alice")
    );
    assert_eq!(chat.client_msg_id, id);
    assert_eq!(message_id.as_uuid().get_version_num(), 7);
    assert!(carol.take().is_empty(), "nothing crosses into another room");
}

#[test]
fn a_resend_is_acked_with_the_original_id_and_not_relayed_again() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    alice.join(&hub, "#lan");
    bob.join(&hub, "#lan");
    alice.take();
    let id = ClientMsgId::random();
    let send = || {
        hub.say(
            alice.caller(),
            &room("#lan"),
            id,
            MessageKind::Normal,
            ChatText::new("once").unwrap(),
        )
    };
    send().unwrap();
    send().unwrap();
    let acks: Vec<MessageId> = alice
        .take()
        .into_iter()
        .map(|m| match m {
            ServerMessage::Ack { message_id, .. } => message_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(acks.len(), 2);
    assert_eq!(acks[0], acks[1], "the resend gets the original id");
    assert_eq!(bob.take().len(), 1, "delivered once");
}

#[test]
fn part_tells_the_room_and_stops_delivery() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    alice.join(&hub, "#lan");
    bob.join(&hub, "#lan");
    alice.take();
    hub.part(
        bob.caller(),
        &room("#lan"),
        &ShortText::new("lunch").unwrap(),
    )
    .unwrap();
    assert!(matches!(bob.only(), ServerMessage::Parted { .. }));
    let ServerMessage::Presence(presence) = alice.only() else {
        panic!()
    };
    let lunch = ShortText::new("lunch").unwrap();
    assert_eq!(presence.event, PresenceEvent::Left { reason: lunch });
    alice.say_acked(&hub, "#lan", "anyone?");
    assert!(bob.take().is_empty(), "bob still gets the room's messages");
    let refused = bob.say(&hub, "#lan", "hello?").unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotInRoom);
    assert!(refused.text.contains("#lan"), "{}", refused.text);
    assert_eq!(
        refusal_code(hub.part(bob.caller(), &room("#lan"), &ShortText::default())),
        ErrorCode::NotInRoom
    );
}

#[test]
fn nicks_are_unique_case_insensitively() {
    let hub = hub();
    let _alice = connect(&hub, "Alice");
    let twin = unregistered("aLiCe");
    let refused = hub.register(twin.caller()).unwrap_err();
    assert_eq!(refused.code, ErrorCode::NickInUse);
    assert!(refused.text.contains("aLiCe"), "{}", refused.text);
    let bob = connect(&hub, "bob");
    assert_eq!(
        refusal_code(hub.rename(bob.caller(), &nick("ALICE"), &[])),
        ErrorCode::NickInUse
    );
}

#[test]
fn a_nick_change_is_announced_in_every_room_and_frees_the_old_nick() {
    let hub = hub();
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|name| connect(&hub, name));
    alice.join(&hub, "#a");
    alice.join(&hub, "#b");
    bob.join(&hub, "#a");
    carol.join(&hub, "#b");
    alice.take();
    hub.rename(alice.caller(), &nick("alicia"), &[room("#a"), room("#b")])
        .unwrap();
    let ServerMessage::NickChanged { old, new } = alice.only() else {
        panic!()
    };
    assert_eq!((old.as_str(), new.as_str()), ("alice", "alicia"));
    for watcher in [&bob, &carol] {
        let ServerMessage::Presence(presence) = watcher.only() else {
            panic!()
        };
        assert_eq!(presence.nick.as_str(), "alice");
        let renamed = PresenceEvent::Renamed {
            new_nick: nick("alicia"),
        };
        assert_eq!(presence.event, renamed);
    }
    let alicia = Peer {
        nick: nick("alicia"),
        ..alice
    };
    alicia.say_acked(&hub, "#a", "renamed");
    let ServerMessage::Chat(chat) = bob.only() else {
        panic!()
    };
    assert_eq!(chat.from.as_str(), "alicia");
    // The old nick is no longer in use: bound to alice's key for a while,
    // so someone else is refused it and she may take it back.
    let refused = hub.register(unregistered("alice").caller()).unwrap_err();
    assert_eq!(refused.code, ErrorCode::NickBound);
    let back = Peer {
        client: alicia.client,
        ..unregistered("alice")
    };
    assert!(
        hub.register(back.caller()).is_ok(),
        "the old nick is free for its key"
    );
}

#[test]
fn room_and_member_lists() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    alice.join(&hub, "#b");
    alice.join(&hub, "#a");
    bob.join(&hub, "#a");
    hub.set_topic(
        alice.caller(),
        &room("#a"),
        ShortText::new("apples").unwrap(),
    )
    .unwrap();
    let summary: Vec<_> = hub
        .list_rooms(None, 10)
        .into_iter()
        .map(|r| (r.name.to_string(), r.members, r.topic.to_string()))
        .collect();
    let expected = [("#a", 2, "apples"), ("#b", 1, "")].map(|(n, m, t)| (n.into(), m, t.into()));
    assert_eq!(summary, expected);
    assert_eq!(
        hub.members(alice.conn, &room("#A")).unwrap(),
        [nick("alice"), nick("bob")]
    );
    let refused = hub.members(alice.conn, &room("#nowhere")).unwrap_err();
    assert_eq!(refused.code, ErrorCode::NoSuchRoom);
    assert!(refused.text.contains("#nowhere"));
}

#[test]
fn topic_changes_reach_every_member_and_need_membership() {
    let hub = hub();
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|name| connect(&hub, name));
    alice.join(&hub, "#lan");
    bob.join(&hub, "#lan");
    alice.take();
    let topic = ShortText::new("deploy friday").unwrap();
    hub.set_topic(bob.caller(), &room("#lan"), topic.clone())
        .unwrap();
    for peer in [&alice, &bob] {
        let ServerMessage::Topic { topic, by, .. } = peer.only() else {
            panic!()
        };
        assert_eq!((topic.as_str(), by.as_str()), ("deploy friday", "bob"));
    }
    assert_eq!(
        refusal_code(hub.set_topic(carol.caller(), &room("#lan"), topic)),
        ErrorCode::NotInRoom
    );
}

#[test]
fn history_pages_go_back_and_forward() {
    let hub = hub();
    let alice = connect(&hub, "alice");
    alice.join(&hub, "#h");
    let ids: Vec<MessageId> = (0..10)
        .map(|n| alice.say_acked(&hub, "#h", &format!("m{n}")))
        .collect();
    let page = |before, after, limit| {
        let request = PageRequest::from_wire(before, after, limit);
        match hub.history(alice.caller(), &room("#h"), request).unwrap() {
            ServerMessage::HistoryPage { messages, more, .. } => {
                let texts: Vec<String> = messages.iter().map(|m| m.text.to_string()).collect();
                (texts, more)
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        page(Some(ids[5]), None, 3),
        (vec!["m2".into(), "m3".into(), "m4".into()], true)
    );
    assert_eq!(
        page(None, Some(ids[7]), 50),
        (vec!["m8".into(), "m9".into()], false)
    );
    assert_eq!(
        page(Some(ids[1]), Some(ids[7]), 50).0,
        ["m8", "m9"],
        "after wins when both are given"
    );
    let outsider = connect(&hub, "bob");
    let request = PageRequest::from_wire(None, None, 5);
    assert_eq!(
        refusal_code(hub.history(outsider.caller(), &room("#h"), request)),
        ErrorCode::NotInRoom
    );
}

#[test]
fn a_member_too_slow_to_read_is_marked_and_the_others_carry_on() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    let (outbound, captured) = Outbound::capture_bounded(4, 1 << 20);
    let slow = Peer {
        outbound,
        captured,
        ..unregistered("slow")
    };
    hub.register(slow.caller()).unwrap();
    for peer in [&alice, &bob, &slow] {
        hub.join(peer.caller(), &room("#lan"), None, &mut Unlimited)
            .unwrap();
    }
    alice.take();
    bob.take();
    for n in 0..10 {
        alice.say_acked(&hub, "#lan", &format!("m{n}"));
    }
    assert!(slow.captured.is_slow());
    assert_eq!(bob.take().len(), 10, "bob got everything");
}

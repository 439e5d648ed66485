//! Direct messages in the hub: delivered to one user, refused for a nick
//! nobody holds, and kept in the mailbox of a bound nick's key while its
//! holder is offline (`offline.rs`).

use huddle_protocol::{ChatText, ClientMsgId, ErrorCode, MessageKind, ServerMessage, Target};

use crate::{
    page::PageRequest,
    testkit::{connect, hub, nick, reconnect, unregistered},
};

#[test]
fn direct_messages_reach_one_user_and_unknown_nicks_are_named() {
    let hub = hub();
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|name| connect(&hub, name));
    let psst = ChatText::new("psst").unwrap();
    hub.direct(
        alice.caller(),
        &nick("BOB"),
        ClientMsgId::random(),
        MessageKind::Normal,
        psst,
    )
    .unwrap();
    assert!(matches!(alice.only(), ServerMessage::Ack { .. }));
    let ServerMessage::Chat(chat) = bob.only() else {
        panic!()
    };
    assert_eq!(chat.target, Target::Direct(nick("bob")));
    assert_eq!(chat.text.as_str(), "psst");
    assert!(carol.take().is_empty());
    let hi = ChatText::new("hi").unwrap();
    let refused = hub
        .direct(
            alice.caller(),
            &nick("nobody"),
            ClientMsgId::random(),
            MessageKind::Normal,
            hi,
        )
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NoSuchNick);
    assert!(refused.text.contains("nobody"), "{}", refused.text);
}

#[test]
fn a_direct_message_to_a_bound_nick_offline_waits_in_its_mailbox() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    hub.quit(bob.conn, &bob.nick, &[], None);
    let send = |text: &str| {
        hub.direct(
            alice.caller(),
            &nick("Bob"),
            ClientMsgId::random(),
            MessageKind::Normal,
            ChatText::new(text).unwrap(),
        )
    };
    send("are you there?").unwrap();
    send("call me").unwrap();
    let told: Vec<String> = alice
        .take()
        .into_iter()
        .filter_map(|frame| match frame {
            ServerMessage::Notice { text } => Some(text.as_str().to_owned()),
            ServerMessage::Ack { .. } => None,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(told.len(), 1, "told once: {told:?}");
    assert!(told[0].contains("Bob is offline"), "{told:?}");
    // Bob comes back with his key: both wait in his mailbox, in order.
    let back = reconnect(&hub, &bob);
    let ServerMessage::DirectHistoryPage { messages, .. } =
        hub.direct_history(back.caller(), None, PageRequest::newest(10))
    else {
        panic!()
    };
    let texts: Vec<(&str, bool)> = messages
        .iter()
        .map(|e| (e.message.text.as_str(), e.outgoing))
        .collect();
    assert_eq!(texts, [("are you there?", false), ("call me", false)]);
    // Back online: he gets the next one live, and once he leaves again
    // alice is told again.
    send("hi").unwrap();
    assert!(matches!(back.only(), ServerMessage::Chat(_)));
    hub.quit(back.conn, &back.nick, &[], None);
    alice.take();
    send("bye").unwrap();
    assert!(
        alice
            .take()
            .iter()
            .any(|f| matches!(f, ServerMessage::Notice { .. })),
        "told again"
    );
    // Another key may not read it, nor take the nick meanwhile.
    let other = unregistered("bob");
    assert_eq!(
        hub.register(other.caller()).unwrap_err().code,
        ErrorCode::NickBound
    );
}

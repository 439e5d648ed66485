//! The update logic around connections and transfers: reconnecting with
//! the outbox, filling the gap, and file transfer lines.

use std::time::Duration;

use huddle_protocol::{
    ChatMessage, ChatText, ClientMessage, ClientMsgId, MessageId, MessageKind, ServerMessage,
    ShortText, Target,
};
use uuid::Uuid;

use super::{
    app::{ConnState, Effect, Event},
    buffer::LineKind,
    testkit::{
        chat, chat_lines, connected_app, last_text, nick, room, sent, server, type_line, welcome,
    },
};
use crate::net::NetEvent;

#[test]
fn messages_wait_while_reconnecting_and_go_out_again_with_the_same_ids() {
    let mut app = connected_app();
    server(
        &mut app,
        chat("bob", Target::Room(room("#lan")), "before the outage"),
    );
    let newest = app.current_buffer().newest_id().unwrap();
    let effects = type_line(&mut app, "sent but never acked");
    let [ClientMessage::Say { id: first, .. }] = sent(&effects)[..] else {
        panic!()
    };
    let first = *first;
    app.update(Event::Net(NetEvent::Disconnected {
        reason: "reset".into(),
        retry_in: Duration::from_secs(2),
    }));
    assert!(matches!(app.conn, ConnState::Reconnecting { .. }));
    assert!(
        type_line(&mut app, "typed during the outage").is_empty(),
        "nothing goes out while disconnected"
    );

    let effects = app.update(welcome());
    let sent = sent(&effects);
    assert_eq!(
        sent[0],
        &ClientMessage::Join {
            room: room("#lan"),
            password: None
        }
    );
    assert!(
        matches!(sent[1], ClientMessage::FetchHistory { after: Some(after), before: None, .. } if *after == newest),
        "{sent:?}"
    );
    assert!(
        matches!(
            sent[2],
            ClientMessage::FetchDirectHistory {
                with: None,
                after: None,
                ..
            }
        ),
        "no direct message seen yet: the newest page; {sent:?}"
    );
    let resent: Vec<(&ClientMsgId, &str)> = sent[3..]
        .iter()
        .map(|m| match m {
            ClientMessage::Say { id, text, .. } => (id, text.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(resent.len(), 2);
    assert_eq!(resent[0], (&first, "sent but never acked"));
    assert_eq!(resent[1].1, "typed during the outage");
    assert!(
        app.current_buffer()
            .lines
            .iter()
            .any(|l| l.text == "Reconnected; rejoining 1 room(s)")
    );
}

#[test]
fn history_after_a_reconnect_fills_the_gap_once() {
    let mut app = connected_app();
    let effects = type_line(&mut app, "mine");
    let [ClientMessage::Say { id, .. }] = sent(&effects)[..] else {
        panic!()
    };
    let id = *id;
    app.update(Event::Net(NetEvent::Disconnected {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    }));
    app.update(welcome());
    // The server committed "mine" before the outage; history brings it back
    // with its id before the resend's ack does.
    let mine = ChatMessage {
        id: MessageId::from_uuid(Uuid::now_v7()),
        target: Target::Room(room("#lan")),
        from: nick("alice"),
        kind: MessageKind::Normal,
        text: ChatText::new("mine").unwrap(),
        timestamp: 1,
        client_msg_id: id,
    };
    let missed = chat(
        "bob",
        Target::Room(room("#lan")),
        "said while you were away",
    );
    let ServerMessage::Chat(missed_message) = missed.clone() else {
        unreachable!()
    };
    server(
        &mut app,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: vec![mine.clone(), missed_message.clone()],
            more: false,
        },
    );
    server(&mut app, missed);
    server(
        &mut app,
        ServerMessage::Ack {
            id,
            message_id: mine.id,
            timestamp: 1,
        },
    );
    let texts: Vec<&str> = chat_lines(app.current_buffer())
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(texts, ["mine", "said while you were away"]);
    assert_eq!(
        app.core.unacknowledged(),
        0,
        "its copy in history settled it"
    );
}

#[test]
fn file_transfers_show_as_one_line_each_updated_in_place() {
    use crate::transfer::{Direction, TransferEvent};
    let mut app = connected_app();
    let effects = type_line(&mut app, "/send /tmp/holiday.jpg");
    assert_eq!(
        effects,
        [Effect::SendFile {
            path: "/tmp/holiday.jpg".into(),
            target: Target::Room(room("#lan"))
        }]
    );
    assert!(type_line(&mut app, "/accept").is_empty());
    assert_eq!(last_text(&app), "No file offer is waiting");
    assert!(type_line(&mut app, "/cancel 3f2a").is_empty());
    assert_eq!(last_text(&app), "No transfer to cancel");

    // The server's offer frame goes to the transfer engine; /accept answers
    // it through the core.
    let downloads = tempfile::tempdir().unwrap();
    app.transfers = crate::transfer::Transfers::new(
        downloads.path().to_owned(),
        crate::transfer::AcceptPolicy::default(),
    );
    let id = huddle_protocol::TransferId::random();
    server(
        &mut app,
        ServerMessage::FileOffered {
            from: nick("bob"),
            offer: huddle_protocol::FileOffer {
                transfer: id,
                target: Target::Room(room("#lan")),
                name: ShortText::new("slides.pdf").unwrap(),
                size: 3 * 1024 * 1024,
                sha256: [0; 32],
            },
        },
    );
    let offer = last_text(&app).to_owned();
    assert!(
        offer.starts_with("bob offers slides.pdf (3.0 MiB) to #lan: /accept "),
        "{offer}"
    );
    let effects = type_line(&mut app, "/accept");
    assert!(
        matches!(sent(&effects)[..], [ClientMessage::FileAnswer { transfer, accept: true }] if *transfer == id),
        "{effects:?}"
    );
    let lines = app.current_buffer().lines.len();
    for done in [1u64, 2, 3] {
        app.on_transfer(TransferEvent::Progress {
            id,
            direction: Direction::Receiving,
            name: "slides.pdf".into(),
            done: done * 1024 * 1024,
            size: 3 * 1024 * 1024,
            bytes_per_second: 1024.0 * 1024.0,
        });
    }
    assert_eq!(
        app.current_buffer().lines.len(),
        lines,
        "progress adds no lines"
    );
    assert!(
        last_text(&app).contains("[####################] 3.0 MiB/3.0 MiB"),
        "{}",
        last_text(&app)
    );
    app.on_transfer(TransferEvent::Completed {
        id,
        direction: Direction::Receiving,
        name: "slides.pdf".into(),
        saved: Some("/home/a/Downloads/slides.pdf".into()),
    });
    assert_eq!(
        last_text(&app),
        "received slides.pdf → saved as /home/a/Downloads/slides.pdf"
    );
}

#[test]
fn acks_arriving_out_of_order_resolve_their_own_lines() {
    let mut app = connected_app();
    let ids: Vec<ClientMsgId> = ["first", "second"]
        .iter()
        .map(|text| match sent(&type_line(&mut app, text))[..] {
            [ClientMessage::Say { id, .. }] => *id,
            ref other => panic!("{other:?}"),
        })
        .collect();
    let server_ids: Vec<MessageId> = (0..2)
        .map(|_| MessageId::from_uuid(Uuid::now_v7()))
        .collect();
    // The store commits in batches: the second ack may come first.
    for n in [1, 0] {
        server(
            &mut app,
            ServerMessage::Ack {
                id: ids[n],
                message_id: server_ids[n],
                timestamp: n as u64,
            },
        );
    }
    let lines: Vec<(&str, Option<MessageId>, bool)> = app
        .current_buffer()
        .lines
        .iter()
        .filter_map(|l| match l.kind {
            LineKind::Chat { pending, .. } => Some((l.text.as_str(), l.id, pending)),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("first", Some(server_ids[0]), false),
            ("second", Some(server_ids[1]), false)
        ]
    );
    assert_eq!(app.core.unacknowledged(), 0);
}

#[test]
fn a_message_accepted_again_after_a_server_crash_shows_once_with_its_stored_id() {
    let mut app = connected_app();
    let before_crash = chat("bob", Target::Room(room("#lan")), "only once");
    let ServerMessage::Chat(first) = before_crash.clone() else {
        unreachable!()
    };
    server(&mut app, before_crash);
    // The server crashed before storing it; bob resent it (same
    // client_msg_id) and the restarted server accepted it under a new id.
    let again = ChatMessage {
        id: MessageId::from_uuid(Uuid::now_v7()),
        ..first.clone()
    };
    server(
        &mut app,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: vec![again.clone()],
            more: false,
        },
    );
    server(&mut app, ServerMessage::Chat(again.clone()));
    let shown: Vec<(&str, Option<MessageId>)> = chat_lines(app.current_buffer())
        .map(|l| (l.text.as_str(), l.id))
        .collect();
    assert_eq!(shown, [("only once", Some(again.id))]);
    // Someone else's message with the same client_msg_id is not a copy.
    let other = ChatMessage {
        id: MessageId::from_uuid(Uuid::now_v7()),
        from: nick("carol"),
        ..first
    };
    server(&mut app, ServerMessage::Chat(other));
    assert_eq!(chat_lines(app.current_buffer()).count(), 2);
}

#[test]
fn a_gap_longer_than_a_page_is_filled_from_its_start_not_from_the_rejoin_history() {
    let mut app = connected_app();
    server(&mut app, chat("bob", Target::Room(room("#lan")), "before"));
    app.update(Event::Net(NetEvent::Disconnected {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    }));
    app.update(welcome());
    let said = |text: &str| {
        let ServerMessage::Chat(message) = chat("bob", Target::Room(room("#lan")), text) else {
            unreachable!()
        };
        message
    };
    // Said while we were away, in order: the first page, then the rest; the
    // rejoin shows only the newest.
    let first_page: Vec<ChatMessage> = (0..3).map(|n| said(&format!("gap {n}"))).collect();
    let rest = said("gap 3");
    let newest = said("newest");
    server(
        &mut app,
        ServerMessage::Joined {
            room: room("#lan"),
            topic: ShortText::default(),
            members: vec![nick("alice"), nick("bob")],
            history: vec![newest.clone()],
        },
    );
    let effects = server(
        &mut app,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: first_page.clone(),
            more: true,
        },
    );
    assert!(
        matches!(sent(&effects)[..], [ClientMessage::FetchHistory { after: Some(after), .. }] if *after == first_page[2].id),
        "{effects:?}"
    );
    server(
        &mut app,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: vec![rest, newest],
            more: false,
        },
    );
    let texts: Vec<&str> = chat_lines(app.current_buffer())
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        texts,
        ["before", "gap 0", "gap 1", "gap 2", "gap 3", "newest"]
    );
}

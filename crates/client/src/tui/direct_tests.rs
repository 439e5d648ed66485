//! Direct-message history in the app: the gap after a reconnect, paging a
//! conversation back, and the conversations restored on first connect.

use std::time::Duration;

use huddle_protocol::{ChatMessage, ClientMessage, DirectEntry, ServerMessage, Target};

use super::{
    app::Event,
    buffer::BufferKind,
    testkit::{chat, chat_lines, connected_app, nick, sent, server, welcome},
};
use crate::net::NetEvent;

fn entry(outgoing: bool, message: &ServerMessage) -> DirectEntry {
    let ServerMessage::Chat(message) = message else {
        panic!("{message:?}")
    };
    DirectEntry {
        outgoing,
        message: message.clone(),
    }
}

fn direct_page(entries: Vec<DirectEntry>, more: bool) -> ServerMessage {
    ServerMessage::DirectHistoryPage {
        with: None,
        messages: entries,
        more,
    }
}

#[test]
fn direct_messages_missed_while_away_are_fetched_after_the_newest_seen_once_each() {
    let mut app = connected_app();
    let seen = chat("bob", Target::Direct(nick("alice")), "seen");
    server(&mut app, seen.clone());
    let ServerMessage::Chat(ChatMessage { id: seen_id, .. }) = &seen else {
        unreachable!()
    };
    app.update(Event::Net(NetEvent::Disconnected {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    }));
    let effects = app.update(welcome());
    assert!(
        sent(&effects).contains(&&ClientMessage::FetchDirectHistory {
            with: None,
            before: None,
            after: Some(*seen_id),
            limit: huddle_protocol::limits::MAX_HISTORY_PAGE,
        }),
        "{effects:?}"
    );
    // The page repeats what was seen, brings a missed message and one of
    // ours from another client of the same id; more follow.
    let missed = chat("bob", Target::Direct(nick("alice")), "missed");
    let ours = chat("alice", Target::Direct(nick("bob")), "ours");
    let from_carol = chat("carol", Target::Direct(nick("alice")), "new conversation");
    let page = vec![
        entry(false, &seen),
        entry(false, &missed),
        entry(true, &ours),
    ];
    let effects = server(&mut app, direct_page(page, true));
    let ServerMessage::Chat(ChatMessage { id: ours_id, .. }) = &ours else {
        unreachable!()
    };
    assert!(
        matches!(sent(&effects)[..], [ClientMessage::FetchDirectHistory { after: Some(after), .. }] if after == ours_id),
        "pages forward from the newest: {effects:?}"
    );
    assert!(
        server(
            &mut app,
            direct_page(vec![entry(false, &from_carol)], false)
        )
        .is_empty()
    );
    let texts = |peer: &str| -> Vec<String> {
        let buffer = app
            .buffers
            .iter()
            .find(|b| b.kind == BufferKind::Direct(nick(peer)))
            .unwrap();
        chat_lines(buffer).map(|l| l.text.clone()).collect()
    };
    assert_eq!(texts("bob"), ["seen", "missed", "ours"]);
    assert_eq!(texts("carol"), ["new conversation"]);
    let carol = app
        .buffers
        .iter()
        .find(|b| b.kind == BufferKind::Direct(nick("carol")))
        .unwrap();
    assert_eq!(carol.unread, 1, "a missed conversation shows as unread");
}

#[test]
fn a_conversation_pages_back_at_its_top_and_the_first_connection_restores_recent_ones() {
    let mut app = super::app::App::new(Some("alice".into()), "alice");
    app.start_chat("10.0.0.5:7007", vec![]);
    let effects = app.update(welcome());
    assert!(
        sent(&effects).contains(&&ClientMessage::FetchDirectHistory {
            with: None,
            before: None,
            after: None,
            limit: 50,
        }),
        "{effects:?}"
    );
    let old = chat("alice", Target::Direct(nick("bob")), "from yesterday");
    server(&mut app, direct_page(vec![entry(true, &old)], true));
    let index = app
        .buffers
        .iter()
        .position(|b| b.kind == BufferKind::Direct(nick("bob")))
        .expect("the conversation is restored");
    app.current = index;
    let effects = super::testkit::key(&mut app, ratatui::crossterm::event::KeyCode::PageUp);
    let ServerMessage::Chat(ChatMessage { id: old_id, .. }) = &old else {
        unreachable!()
    };
    assert!(
        matches!(
            sent(&effects)[..],
            [ClientMessage::FetchDirectHistory { with: Some(with), before: Some(before), after: None, .. }]
                if with.as_str() == "bob" && before == old_id
        ),
        "{effects:?}"
    );
    server(
        &mut app,
        ServerMessage::DirectHistoryPage {
            with: Some(nick("bob")),
            messages: vec![],
            more: false,
        },
    );
    assert!(app.buffers[index].history_complete);
}

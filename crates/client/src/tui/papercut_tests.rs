//! The papercuts a daily user meets first (issue #15): pastes, command
//! feedback, a server never reached, switching servers, the host's quit.

use huddle_protocol::{ServerMessage, ShortText};
use ratatui::crossterm::event::{Event as TermEvent, KeyCode};

use super::{
    app::{App, Effect, Event, Screen},
    testkit::{buffer_texts, connected_app, key, nick, room, server, type_line},
};
use crate::net::NetEvent;

#[test]
fn cr_lf_and_crlf_in_a_paste_are_all_line_breaks() {
    for pasted in [
        "one\rtwo\rthree\r",
        "one\ntwo\nthree\n",
        "one\r\ntwo\r\nthree\r\n",
    ] {
        let mut app = connected_app();
        app.update(Event::Terminal(TermEvent::Paste(pasted.into())));
        assert_eq!(app.input.value(), "one↵two↵three", "{pasted:?}");
    }
}

#[test]
fn the_room_list_separates_the_topic_and_counts_members_in_words() {
    let mut app = connected_app();
    let room = |name: &str, members, topic: &str, has_password| huddle_protocol::RoomInfo {
        name: huddle_protocol::RoomName::new(name).unwrap(),
        members,
        topic: huddle_protocol::ShortText::new(topic).unwrap(),
        has_password,
    };
    app.update(Event::Net(NetEvent::Message(ServerMessage::RoomList {
        rooms: vec![
            room("#ops", 2, "deploys and incidents", false),
            room("#vault", 1, "", true),
        ],
    })));
    let texts = buffer_texts(&app);
    assert!(
        texts.contains(&"  #ops — 2 members: deploys and incidents".to_owned()),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"  #vault — 1 member (password)".to_owned()),
        "{texts:?}"
    );
}

#[test]
fn an_error_about_a_send_lands_where_the_command_was_typed() {
    let mut app = connected_app();
    type_line(&mut app, "/query bob");
    let bob = app.current;
    type_line(&mut app, "/join #ops");
    app.error_for(
        &huddle_protocol::Target::Direct(nick("bob")),
        "Cannot send ~/slides.pdf: there is no file /root/slides.pdf".into(),
    );
    assert!(
        app.buffers[bob]
            .lines
            .iter()
            .any(|l| l.text.starts_with("Cannot send ~/slides.pdf")),
        "not in the conversation where /send was typed"
    );
}

#[test]
fn join_completes_rooms_the_server_listed() {
    let mut app = connected_app();
    server(
        &mut app,
        ServerMessage::RoomList {
            rooms: vec![huddle_protocol::RoomInfo {
                name: room("#ops"),
                members: 3,
                topic: ShortText::default(),
                has_password: false,
            }],
        },
    );
    for c in "/join #o".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "/join #ops ");
}

#[test]
fn a_server_never_reached_sends_the_user_back_to_the_browser_with_the_reason() {
    let mut app = App::new(Some("alice".into()), "alice");
    app.start_chat("10.0.0.9:99", Vec::new());
    app.update(Event::Net(NetEvent::Connecting { attempt: 0 }));
    let effects = app.update(Event::Net(NetEvent::Disconnected {
        reason: "connection refused".into(),
        retry_in: std::time::Duration::from_secs(1),
    }));
    assert_eq!(effects, [Effect::Disconnect]);
    assert_eq!(app.screen, Screen::Browser);
    let status = app.last_status().unwrap_or_default().to_owned();
    assert!(
        status.contains("10.0.0.9:99") && status.contains("connection refused"),
        "{status}"
    );
    // A server reached once is retried instead.
    let mut app = connected_app();
    let effects = app.update(Event::Net(NetEvent::Disconnected {
        reason: "reset".into(),
        retry_in: std::time::Duration::from_secs(1),
    }));
    assert!(effects.is_empty());
    assert_eq!(app.screen, Screen::Chat);
}

#[test]
fn connect_server_and_disconnect_commands() {
    let mut app = connected_app();
    type_line(&mut app, "/server");
    let shown = app.current_buffer().lines.last().unwrap().text.clone();
    assert!(
        shown.contains("office") && shown.contains("10.0.0.5:7007"),
        "{shown}"
    );
    let effects = type_line(&mut app, "/connect other-box");
    assert_eq!(effects, [Effect::Connect("other-box:7007".into())]);
    assert_eq!(app.server_addr, "other-box:7007");
    assert!(
        app.autojoin.contains(&"#lan".to_owned()),
        "the open rooms follow"
    );
    // The new server is joined afresh: the rooms, and nothing of the old
    // server's gaps or mailbox asked for after ids it never gave.
    let effects = app.update(super::testkit::welcome());
    let sent = super::testkit::sent(&effects);
    assert!(
        sent.iter()
            .any(|m| matches!(m, huddle_protocol::ClientMessage::Join { room, .. } if room.as_str() == "#lan")),
        "{sent:?}"
    );
    assert!(
        !sent.iter().any(|m| matches!(
            m,
            huddle_protocol::ClientMessage::FetchHistory { after: Some(_), .. }
                | huddle_protocol::ClientMessage::FetchDirectHistory { after: Some(_), .. }
        )),
        "{sent:?}"
    );
    let effects = type_line(&mut app, "/disconnect");
    assert_eq!(effects, [Effect::Disconnect]);
    assert_eq!(app.screen, Screen::Browser);
}

#[test]
fn quitting_a_hosted_server_others_use_asks_first() {
    let mut app = connected_app();
    app.ask_before_quitting(3, "bye".into());
    let asked = app.current_buffer().lines.last().unwrap().text.clone();
    assert!(
        asked.starts_with("3 people are connected to the server you host"),
        "{asked}"
    );
    assert!(
        key(&mut app, KeyCode::Char('n')).is_empty(),
        "no means stay"
    );
    assert!(!app.quit_confirmed);
    app.ask_before_quitting(1, "bye".into());
    assert_eq!(
        key(&mut app, KeyCode::Char('y')),
        [Effect::Quit("bye".into())]
    );
    assert!(app.quit_confirmed);
}

#[test]
fn ignore_hides_a_nicks_messages_until_unignore_and_is_saved() {
    let mut app = connected_app();
    let effects = type_line(&mut app, "/ignore Bob");
    assert_eq!(effects, [Effect::SaveIgnored(vec!["bob".into()])]);
    let lines = |app: &App| app.current_buffer().lines.len();
    let before = lines(&app);
    server(
        &mut app,
        super::testkit::chat("bob", huddle_protocol::Target::Room(room("#lan")), "spam"),
    );
    assert_eq!(lines(&app), before, "an ignored nick's message was shown");
    // Nor in a history page (scrolling back, or the gap after a reconnect).
    server(
        &mut app,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: vec![match super::testkit::chat(
                "bob",
                huddle_protocol::Target::Room(room("#lan")),
                "old spam",
            ) {
                ServerMessage::Chat(message) => message,
                _ => unreachable!(),
            }],
            more: false,
        },
    );
    assert!(
        !app.current_buffer()
            .lines
            .iter()
            .any(|l| l.text.contains("old spam")),
        "an ignored nick's history was shown"
    );
    type_line(&mut app, "/ignore");
    assert!(
        app.current_buffer()
            .lines
            .last()
            .unwrap()
            .text
            .contains("bob")
    );
    let effects = type_line(&mut app, "/unignore bob");
    assert_eq!(effects, [Effect::SaveIgnored(Vec::new())]);
    server(
        &mut app,
        super::testkit::chat(
            "bob",
            huddle_protocol::Target::Room(room("#lan")),
            "hello again",
        ),
    );
    assert!(
        app.current_buffer()
            .lines
            .iter()
            .any(|l| l.text.contains("hello again"))
    );
}

#[test]
fn ircpass_sends_the_password_and_keeps_it_out_of_the_input_history() {
    let mut app = connected_app();
    let effects = type_line(&mut app, "/ircpass correct horse");
    let sent = super::testkit::sent(&effects);
    assert!(
        matches!(sent.as_slice(), [huddle_protocol::ClientMessage::SetIrcPassword { password }] if password.as_str() == "correct horse"),
        "{sent:?}"
    );
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.value(), "", "Up would show the password again");
    let effects = type_line(&mut app, "/ircpass -off");
    assert!(matches!(
        super::testkit::sent(&effects).as_slice(),
        [huddle_protocol::ClientMessage::SetIrcPassword { password }] if password.is_empty()
    ));
    let hex = "ab".repeat(32);
    let effects = type_line(&mut app, &format!("/irccert SHA256:{hex}"));
    assert!(matches!(
        super::testkit::sent(&effects).as_slice(),
        [huddle_protocol::ClientMessage::SetIrcCertificate { fingerprint: Some(f) }] if f.0 == [0xab; 32]
    ));
    type_line(&mut app, "/irccert not-a-fingerprint");
    assert_eq!(
        app.current_buffer().lines.last().unwrap().kind,
        super::buffer::LineKind::Error
    );
}

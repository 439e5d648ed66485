//! The update logic, driven without a terminal or a socket.

use huddle_protocol::{ClientMessage, ClientMsgId, MessageId, ServerMessage, ShortText, Target};
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyModifiers};
use uuid::Uuid;

use super::{
    app::{App, Effect, Event, PromptKind, Screen},
    buffer::{BufferKind, LineKind},
    testkit::*,
};
#[test]
fn first_run_asks_for_a_nick_once() {
    let mut app = App::new(None, "sam");
    let Some((PromptKind::Nick, input)) = &app.browser.prompt else {
        panic!("no prompt")
    };
    assert_eq!(input.value(), "sam");
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    key(&mut app, KeyCode::Backspace);
    assert_eq!(type_line(&mut app, "1bad"), []);
    assert!(app.browser.prompt.is_some(), "an invalid nick is refused");
    chord(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(
        type_line(&mut app, "samantha"),
        [Effect::SaveNick("samantha".into())]
    );
    assert!(app.browser.prompt.is_none());
    assert!(App::new(Some("kim".into()), "x").browser.prompt.is_none());
}

#[test]
fn the_browser_connects_to_the_selected_server_or_hosts() {
    let mut app = App::new(Some("alice".into()), "alice");
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::Host],
        "with no server, Enter hosts"
    );
    let mut app = App::new(Some("alice".into()), "alice");
    app.update(Event::Servers(vec![
        found_server("a", 1),
        found_server("b", 2),
    ]));
    key(&mut app, KeyCode::Down);
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::Connect("10.0.0.1:2".into())]
    );
    assert_eq!(app.screen, Screen::Chat);
    let mut app = App::new(Some("alice".into()), "alice");
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(
        type_line(&mut app, "box"),
        [Effect::Connect("box:7007".into())]
    );
}

#[test]
fn a_cluster_is_one_row_and_enter_connects_to_its_fastest_node_then_the_others() {
    let mut app = App::new(Some("alice".into()), "alice");
    let nodes: Vec<std::net::SocketAddr> = (1..=3).map(|n| ([10, 0, 0, n], 7007).into()).collect();
    app.update(Event::Servers(vec![crate::discovery::FoundServer {
        nodes: nodes.clone(),
        ..crate::discovery::FoundServer::blank(nodes[1])
    }]));
    assert!(screen(&app, 120, 10).contains("cluster of 3 nodes"));
    assert_eq!(
        key(&mut app, KeyCode::Enter),
        [Effect::Connect(
            "10.0.0.2:7007,10.0.0.1:7007,10.0.0.3:7007".into()
        )]
    );
}

#[test]
fn sent_messages_show_at_once_as_pending_until_acked() {
    let mut app = connected_app();
    let effects = type_line(&mut app, "hello there");
    let [
        ClientMessage::Say {
            room: r, id, text, ..
        },
    ] = sent(&effects)[..]
    else {
        panic!("{effects:?}")
    };
    assert_eq!((r.as_str(), text.as_str()), ("#lan", "hello there"));
    let id = *id;
    let pending = |app: &App| {
        matches!(
            app.current_buffer().lines.last().unwrap().kind,
            LineKind::Chat { pending: true, .. }
        )
    };
    assert!(pending(&app));
    server(
        &mut app,
        ServerMessage::Ack {
            id,
            message_id: MessageId::from_uuid(Uuid::now_v7()),
            timestamp: 5,
        },
    );
    assert!(!pending(&app));
    assert_eq!(app.current_buffer().lines.last().unwrap().time, 5);
}

#[test]
fn a_refused_message_is_marked_not_delivered() {
    let mut app = connected_app();
    let effects = type_line(&mut app, "spam");
    let [ClientMessage::Say { id, .. }] = sent(&effects)[..] else {
        panic!()
    };
    server(
        &mut app,
        ServerMessage::Error(huddle_protocol::ErrorReport {
            code: huddle_protocol::ErrorCode::NotInRoom,
            text: ShortText::new("slow down").unwrap(),
            request: huddle_protocol::RequestKind::Say,
            id: Some(*id),
        }),
    );
    assert_eq!(last_text(&app), "spam (not delivered: slow down)");
}

#[test]
fn unknown_commands_and_bad_arguments_explain_themselves() {
    let mut app = connected_app();
    assert!(type_line(&mut app, "/frobnicate").is_empty());
    assert_eq!(last_text(&app), "unknown command /frobnicate (try /help)");
    assert!(type_line(&mut app, "/join").is_empty());
    assert_eq!(last_text(&app), "usage: /join #room [password]");
    assert!(type_line(&mut app, "/nick 9lives").is_empty());
    assert!(last_text(&app).starts_with("invalid nick"));
    assert!(type_line(&mut app, &"x".repeat(5000)).is_empty());
    assert!(last_text(&app).contains("longer than the limit of 4096"));
    type_line(&mut app, "/help");
    assert!(app.help);
    key(&mut app, KeyCode::Esc);
    assert!(!app.help);
}

#[test]
fn joining_switches_to_the_new_room_and_parting_closes_it() {
    let mut app = connected_app();
    let effects = type_line(&mut app, "/join #Dev");
    assert_eq!(
        sent(&effects),
        [&ClientMessage::Join {
            room: room("#Dev"),
            password: None
        }]
    );
    server(
        &mut app,
        ServerMessage::Joined {
            room: room("#dev"),
            topic: ShortText::default(),
            members: vec![nick("alice")],
            history: Vec::new(),
        },
    );
    assert_eq!(app.current_buffer().title(), "#dev");
    let effects = type_line(&mut app, "/part bye");
    assert_eq!(
        sent(&effects),
        [&ClientMessage::Part {
            room: room("#dev"),
            reason: ShortText::new("bye").unwrap()
        }]
    );
    server(&mut app, ServerMessage::Parted { room: room("#dev") });
    assert!(app.buffers.iter().all(|b| b.title() != "#dev"));
}

#[test]
fn mentions_ring_once_and_mark_the_buffer() {
    let mut app = connected_app();
    chord(&mut app, KeyCode::Char('1'), KeyModifiers::ALT);
    assert_eq!(app.current_buffer().title(), "status");
    let effects = server(
        &mut app,
        chat("bob", Target::Room(room("#lan")), "hey Alice, lunch?"),
    );
    // Not the buffer shown: the bell, and a desktop notification.
    assert_eq!(effects[0], Effect::Bell);
    assert!(matches!(&effects[1], Effect::Notify { title, .. } if title == "bob in #lan"));
    let lan = &app.buffers[1];
    assert_eq!((lan.unread, lan.mention), (1, true));
    assert!(
        server(
            &mut app,
            chat("bob", Target::Room(room("#lan")), "malice is not a mention")
        )
        .is_empty()
    );
    chord(&mut app, KeyCode::Char('2'), KeyModifiers::ALT);
    assert_eq!(
        (app.current_buffer().unread, app.current_buffer().mention),
        (0, false)
    );
}

#[test]
fn direct_messages_open_a_conversation() {
    let mut app = connected_app();
    let effects = server(&mut app, chat("bob", Target::Direct(nick("alice")), "psst"));
    assert_eq!(effects[0], Effect::Bell);
    assert!(matches!(&effects[1], Effect::Notify { title, .. } if title == "bob (direct message)"));
    let index = app
        .buffers
        .iter()
        .position(|b| b.kind == BufferKind::Direct(nick("bob")))
        .unwrap();
    assert_eq!(app.buffers[index].unread, 1);
    chord(&mut app, KeyCode::Char('n'), KeyModifiers::CONTROL);
    assert_eq!(app.current, index);
    let effects = type_line(&mut app, "what?");
    assert!(
        matches!(sent(&effects)[..], [ClientMessage::Direct { to, .. }] if to.as_str() == "bob")
    );
    chord(&mut app, KeyCode::Char('p'), KeyModifiers::CONTROL);
    assert_eq!(app.current_buffer().title(), "#lan");
}

#[test]
fn scrolling_up_stays_put_and_loads_older_history_at_the_top() {
    let mut app = connected_app();
    app.page_height = 10;
    for n in 0..30 {
        server(
            &mut app,
            chat("bob", Target::Room(room("#lan")), &format!("m{n}")),
        );
    }
    assert!(key(&mut app, KeyCode::PageUp).is_empty());
    let scroll = app.current_buffer().scroll;
    server(&mut app, chat("bob", Target::Room(room("#lan")), "newer"));
    assert_eq!(app.current_buffer().scroll, scroll + 1);
    assert!(app.current_buffer().new_below);
    let mut fetched = Vec::new();
    for _ in 0..10 {
        fetched.extend(key(&mut app, KeyCode::PageUp));
    }
    let [
        Effect::Write(ClientMessage::FetchHistory {
            room: r,
            before: Some(_),
            ..
        }),
    ] = &fetched[..]
    else {
        panic!("{fetched:?}")
    };
    assert_eq!(r.as_str(), "#lan");
    for _ in 0..20 {
        key(&mut app, KeyCode::PageDown);
    }
    assert_eq!(
        (app.current_buffer().scroll, app.current_buffer().new_below),
        (0, false)
    );
}

#[test]
fn tab_completes_nicks_and_commands() {
    let mut app = connected_app();
    key(&mut app, KeyCode::Char('c'));
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "carol: ");
    app.input.reset();
    for c in "/jo".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "/join ");
    app.input.reset();
    for c in "hi b".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.input.value(), "hi bob ");
}

#[test]
fn input_history_and_word_editing() {
    let mut app = connected_app();
    type_line(&mut app, "first");
    type_line(&mut app, "second");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.value(), "second");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.input.value(), "first");
    key(&mut app, KeyCode::Down);
    assert_eq!(app.input.value(), "second");
    key(&mut app, KeyCode::Down);
    assert_eq!(app.input.value(), "");
    for c in "one two three".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    chord(&mut app, KeyCode::Char('w'), KeyModifiers::CONTROL);
    assert_eq!(app.input.value(), "one two ");
    chord(&mut app, KeyCode::Left, KeyModifiers::CONTROL);
    chord(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    key(&mut app, KeyCode::Char('>'));
    assert_eq!(app.input.value(), ">one two ");
}

#[test]
fn a_multi_line_paste_is_sent_as_one_message() {
    let mut app = connected_app();
    app.update(Event::Terminal(TermEvent::Paste(
        "line one\nline two\n".into(),
    )));
    assert_eq!(app.input.value(), "line one↵line two");
    let effects = key(&mut app, KeyCode::Enter);
    let [ClientMessage::Say { text, .. }] = sent(&effects)[..] else {
        panic!()
    };
    assert_eq!(text.as_str(), "line one\nline two");
}

#[test]
fn quitting() {
    let mut app = connected_app();
    assert_eq!(
        type_line(&mut app, "/quit see you"),
        [Effect::Quit("see you".into())]
    );
    assert_eq!(
        chord(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL),
        [Effect::Quit(String::new())]
    );
}

#[test]
fn presence_updates_members_and_renames_conversations() {
    let mut app = connected_app();
    server(&mut app, chat("bob", Target::Direct(nick("alice")), "hi"));
    server(
        &mut app,
        ServerMessage::Presence(huddle_protocol::Presence {
            room: room("#lan"),
            nick: nick("bob"),
            event: huddle_protocol::PresenceEvent::Renamed {
                new_nick: nick("robert"),
            },
        }),
    );
    let lan = &app.buffers[1];
    assert_eq!(lan.members, [nick("alice"), nick("carol"), nick("robert")]);
    assert!(
        app.buffers
            .iter()
            .any(|b| b.kind == BufferKind::Direct(nick("robert")))
    );
    let _ = ClientMsgId::random();
}

#[test]
fn buffer_and_window_switch_by_number_or_name_as_in_weechat_and_irssi() {
    let mut app = connected_app();
    type_line(&mut app, "/query bob");
    assert_eq!(app.current_buffer().title(), "@bob");
    type_line(&mut app, "/buffer 1");
    assert_eq!(app.current_buffer().title(), "status");
    type_line(&mut app, "/buffer #LAN");
    assert_eq!(app.current_buffer().title(), "#lan");
    type_line(&mut app, "/window bob");
    assert_eq!(app.current_buffer().title(), "@bob");
    type_line(&mut app, "/buffer 9");
    assert_eq!(app.current_buffer().title(), "@bob");
    assert!(
        last_text(&app).contains("no buffer 9"),
        "{}",
        last_text(&app)
    );
}

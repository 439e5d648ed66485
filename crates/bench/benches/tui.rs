//! The TUI client, headless: what one received message costs the app's
//! update, and what one frame costs to draw at 200×50 with a full room
//! (the buffer keeps its newest 5,000 to 5,500 lines however many arrive:
//! 100,000 were received here), on ratatui's `TestBackend`. The real TUI draws at
//! most 20 frames a second while only messages arrive (60 after a key). Run: `cargo bench -p huddle-chat-bench --bench tui`.
//! (`crates/bench/tui-cpu.sh` measures the real binary's CPU beside
//! weechat's.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Benchmarks may panic.

use divan::Bencher;
use huddle::{
    net::NetEvent,
    tui::{App, Event, ui},
};
use huddle_protocol::{
    ChatMessage, ChatText, ClientMsgId, ConnectionId, Limits, MessageId, MessageKind, Nick,
    PROTOCOL_VERSION, RoomName, ServerId, ServerMessage, ShortText, Target, Welcome,
};
use ratatui::{Terminal, backend::TestBackend};

fn main() {
    divan::main();
}

fn chat(n: usize) -> ServerMessage {
    ServerMessage::Chat(ChatMessage {
        id: MessageId::from_uuid(uuid::Uuid::now_v7()),
        target: Target::Room(RoomName::new("#bench").unwrap()),
        from: Nick::new(format!("user{}", n % 50)).unwrap(),
        kind: MessageKind::Normal,
        text: ChatText::new(format!("message {n}: {}", "x".repeat(48))).unwrap(),
        timestamp: 1_700_000_000_000 + n as u64,
        client_msg_id: ClientMsgId::random(),
    })
}

/// A connected app in `#bench` that has received `lines` messages.
fn app_with(lines: usize) -> App {
    let mut app = App::new(Some("me".into()), "me");
    app.start_chat("127.0.0.1:7007", vec!["#bench".into()]);
    app.update(Event::Net(NetEvent::Connected(Box::new(Welcome {
        version: PROTOCOL_VERSION,
        server_id: ServerId::random(),
        connection_id: ConnectionId::random(),
        server_name: ShortText::new("bench").unwrap(),
        motd: None,
        nick: Nick::new("me").unwrap(),
        limits: Limits::default(),
    }))));
    app.update(Event::Net(NetEvent::Message(ServerMessage::Joined {
        room: RoomName::new("#bench").unwrap(),
        topic: ShortText::new("").unwrap(),
        members: (0..50)
            .map(|n| Nick::new(format!("user{n}")).unwrap())
            .collect(),
        history: Vec::new(),
    })));
    for n in 0..lines {
        app.update(Event::Net(NetEvent::Message(chat(n))));
    }
    app
}

/// One message received by an app whose room is full.
#[divan::bench]
fn receive_a_message(bencher: Bencher) {
    let mut app = app_with(5_000);
    let mut n = 5_000;
    bencher.bench_local(|| {
        n += 1;
        app.update(Event::Net(NetEvent::Message(chat(n))))
    });
}

/// One frame of the room after 100,000 messages (5,000 to 5,500 kept).
#[divan::bench]
fn draw_a_frame_after_100k_messages(bencher: Bencher) {
    let app = app_with(100_000);
    assert!(app.current_buffer().lines.len() <= 5_500, "bounded");
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    bencher.bench_local(|| terminal.draw(|frame| ui::draw(frame, &app)).unwrap().area);
}

/// The first frame of a new app (the server browser).
#[divan::bench]
fn first_frame(bencher: Bencher) {
    bencher.bench_local(|| {
        let app = App::new(Some("me".into()), "me");
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
        terminal.draw(|frame| ui::draw(frame, &app)).unwrap().area
    });
}

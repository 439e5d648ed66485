//! The TUI tests' shared kit: an app connected to a pretend server, keys
//! and lines typed, frames from the server, and what the app sent back.

use huddle_protocol::{
    ChatMessage, ChatText, ClientMessage, MessageId, MessageKind, Nick, RoomName, ServerId,
    ServerMessage, ShortText, Target, Welcome,
};
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use uuid::Uuid;

use super::{
    app::{App, Effect, Event},
    buffer::{Buffer, Line, LineKind},
};
use crate::{core::tests::welcome as core_welcome, net::NetEvent};

pub(super) fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Event::Terminal(TermEvent::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    ))))
}

pub(super) fn chord(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    app.update(Event::Terminal(TermEvent::Key(KeyEvent::new(
        code, modifiers,
    ))))
}

pub(super) fn type_line(app: &mut App, text: &str) -> Vec<Effect> {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
    key(app, KeyCode::Enter)
}

pub(super) fn server(app: &mut App, message: ServerMessage) -> Vec<Effect> {
    app.update(Event::Net(NetEvent::Message(message)))
}

/// A server the browser found at 10.0.0.1:`port`, compatible, no rooms.
pub(super) fn found_server(name: &str, port: u16) -> crate::discovery::FoundServer {
    crate::discovery::FoundServer {
        server_id: Some(ServerId::random()),
        name: name.into(),
        users: 1,
        rtt_ms: Some(1.0),
        ..crate::discovery::FoundServer::blank(([10, 0, 0, 1], port).into())
    }
}

pub(super) fn nick(name: &str) -> Nick {
    Nick::new(name).unwrap()
}

pub(super) fn room(name: &str) -> RoomName {
    RoomName::new(name).unwrap()
}

pub(super) fn chat(from: &str, target: Target, text: &str) -> ServerMessage {
    ServerMessage::Chat(ChatMessage {
        id: MessageId::from_uuid(Uuid::now_v7()),
        target,
        from: nick(from),
        kind: MessageKind::Normal,
        text: ChatText::new(text).unwrap(),
        timestamp: 1_700_000_000_000,
        client_msg_id: huddle_protocol::ClientMsgId::random(),
    })
}

/// An app connected as alice, in #lan with bob and carol.
pub(super) fn connected_app() -> App {
    let mut app = App::new(Some("alice".into()), "alice");
    app.start_chat("10.0.0.5:7007", vec!["#lan".into()]);
    let effects = app.update(Event::Net(NetEvent::Connected(Box::new(Welcome {
        motd: Some(ChatText::new("be nice").unwrap()),
        ..core_welcome(20, 100)
    }))));
    assert!(effects.contains(&Effect::Write(ClientMessage::Join {
        room: room("#lan"),
        password: None
    })));
    server(
        &mut app,
        ServerMessage::Joined {
            room: room("#lan"),
            topic: ShortText::new("lunch at noon").unwrap(),
            members: vec![nick("alice"), nick("bob"), nick("carol")],
            history: Vec::new(),
        },
    );
    app
}

pub(super) fn sent(effects: &[Effect]) -> Vec<&ClientMessage> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Write(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// The chat lines of `buffer` (no notices, presence or errors).
pub(super) fn chat_lines(buffer: &Buffer) -> impl Iterator<Item = &Line> {
    buffer
        .lines
        .iter()
        .filter(|l| matches!(l.kind, LineKind::Chat { .. }))
}

/// Every line of the current buffer, as text.
pub(super) fn buffer_texts(app: &App) -> Vec<String> {
    (app.current_buffer().lines.iter())
        .map(|l| l.text.clone())
        .collect()
}

pub(super) fn last_text(app: &App) -> &str {
    &app.current_buffer().lines.last().unwrap().text
}

/// The session's news that a default server greeted alice.
pub(super) fn welcome() -> Event {
    Event::Net(NetEvent::Connected(Box::new(core_welcome(20, 100))))
}

/// `app` drawn on a `width`×`height` test terminal.
pub(super) fn render(app: &App, width: u16, height: u16) -> ratatui::buffer::Buffer {
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| super::ui::draw(frame, app)).unwrap();
    terminal.backend().buffer().clone()
}

/// The screen as text, one string per row (wide characters once, their
/// continuation cells skipped).
pub(super) fn rows(cells: &ratatui::buffer::Buffer) -> Vec<String> {
    let area = cells.area;
    (0..area.height)
        .map(|y| {
            let mut row = String::new();
            let mut skip = 0;
            for x in 0..area.width {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let symbol = cells[(x, y)].symbol();
                skip = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
                row.push_str(symbol);
            }
            row
        })
        .collect()
}

/// The screen as text, rows joined by newlines.
pub(super) fn screen(app: &App, width: u16, height: u16) -> String {
    rows(&render(app, width, height)).join("\n")
}

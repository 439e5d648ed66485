//! The TUI's state machine against real servers: connection loss shows,
//! the session reconnects with backoff, and the app rejoins its rooms.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::time::Duration;

use huddle::{
    net::{NetEvent, NetHandle, SessionConfig, spawn_session},
    tui::{
        App, Effect, Event,
        app::ConnState,
        buffer::{BufferKind, LineKind},
    },
};
use huddle_protocol::Nick;
use huddle_server::{Server, ServerConfig};
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc::UnboundedReceiver;

/// Feeds network events to the app (sending what it asks) until `done`.
async fn pump(
    app: &mut App,
    events: &mut UnboundedReceiver<NetEvent>,
    net: &NetHandle,
    done: impl Fn(&App) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(15), async {
        while !done(app) {
            let wake = app.next_wake();
            let effects = tokio::select! {
                event = events.recv() => app.update(Event::Net(event.expect("the session ended"))),
                () = async {
                    match wake {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => app.update(Event::Tick),
            };
            for effect in effects {
                if let Effect::Write(message) = effect {
                    net.send(message);
                }
            }
        }
    })
    .await
    .expect("the app never reached the expected state");
}

fn in_room(app: &App, room: &str) -> bool {
    app.buffers
        .iter()
        .any(|b| matches!(&b.kind, BufferKind::Room(r) if r.as_str() == room) && b.joined)
}

#[tokio::test]
async fn losing_the_server_shows_then_reconnects_and_rejoins() {
    // A data directory keeps the server's identity across the restart: the
    // client, having trusted it on first use, takes it back.
    let dir = tempfile::tempdir().unwrap();
    let first = ServerConfig {
        data_dir: Some(dir.path().to_owned()),
        ..ServerConfig::loopback()
    };
    let server = Server::bind(first.clone()).await.unwrap().spawn();
    let addr = server.addr;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let net = spawn_session(
        SessionConfig {
            addr: addr.to_string(),
            nick: Nick::new("alice").unwrap(),
            security: huddle_e2e::any_server(),
            key: huddle_e2e::fresh_key(),
            retry_nick: true,
        },
        tx,
    );
    let mut app = App::new(Some("alice".into()), "alice");
    app.start_chat(&addr.to_string(), vec!["#lan".into(), "#ops".into()]);
    pump(&mut app, &mut events, &net, |app| {
        in_room(app, "#lan") && in_room(app, "#ops")
    })
    .await;
    assert_eq!(
        app.current_buffer().title(),
        "#lan",
        "the first room is shown"
    );

    server.stop().await;
    pump(&mut app, &mut events, &net, |app| {
        matches!(app.conn, ConnState::Reconnecting { .. })
    })
    .await;
    let lost = app
        .current_buffer()
        .lines
        .iter()
        .any(|l| l.kind == LineKind::Error && l.text.starts_with("Disconnected"));
    assert!(lost, "the buffer does not say the connection was lost");

    // The server comes back on the same address.
    let config = ServerConfig {
        bind: addr,
        ..first
    };
    let server = Server::bind(config).await.unwrap().spawn();
    pump(&mut app, &mut events, &net, |app| {
        app.conn == ConnState::Connected && in_room(app, "#lan") && in_room(app, "#ops")
    })
    .await;
    let said = app
        .current_buffer()
        .lines
        .iter()
        .any(|l| l.text == "Reconnected; rejoining 2 room(s)");
    assert!(said, "the buffer does not say it rejoined");

    // And it really is in the room again: a message from bob arrives.
    let mut bob = huddle_testkit::Client::joined(addr, "bob", &["#lan"]).await;
    bob.say("#lan", "welcome back").await;
    pump(&mut app, &mut events, &net, |app| {
        app.current_buffer()
            .lines
            .iter()
            .any(|l| l.text == "welcome back")
    })
    .await;
    net.shutdown("done").await;
    server.stop().await;
}

#[tokio::test]
async fn a_long_run_of_lines_goes_out_paced_and_nothing_is_refused_for_its_rate() {
    // The default server: 20 messages a second, a burst of 100.
    let server = Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn();
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let net = spawn_session(
        SessionConfig {
            addr: server.addr.to_string(),
            nick: Nick::new("paster").unwrap(),
            security: huddle_e2e::any_server(),
            key: huddle_e2e::fresh_key(),
            retry_nick: true,
        },
        tx,
    );
    let mut app = App::new(Some("paster".into()), "paster");
    app.start_chat(&server.addr.to_string(), vec!["#lan".into()]);
    pump(&mut app, &mut events, &net, |app| in_room(app, "#lan")).await;
    // 150 lines typed at once: the burst goes, the rest at the rate.
    const LINES: usize = 150;
    for n in 0..LINES {
        let line = format!("line {n}");
        let keys = line.chars().map(KeyCode::Char).chain([KeyCode::Enter]);
        for key in keys {
            let effects = app.update(Event::Terminal(TermEvent::Key(KeyEvent::new(
                key,
                KeyModifiers::NONE,
            ))));
            for effect in effects {
                if let Effect::Write(message) = effect {
                    net.send(message);
                }
            }
        }
    }
    let acked = |app: &App| {
        app.current_buffer()
            .lines
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Chat { pending: false, .. }))
            .count()
    };
    pump(&mut app, &mut events, &net, |app| {
        acked(app) == LINES
            || app
                .current_buffer()
                .lines
                .iter()
                .any(|l| l.kind == LineKind::Error)
    })
    .await;
    let refused: Vec<&str> = app
        .current_buffer()
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Error)
        .map(|l| l.text.as_str())
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(acked(&app), LINES);
    net.shutdown("done").await;
    server.stop().await;
}

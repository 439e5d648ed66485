//! Keepalive and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::time::Duration;

use common::{Client, start};
use huddle_protocol::{ClientMessage, ErrorCode, ServerMessage};
use huddle_server::ServerConfig;

#[tokio::test]
async fn graceful_shutdown_says_bye_to_everyone_after_what_was_queued() {
    let server = start(ServerConfig::loopback()).await;
    let mut clients = Vec::new();
    for n in 0..5 {
        clients.push(Client::joined(server.addr, &format!("c{n}"), &["#lan"]).await);
    }
    for client in &mut clients {
        client.sync().await;
    }
    clients[0].say("#lan", "last words").await;
    clients[0].recv().await; // the ack: the message is queued everywhere.
    server.stop().await;
    for (n, client) in clients.iter_mut().enumerate() {
        let seen = client.until_closed().await;
        if n > 0 {
            assert!(
                matches!(&seen[0], ServerMessage::Chat(chat) if chat.text.as_str() == "last words"),
                "c{n}: {seen:?}"
            );
        }
        let Some(ServerMessage::Bye { code, .. }) = seen.last() else {
            panic!("c{n}: {seen:?}")
        };
        assert_eq!(*code, ErrorCode::ShuttingDown);
    }
}

#[tokio::test]
async fn a_silent_client_is_pinged_then_dropped_and_a_live_one_stays() {
    let mut config = ServerConfig::loopback();
    config.ping_after = Duration::from_millis(200);
    config.ping_timeout = Duration::from_millis(200);
    let server = start(config).await;
    let (mut silent, _) = Client::connect(server.addr, "silent").await;
    let (mut live, _) = Client::connect(server.addr, "live").await;

    let answerer = tokio::spawn(async move {
        let mut pings = 0;
        while pings < 4 {
            if let ServerMessage::Ping { token } = live.recv().await {
                live.send(ClientMessage::Pong { token }).await;
                pings += 1;
            }
        }
        live
    });
    // The silent one gets a ping, ignores it, and is dropped.
    let seen = silent.until_closed().await;
    assert!(matches!(seen[0], ServerMessage::Ping { .. }), "{seen:?}");
    assert!(
        matches!(
            seen.last(),
            Some(ServerMessage::Bye {
                code: ErrorCode::PingTimeout,
                ..
            })
        ),
        "{seen:?}"
    );
    // The live one answered four pings (over 800 ms) and is still served.
    let mut live = tokio::time::timeout(Duration::from_secs(10), answerer)
        .await
        .unwrap()
        .unwrap();
    live.sync().await;
    server.stop().await;
}

#[tokio::test]
async fn quit_ends_with_a_normal_bye_and_tells_the_rooms_why() {
    let server = start(ServerConfig::loopback()).await;
    let mut alice = Client::joined(server.addr, "alice", &["#lan"]).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    alice.sync().await;
    bob.send(ClientMessage::Quit {
        reason: huddle_protocol::ShortText::new("bedtime").unwrap(),
    })
    .await;
    let seen = bob.until_closed().await;
    assert!(
        matches!(
            seen.last(),
            Some(ServerMessage::Bye {
                code: ErrorCode::Normal,
                ..
            })
        ),
        "{seen:?}"
    );
    let ServerMessage::Presence(presence) = alice.recv().await else {
        panic!()
    };
    assert_eq!(
        presence.event,
        huddle_protocol::PresenceEvent::Quit {
            reason: huddle_protocol::ShortText::new("bedtime").unwrap()
        }
    );
    server.stop().await;
}

#[tokio::test]
async fn a_running_server_says_how_many_clients_are_connected() {
    let server = common::start_default().await;
    assert_eq!(server.clients(), 0);
    let (_alice, _) = common::Client::connect(server.addr, "alice").await;
    let (_bob, _) = common::Client::connect(server.addr, "bob").await;
    assert_eq!(server.clients(), 2);
    server.stop().await;
}

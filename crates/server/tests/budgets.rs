//! Memory and disk a stranger could pin, each held to a stated budget, over
//! real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use common::{Client, room, start};
use huddle_protocol::{ClientMessage, ServerMessage, ShortText};
use huddle_server::ServerConfig;

/// Fills ten rooms with 100 messages of ~4 KB each (~400 KB of history
/// each), then leaves them all.
async fn fill_and_leave_ten_rooms(client: &mut Client) {
    let text = "x".repeat(4000);
    for n in 0..10 {
        let name = format!("#r{n}");
        client.join(&name).await;
        for _ in 0..100 {
            client.say(&name, &text).await;
        }
        client
            .send(ClientMessage::Part {
                room: room(&name),
                reason: ShortText::default(),
            })
            .await;
    }
    client.sync().await;
}

/// How many messages joining `name` brings as history.
async fn history_on_join(client: &mut Client, name: &str) -> usize {
    let ServerMessage::Joined { history, .. } = client.join(name).await else {
        panic!("not joined")
    };
    history.len()
}

#[tokio::test]
async fn emptied_rooms_hold_at_most_the_idle_history_budget_in_memory() {
    // Ephemeral: what memory lets go of is gone, which makes it visible.
    let config = ServerConfig {
        rate_limit: false,
        idle_history_bytes: 1024 * 1024,
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    let (mut alice, _) = Client::connect(server.addr, "alice").await;
    fill_and_leave_ten_rooms(&mut alice).await;
    // ~4 MB was parked against a 1 MiB budget: the longest idle rooms
    // were let go, the most recent two kept.
    assert_eq!(history_on_join(&mut alice, "#r0").await, 0);
    assert_eq!(history_on_join(&mut alice, "#r7").await, 0);
    assert_eq!(history_on_join(&mut alice, "#r9").await, 50);
    server.stop().await;
}

#[tokio::test]
async fn with_a_store_history_let_go_from_memory_is_read_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        rate_limit: false,
        idle_history_bytes: 1024 * 1024,
        data_dir: Some(dir.path().to_owned()),
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    let (mut alice, _) = Client::connect(server.addr, "alice").await;
    fill_and_leave_ten_rooms(&mut alice).await;
    assert_eq!(history_on_join(&mut alice, "#r0").await, 50);
    server.stop().await;
}

#[tokio::test]
async fn history_on_disk_stays_within_its_budget_oldest_first_across_rooms() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        rate_limit: false,
        rooms_created_per_minute: u32::MAX,
        max_history_bytes: 1024 * 1024,
        data_dir: Some(dir.path().to_owned()),
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    // 20 MB of messages in 200 throwaway rooms, against a 1 MiB budget.
    let (mut mallory, _) = Client::connect(server.addr, "mallory").await;
    let text = "x".repeat(4000);
    for n in 0..200 {
        let name = format!("#junk{n}");
        mallory.join(&name).await;
        for _ in 0..25 {
            mallory.say(&name, &text).await;
        }
        mallory
            .send(ClientMessage::Part {
                room: room(&name),
                reason: ShortText::default(),
            })
            .await;
    }
    mallory.sync().await;
    let file = dir.path().join("history.redb");
    let size = std::fs::metadata(&file).unwrap().len();
    // The file keeps a fixed overhead beyond the budget (redb's regions and
    // the pages a commit frees): measured 8.9 MB after 10, 40 and 160 MB.
    println!("history.redb after 20 MB against a 1 MiB budget: {size} bytes");
    assert!(size < 12 * 1024 * 1024, "{size} bytes on disk");
    server.stop().await;
    // The oldest rooms' messages went; the newest room kept its own.
    let server = start(ServerConfig {
        data_dir: Some(dir.path().to_owned()),
        ..ServerConfig::loopback()
    })
    .await;
    let (mut alice, _) = Client::connect(server.addr, "alice").await;
    assert_eq!(history_on_join(&mut alice, "#junk0").await, 0);
    assert_eq!(history_on_join(&mut alice, "#junk199").await, 25);
    server.stop().await;
}

#[tokio::test]
async fn a_client_creates_only_so_many_rooms_a_minute() {
    // The default is 60 a minute; 10 keeps the test within the message rate.
    assert_eq!(ServerConfig::default().rooms_created_per_minute, 60);
    let config = ServerConfig {
        rooms_created_per_minute: 10,
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    let (mut mallory, _) = Client::connect(server.addr, "mallory").await;
    for n in 0..10 {
        let name = format!("#throwaway{n}");
        assert!(matches!(
            mallory.join(&name).await,
            ServerMessage::Joined { .. }
        ));
        mallory
            .send(ClientMessage::Part {
                room: room(&name),
                reason: ShortText::default(),
            })
            .await;
    }
    let ServerMessage::Error(report) = mallory.join("#throwaway10").await else {
        panic!("an 11th room was created")
    };
    assert_eq!(report.code, huddle_protocol::ErrorCode::TooManyRooms);
    // Joining a room that exists is not limited.
    let _alice = Client::joined(server.addr, "alice", &["#lan"]).await;
    assert!(matches!(
        mallory.join("#lan").await,
        ServerMessage::Joined { .. }
    ));
    server.stop().await;
}

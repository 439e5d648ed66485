//! Fan-out among many concurrent clients: every message reaches every member
//! of its room exactly once, in order, and nobody outside the room.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::collections::HashMap;

use common::{Client, start};
use huddle_protocol::{ServerMessage, Target};
use huddle_server::ServerConfig;

const ROOMS: usize = 4;
const CLIENTS: usize = 200;
const SENDERS_PER_ROOM: usize = 3;
const MESSAGES_PER_SENDER: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_in_four_rooms_get_exactly_their_rooms_messages_in_order() {
    let mut config = ServerConfig::loopback();
    config.rate_limit = false;
    let server = start(config).await;

    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let room = format!("#room{}", i % ROOMS);
        clients.push((
            room.clone(),
            Client::joined(server.addr, &format!("user{i}"), &[&room]).await,
        ));
    }
    // Let every join's presence notices settle before anyone speaks.
    for (_, client) in &mut clients {
        client.sync().await;
    }

    // The first SENDERS_PER_ROOM members of each room send, concurrently.
    let per_room = CLIENTS / ROOMS;
    let expected_each = (SENDERS_PER_ROOM - 1) * MESSAGES_PER_SENDER;
    let expected_listener = SENDERS_PER_ROOM * MESSAGES_PER_SENDER;
    let mut tasks = Vec::new();
    for (index, (room, mut client)) in clients.into_iter().enumerate() {
        let is_sender = index / ROOMS < SENDERS_PER_ROOM;
        tasks.push(tokio::spawn(async move {
            let expected = if is_sender {
                expected_each
            } else {
                expected_listener
            };
            let mut acks = 0;
            let mut sent = 0;
            let mut received: Vec<(String, String, usize)> = Vec::new();
            while received.len() < expected || (is_sender && acks < MESSAGES_PER_SENDER) {
                if is_sender && sent < MESSAGES_PER_SENDER {
                    client.say(&room, &format!("{} {sent}", client.nick)).await;
                    sent += 1;
                }
                let message = client.recv().await;
                match message {
                    ServerMessage::Chat(chat) => {
                        let Target::Room(target) = &chat.target else {
                            panic!("unexpected direct message");
                        };
                        let (from, seq) = chat.text.split_once(' ').unwrap();
                        received.push((target.to_string(), from.to_owned(), seq.parse().unwrap()));
                    }
                    ServerMessage::Ack { .. } => acks += 1,
                    ServerMessage::Presence(_) => {}
                    other => panic!("{}: unexpected {other:?}", client.nick),
                }
            }
            // Nothing more may arrive: no duplicates, nothing from other rooms.
            let extra = client.sync().await;
            assert!(
                extra.iter().all(|m| !matches!(m, ServerMessage::Chat(_))),
                "{}: extra messages {extra:?}",
                client.nick
            );
            (room, client.nick.clone(), received)
        }));
    }

    let mut orders: HashMap<String, Vec<Vec<(String, usize)>>> = HashMap::new();
    for task in tasks {
        let (room, nick, received) = task.await.unwrap();
        let mut next_seq: HashMap<&str, usize> = HashMap::new();
        for (target, from, seq) in &received {
            assert_eq!(target, &room, "{nick} got a message from another room");
            assert_ne!(from, &nick, "{nick} got its own message back");
            let expected = next_seq.entry(from).or_insert(0);
            assert_eq!(
                seq, expected,
                "{nick}: {from}'s messages out of order or duplicated"
            );
            *expected += 1;
        }
        assert!(
            next_seq.values().all(|n| *n == MESSAGES_PER_SENDER),
            "{nick}: {next_seq:?}"
        );
        orders.entry(room).or_default().push(
            received
                .into_iter()
                .map(|(_, from, seq)| (from, seq))
                .collect(),
        );
    }
    // Every member of a room saw the room's messages in one order (each
    // sender's view lacks only its own messages).
    for (room, views) in &orders {
        let full = views.iter().max_by_key(|v| v.len()).unwrap();
        for view in views {
            let filtered: Vec<_> = full.iter().filter(|m| view.contains(m)).cloned().collect();
            assert_eq!(&filtered, view, "{room}: members disagree on the order");
        }
        assert_eq!(views.len(), per_room);
    }
    server.stop().await;
}

//! Durable history: what was acknowledged survives a restart, resends are
//! recognised, pages cross from memory to disk, retention holds, and a bad
//! data directory stops the server with its path.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::path::Path;

use common::{Client, room, start};
use huddle_protocol::{
    ChatText, ClientId, ClientMessage, ClientMsgId, MessageId, MessageKind, ServerMessage,
};
use huddle_server::{Server, ServerConfig, ServerError, StoreError};

fn durable(dir: &Path) -> ServerConfig {
    ServerConfig {
        data_dir: Some(dir.to_owned()),
        rate_limit: false,
        ..ServerConfig::loopback()
    }
}

fn say_with(id: ClientMsgId, text: &str) -> ClientMessage {
    ClientMessage::Say {
        room: room("#r"),
        id,
        kind: MessageKind::Normal,
        text: ChatText::new(text).unwrap(),
    }
}

/// Sends `count` messages and returns their acknowledged ids, in order.
async fn send_acked(client: &mut Client, count: usize) -> Vec<MessageId> {
    let mut ids = Vec::new();
    for n in 0..count {
        client.say("#r", &format!("m{n}")).await;
        match client
            .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
            .await
        {
            ServerMessage::Ack { message_id, .. } => ids.push(message_id),
            _ => unreachable!(),
        }
    }
    ids
}

fn history_of(message: &ServerMessage) -> Vec<(MessageId, String)> {
    match message {
        ServerMessage::Joined { history, .. } => {
            history.iter().map(|m| (m.id, m.text.to_string())).collect()
        }
        ServerMessage::HistoryPage { messages, .. } => messages
            .iter()
            .map(|m| (m.id, m.text.to_string()))
            .collect(),
        other => panic!("no history in {other:?}"),
    }
}

#[tokio::test]
async fn acknowledged_history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(durable(dir.path())).await;
    let mut alice = Client::joined(server.addr, "alice", &["#r"]).await;
    let ids = send_acked(&mut alice, 30).await;
    server.stop().await;

    let server = start(durable(dir.path())).await;
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    let history = history_of(&bob.join("#r").await);
    let expected: Vec<(MessageId, String)> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| (*id, format!("m{n}")))
        .collect();
    assert_eq!(history, expected);
    server.stop().await;
}

#[tokio::test]
async fn a_resend_is_acked_with_the_original_id_and_delivered_once_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(durable(dir.path())).await;
    let me = ClientId::random();
    let mut alice = Client::connect_as(server.addr, "alice", me).await;
    alice.join("#r").await;
    let mut bob = Client::joined(server.addr, "bob", &["#r"]).await;
    alice.sync().await;
    let id = ClientMsgId::random();
    alice.send(say_with(id, "only once")).await;
    let ServerMessage::Ack {
        message_id: first, ..
    } = alice
        .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
        .await
    else {
        unreachable!()
    };
    alice.send(say_with(id, "only once")).await;
    let ServerMessage::Ack {
        message_id: again,
        id: acked,
        ..
    } = alice
        .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!((again, acked), (first, id));
    assert_eq!(bob.next_chat().await, "only once");
    assert!(
        bob.sync()
            .await
            .iter()
            .all(|m| !matches!(m, ServerMessage::Chat(_))),
        "delivered twice"
    );
    server.stop().await;

    // The ack was lost in a crash, say: the same client resends after a restart.
    let server = start(durable(dir.path())).await;
    let mut alice = Client::connect_as(server.addr, "alice", me).await;
    alice.join("#r").await;
    alice.send(say_with(id, "only once")).await;
    let ServerMessage::Ack {
        message_id: after_restart,
        ..
    } = alice
        .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
        .await
    else {
        unreachable!()
    };
    assert_eq!(after_restart, first);
    let (mut carol, _) = Client::connect(server.addr, "carol").await;
    let copies = history_of(&carol.join("#r").await)
        .iter()
        .filter(|(_, text)| text == "only once")
        .count();
    assert_eq!(copies, 1);
    server.stop().await;
}

#[tokio::test]
async fn history_pages_cross_from_memory_to_disk_without_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        history_per_room: 5,
        ..durable(dir.path())
    };
    let server = start(config).await;
    let mut alice = Client::joined(server.addr, "alice", &["#r"]).await;
    let ids = send_acked(&mut alice, 30).await;
    let page = |before: Option<MessageId>, after: Option<MessageId>, limit: u16| {
        ClientMessage::FetchHistory {
            room: room("#r"),
            before,
            after,
            limit,
        }
    };

    // Walk back from the newest in pages of 7: every message once, in order.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        alice.send(page(before, None, 7)).await;
        let reply = alice.recv().await;
        let ServerMessage::HistoryPage { more, .. } = &reply else {
            panic!("{reply:?}")
        };
        let more = *more;
        let mut batch: Vec<MessageId> = history_of(&reply).into_iter().map(|(id, _)| id).collect();
        before = batch.first().copied();
        batch.extend(seen);
        seen = batch;
        if !more {
            break;
        }
    }
    assert_eq!(seen, ids);
    // Forward from the 10th: the gap a reconnecting client fills.
    alice.send(page(None, Some(ids[9]), 100)).await;
    let reply = alice.recv().await;
    let forward: Vec<MessageId> = history_of(&reply).into_iter().map(|(id, _)| id).collect();
    assert_eq!(forward, ids[10..]);
    assert!(matches!(
        reply,
        ServerMessage::HistoryPage { more: false, .. }
    ));
    alice.send(page(None, Some(ids[9]), 5)).await;
    let reply = alice.recv().await;
    assert_eq!(
        history_of(&reply)
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>(),
        ids[10..15]
    );
    assert!(matches!(
        reply,
        ServerMessage::HistoryPage { more: true, .. }
    ));
    server.stop().await;
}

#[tokio::test]
async fn retention_keeps_the_newest_messages_of_each_room() {
    // The same installation before and after the restart (its nick stays
    // bound to its key).
    let alice_id = huddle_protocol::ClientId::random();
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        history_retention: 10,
        history_per_room: 3,
        ..durable(dir.path())
    };
    let server = start(config.clone()).await;
    let mut alice = Client::joined_as(server.addr, "alice", alice_id, &["#r"]).await;
    let ids = send_acked(&mut alice, 25).await;
    server.stop().await;
    let server = start(config).await;
    let mut alice = Client::joined_as(server.addr, "alice", alice_id, &["#r"]).await;
    alice
        .send(ClientMessage::FetchHistory {
            room: room("#r"),
            before: None,
            after: None,
            limit: 100,
        })
        .await;
    let kept: Vec<MessageId> = history_of(&alice.recv().await)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(kept, ids[15..]);
    server.stop().await;
}

fn expect_store_error(result: Result<Server, ServerError>) -> StoreError {
    match result {
        Err(ServerError::Store(err)) => err,
        Err(other) => panic!("expected a store error, got {other}"),
        Ok(_) => panic!("the server started on a bad data directory"),
    }
}

#[tokio::test]
async fn a_corrupt_locked_or_unusable_data_dir_stops_the_server_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("history.redb"), vec![0x5a; 8192]).unwrap();
    let err = expect_store_error(Server::bind(durable(dir.path())).await);
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&dir.path().join("history.redb").display().to_string()),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let first = Server::bind(durable(dir.path())).await.unwrap();
    let err = expect_store_error(Server::bind(durable(dir.path())).await);
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    assert!(err.to_string().contains("another huddle-server"), "{err}");
    drop(first);

    let file = tempfile::NamedTempFile::new().unwrap();
    let err = expect_store_error(Server::bind(durable(file.path())).await);
    assert!(matches!(err, StoreError::Unusable { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&file.path().display().to_string()),
        "{err}"
    );
}

/// A room message as schema version 1 (the first release) stored it: no
/// `client_msg_id`.
#[derive(serde::Serialize)]
struct ChatMessageV1 {
    id: MessageId,
    target: huddle_protocol::Target,
    from: huddle_protocol::Nick,
    kind: MessageKind,
    text: ChatText,
    timestamp: u64,
}

/// Writes a database as an older (or unknown) server would have left it:
/// `schema_version` and one message of `#r`, in version 1's layout.
fn write_database(dir: &Path, schema_version: u64, message: &ChatMessageV1) {
    let db = redb::Database::create(dir.join("history.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn
            .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
            .unwrap();
        meta.insert("schema_version", schema_version).unwrap();
        let mut messages = txn
            .open_table(redb::TableDefinition::<(&str, u128), &[u8]>::new(
                "messages",
            ))
            .unwrap();
        let bytes = huddle_protocol::encode_payload(message).unwrap();
        messages
            .insert(("#r", message.id.as_uuid().as_u128()), bytes.as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
}

#[tokio::test]
async fn a_version_1_database_is_upgraded_and_an_unknown_version_refused() {
    let message = ChatMessageV1 {
        id: MessageId::from_uuid(uuid::Uuid::now_v7()),
        target: huddle_protocol::Target::Room(room("#r")),
        from: huddle_protocol::Nick::new("old").unwrap(),
        kind: MessageKind::Normal,
        text: ChatText::new("from version 1").unwrap(),
        timestamp: 1,
    };
    let dir = tempfile::tempdir().unwrap();
    write_database(dir.path(), 1, &message);
    let server = start(durable(dir.path())).await;
    let mut alice = Client::joined(server.addr, "alice", &[]).await;
    let history = history_of(&alice.join("#r").await);
    assert_eq!(history, [(message.id, "from version 1".to_owned())]);
    server.stop().await;
    // Upgraded once: it opens again as version 2, the message still there.
    let server = start(durable(dir.path())).await;
    let mut bob = Client::joined(server.addr, "bob", &[]).await;
    assert_eq!(history_of(&bob.join("#r").await), history);
    server.stop().await;

    let dir = tempfile::tempdir().unwrap();
    write_database(dir.path(), 99, &message);
    let err = expect_store_error(Server::bind(durable(dir.path())).await);
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

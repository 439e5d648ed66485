//! Direct messages are kept per client id: acknowledged ones survive a
//! restart, a reconnecting client fills its gap exactly, a conversation pages
//! back on its own, a resend is recognised, and a later holder of the nick
//! sees nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::path::Path;

use common::{Client, start};
use huddle_protocol::{
    ChatText, ClientId, ClientMessage, ClientMsgId, DirectEntry, ErrorCode, MessageId, MessageKind,
    Nick, RequestKind, ServerMessage,
};
use huddle_server::ServerConfig;

fn durable(dir: &Path) -> ServerConfig {
    ServerConfig {
        data_dir: Some(dir.to_owned()),
        rate_limit: false,
        ..ServerConfig::loopback()
    }
}

fn nick(name: &str) -> Nick {
    Nick::new(name).unwrap()
}

fn direct(to: &str, id: ClientMsgId, text: &str) -> ClientMessage {
    ClientMessage::Direct {
        to: nick(to),
        id,
        kind: MessageKind::Normal,
        text: ChatText::new(text).unwrap(),
    }
}

/// Sends direct messages `texts` to `to`, one at a time, and returns the
/// acknowledged ids.
async fn send_acked(client: &mut Client, to: &str, texts: &[String]) -> Vec<MessageId> {
    let mut ids = Vec::new();
    for text in texts {
        let id = ClientMsgId::random();
        client.send(direct(to, id, text)).await;
        match client
            .recv_until(|m| matches!(m, ServerMessage::Ack { .. } | ServerMessage::Error(_)))
            .await
        {
            ServerMessage::Ack {
                id: acked,
                message_id,
                ..
            } if acked == id => ids.push(message_id),
            other => panic!("{text}: expected its Ack, got {other:?}"),
        }
    }
    ids
}

async fn fetch(
    client: &mut Client,
    with: Option<&str>,
    before: Option<MessageId>,
    after: Option<MessageId>,
    limit: u16,
) -> (Vec<DirectEntry>, bool) {
    client
        .send(ClientMessage::FetchDirectHistory {
            with: with.map(nick),
            before,
            after,
            limit,
        })
        .await;
    match client
        .recv_until(|m| matches!(m, ServerMessage::DirectHistoryPage { .. }))
        .await
    {
        ServerMessage::DirectHistoryPage {
            with: answered,
            messages,
            more,
        } => {
            assert_eq!(answered.as_ref().map(Nick::as_str), with);
            (messages, more)
        }
        _ => unreachable!(),
    }
}

/// (outgoing, peer, text) of each entry.
fn summary(entries: &[DirectEntry]) -> Vec<(bool, String, String)> {
    entries
        .iter()
        .map(|e| (e.outgoing, e.peer().to_string(), e.message.text.to_string()))
        .collect()
}

fn texts(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|n| format!("{prefix}{n}")).collect()
}

#[tokio::test]
async fn acknowledged_direct_messages_survive_a_restart_in_both_mailboxes() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_id, bob_id) = (ClientId::random(), ClientId::random());
    let server = start(durable(dir.path())).await;
    let mut alice = Client::connect_as(server.addr, "alice", alice_id).await;
    let mut bob = Client::connect_as(server.addr, "bob", bob_id).await;
    let mut carol = Client::connect_as(server.addr, "carol", ClientId::random()).await;
    let to_bob = send_acked(&mut alice, "bob", &texts("a", 12)).await;
    for n in 0..12 {
        assert_eq!(bob.next_chat().await, format!("a{n}"));
    }
    let to_alice = send_acked(&mut bob, "alice", &texts("b", 3)).await;
    send_acked(&mut carol, "alice", &texts("c", 2)).await;
    server.stop().await;

    let server = start(durable(dir.path())).await;
    let mut bob = Client::connect_as(server.addr, "bob", bob_id).await;
    let (all, more) = fetch(&mut bob, None, None, None, 200).await;
    let mut expected: Vec<(bool, String, String)> = texts("a", 12)
        .into_iter()
        .map(|t| (false, "alice".to_owned(), t))
        .collect();
    expected.extend(texts("b", 3).into_iter().map(|t| (true, "alice".into(), t)));
    assert_eq!((summary(&all), more), (expected, false));
    let ids: Vec<MessageId> = all.iter().map(|e| e.message.id).collect();
    assert_eq!(ids[..12], to_bob[..]);
    assert_eq!(ids[12..], to_alice[..]);

    // The gap after the fifth message, exactly; then paging back.
    let (after, more) = fetch(&mut bob, None, None, Some(to_bob[4]), 200).await;
    assert_eq!((summary(&after), more), (summary(&all[5..]), false));
    let (newest, more) = fetch(&mut bob, None, None, None, 4).await;
    assert_eq!((summary(&newest), more), (summary(&all[11..]), true));
    let (older, more) = fetch(&mut bob, None, Some(newest[0].message.id), None, 100).await;
    assert_eq!((summary(&older), more), (summary(&all[..11]), false));

    // Alice's mailbox holds both conversations; `with` picks one.
    let mut alice = Client::connect_as(server.addr, "alice", alice_id).await;
    assert_eq!(fetch(&mut alice, None, None, None, 200).await.0.len(), 17);
    let (with_carol, _) = fetch(&mut alice, Some("Carol"), None, None, 200).await;
    let from_carol: Vec<(bool, String, String)> = texts("c", 2)
        .into_iter()
        .map(|t| (false, "carol".to_owned(), t))
        .collect();
    assert_eq!(summary(&with_carol), from_carol);
    assert_eq!(
        fetch(&mut alice, Some("bob"), None, None, 200)
            .await
            .0
            .len(),
        15
    );
    server.stop().await;
}

#[tokio::test]
async fn a_resend_after_a_restart_is_acked_with_its_original_id_and_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_id, bob_id) = (ClientId::random(), ClientId::random());
    let server = start(durable(dir.path())).await;
    let mut alice = Client::connect_as(server.addr, "alice", alice_id).await;
    let mut bob = Client::connect_as(server.addr, "bob", bob_id).await;
    let id = ClientMsgId::random();
    alice.send(direct("bob", id, "once")).await;
    let original = match alice.recv().await {
        ServerMessage::Ack { message_id, .. } => message_id,
        other => panic!("expected Ack, got {other:?}"),
    };
    assert_eq!(bob.next_chat().await, "once");
    server.stop().await;

    let server = start(durable(dir.path())).await;
    let mut alice = Client::connect_as(server.addr, "alice", alice_id).await;
    let mut bob = Client::connect_as(server.addr, "bob", bob_id).await;
    alice.send(direct("bob", id, "once")).await;
    match alice.recv().await {
        ServerMessage::Ack { message_id, .. } => assert_eq!(message_id, original),
        other => panic!("expected Ack, got {other:?}"),
    }
    assert!(
        !bob.sync()
            .await
            .iter()
            .any(|m| matches!(m, ServerMessage::Chat(_))),
        "the resend was delivered again"
    );
    let (entries, _) = fetch(&mut alice, None, None, None, 200).await;
    assert_eq!(entries.len(), 1, "the resend was stored twice");
    server.stop().await;
}

#[tokio::test]
async fn mailboxes_belong_to_client_ids_not_nicks() {
    // With nick binding off (an operator's choice), another key can take a
    // free nick: even then it gets that nick's owner's mailbox not.
    let server = start(ServerConfig {
        nick_binding: std::time::Duration::ZERO,
        ..ServerConfig::loopback()
    })
    .await;
    let mut alice = Client::connect(server.addr, "alice").await.0;
    let mut bob = Client::connect_as(server.addr, "bob", ClientId::random()).await;
    send_acked(&mut alice, "bob", &texts("secret", 2)).await;
    assert_eq!(bob.next_chat().await, "secret0");
    drop(bob);
    // Someone else takes the nick once it is free: their mailbox is empty.
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    let mut impostor = loop {
        let (client, answer) = Client::handshake(server.addr, "bob").await;
        if matches!(answer, ServerMessage::Welcome(_)) {
            break client;
        }
        assert!(tokio::time::Instant::now() < deadline, "{answer:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        fetch(&mut impostor, None, None, None, 200).await,
        (vec![], false)
    );
    assert_eq!(
        fetch(&mut impostor, Some("alice"), None, None, 200).await,
        (vec![], false)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_reconnecting_client_fills_its_gap_from_memory_without_a_store() {
    let server = start(ServerConfig {
        rate_limit: false,
        ..ServerConfig::loopback()
    })
    .await;
    let bob_id = ClientId::random();
    let mut alice = Client::connect(server.addr, "alice").await.0;
    let mut bob = Client::connect_as(server.addr, "bob", bob_id).await;
    let ids = send_acked(&mut alice, "bob", &texts("m", 10)).await;
    // Bob saw the first three, then lost his connection.
    for n in 0..3 {
        assert_eq!(bob.next_chat().await, format!("m{n}"));
    }
    drop(bob);
    let mut bob = Client::reconnect_as(server.addr, "bob", bob_id).await;
    let (gap, more) = fetch(&mut bob, None, None, Some(ids[2]), 4).await;
    let gap_ids: Vec<MessageId> = gap.iter().map(|e| e.message.id).collect();
    assert_eq!((gap_ids, more), (ids[3..7].to_vec(), true));
    let (rest, more) = fetch(&mut bob, None, None, Some(ids[6]), 4).await;
    let rest_ids: Vec<MessageId> = rest.iter().map(|e| e.message.id).collect();
    assert_eq!((rest_ids, more), (ids[7..].to_vec(), false));
    server.stop().await;
}

#[tokio::test]
async fn a_direct_message_to_nobody_is_refused_with_its_id_and_not_stored() {
    let server = start(ServerConfig::loopback()).await;
    let mut alice = Client::connect(server.addr, "alice").await.0;
    let id = ClientMsgId::random();
    alice.send(direct("nobody", id, "hello?")).await;
    match alice.recv().await {
        ServerMessage::Error(report) => {
            assert_eq!(report.code, ErrorCode::NoSuchNick);
            assert_eq!(report.request, RequestKind::Direct);
            assert_eq!(report.id, Some(id));
        }
        other => panic!("expected Error, got {other:?}"),
    }
    assert_eq!(
        fetch(&mut alice, None, None, None, 200).await,
        (vec![], false)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_resend_is_acked_even_when_its_recipient_has_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_id, bob_id) = (ClientId::random(), ClientId::random());
    let server = start(durable(dir.path())).await;
    let mut alice = Client::connect_as(server.addr, "alice", alice_id).await;
    let mut bob = Client::connect_as(server.addr, "bob", bob_id).await;
    let id = ClientMsgId::random();
    alice.send(direct("bob", id, "before the crash")).await;
    let original = match alice.recv().await {
        ServerMessage::Ack { message_id, .. } => message_id,
        other => panic!("expected Ack, got {other:?}"),
    };
    assert_eq!(bob.next_chat().await, "before the crash");
    server.stop().await;

    // Alice never saw the ack, reconnects first and resends: bob is not
    // back yet, but the message was accepted and stored.
    let server = start(durable(dir.path())).await;
    let mut alice = Client::connect_as(server.addr, "alice", alice_id).await;
    alice.send(direct("bob", id, "before the crash")).await;
    match alice.recv().await {
        ServerMessage::Ack { message_id, .. } => assert_eq!(message_id, original),
        other => panic!("expected the original Ack, got {other:?}"),
    }
    server.stop().await;
}

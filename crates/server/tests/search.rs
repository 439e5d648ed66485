//! `Search` over a real socket against a durable server with the default
//! limits: what was said before a restart is found (from the disk), in the
//! caller's rooms and mailbox, and a burst of searches is held back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use common::{Client, start};
use huddle_protocol::{
    ChatText, ClientId, ClientMessage, ClientMsgId, ErrorCode, MessageId, MessageKind, Nick,
    RequestKind, SearchHit, ServerMessage, ShortText,
};
use huddle_server::ServerConfig;

fn search(query: &str, before: Option<MessageId>, limit: u16) -> ClientMessage {
    ClientMessage::Search {
        query: ShortText::new(query).unwrap(),
        room: None,
        before,
        limit,
    }
}

async fn results(client: &mut Client) -> (Vec<SearchHit>, Option<MessageId>) {
    match client
        .recv_until(|m| matches!(m, ServerMessage::SearchResults { .. }))
        .await
    {
        ServerMessage::SearchResults { hits, next, .. } => (hits, next),
        _ => unreachable!(),
    }
}

/// Says `text` in `room` and waits for its ack (durable: on disk).
async fn say_acked(client: &mut Client, room: &str, text: &str) {
    client.say(room, text).await;
    client
        .recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
        .await;
}

#[tokio::test]
async fn what_was_said_before_a_restart_is_found_in_the_callers_rooms_and_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let durable = || ServerConfig {
        data_dir: Some(dir.path().to_owned()),
        ..ServerConfig::loopback()
    };
    let alice_id = ClientId::random();
    let server = start(durable()).await;
    let mut alice = Client::joined_as(server.addr, "alice", alice_id, &["#ops", "#dev"]).await;
    let mut bob = Client::joined(server.addr, "bob", &["#ops", "#elsewhere"]).await;
    say_acked(&mut bob, "#ops", "the Deploy of 1.2 is done").await;
    say_acked(&mut bob, "#ops", "lunch?").await;
    say_acked(&mut bob, "#elsewhere", "a deploy alice cannot see").await;
    say_acked(&mut alice, "#dev", "deploy notes are in the wiki").await;
    bob.send(ClientMessage::Direct {
        to: Nick::new("alice").unwrap(),
        id: ClientMsgId::random(),
        kind: MessageKind::Normal,
        text: ChatText::new("DEPLOY window moved to 3pm").unwrap(),
    })
    .await;
    bob.recv_until(|m| matches!(m, ServerMessage::Ack { .. }))
        .await;
    server.stop().await;

    let server = start(durable()).await;
    let mut alice = Client::joined_as(server.addr, "alice", alice_id, &["#ops", "#dev"]).await;
    alice.send(search("deploy", None, 10)).await;
    let (hits, next) = results(&mut alice).await;
    let found: Vec<(&str, &str)> = hits
        .iter()
        .map(|hit| (hit.message().from.as_str(), hit.message().text.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("bob", "DEPLOY window moved to 3pm"),
            ("alice", "deploy notes are in the wiki"),
            ("bob", "the Deploy of 1.2 is done"),
        ]
    );
    assert!(matches!(&hits[0], SearchHit::Direct(entry) if !entry.outgoing));
    assert_eq!(next, None);
    // Two at a time: the second page starts where the first said.
    alice.send(search("deploy", None, 2)).await;
    let (first, next) = results(&mut alice).await;
    assert_eq!(first.len(), 2);
    alice.send(search("deploy", next, 2)).await;
    let (second, _) = results(&mut alice).await;
    assert_eq!(second[0].message().id, hits[2].message().id);
    server.stop().await;
}

#[tokio::test]
async fn a_burst_of_searches_is_held_to_the_search_rate() {
    let server = start(ServerConfig::loopback()).await;
    let mut alice = Client::joined(server.addr, "alice", &["#ops"]).await;
    for _ in 0..8 {
        alice.send(search("anything", None, 10)).await;
    }
    let answers = alice.sync().await;
    let served = answers
        .iter()
        .filter(|m| matches!(m, ServerMessage::SearchResults { .. }))
        .count();
    let refused = answers
        .iter()
        .filter(|m| {
            matches!(m, ServerMessage::Error(e)
                if e.code == ErrorCode::RateLimited && e.request == RequestKind::Search)
        })
        .count();
    assert_eq!(served + refused, 8, "{answers:?}");
    assert!((5..8).contains(&served), "{served} served at once");
    server.stop().await;
}

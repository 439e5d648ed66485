//! `Search` in the hub without sockets (history in memory; the disk is
//! searched in `tests/search.rs` across a restart): where it looks, case,
//! paging without loss or repeat, and refusals.

use huddle_protocol::{
    ChatText, ClientMsgId, ErrorCode, MessageId, MessageKind, SearchHit, ServerMessage, ShortText,
};

use super::SearchRequest;
use crate::testkit::{Peer, connect, hub, nick, room};

fn ask(
    hub: &super::Hub,
    peer: &Peer,
    rooms: &[&str],
    query: &str,
    only: Option<&str>,
    before: Option<MessageId>,
    limit: u16,
) -> Result<(Vec<SearchHit>, Option<MessageId>), ErrorCode> {
    let rooms: Vec<_> = rooms.iter().map(|name| room(name)).collect();
    let request = SearchRequest {
        query: ShortText::new(query).unwrap(),
        room: only.map(room),
        before,
        limit,
    };
    match hub.search(peer.caller(), &rooms, request) {
        Ok(ServerMessage::SearchResults { hits, next, .. }) => Ok((hits, next)),
        Ok(other) => panic!("expected SearchResults, got {other:?}"),
        Err(refusal) => Err(refusal.code),
    }
}

fn texts(hits: &[SearchHit]) -> Vec<&str> {
    hits.iter().map(|hit| hit.message().text.as_str()).collect()
}

#[test]
fn it_finds_text_in_any_case_in_the_callers_rooms_and_mailbox_only() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    alice.join(&hub, "#ops");
    bob.join(&hub, "#ops");
    bob.join(&hub, "#private");
    bob.say_acked(&hub, "#ops", "the DEPLOY is done");
    bob.say_acked(&hub, "#ops", "lunch?");
    bob.say_acked(&hub, "#private", "deploy secrets");
    hub.direct(
        bob.caller(),
        &nick("alice"),
        ClientMsgId::random(),
        MessageKind::Normal,
        ChatText::new("about the deploy").unwrap(),
    )
    .unwrap();
    let (hits, next) = ask(&hub, &alice, &["#ops"], "Deploy", None, None, 10).unwrap();
    assert_eq!(texts(&hits), ["about the deploy", "the DEPLOY is done"]);
    assert!(matches!(&hits[0], SearchHit::Direct(entry) if !entry.outgoing));
    assert!(matches!(&hits[1], SearchHit::Room(_)));
    assert_eq!(next, None, "everything was looked at");
    // One room only: no direct messages.
    let (hits, _) = ask(&hub, &alice, &["#ops"], "deploy", Some("#ops"), None, 10).unwrap();
    assert_eq!(texts(&hits), ["the DEPLOY is done"]);
    // A room the caller is not in is refused, not searched.
    let refused = ask(
        &hub,
        &alice,
        &["#ops"],
        "deploy",
        Some("#private"),
        None,
        10,
    );
    assert_eq!(refused.unwrap_err(), ErrorCode::NotInRoom);
    let refused = ask(&hub, &alice, &["#ops"], "  ", None, None, 10);
    assert_eq!(refused.unwrap_err(), ErrorCode::InvalidText);
}

#[test]
fn pages_follow_next_without_losing_or_repeating_a_match() {
    let hub = hub();
    let alice = connect(&hub, "alice");
    alice.join(&hub, "#a");
    alice.join(&hub, "#b");
    let mut said = Vec::new();
    for n in 0..120 {
        let name = if n % 3 == 0 { "#a" } else { "#b" };
        let text = match n % 4 {
            0 => format!("noise {n}"),
            _ => format!("match {n}"),
        };
        alice.say_acked(&hub, name, &text);
        if n % 4 != 0 {
            said.push(text);
        }
    }
    said.reverse();
    let mut found = Vec::new();
    let mut before = None;
    for _ in 0..10 {
        let (hits, next) = ask(&hub, &alice, &["#a", "#b"], "MATCH", None, before, 25).unwrap();
        assert!(hits.len() <= 25);
        found.extend(texts(&hits).into_iter().map(str::to_owned));
        match next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(found, said, "every match once, newest first");
}

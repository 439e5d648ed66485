//! The dispatcher without a socket: frames are fed with the time they
//! arrived at, so the rate limit runs in virtual time (the server's one
//! clock, `tokio::time::Instant`, passed in).

use std::{sync::Arc, time::Duration};

use huddle_protocol::{
    ChatText, ClientMessage, ClientMsgId, ErrorCode, MessageKind, RequestKind, ServerMessage,
    encode_payload,
};
use tokio::time::Instant;

use super::{Departure, Dispatcher, Greeted};
use crate::{
    config::ServerConfig,
    hub::Hub,
    testkit::{Peer, connect, room},
};

fn dispatcher(hub: &Arc<Hub>, peer: &Peer, config: ServerConfig, now: Instant) -> Dispatcher {
    let greeted = Greeted {
        conn: peer.conn,
        client: peer.client,
        nick: peer.nick.clone(),
        peer: [127, 0, 0, 1].into(),
    };
    let context = crate::testkit::context(config, hub.clone());
    Dispatcher::new(greeted, peer.outbound.clone(), &context, now)
}

fn say(id: ClientMsgId) -> Vec<u8> {
    encode_payload(&ClientMessage::Say {
        room: room("#lan"),
        id,
        kind: MessageKind::Normal,
        text: ChatText::new("hi").unwrap(),
    })
    .unwrap()
}

fn join(name: &str) -> Vec<u8> {
    encode_payload(&ClientMessage::Join {
        room: room(name),
        password: None,
    })
    .unwrap()
}

/// Counts acks and rate-limit refusals (naming the refused message's id).
fn tally(frames: &[ServerMessage], refused_ids: &mut Vec<ClientMsgId>) -> usize {
    let mut acks = 0;
    for frame in frames {
        match frame {
            ServerMessage::Ack { .. } => acks += 1,
            ServerMessage::Error(report) if report.code == ErrorCode::RateLimited => {
                assert_eq!(report.request, RequestKind::Say);
                refused_ids.extend(report.id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    acks
}

#[test]
fn the_rate_limit_allows_the_burst_then_the_rate_then_disconnects_a_flood() {
    let hub = Arc::new(crate::testkit::hub());
    let alice = connect(&hub, "alice");
    let mut config = ServerConfig::loopback();
    config.limits.rate_per_second = 20;
    config.limits.rate_burst = 100;
    let start = Instant::now();
    let mut dispatcher = dispatcher(&hub, &alice, config, start);
    assert_eq!(dispatcher.on_frame(&join("#lan"), start), None);
    alice.take();

    let mut refused = Vec::new();
    let ids: Vec<ClientMsgId> = (0..100).map(|_| ClientMsgId::random()).collect();
    for id in &ids {
        assert_eq!(dispatcher.on_frame(&say(*id), start), None);
    }
    // Every frame costs a token: the join took one of the burst of 100.
    assert_eq!(tally(&alice.take(), &mut refused), 99, "the burst");
    assert_eq!(refused, [ids[99]], "the refusal names the dropped message");

    // A quarter of a second later, five more tokens (20 per second).
    let later = start + Duration::from_millis(250);
    for _ in 0..6 {
        dispatcher.on_frame(&say(ClientMsgId::random()), later);
    }
    assert_eq!(tally(&alice.take(), &mut refused), 5, "the rate");

    // Refused frames in a row beyond the burst: a flood, disconnected.
    let mut departure = None;
    for _ in 0..200 {
        departure = departure.or(dispatcher.on_frame(&say(ClientMsgId::random()), later));
    }
    assert_eq!(departure, Some(Departure::Flooding));
}

#[test]
fn a_client_is_refused_a_room_past_its_room_limit() {
    let hub = Arc::new(crate::testkit::hub());
    let alice = connect(&hub, "alice");
    let mut config = ServerConfig::loopback();
    config.limits.max_rooms_per_client = 2;
    let now = Instant::now();
    let mut dispatcher = dispatcher(&hub, &alice, config, now);
    for name in ["#one", "#two", "#one"] {
        dispatcher.on_frame(&join(name), now);
        assert!(
            matches!(alice.only(), ServerMessage::Joined { .. }),
            "{name}"
        );
    }
    dispatcher.on_frame(&join("#three"), now);
    let ServerMessage::Error(report) = alice.only() else {
        panic!("not refused")
    };
    assert_eq!(report.code, ErrorCode::TooManyRooms);
}

#[test]
fn a_client_creates_at_most_its_rooms_per_minute_but_joins_any_number() {
    let hub = Arc::new(crate::testkit::hub());
    let (alice, bob) = (connect(&hub, "alice"), connect(&hub, "bob"));
    let mut config = ServerConfig::loopback();
    config.rooms_created_per_minute = 3;
    let start = Instant::now();
    let mut alice_loop = dispatcher(&hub, &alice, config.clone(), start);
    let mut bob_loop = dispatcher(&hub, &bob, config, start);
    for name in ["#a", "#b", "#c"] {
        bob_loop.on_frame(&join(name), start);
    }
    // Three rooms that exist, then three new ones, then one too many.
    for name in ["#a", "#b", "#c", "#d", "#e", "#f", "#g"] {
        alice_loop.on_frame(&join(name), start);
    }
    let frames = alice.take();
    assert_eq!(frames.len(), 7, "{frames:?}");
    assert!(
        frames[..6]
            .iter()
            .all(|m| matches!(m, ServerMessage::Joined { .. }))
    );
    let ServerMessage::Error(report) = &frames[6] else {
        panic!("{frames:?}")
    };
    assert_eq!(report.code, ErrorCode::TooManyRooms);
    assert!(report.text.contains("3 rooms a minute"), "{}", report.text);
    // 20 s later (3 a minute), one more.
    let later = start + Duration::from_secs(20);
    alice_loop.on_frame(&join("#g"), later);
    assert!(matches!(alice.only(), ServerMessage::Joined { .. }));
}

#[test]
fn file_credit_for_unknown_transfers_counts_against_the_rate_limit() {
    let hub = Arc::new(crate::testkit::hub());
    let mallory = connect(&hub, "mallory");
    let now = Instant::now();
    let mut dispatcher = dispatcher(&hub, &mallory, ServerConfig::loopback(), now);
    let credit = encode_payload(&ClientMessage::FileCredit {
        transfer: huddle_protocol::TransferId::random(),
        bytes: 1,
    })
    .unwrap();
    let mut departure = None;
    for _ in 0..1000 {
        departure = departure.or(dispatcher.on_frame(&credit, now));
    }
    assert_eq!(departure, Some(Departure::Flooding));
}

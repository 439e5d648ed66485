//! The gap after a reconnect and de-duplication, in virtual time: pages
//! forward, in order, each message given to the view once.

use huddle_protocol::{
    ChatMessage, ClientMessage, ClientMsgId, DirectEntry, MessageId, ServerMessage, ShortText,
    Target,
};
use tokio::time::Instant;

use super::{
    CoreEvent,
    tests::{connected, events, id, nick, reconnect, room, said, say, transmit},
};

/// The ids of the room messages the core gave the view (in a join's
/// backlog or a gap's), in order, draining its events.
fn given_to_the_view(core: &mut super::ClientCore) -> Vec<MessageId> {
    let mut given = Vec::new();
    for event in events(core) {
        match event {
            CoreEvent::Frame(ServerMessage::Joined { history, .. }) => {
                given.extend(history.iter().map(|m| m.id));
            }
            CoreEvent::RoomBacklog { messages, .. } => given.extend(messages.iter().map(|m| m.id)),
            _ => {}
        }
    }
    given
}

/// A core that saw bob's message 1, then lost its connection and got it
/// back (rejoin and gap asked for, events drained).
fn saw_one_then_reconnected(now: Instant) -> super::ClientCore {
    let mut core = connected(now);
    core.handle_frame(
        now,
        ServerMessage::Chat(said(1, "bob", ClientMsgId::random())),
    );
    events(&mut core);
    reconnect(&mut core, now);
    core
}

/// Bob's room messages with the ids in `ids`.
fn said_by_bob(ids: std::ops::RangeInclusive<u128>) -> Vec<ChatMessage> {
    ids.map(|n| said(n, "bob", ClientMsgId::random())).collect()
}

/// Bob's direct message `n` to alice, as her mailbox files it.
fn to_alice(n: u128) -> DirectEntry {
    DirectEntry {
        outgoing: false,
        message: ChatMessage {
            target: Target::Direct(nick("alice")),
            ..said(n, "bob", ClientMsgId::random())
        },
    }
}

/// The ids of the messages the core gave the view, live or in a backlog
/// (a room's gap or the mailbox's), in the order given, draining its
/// events.
fn shown_in_order(core: &mut super::ClientCore) -> Vec<MessageId> {
    let mut order = Vec::new();
    for event in events(core) {
        match event {
            CoreEvent::RoomBacklog { messages, .. } => order.extend(messages.iter().map(|m| m.id)),
            CoreEvent::DirectBacklog { entries, .. } => {
                order.extend(entries.iter().map(|e| e.message.id));
            }
            CoreEvent::Frame(ServerMessage::Chat(m)) => order.push(m.id),
            _ => {}
        }
    }
    order
}

#[test]
fn a_gap_of_three_pages_is_fetched_page_by_page_and_given_once() {
    let now = Instant::now();
    let mut core = connected(now);
    let bob = ClientMsgId::random();
    core.handle_frame(now, ServerMessage::Chat(said(1, "bob", bob)));
    let out = reconnect(&mut core, now);
    assert!(
        out.contains(&ClientMessage::FetchHistory {
            room: room("#lan"),
            before: None,
            after: Some(id(1)),
            limit: 200
        }),
        "{out:?}"
    );
    // The rejoin's backlog repeats message 1 and brings 2.
    let two = said(2, "carol", ClientMsgId::random());
    core.handle_frame(
        now,
        ServerMessage::Joined {
            room: room("#lan"),
            topic: ShortText::new("").unwrap(),
            members: vec![],
            history: vec![said(1, "bob", bob), two.clone()],
        },
    );
    for page in 0..3u128 {
        let messages: Vec<ChatMessage> = (0..3)
            .map(|n| {
                said(
                    2 + page * 3 + n,
                    "carol",
                    if page == 0 && n == 0 {
                        two.client_msg_id
                    } else {
                        ClientMsgId::random()
                    },
                )
            })
            .collect();
        let newest = messages.last().unwrap().id;
        core.handle_frame(
            now,
            ServerMessage::HistoryPage {
                room: room("#lan"),
                messages,
                more: page < 2,
            },
        );
        let next = transmit(&mut core, now);
        if page < 2 {
            assert_eq!(
                next,
                [ClientMessage::FetchHistory {
                    room: room("#lan"),
                    before: None,
                    after: Some(newest),
                    limit: 200
                }]
            );
        } else {
            assert!(next.is_empty(), "the gap is closed");
        }
    }
    let given = given_to_the_view(&mut core);
    let expected: Vec<MessageId> = (2..=10).map(id).collect();
    assert_eq!(
        given, expected,
        "message 1 was seen live; 2 came in the backlog and the first page"
    );
}

#[test]
fn a_copy_accepted_again_after_a_server_crash_is_shown_once() {
    let now = Instant::now();
    let mut core = connected(now);
    let origin = ClientMsgId::random();
    core.handle_frame(now, ServerMessage::Chat(said(5, "bob", origin)));
    // The server crashed before storing 5; bob sent it again: a new id.
    core.handle_frame(now, ServerMessage::Chat(said(9, "bob", origin)));
    let shown = events(&mut core)
        .iter()
        .filter(|e| matches!(e, CoreEvent::Frame(ServerMessage::Chat(_))))
        .count();
    assert_eq!(shown, 1);
}

#[test]
fn our_message_found_in_history_counts_as_acknowledged() {
    let now = Instant::now();
    let mut core = connected(now);
    let (mine, message) = say("accepted, ack lost");
    core.send(now, message);
    transmit(&mut core, now);
    core.handle_frame(
        now,
        ServerMessage::Chat(said(1, "bob", ClientMsgId::random())),
    );
    reconnect(&mut core, now);
    core.handle_frame(
        now,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: vec![said(2, "alice", mine)],
            more: false,
        },
    );
    let events = events(&mut core);
    assert!(
        events.contains(&CoreEvent::Acked {
            id: mine,
            message_id: id(2),
            timestamp: 2
        }),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, CoreEvent::RoomBacklog { .. })),
        "not shown a second time"
    );
    // The resend's own ack, if the server sends one, tells nothing new.
    core.handle_frame(
        now,
        ServerMessage::Ack {
            id: mine,
            message_id: id(2),
            timestamp: 2,
        },
    );
    assert!(core.poll_event().is_none());
}

#[test]
fn the_mailbox_gap_is_filled_after_a_reconnect() {
    let now = Instant::now();
    let mut core = connected(now);
    core.handle_frame(now, ServerMessage::Chat(to_alice(3).message));
    let out = reconnect(&mut core, now);
    assert!(
        out.contains(&ClientMessage::FetchDirectHistory {
            with: None,
            before: None,
            after: Some(id(3)),
            limit: 200
        }),
        "{out:?}"
    );
    core.handle_frame(
        now,
        ServerMessage::DirectHistoryPage {
            with: None,
            messages: vec![to_alice(4)],
            more: true,
        },
    );
    assert!(
        transmit(&mut core, now).contains(&ClientMessage::FetchDirectHistory {
            with: None,
            before: None,
            after: Some(id(4)),
            limit: 200
        })
    );
    core.handle_frame(
        now,
        ServerMessage::DirectHistoryPage {
            with: None,
            messages: vec![to_alice(5)],
            more: false,
        },
    );
    let missed: Vec<MessageId> = events(&mut core)
        .into_iter()
        .filter_map(|e| match e {
            CoreEvent::DirectBacklog {
                entries,
                missed: true,
            } => Some(entries.iter().map(|e| e.message.id).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(missed, [id(4), id(5)]);
}

#[test]
fn a_rejoin_backlog_is_left_to_the_gap_fill_so_the_room_order_holds() {
    let now = Instant::now();
    let mut core = saw_one_then_reconnected(now);
    // Said while away: 2..=5; the rejoin's backlog is the newest two.
    let missed = said_by_bob(2..=5);
    core.handle_frame(
        now,
        ServerMessage::Joined {
            room: room("#lan"),
            topic: ShortText::new("").unwrap(),
            members: vec![],
            history: missed[2..].to_vec(),
        },
    );
    core.handle_frame(
        now,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: missed.clone(),
            more: false,
        },
    );
    let given = given_to_the_view(&mut core);
    assert_eq!(given, (2..=5).map(id).collect::<Vec<_>>());
}

#[test]
fn a_live_message_during_the_gap_fill_waits_for_the_older_ones() {
    let now = Instant::now();
    let mut core = saw_one_then_reconnected(now);
    core.handle_frame(
        now,
        ServerMessage::Joined {
            room: room("#lan"),
            topic: ShortText::new("").unwrap(),
            members: vec![],
            history: vec![],
        },
    );
    // 2 and 3 were missed; 4 is relayed live before the gap's page comes,
    // and the page (asked before 4 was stored) holds 2..=3 only.
    let live = said(4, "bob", ClientMsgId::random());
    core.handle_frame(now, ServerMessage::Chat(live.clone()));
    let missed = said_by_bob(2..=3);
    core.handle_frame(
        now,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: missed,
            more: false,
        },
    );
    assert_eq!(shown_in_order(&mut core), [id(2), id(3), id(4)]);
    assert_eq!(core.streams.watermark(&room("#lan")), Some(id(4)));
}

#[test]
fn a_flood_during_the_gap_fill_is_fetched_again_not_lost() {
    let now = Instant::now();
    let mut core = saw_one_then_reconnected(now);
    for n in 2..(2 + super::streams::MAX_PARKED as u128 + 10) {
        core.handle_frame(
            now,
            ServerMessage::Chat(said(n, "bob", ClientMsgId::random())),
        );
    }
    events(&mut core);
    core.handle_frame(
        now,
        ServerMessage::HistoryPage {
            room: room("#lan"),
            messages: vec![],
            more: false,
        },
    );
    let shown = events(&mut core)
        .iter()
        .filter(|e| matches!(e, CoreEvent::Frame(ServerMessage::Chat(_))))
        .count();
    assert_eq!(shown, 0, "nothing shown out of order");
    let out = transmit(&mut core, now);
    assert!(
        out.contains(&ClientMessage::FetchHistory {
            room: room("#lan"),
            before: None,
            after: Some(id(1)),
            limit: 200
        }),
        "the gap asked again from where the stream stands: {out:?}"
    );
}

#[test]
fn a_live_direct_message_during_the_mailbox_gap_waits_for_the_older_ones() {
    let now = Instant::now();
    let mut core = connected(now);
    core.handle_frame(now, ServerMessage::Chat(to_alice(1).message));
    events(&mut core);
    reconnect(&mut core, now);
    // Kept for alice while she was away: 2; said live before the page: 3.
    core.handle_frame(now, ServerMessage::Chat(to_alice(3).message));
    core.handle_frame(
        now,
        ServerMessage::DirectHistoryPage {
            with: None,
            messages: vec![to_alice(2)],
            more: false,
        },
    );
    assert_eq!(shown_in_order(&mut core), [id(2), id(3)]);
}

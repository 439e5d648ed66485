//! The core in virtual time: no sockets, no sleeps. Each test plays the
//! server's side by hand.

use huddle_protocol::{
    ChatMessage, ChatText, ClientMessage, ClientMsgId, ConnectionId, DirectEntry, ErrorCode,
    ErrorReport, Limits, MessageId, MessageKind, Nick, PROTOCOL_VERSION, RequestKind, RoomName,
    ServerId, ServerMessage, ShortText, Target, Welcome,
};
use tokio::time::{Duration, Instant};
use uuid::Uuid;

use super::{ClientCore, CoreConfig, CoreEvent};

fn room(name: &str) -> RoomName {
    RoomName::new(name).unwrap()
}

fn nick(name: &str) -> Nick {
    Nick::new(name).unwrap()
}

fn welcome(rate: u32, burst: u32) -> Welcome {
    Welcome {
        version: PROTOCOL_VERSION,
        server_id: ServerId::random(),
        connection_id: ConnectionId::random(),
        server_name: ShortText::new("office").unwrap(),
        motd: None,
        nick: nick("alice"),
        limits: Limits {
            rate_per_second: rate,
            rate_burst: burst,
            ..Limits::default()
        },
    }
}

fn id(n: u128) -> MessageId {
    MessageId::from_uuid(Uuid::from_u128(n))
}

/// A message `n` from `from` in `#lan`, sent as `origin`.
fn said(n: u128, from: &str, origin: ClientMsgId) -> ChatMessage {
    ChatMessage {
        id: id(n),
        target: Target::Room(room("#lan")),
        from: nick(from),
        kind: MessageKind::Normal,
        text: ChatText::new(format!("message {n}")).unwrap(),
        timestamp: n as u64,
        client_msg_id: origin,
    }
}

fn say(text: &str) -> (ClientMsgId, ClientMessage) {
    let id = ClientMsgId::random();
    let message = ClientMessage::Say {
        room: room("#lan"),
        id,
        kind: MessageKind::Normal,
        text: ChatText::new(text.to_owned()).unwrap(),
    };
    (id, message)
}

fn transmit(core: &mut ClientCore, now: Instant) -> Vec<ClientMessage> {
    std::iter::from_fn(|| core.poll_transmit(now)).collect()
}

fn events(core: &mut ClientCore) -> Vec<CoreEvent> {
    std::iter::from_fn(|| core.poll_event()).collect()
}

fn refusal(code: ErrorCode, request: RequestKind, id: Option<ClientMsgId>) -> ServerMessage {
    ServerMessage::Error(ErrorReport {
        code,
        text: ShortText::new("no").unwrap(),
        request,
        id,
    })
}

fn joined(core: &mut ClientCore, now: Instant, history: Vec<ChatMessage>) {
    core.send(
        now,
        ClientMessage::Join {
            room: room("#lan"),
            password: Some(ShortText::new("sesame").unwrap()),
        },
    );
    transmit(core, now);
    core.handle_frame(
        now,
        ServerMessage::Joined {
            room: room("#lan"),
            topic: ShortText::new("").unwrap(),
            members: vec![nick("alice")],
            history,
        },
    );
}

/// A core connected at `now`, in `#lan` (nothing seen), events drained.
fn connected(now: Instant) -> ClientCore {
    let mut core = ClientCore::new(CoreConfig::default());
    core.handle_connected(now, &welcome(20, 100));
    transmit(&mut core, now); // the mailbox anchor
    core.handle_frame(
        now,
        ServerMessage::DirectHistoryPage {
            with: None,
            messages: vec![],
            more: false,
        },
    );
    joined(&mut core, now, vec![]);
    events(&mut core);
    core
}

fn is_say(message: &ClientMessage, wanted: ClientMsgId) -> bool {
    message.client_msg_id() == Some(wanted)
}

#[test]
fn a_reconnect_in_the_middle_of_a_resend_sends_everything_again_in_order_once_acked() {
    let now = Instant::now();
    let mut core = connected(now);
    let sent: Vec<(ClientMsgId, ClientMessage)> = (0..5).map(|n| say(&format!("{n}"))).collect();
    for (_, message) in &sent {
        core.send(now, message.clone());
    }
    assert_eq!(transmit(&mut core, now).len(), 5);
    core.handle_disconnected(now, "reset");
    core.handle_connected(now, &welcome(20, 100));
    // The resend is cut off after two frames…
    let first_try = transmit(&mut core, now);
    assert!(
        matches!(first_try[0], ClientMessage::Join { ref password, .. } if password.is_some()),
        "rejoined with its password: {first_try:?}"
    );
    core.handle_frame(
        now,
        ServerMessage::Ack {
            id: sent[0].0,
            message_id: id(10),
            timestamp: 10,
        },
    );
    core.handle_disconnected(now, "reset again");
    assert!(matches!(
        events(&mut core).last(),
        Some(CoreEvent::Disconnected {
            unacknowledged: 4,
            ..
        })
    ));
    // …and after the next connection the four unacknowledged go again,
    // in their first order, with their ids.
    core.handle_connected(now, &welcome(20, 100));
    let resent: Vec<ClientMsgId> = transmit(&mut core, now)
        .iter()
        .filter_map(ClientMessage::client_msg_id)
        .collect();
    let expected: Vec<ClientMsgId> = sent[1..].iter().map(|(id, _)| *id).collect();
    assert_eq!(resent, expected);
    for (n, (id, _)) in sent[1..].iter().enumerate() {
        core.handle_frame(
            now,
            ServerMessage::Ack {
                id: *id,
                message_id: self::id(20 + n as u128),
                timestamp: 0,
            },
        );
    }
    assert!(core.is_settled());
}

#[test]
fn acks_overtaking_older_messages_settle_each_once() {
    let now = Instant::now();
    let mut core = connected(now);
    let (first, m1) = say("one");
    let (second, m2) = say("two");
    core.send(now, m1);
    core.send(now, m2);
    transmit(&mut core, now);
    core.handle_frame(
        now,
        ServerMessage::Ack {
            id: second,
            message_id: id(2),
            timestamp: 2,
        },
    );
    core.handle_frame(
        now,
        ServerMessage::Ack {
            id: first,
            message_id: id(1),
            timestamp: 1,
        },
    );
    core.handle_frame(
        now,
        ServerMessage::Ack {
            id: first,
            message_id: id(1),
            timestamp: 1,
        },
    );
    let acked: Vec<ClientMsgId> = events(&mut core)
        .into_iter()
        .filter_map(|e| match e {
            CoreEvent::Acked { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(
        acked,
        [second, first],
        "in the order the acks came, each once"
    );
    assert!(core.is_settled());
}

#[test]
fn a_gap_of_three_pages_is_fetched_page_by_page_and_given_once() {
    let now = Instant::now();
    let mut core = connected(now);
    let bob = ClientMsgId::random();
    core.handle_frame(now, ServerMessage::Chat(said(1, "bob", bob)));
    core.handle_disconnected(now, "reset");
    core.handle_connected(now, &welcome(20, 100));
    let out = transmit(&mut core, now);
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
    let mut given = Vec::new();
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
    for event in events(&mut core) {
        match event {
            CoreEvent::Frame(ServerMessage::Joined { history, .. }) => {
                given.extend(history.iter().map(|m| m.id))
            }
            CoreEvent::RoomBacklog { messages, .. } => given.extend(messages.iter().map(|m| m.id)),
            _ => {}
        }
    }
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
    core.handle_disconnected(now, "reset");
    core.handle_connected(now, &welcome(20, 100));
    transmit(&mut core, now);
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
fn pacing_keeps_to_the_rate_and_a_rate_refusal_goes_first_in_line() {
    let start = Instant::now();
    let mut core = ClientCore::new(CoreConfig {
        ping_every: Duration::from_secs(3600),
        ..CoreConfig::default()
    });
    core.handle_connected(start, &welcome(10, 5));
    let anchor = transmit(&mut core, start);
    assert_eq!(anchor.len(), 1);
    events(&mut core);
    let messages: Vec<(ClientMsgId, ClientMessage)> =
        (0..40).map(|n| say(&format!("{n}"))).collect();
    for (_, message) in &messages {
        core.send(start, message.clone());
    }
    let burst = transmit(&mut core, start);
    assert_eq!(
        burst.len(),
        2,
        "burst 5, less 2 in reserve, less the anchor"
    );
    // The server refuses the second for its rate anyway: it goes again first.
    core.handle_frame(
        start,
        refusal(
            ErrorCode::RateLimited,
            RequestKind::Say,
            messages[1].0.into(),
        ),
    );
    assert!(core.poll_event().is_none(), "not shown: it is sent again");
    let mut now = start;
    let mut order = Vec::new();
    while order.len() < 39 {
        now = core.poll_timeout().unwrap();
        core.handle_timeout(now);
        order.extend(
            transmit(&mut core, now)
                .iter()
                .filter_map(ClientMessage::client_msg_id),
        );
    }
    assert_eq!(order[0], messages[1].0);
    assert_eq!(
        order[1..],
        messages[2..].iter().map(|(id, _)| *id).collect::<Vec<_>>()[..]
    );
    let rate = 38.0 / (now - start).as_secs_f64();
    assert!(
        rate <= 9.0 + 0.1,
        "{rate} a second for a server allowing 10"
    );
}

#[test]
fn refusals_settle_the_message_and_reach_the_view_others_pass_through() {
    let now = Instant::now();
    let mut core = connected(now);
    let (mine, message) = say("too long for them");
    core.send(now, message);
    transmit(&mut core, now);
    core.handle_frame(
        now,
        refusal(ErrorCode::NotInRoom, RequestKind::Say, Some(mine)),
    );
    let unrelated = refusal(ErrorCode::NoSuchNick, RequestKind::Whois, None);
    core.handle_frame(now, unrelated.clone());
    let events = events(&mut core);
    assert!(
        matches!(&events[0], CoreEvent::Refused { id, report } if *id == mine && report.code == ErrorCode::NotInRoom)
    );
    assert_eq!(events[1], CoreEvent::Frame(unrelated));
    assert!(core.is_settled());
    // A refused join is not tried again after a reconnect.
    core.send(
        now,
        ClientMessage::Join {
            room: room("#locked"),
            password: None,
        },
    );
    transmit(&mut core, now);
    core.handle_frame(
        now,
        refusal(ErrorCode::BadPassword, RequestKind::Join, None),
    );
    core.handle_disconnected(now, "reset");
    core.handle_connected(now, &welcome(20, 100));
    let rejoined: Vec<ClientMessage> = transmit(&mut core, now)
        .into_iter()
        .filter(|m| matches!(m, ClientMessage::Join { .. }))
        .collect();
    assert_eq!(rejoined.len(), 1, "#lan only: {rejoined:?}");
}

#[test]
fn pings_answered_latency_measured_and_a_silent_server_is_stale() {
    let start = Instant::now();
    let mut core = ClientCore::new(CoreConfig {
        ping_every: Duration::from_secs(10),
        ..CoreConfig::default()
    });
    core.handle_connected(start, &welcome(20, 100));
    transmit(&mut core, start);
    core.handle_frame(start, ServerMessage::Ping { token: 7 });
    assert_eq!(
        transmit(&mut core, start),
        [ClientMessage::Pong { token: 7 }]
    );
    let at = core.poll_timeout().unwrap();
    assert_eq!(at, start + Duration::from_secs(10));
    core.handle_timeout(at);
    let [ClientMessage::Ping { token }] = transmit(&mut core, at)[..] else {
        panic!("a ping is due")
    };
    core.handle_frame(
        at + Duration::from_millis(30),
        ServerMessage::Pong { token },
    );
    assert!(events(&mut core).contains(&CoreEvent::Latency(Duration::from_millis(30))));
    let silent = at + Duration::from_secs(31);
    core.handle_timeout(silent);
    assert_eq!(events(&mut core), [CoreEvent::Stale]);
}

#[test]
fn requests_made_while_disconnected_wait_and_messages_are_kept_for_the_connection() {
    let now = Instant::now();
    let mut core = connected(now);
    core.handle_disconnected(now, "reset");
    let (mine, message) = say("typed while away");
    core.send(now, message);
    core.send(now, ClientMessage::ListRooms);
    core.send(now, ClientMessage::Pong { token: 1 });
    assert!(core.poll_transmit(now).is_none());
    core.handle_connected(now, &welcome(20, 100));
    let out = transmit(&mut core, now);
    let at = |wanted: &dyn Fn(&ClientMessage) -> bool| out.iter().position(wanted).unwrap();
    assert!(
        at(&|m| matches!(m, ClientMessage::Join { .. }))
            < at(&|m| matches!(m, ClientMessage::FetchHistory { .. }))
    );
    assert!(at(&|m| matches!(m, ClientMessage::FetchHistory { .. })) < at(&|m| is_say(m, mine)));
    assert!(at(&|m| is_say(m, mine)) < at(&|m| *m == ClientMessage::ListRooms));
    assert!(
        !out.contains(&ClientMessage::Pong { token: 1 }),
        "a stale pong is dropped"
    );
}

#[test]
fn the_mailbox_gap_is_filled_after_a_reconnect() {
    let now = Instant::now();
    let mut core = connected(now);
    let direct = |n: u128| DirectEntry {
        outgoing: false,
        message: ChatMessage {
            target: Target::Direct(nick("alice")),
            ..said(n, "bob", ClientMsgId::random())
        },
    };
    core.handle_frame(now, ServerMessage::Chat(direct(3).message));
    core.handle_disconnected(now, "reset");
    core.handle_connected(now, &welcome(20, 100));
    let out = transmit(&mut core, now);
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
            messages: vec![direct(4)],
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
            messages: vec![direct(5)],
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
    let mut core = connected(now);
    core.handle_frame(
        now,
        ServerMessage::Chat(said(1, "bob", ClientMsgId::random())),
    );
    core.handle_disconnected(now, "reset");
    core.handle_connected(now, &welcome(20, 100));
    transmit(&mut core, now);
    // Said while away: 2..=5; the rejoin's backlog is the newest two.
    let missed: Vec<ChatMessage> = (2..=5)
        .map(|n| said(n, "bob", ClientMsgId::random()))
        .collect();
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
    let mut given = Vec::new();
    for event in events(&mut core) {
        match event {
            CoreEvent::Frame(ServerMessage::Joined { history, .. }) => {
                given.extend(history.iter().map(|m| m.id))
            }
            CoreEvent::RoomBacklog { messages, .. } => given.extend(messages.iter().map(|m| m.id)),
            _ => {}
        }
    }
    assert_eq!(given, (2..=5).map(id).collect::<Vec<_>>());
}

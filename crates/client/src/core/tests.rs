//! The core in virtual time: no sockets, no sleeps. Each test plays the
//! server's side by hand. Here: the outbox and resend, acks, pacing,
//! refusals, keepalive (the gap and de-duplication: `gap_tests.rs`), and
//! the helpers both files use.

use huddle_protocol::{
    ChatMessage, ChatText, ClientMessage, ClientMsgId, ConnectionId, ErrorCode, ErrorReport,
    Limits, MessageId, MessageKind, Nick, PROTOCOL_VERSION, RequestKind, RoomName, ServerId,
    ServerMessage, ShortText, Target, Welcome,
};
use tokio::time::{Duration, Instant};
use uuid::Uuid;

use super::{ClientCore, CoreConfig, CoreEvent};

pub(super) fn room(name: &str) -> RoomName {
    RoomName::new(name).unwrap()
}

pub(super) fn nick(name: &str) -> Nick {
    Nick::new(name).unwrap()
}

/// A `Welcome` to alice from a server allowing `rate` a second and
/// `burst` (the TUI's tests use it too).
pub(crate) fn welcome(rate: u32, burst: u32) -> Welcome {
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

pub(super) fn id(n: u128) -> MessageId {
    MessageId::from_uuid(Uuid::from_u128(n))
}

/// A message `n` from `from` in `#lan`, sent as `origin`.
pub(super) fn said(n: u128, from: &str, origin: ClientMsgId) -> ChatMessage {
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

pub(super) fn say(text: &str) -> (ClientMsgId, ClientMessage) {
    let id = ClientMsgId::random();
    let message = ClientMessage::Say {
        room: room("#lan"),
        id,
        kind: MessageKind::Normal,
        text: ChatText::new(text.to_owned()).unwrap(),
    };
    (id, message)
}

pub(super) fn transmit(core: &mut ClientCore, now: Instant) -> Vec<ClientMessage> {
    std::iter::from_fn(|| core.poll_transmit(now)).collect()
}

pub(super) fn events(core: &mut ClientCore) -> Vec<CoreEvent> {
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
pub(super) fn connected(now: Instant) -> ClientCore {
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

/// A core (not connected) that pings every `every`.
fn pinging_every(every: Duration) -> ClientCore {
    ClientCore::new(CoreConfig {
        ping_every: every,
        ..CoreConfig::default()
    })
}

/// Loses the connection and makes it again; returns what the core sends
/// on the new one.
pub(super) fn reconnect(core: &mut ClientCore, now: Instant) -> Vec<ClientMessage> {
    core.handle_disconnected(now, "reset");
    core.handle_connected(now, &welcome(20, 100));
    transmit(core, now)
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
fn pacing_keeps_to_the_rate_and_a_rate_refusal_goes_first_in_line() {
    let start = Instant::now();
    let mut core = pinging_every(Duration::from_secs(3600));
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
    let rejoined: Vec<ClientMessage> = reconnect(&mut core, now)
        .into_iter()
        .filter(|m| matches!(m, ClientMessage::Join { .. }))
        .collect();
    assert_eq!(rejoined.len(), 1, "#lan only: {rejoined:?}");
}

#[test]
fn pings_answered_latency_measured_and_a_silent_server_is_stale() {
    let start = Instant::now();
    let mut core = pinging_every(Duration::from_secs(10));
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
fn sync_waits_behind_what_is_queued_and_says_when_it_is_answered() {
    let now = Instant::now();
    let mut core = connected(now);
    core.send(now, ClientMessage::ListRooms);
    core.sync();
    let out = transmit(&mut core, now);
    assert_eq!(out[0], ClientMessage::ListRooms, "the round trip goes last");
    let [_, ClientMessage::Ping { token }] = out[..] else {
        panic!("{out:?}")
    };
    core.handle_frame(now, ServerMessage::Pong { token });
    assert_eq!(events(&mut core), [CoreEvent::Synced]);
}

//! Membership rules of the hub without sockets: room creation through the
//! gate, passwords that outlive the room, and emptied rooms kept for their
//! history within their limits.

use huddle_protocol::{ErrorCode, ServerMessage, ShortText};

use super::{JoinGate, Refusal, Unlimited};
use crate::testkit::{connect, hub, room};

fn refusal_code(result: Result<impl std::fmt::Debug, Refusal>) -> ErrorCode {
    result.expect_err("expected a refusal").code
}

/// A gate that refuses everything.
struct Closed;

impl JoinGate for Closed {
    fn password_check(&mut self) -> Result<(), Refusal> {
        Err(Refusal {
            code: ErrorCode::BadPassword,
            text: "wait".into(),
        })
    }

    fn room_creation(&mut self) -> Result<(), Refusal> {
        Err(Refusal {
            code: ErrorCode::TooManyRooms,
            text: "no more".into(),
        })
    }
}

#[test]
fn the_gate_is_asked_before_a_room_is_created_and_only_then() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    let refused = hub.join(alice.caller(), &room("#new"), None, &mut Closed);
    assert_eq!(refused.unwrap_err().text, "no more");
    assert!(hub.room(&room("#new")).is_none());
    alice.join(&hub, "#new");
    // Joining a room that exists creates nothing.
    hub.join(bob.caller(), &room("#new"), None, &mut Closed)
        .unwrap();
}

#[test]
fn a_room_password_set_at_creation_is_required_from_everyone_after() {
    let mut hub = hub();
    hub.max_idle_rooms = 0;
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    let open = &mut Unlimited;
    let secret = ShortText::new("hunter2").unwrap();
    hub.join(alice.caller(), &room("#secret"), Some(&secret), open)
        .unwrap();
    let plans = ShortText::new("plans").unwrap();
    hub.set_topic(alice.caller(), &room("#secret"), plans.clone())
        .unwrap();
    // Outsiders see that it exists and is locked, not its topic or members.
    let [listed] = &hub.list_rooms(Some(bob.conn), 10)[..] else {
        panic!()
    };
    assert!(listed.has_password && listed.topic.is_empty());
    assert_eq!(hub.list_rooms(Some(alice.conn), 10)[0].topic, plans);
    let refused = hub.members(bob.conn, &room("#secret")).unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadPassword);

    // The room empties and is forgotten: its password and topic are not.
    hub.part(alice.caller(), &room("#secret"), &ShortText::default())
        .unwrap();
    assert!(hub.room(&room("#secret")).is_none());
    let guess = ShortText::new("guess").unwrap();
    for attempt in [None, Some(&guess)] {
        let refused = hub.join(bob.caller(), &room("#secret"), attempt, open);
        assert_eq!(refusal_code(refused), ErrorCode::BadPassword);
    }
    assert!(
        bob.take().is_empty(),
        "a refused joiner learns nothing of the room"
    );
    // A throttle (the gate) refuses before any check.
    let refused = hub.join(bob.caller(), &room("#secret"), Some(&secret), &mut Closed);
    assert_eq!(refused.unwrap_err().text, "wait");
    hub.join(bob.caller(), &room("#secret"), Some(&secret), open)
        .unwrap();
    let ServerMessage::Joined { topic, .. } = bob.only() else {
        panic!("not joined")
    };
    assert_eq!(topic, plans, "the topic outlived the room");
}

#[test]
fn emptied_rooms_keep_their_history_up_to_the_idle_limit() {
    let mut hub = hub();
    hub.max_idle_rooms = 1;
    let alice = connect(&hub, "alice");
    for name in ["#one", "#two", "#quiet"] {
        alice.join(&hub, name);
        if name != "#quiet" {
            alice.say_acked(&hub, name, "hi");
        }
    }
    let nobody = ShortText::default();
    hub.part(alice.caller(), &room("#quiet"), &nobody).unwrap();
    assert!(
        hub.room(&room("#quiet")).is_none(),
        "an empty room without history is forgotten"
    );
    hub.part(alice.caller(), &room("#one"), &nobody).unwrap();
    assert!(
        hub.room(&room("#one")).is_some(),
        "an emptied room keeps its history"
    );
    let listed: Vec<String> = hub
        .list_rooms(None, 10)
        .iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(listed, ["#two"], "an idle room is kept but not listed");
    hub.part(alice.caller(), &room("#two"), &nobody).unwrap();
    assert!(
        hub.room(&room("#one")).is_none(),
        "the longest idle room is evicted past the limit"
    );
    alice.take();
    let ServerMessage::Joined { history, .. } = alice.join(&hub, "#two") else {
        panic!()
    };
    assert_eq!(history.len(), 1, "the parked room kept its history");
}

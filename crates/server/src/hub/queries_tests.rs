//! The read-only requests of the hub without sockets: `Whois`'s idle time
//! and program.

use huddle_protocol::ServerMessage;

use crate::{
    testkit::{connect, hub, nick, unregistered},
    wall_clock::now_millis,
};

fn idle_and_program(hub: &super::Hub, asker: &crate::testkit::Peer, of: &str) -> (u64, String) {
    match hub.whois(asker.conn, &nick(of)) {
        Ok(ServerMessage::WhoisReply {
            idle_secs, client, ..
        }) => (idle_secs, client.to_string()),
        other => panic!("expected WhoisReply, got {other:?}"),
    }
}

#[test]
fn whois_counts_idle_time_from_the_last_message_said() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    alice.join(&hub, "#lan");
    // Said nothing yet: idle since connecting.
    assert_eq!(
        idle_and_program(&hub, &bob, "alice"),
        (0, "huddle test".into())
    );
    alice.outbound.note_spoke(now_millis() - 90_000);
    let (idle, _) = idle_and_program(&hub, &bob, "alice");
    assert!((90..95).contains(&idle), "idle {idle} s");
    alice.say_acked(&hub, "#lan", "back");
    assert_eq!(idle_and_program(&hub, &bob, "alice").0, 0);
}

#[test]
fn a_user_without_a_key_is_shown_without_one() {
    let hub = hub();
    let asker = connect(&hub, "asker");
    let irc = unregistered("ircuser");
    hub.register_keyless(irc.caller()).unwrap();
    hub.set_identity(irc.conn, &irc.nick, None, "IRC");
    let Ok(ServerMessage::WhoisReply { key, client, .. }) = hub.whois(asker.conn, &nick("ircuser"))
    else {
        panic!("a user without a key is not found")
    };
    assert_eq!((key, client.as_str()), (None, "IRC"));
}

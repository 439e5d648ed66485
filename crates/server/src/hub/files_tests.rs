//! File transfer rules of the hub in virtual time: the grace for late
//! answers and the stall timeout are deadlines the hub owns, run by
//! `Hub::run_due(now)`.

use std::time::Duration;

use huddle_protocol::{FileOffer, ServerMessage, ShortText, Target, TransferId};
use tokio::time::Instant;

use crate::testkit::{connect, hub, room};

/// An offer of `size` bytes named `name`, checksum not under test.
fn offer(transfer: TransferId, target: Target, name: &str, size: u64) -> FileOffer {
    FileOffer {
        transfer,
        target,
        name: ShortText::new(name).unwrap(),
        size,
        sha256: [0; 32],
    }
}

#[test]
fn data_starts_when_the_grace_for_late_answers_is_over_and_not_before() {
    let hub = hub();
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|name| connect(&hub, name));
    for peer in [&alice, &bob, &carol] {
        peer.join(&hub, "#lan");
    }
    for peer in [&alice, &bob, &carol] {
        peer.take();
    }
    let transfer = TransferId::random();
    let offer = offer(transfer, Target::Room(room("#lan")), "notes.txt", 10);
    let t0 = Instant::now();
    hub.file_offer(alice.caller(), offer, t0).unwrap();
    assert!(matches!(bob.only(), ServerMessage::FileOffered { .. }));
    assert!(matches!(carol.only(), ServerMessage::FileOffered { .. }));
    let stall = Duration::from_secs(60);
    assert_eq!(
        hub.next_deadline(),
        Some(t0 + stall),
        "only the stall timeout"
    );

    hub.file_answer(bob.caller(), transfer, true, t0).unwrap();
    assert!(matches!(
        alice.only(),
        ServerMessage::FileAnswered { accept: true, .. }
    ));
    let grace = Duration::from_secs(3);
    assert_eq!(hub.next_deadline(), Some(t0 + grace));

    hub.run_due(t0 + grace - Duration::from_millis(1));
    assert!(
        alice.take().is_empty(),
        "no credit while carol may still answer"
    );
    hub.run_due(t0 + grace);
    assert!(
        matches!(alice.only(), ServerMessage::FileCredit { bytes: 10, .. }),
        "the sender may send once the grace is over"
    );
    assert_eq!(
        hub.next_deadline(),
        Some(t0 + stall),
        "a started transfer waits only for progress"
    );

    hub.file_answer(carol.caller(), transfer, true, t0 + grace)
        .unwrap();
    assert!(
        matches!(
            carol.only(),
            ServerMessage::FileCancelled { ended: true, .. }
        ),
        "an accept after the start is told it is too late"
    );
}

#[test]
fn data_starts_at_once_when_everyone_answered() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    let transfer = TransferId::random();
    let offer = offer(transfer, Target::Direct(bob.nick.clone()), "a.bin", 5);
    let now = Instant::now();
    hub.file_offer(alice.caller(), offer, now).unwrap();
    bob.take();
    hub.file_answer(bob.caller(), transfer, true, now).unwrap();
    let frames = alice.take();
    assert!(
        matches!(
            frames[..],
            [
                ServerMessage::FileAnswered { .. },
                ServerMessage::FileCredit { bytes: 5, .. }
            ]
        ),
        "{frames:?}"
    );
    assert!(hub.transfer_exists(transfer));
}

#[test]
fn a_transfer_without_progress_for_a_minute_is_ended_for_everyone() {
    let hub = hub();
    let [alice, bob] = ["alice", "bob"].map(|name| connect(&hub, name));
    let transfer = TransferId::random();
    let offer = offer(transfer, Target::Direct(bob.nick.clone()), "a.bin", 1 << 20);
    let t0 = Instant::now();
    hub.file_offer(alice.caller(), offer, t0).unwrap();
    // Bob accepts, then never grants credit beyond the first window.
    let t1 = t0 + Duration::from_secs(5);
    hub.file_answer(bob.caller(), transfer, true, t1).unwrap();
    alice.take();
    bob.take();
    hub.run_due(t1 + Duration::from_secs(59));
    assert!(hub.transfer_exists(transfer), "ended too soon");
    hub.run_due(t1 + Duration::from_secs(60));
    assert!(!hub.transfer_exists(transfer));
    for peer in [&alice, &bob] {
        let ServerMessage::FileCancelled { ended, reason, .. } = peer.only() else {
            panic!("{} was not told", peer.nick)
        };
        assert!(ended && reason.contains("no progress"), "{reason}");
    }
    assert_eq!(hub.next_deadline(), None);
}

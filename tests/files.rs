//! File transfer through a real server: a 50 MiB file to two recipients
//! with chat flowing meanwhile, departures and cancels, offers over the
//! limits — each ending with a clear message and no stray or partial file.
//! (Hostile names, lying senders, readers that never read:
//! `files_hostile.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod file_peer;

use std::time::Duration;

use futures_util::StreamExt;
use huddle::{
    net::Connection,
    transfer::{AcceptPolicy, Direction, TransferEvent, Transfers},
};
use huddle_protocol::{ClientMessage, ErrorCode, Nick, ServerMessage, ShortText, Target};
use huddle_server::{Server, ServerConfig};

use file_peer::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mib_reach_two_recipients_intact_while_chat_keeps_flowing() {
    let server = server().await;
    let (outbox, bob_dir, carol_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let source = random_file(outbox.path(), "big.bin", 50 * 1024 * 1024);
    let mut alice_transfers =
        Transfers::new(outbox.path().join("downloads"), AcceptPolicy::default());
    let mut alice = Peer::spawn(
        joined(server.addr, "alice").await,
        Transfers::new(outbox.path().join("x"), AcceptPolicy::default()),
    );
    let mut bob = Peer::spawn(
        joined(server.addr, "bob").await,
        Transfers::new(bob_dir.path().to_owned(), accept_all()),
    );
    let mut carol = Peer::spawn(
        joined(server.addr, "carol").await,
        Transfers::new(carol_dir.path().to_owned(), accept_all()),
    );

    // Alice's engine lives in her peer task; offer through a fresh one and
    // hand the offer to it by restarting her with it.
    let (id, offer) = alice_transfers
        .offer(&source, Target::Room(room()))
        .unwrap();
    alice
        .commands
        .send(ClientMessage::Ping { token: 0 })
        .unwrap();
    drop(alice.commands);
    let connection = {
        let _ = alice.task.await;
        joined(server.addr, "alice2").await
    };
    alice = Peer::spawn(connection, alice_transfers);
    alice.send(ClientMessage::FileOffer(match offer {
        ClientMessage::FileOffer(mut offer) => {
            offer.transfer = id;
            offer
        }
        other => panic!("{other:?}"),
    }));

    // Chat both ways while the file moves.
    for n in 0..20 {
        alice.send(say(&format!("chat {n}")));
        bob.send(say(&format!("reply {n}")));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for n in 0..20 {
        let expected = format!("chat {n}");
        bob.until(|r| matches!(r, Report::Chat(t) if *t == expected).then_some(()))
            .await;
        let expected = format!("reply {n}");
        alice
            .until(|r| matches!(r, Report::Chat(t) if *t == expected).then_some(()))
            .await;
    }
    let mut saved = Vec::new();
    for peer in [&mut bob, &mut carol] {
        let path = peer
            .until(|r| match r {
                Report::Transfer(TransferEvent::Completed {
                    direction: Direction::Receiving,
                    saved,
                    ..
                }) => saved.clone(),
                Report::Transfer(TransferEvent::Failed { reason, .. }) => {
                    panic!("transfer failed: {reason}")
                }
                _ => None,
            })
            .await;
        saved.push(path);
    }
    alice
        .until(|r| {
            matches!(
                r,
                Report::Transfer(TransferEvent::Completed {
                    direction: Direction::Sending,
                    ..
                })
            )
            .then_some(())
        })
        .await;
    let original = std::fs::read(&source).unwrap();
    for path in &saved {
        assert_eq!(path.file_name().unwrap(), "big.bin");
        let copy = std::fs::read(path).unwrap();
        assert!(
            copy == original,
            "{} differs from the original",
            path.display()
        );
    }
    assert_eq!(files_in(bob_dir.path()), ["big.bin"], "stray files");
    assert_eq!(files_in(carol_dir.path()), ["big.bin"], "stray files");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_and_departures_end_transfers_cleanly_on_both_sides() {
    let server = server().await;
    let outbox = tempfile::tempdir().unwrap();
    let source = random_file(outbox.path(), "movie.mkv", 8 * 1024 * 1024);

    // The receiver cancels: the sender hears of it, no .part stays.
    let downloads = tempfile::tempdir().unwrap();
    let mut bob = Peer::spawn(
        joined(server.addr, "bob").await,
        Transfers::new(downloads.path().to_owned(), accept_all()),
    );
    let mut engine = Transfers::new(outbox.path().join("d"), AcceptPolicy::default());
    let (id, offer) = engine
        .offer(&source, Target::Direct(Nick::new("bob").unwrap()))
        .unwrap();
    let mut alice = Peer::spawn(joined(server.addr, "alice").await, engine);
    alice.send(offer);
    bob.until(|r| matches!(r, Report::Transfer(TransferEvent::Progress { .. })).then_some(()))
        .await;
    bob.send(ClientMessage::FileCancel {
        transfer: id,
        reason: ShortText::new("changed my mind").unwrap(),
    });
    let reason = alice
        .until(|r| match r {
            Report::Transfer(TransferEvent::Failed { reason, .. }) => Some(reason.clone()),
            Report::Transfer(TransferEvent::Notice(text)) if text.contains("stopped receiving") => {
                Some(text.clone())
            }
            _ => None,
        })
        .await;
    assert!(
        reason.contains("changed my mind") || reason.contains("nobody is receiving"),
        "{reason}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Bob's engine was told by its own cancel? It sent it raw: clean up as the app would.
    let bob_engine = {
        drop(bob.commands);
        bob.task.await.unwrap()
    };
    let mut bob_engine = bob_engine;
    let _ = bob_engine.cancel(id, "changed my mind");
    assert!(
        files_in(downloads.path()).is_empty(),
        "left behind: {:?}",
        files_in(downloads.path())
    );

    // The sender cancels: the receiver removes its .part.
    let downloads = tempfile::tempdir().unwrap();
    let mut carol = Peer::spawn(
        joined(server.addr, "carol").await,
        Transfers::new(downloads.path().to_owned(), accept_all()),
    );
    let mut engine = Transfers::new(outbox.path().join("d"), AcceptPolicy::default());
    let (id, offer) = engine
        .offer(&source, Target::Direct(Nick::new("carol").unwrap()))
        .unwrap();
    let alice2 = Peer::spawn(joined(server.addr, "alice2").await, engine);
    alice2.send(offer);
    carol
        .until(|r| matches!(r, Report::Transfer(TransferEvent::Progress { .. })).then_some(()))
        .await;
    alice2.send(ClientMessage::FileCancel {
        transfer: id,
        reason: ShortText::new("wrong file").unwrap(),
    });
    let reason = carol.failure().await;
    assert!(reason.contains("wrong file"), "{reason}");
    assert!(
        files_in(downloads.path()).is_empty(),
        "left behind: {:?}",
        files_in(downloads.path())
    );

    // The only receiver disconnects mid-transfer: the sender's transfer ends.
    let downloads = tempfile::tempdir().unwrap();
    let mut dave = Peer::spawn(
        joined(server.addr, "dave").await,
        Transfers::new(downloads.path().to_owned(), accept_all()),
    );
    let mut engine = Transfers::new(outbox.path().join("d"), AcceptPolicy::default());
    let (_, offer) = engine
        .offer(&source, Target::Direct(Nick::new("dave").unwrap()))
        .unwrap();
    let mut alice3 = Peer::spawn(joined(server.addr, "alice3").await, engine);
    alice3.send(offer);
    dave.until(|r| matches!(r, Report::Transfer(TransferEvent::Progress { .. })).then_some(()))
        .await;
    drop(dave.commands);
    let mut dave_engine = dave.task.await.unwrap();
    let abandoned = dave_engine.abandon_all("disconnected");
    assert_eq!(abandoned.len(), 1);
    let reason = alice3.failure().await;
    assert!(reason.contains("nobody is receiving"), "{reason}");
    assert!(
        files_in(downloads.path()).is_empty(),
        "left behind: {:?}",
        files_in(downloads.path())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_over_the_limits_are_refused_clearly() {
    let mut config = ServerConfig::loopback();
    config.limits.max_file_size = 1000;
    config.limits.max_transfers = 1;
    let server = Server::bind(config).await.unwrap().spawn();
    let _bob = joined(server.addr, "bob").await;
    let mut alice = joined(server.addr, "alice").await;
    let refusal = async |alice: &mut Connection| loop {
        if let ServerMessage::Error(report) = alice.next().await.unwrap().unwrap() {
            return report;
        }
    };
    raw_offer(&mut alice, offer("huge.iso", 1001, [0u8; 32])).await;
    let report = refusal(&mut alice).await;
    assert_eq!(report.code, ErrorCode::FileTooLarge);
    assert!(
        report.text.contains("1001 bytes") && report.text.contains("1000"),
        "{}",
        report.text
    );
    raw_offer(&mut alice, offer("one.txt", 10, [0u8; 32])).await;
    raw_offer(&mut alice, offer("two.txt", 10, [0u8; 32])).await;
    let report = refusal(&mut alice).await;
    assert_eq!(report.code, ErrorCode::TooManyTransfers);
    assert!(
        report.text.contains("wait for one to finish"),
        "{}",
        report.text
    );
    server.stop().await;
}

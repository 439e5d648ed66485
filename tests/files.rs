//! File transfer through a real server: a 50 MiB file to two recipients
//! with chat flowing meanwhile, flow control, hostile names, lying senders,
//! departures and cancels — each ending with a clear message and no stray
//! or partial file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod file_peer;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use huddle::{
    net::Connection,
    transfer::{AcceptPolicy, Direction, TransferEvent, Transfers},
};
use huddle_protocol::{
    ClientMessage, ErrorCode, FileChunk, Nick, ServerMessage, ShortText, Target, TransferId,
};
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
async fn hostile_names_land_as_plain_names_inside_the_downloads_directory() {
    let server = server().await;
    let downloads = tempfile::tempdir().unwrap();
    let mut bob = Peer::spawn(
        joined(server.addr, "bob").await,
        Transfers::new(downloads.path().to_owned(), accept_all()),
    );
    let mut mallory = joined(server.addr, "mallory").await;
    for (name, lands_as) in [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("..", "download"),
        ("passwd", "passwd (1)"),
    ] {
        let data = format!("pretend {name}").into_bytes();
        let offer = offer(name, data.len() as u64, sha(&data));
        let id = offer.transfer;
        raw_offer(&mut mallory, offer).await;
        next_credit(&mut mallory).await;
        mallory
            .send(ClientMessage::FileChunk(FileChunk {
                transfer: id,
                offset: 0,
                data: data.into(),
            }))
            .await
            .unwrap();
        let saved = bob
            .until(|r| match r {
                Report::Transfer(TransferEvent::Completed { saved, .. }) => saved.clone(),
                _ => None,
            })
            .await;
        assert_eq!(saved.parent().unwrap(), downloads.path());
        assert_eq!(saved.file_name().unwrap().to_string_lossy(), lands_as);
    }
    // Names with control characters or 10,000 characters are not valid on
    // the wire: a raw sender that tries gets a precise error, nobody gets an
    // offer.
    for name in [
        "a\u{0}b".to_owned(),
        "\u{1b}]0;pwned\u{7}".to_owned(),
        "n".repeat(10_000),
    ] {
        assert!(ShortText::new(name.clone()).is_err());
        // FileOffer (variant 13), built by hand (docs/PROTOCOL.md §5).
        let mut payload = vec![13u8];
        payload.extend_from_slice(TransferId::random().as_uuid().as_bytes());
        payload.extend_from_slice(&[0, 6]);
        payload.extend_from_slice(b"#files");
        if name.len() < 251 {
            payload.push(name.len() as u8);
        } else {
            payload.push(251);
            payload.extend_from_slice(&(name.len() as u16).to_le_bytes());
        }
        payload.extend_from_slice(name.as_bytes());
        payload.push(1);
        payload.extend_from_slice(&[0u8; 32]);
        let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&payload);
        tokio::io::AsyncWriteExt::write_all(mallory.get_mut(), &frame)
            .await
            .unwrap();
        loop {
            let message = tokio::time::timeout(PATIENCE, mallory.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let ServerMessage::Error(report) = message {
                assert_eq!(report.code, ErrorCode::InvalidText, "{}", report.text);
                break;
            }
        }
    }
    assert_eq!(
        files_in(downloads.path()),
        ["download", "passwd", "passwd (1)", "shadow"]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_lies_leaves_no_file() {
    let server = server().await;
    let downloads = tempfile::tempdir().unwrap();
    let mut bob = Peer::spawn(
        joined(server.addr, "bob").await,
        Transfers::new(downloads.path().to_owned(), accept_all()),
    );
    let mut mallory = joined(server.addr, "mallory").await;

    // A checksum that does not match the bytes.
    let data = b"these are not the bytes you hashed".to_vec();
    let lie = offer("report.pdf", data.len() as u64, [0u8; 32]);
    let id = lie.transfer;
    raw_offer(&mut mallory, lie).await;
    next_credit(&mut mallory).await;
    mallory
        .send(ClientMessage::FileChunk(FileChunk {
            transfer: id,
            offset: 0,
            data: data.into(),
        }))
        .await
        .unwrap();
    let reason = bob.failure().await;
    assert!(reason.contains("checksum does not match"), "{reason}");

    // More bytes than offered: the server stops the transfer.
    let lie = offer("small.txt", 10, sha(b"0123456789"));
    let id = lie.transfer;
    raw_offer(&mut mallory, lie).await;
    next_credit(&mut mallory).await;
    mallory
        .send(ClientMessage::FileChunk(FileChunk {
            transfer: id,
            offset: 0,
            data: vec![b'x'; 20].into(),
        }))
        .await
        .unwrap();
    loop {
        if let ServerMessage::Error(report) = mallory.next().await.unwrap().unwrap() {
            assert_eq!(report.code, ErrorCode::TransferBroken);
            break;
        }
    }
    let reason = bob.failure().await;
    assert!(
        reason.contains("more bytes than the 10 offered"),
        "{reason}"
    );

    // Fewer bytes, then the sender vanishes.
    let lie = offer("half.bin", 1000, [1u8; 32]);
    let id = lie.transfer;
    raw_offer(&mut mallory, lie).await;
    next_credit(&mut mallory).await;
    mallory
        .send(ClientMessage::FileChunk(FileChunk {
            transfer: id,
            offset: 0,
            data: vec![b'y'; 500].into(),
        }))
        .await
        .unwrap();
    bob.until(|r| {
        matches!(
            r,
            Report::Transfer(TransferEvent::Progress { done: 500, .. })
        )
        .then_some(())
    })
    .await;
    drop(mallory);
    let reason = bob.failure().await;
    assert!(reason.contains("disconnected"), "{reason}");
    assert!(
        files_in(downloads.path()).is_empty(),
        "left behind: {:?}",
        files_in(downloads.path())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_reads_holds_the_sender_to_one_window() {
    let server = server().await;
    let window = huddle_protocol::Limits::default().transfer_window;
    let mut sender = joined(server.addr, "sender").await;
    let mut stalled = joined(server.addr, "stalled").await;
    let big = offer("big.bin", 64 * 1024 * 1024, [0u8; 32]);
    let id = big.transfer;
    raw_offer(&mut sender, big).await;
    loop {
        if let ServerMessage::FileOffered { .. } = stalled.next().await.unwrap().unwrap() {
            break;
        }
    }
    stalled
        .send(ClientMessage::FileAnswer {
            transfer: id,
            accept: true,
        })
        .await
        .unwrap();
    let granted = next_credit(&mut sender).await;
    assert_eq!(granted, window);
    // Send the whole window; the receiver never credits anything back.
    let mut offset = 0u64;
    while offset < u64::from(granted) {
        let data = vec![0u8; 64 * 1024];
        sender
            .send(ClientMessage::FileChunk(FileChunk {
                transfer: id,
                offset,
                data: data.into(),
            }))
            .await
            .unwrap();
        offset += 64 * 1024;
    }
    // One byte more is refused: the server holds no more than the window.
    sender
        .send(ClientMessage::FileChunk(FileChunk {
            transfer: id,
            offset,
            data: vec![0u8; 1].into(),
        }))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(PATIENCE, sender.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            ServerMessage::FileCredit { .. } => panic!("credit without the receiver reading"),
            ServerMessage::Error(report) => {
                assert_eq!(report.code, ErrorCode::TransferBroken);
                assert!(report.text.contains("credit"), "{}", report.text);
                break;
            }
            _ => {}
        }
    }
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

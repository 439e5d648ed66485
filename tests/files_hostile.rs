//! File transfer through a real server, hostile parts: names that try to
//! leave the downloads directory, senders that lie about what they send,
//! and receivers that never read — each ending with a clear message and
//! no stray or partial file. (The ordinary transfers: `files.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod file_peer;

use futures_util::{SinkExt, StreamExt};
use huddle::transfer::{TransferEvent, Transfers};
use huddle_protocol::{ClientMessage, ErrorCode, FileChunk, ServerMessage, ShortText, TransferId};

use file_peer::*;

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

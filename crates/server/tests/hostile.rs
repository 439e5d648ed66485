//! Hostile and broken clients. Each case runs while two well-behaved clients
//! chat in a room; the offender gets a precise error (or is dropped) and the
//! room receives every message, in order.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::{net::SocketAddr, time::Duration};

use common::{Client, codes, start, unlimited};
use huddle_protocol::{
    ClientMessage, ErrorCode, PROTOCOL_VERSION, ServerMessage, encode_frame, encode_payload,
};
use huddle_server::{RunningServer, ServerConfig};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    task::JoinHandle,
};

const BACKGROUND_MESSAGES: usize = 200;

/// Starts alice talking to bob in #lan; the handle checks bob got all of it.
async fn background_chat(addr: SocketAddr) -> JoinHandle<()> {
    let mut alice = Client::joined(addr, "alice", &["#lan"]).await;
    let mut bob = Client::joined(addr, "bob", &["#lan"]).await;
    alice.sync().await;
    tokio::spawn(async move {
        let sender = tokio::spawn(async move {
            for n in 0..BACKGROUND_MESSAGES {
                alice.say("#lan", &format!("{n}")).await;
                if n % 20 == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            alice
        });
        for n in 0..BACKGROUND_MESSAGES {
            assert_eq!(
                bob.next_chat().await,
                n.to_string(),
                "bob lost or reordered a message"
            );
        }
        sender.await.unwrap();
    })
}

async fn with_background(config: ServerConfig) -> (RunningServer, JoinHandle<()>) {
    let server = start(config).await;
    let chat = background_chat(server.addr).await;
    (server, chat)
}

/// Reads raw bytes until EOF; returns the server messages they held.
async fn read_to_close(stream: &mut common::Stream) -> Vec<ServerMessage> {
    let mut bytes = Vec::new();
    tokio::time::timeout(common::PATIENCE, stream.read_to_end(&mut bytes))
        .await
        .expect("the server did not close the connection")
        .ok();
    let mut messages = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        messages.push(huddle_protocol::decode_payload(&rest[4..4 + len]).unwrap());
        rest = &rest[4 + len..];
    }
    messages
}

async fn greeted_stream(addr: SocketAddr, nick: &str) -> common::Stream {
    let mut stream = common::open(addr).await;
    stream
        .write_all(&encode_frame(&common::hello_on(&stream, nick)).unwrap())
        .await
        .unwrap();
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).await.unwrap();
    let mut welcome = vec![0u8; u32::from_be_bytes(header) as usize];
    stream.read_exact(&mut welcome).await.unwrap();
    stream
}

#[tokio::test]
async fn garbage_before_hello_is_rejected() {
    let (server, chat) = with_background(unlimited()).await;
    let mut stream = common::open(server.addr).await;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        codes(&read_to_close(&mut stream).await),
        [ErrorCode::FrameTooLarge]
    );
    chat.await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_4_gib_length_prefix_after_hello_ends_only_that_connection() {
    let (server, chat) = with_background(unlimited()).await;
    let mut stream = greeted_stream(server.addr, "mallory").await;
    stream
        .write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0])
        .await
        .unwrap();
    assert_eq!(
        codes(&read_to_close(&mut stream).await),
        [ErrorCode::FrameTooLarge, ErrorCode::FrameTooLarge]
    );
    chat.await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn garbage_after_hello_ends_only_that_connection() {
    let (server, chat) = with_background(unlimited()).await;
    let mut stream = greeted_stream(server.addr, "mallory").await;
    stream
        .write_all(&[0x00, 0x00, 0x00, 0x03, 0xde, 0xad, 0xbe])
        .await
        .unwrap();
    stream.write_all(&[0x7f; 64]).await.unwrap();
    let messages = read_to_close(&mut stream).await;
    assert_eq!(
        codes(&messages),
        [
            ErrorCode::MalformedMessage,
            ErrorCode::FrameTooLarge,
            ErrorCode::FrameTooLarge
        ]
    );
    chat.await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_valid_frame_with_invalid_fields_gets_a_precise_error_and_the_connection_lives() {
    let (server, chat) = with_background(unlimited()).await;
    let (mut mallory, _) = Client::connect(server.addr, "mallory").await;
    // ChangeNick (variant 5) with a 40-byte nick, built by hand.
    let mut payload = vec![0x05, 40];
    payload.extend_from_slice(&[b'n'; 40]);
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    mallory.framed.get_mut().write_all(&frame).await.unwrap();
    let ServerMessage::Error(report) = mallory.recv().await else {
        panic!()
    };
    assert_eq!(report.code, ErrorCode::InvalidNick);
    assert_eq!(report.request, huddle_protocol::RequestKind::ChangeNick);
    assert!(
        report.text.contains("longer than the limit of 32"),
        "{}",
        report.text
    );
    // A Say with an escape sequence in its text: the refusal names its id
    // (read from the envelope), so the client knows which line it was.
    let mut payload = vec![0x03, 0x04, b'#', b'l', b'a', b'n'];
    payload.extend_from_slice(&[7u8; 16]);
    payload.extend_from_slice(&[0x00, 0x03, 0x1b, b'[', b'J']);
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    mallory.framed.get_mut().write_all(&frame).await.unwrap();
    let ServerMessage::Error(report) = mallory.recv().await else {
        panic!()
    };
    assert_eq!(report.code, ErrorCode::InvalidText);
    assert_eq!(report.request, huddle_protocol::RequestKind::Say);
    let id = huddle_protocol::ClientMsgId::from_uuid(uuid::Uuid::from_bytes([7; 16]));
    assert_eq!(report.id, Some(id));
    // Still connected and served.
    assert!(mallory.sync().await.is_empty());
    chat.await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_protocol_version_gets_a_readable_reject() {
    let (server, chat) = with_background(unlimited()).await;
    let mut stream = common::open(server.addr).await;
    // A future Hello: variant 0, version 99, then fields this server cannot know.
    let payload = [0x00, 99, 0xaa, 0xbb, 0xcc];
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    stream.write_all(&frame).await.unwrap();
    let messages = read_to_close(&mut stream).await;
    let [ServerMessage::Reject(reject)] = &messages[..] else {
        panic!("{messages:?}")
    };
    assert_eq!(reject.code, ErrorCode::VersionMismatch);
    assert_eq!(reject.server_version, PROTOCOL_VERSION);
    assert!(
        reject.text.contains(&format!("version {PROTOCOL_VERSION}")) && reject.text.contains("99"),
        "{}",
        reject.text
    );
    chat.await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_first_frame_that_is_not_hello_is_rejected() {
    let (server, chat) = with_background(unlimited()).await;
    let mut stream = common::open(server.addr).await;
    stream
        .write_all(&encode_frame(&ClientMessage::ListRooms).unwrap())
        .await
        .unwrap();
    assert_eq!(
        codes(&read_to_close(&mut stream).await),
        [ErrorCode::HandshakeRequired]
    );
    chat.await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_connection_without_hello_is_dropped_after_the_timeout() {
    let mut config = unlimited();
    config.hello_timeout = Duration::from_millis(300);
    let (server, chat) = with_background(config).await;
    let mut silent = common::open(server.addr).await;
    // A slow-loris: half a header, then nothing.
    silent.write_all(&[0, 0]).await.unwrap();
    assert_eq!(
        codes(&read_to_close(&mut silent).await),
        [ErrorCode::HandshakeTimeout]
    );
    chat.await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_frame_cut_off_by_a_disconnect_is_a_quit() {
    let (server, chat) = with_background(unlimited()).await;
    let mut carol = Client::joined(server.addr, "carol", &["#quiet"]).await;
    let mut stream = greeted_stream(server.addr, "mallory").await;
    let join = encode_payload(&ClientMessage::Join {
        room: common::room("#quiet"),
        password: None,
    })
    .unwrap();
    let mut frame = (join.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&join);
    stream.write_all(&frame).await.unwrap();
    let ServerMessage::Presence(joined) = carol.recv().await else {
        panic!()
    };
    assert_eq!(joined.nick.as_str(), "mallory");
    let full = encode_frame(&common::say("#quiet", "never finished")).unwrap();
    stream.write_all(&full[..full.len() / 2]).await.unwrap();
    drop(stream);
    let ServerMessage::Presence(quit) = carol.recv().await else {
        panic!()
    };
    assert_eq!(quit.nick.as_str(), "mallory");
    assert!(matches!(
        quit.event,
        huddle_protocol::PresenceEvent::Quit { .. }
    ));
    assert!(
        carol.sync().await.is_empty(),
        "the half frame was delivered"
    );
    // The nick is no longer in use: only bound to mallory's key.
    let (_, answer) = Client::handshake(server.addr, "mallory").await;
    assert!(
        matches!(&answer, ServerMessage::Reject(r) if r.code == ErrorCode::NickBound),
        "{answer:?}"
    );
    chat.await.unwrap();
    server.stop().await;
}

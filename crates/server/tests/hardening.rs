//! What a hostile user on the LAN could do to a default server, each over
//! real sockets: protected rooms, password guessing,
//! look-alike names (identities: `identity.rs`; frames, resends and
//! transfers: `hardening_frames.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use common::{Client, room, start, start_default};
use huddle_protocol::{ClientCodec, ClientMessage, ErrorCode, ServerMessage, ShortText};
use huddle_server::ServerConfig;
use tokio_util::codec::Framed;

fn password(text: &str) -> Option<ShortText> {
    Some(ShortText::new(text).unwrap())
}

/// Asks to join `name` and returns the answer (`Joined` or `Error`).
async fn join_with(client: &mut Client, name: &str, key: Option<ShortText>) -> ServerMessage {
    client
        .send(ClientMessage::Join {
            room: room(name),
            password: key,
        })
        .await;
    client
        .recv_until(|m| matches!(m, ServerMessage::Joined { .. } | ServerMessage::Error(_)))
        .await
}

/// Creates `#vault` with a password, a topic and one message.
async fn create_vault(addr: SocketAddr) -> Client {
    let (mut alice, _) = Client::connect(addr, "alice").await;
    let joined = join_with(&mut alice, "#vault", password("hunter2")).await;
    assert!(matches!(joined, ServerMessage::Joined { .. }), "{joined:?}");
    alice.say("#vault", "the plans are in the safe").await;
    alice
        .send(ClientMessage::SetTopic {
            room: room("#vault"),
            topic: ShortText::new("plans").unwrap(),
        })
        .await;
    alice.sync().await;
    alice
}

/// A stranger finds `#vault` still locked; with the password, its topic
/// (and `history`, if given) are there.
async fn assert_still_locked(addr: SocketAddr, history: Option<&str>) {
    let (mut mallory, _) = Client::connect(addr, "mallory").await;
    for guess in [None, password("guess")] {
        let ServerMessage::Error(report) = join_with(&mut mallory, "#vault", guess).await else {
            panic!("joined without the password")
        };
        assert_eq!(report.code, ErrorCode::BadPassword);
    }
    let seen = mallory.sync().await;
    assert!(
        !seen.iter().any(|m| matches!(m, ServerMessage::Chat(_))),
        "a refused joiner saw messages: {seen:?}"
    );
    let ServerMessage::Joined {
        topic,
        history: got,
        ..
    } = join_with(&mut mallory, "#vault", password("hunter2")).await
    else {
        panic!("the right password was refused")
    };
    assert_eq!(topic.as_str(), "plans");
    if let Some(text) = history {
        assert_eq!(
            got.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            [text]
        );
    }
}

#[tokio::test]
async fn a_protected_room_keeps_its_password_and_topic_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || ServerConfig {
        data_dir: Some(dir.path().to_owned()),
        ..ServerConfig::loopback()
    };
    let server = start(config()).await;
    let _alice = create_vault(server.addr).await;
    server.stop().await;
    // Nothing on disk holds the password in clear text.
    let stored = std::fs::read(dir.path().join("history.redb")).unwrap();
    assert!(
        !stored.windows(7).any(|w| w == b"hunter2"),
        "clear text on disk"
    );
    assert!(
        stored.windows(9).any(|w| w == b"$argon2id"),
        "no Argon2id hash"
    );

    let server = start(config()).await;
    assert_still_locked(server.addr, Some("the plans are in the safe")).await;
    server.stop().await;
}

#[tokio::test]
async fn a_protected_room_keeps_its_password_when_evicted_from_memory() {
    // Ephemeral, and without the rate limits so that the filler is quick.
    let config = ServerConfig {
        rate_limit: false,
        rooms_created_per_minute: u32::MAX,
        ..ServerConfig::loopback()
    };
    let server = start(config).await;
    let mut alice = create_vault(server.addr).await;
    alice
        .send(ClientMessage::Part {
            room: room("#vault"),
            reason: ShortText::default(),
        })
        .await;
    // 1,001 other rooms with history, emptied: #vault is the longest idle
    // and is evicted from memory.
    let (mut filler, _) = Client::connect(server.addr, "filler").await;
    for n in 0..1001 {
        let name = format!("#filler{n}");
        filler.join(&name).await;
        filler.say(&name, "x").await;
        filler
            .send(ClientMessage::Part {
                room: room(&name),
                reason: ShortText::default(),
            })
            .await;
    }
    filler.sync().await;
    assert_still_locked(server.addr, None).await;
    server.stop().await;
}

/// Connects from a chosen loopback address.
fn fastrand() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

async fn connect_from(addr: SocketAddr, from: [u8; 4], nick: &str) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let stream = common::tls_over(socket.connect(addr).await.unwrap()).await;
    let mut client = Client {
        nick: nick.into(),
        framed: Framed::new(stream, ClientCodec::new()),
    };
    client.greet().await;
    assert!(matches!(client.recv().await, ServerMessage::Welcome(_)));
    client
}

#[tokio::test]
async fn wrong_passwords_are_throttled_per_connection_and_per_address() {
    let server = start(ServerConfig::loopback()).await;
    let _alice = create_vault(server.addr).await;
    // 20 connections from one address guess as fast as they are answered,
    // for 2 seconds (the rate limit allows 20 frames/s each).
    let window = Duration::from_secs(2);
    let started = Instant::now();
    let mut guessers = Vec::new();
    for n in 0..20 {
        let mut guesser = connect_from(server.addr, [127, 0, 0, 1], &format!("g{n}")).await;
        guessers.push(tokio::spawn(async move {
            let (mut checked, mut throttled) = (0, 0);
            while started.elapsed() < window {
                let guess = password(&format!("guess{}", fastrand()));
                let ServerMessage::Error(report) = join_with(&mut guesser, "#vault", guess).await
                else {
                    panic!("a guess got in")
                };
                assert_eq!(report.code, ErrorCode::BadPassword);
                if report.text.starts_with("too many wrong passwords") {
                    throttled += 1;
                } else {
                    checked += 1;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (checked, throttled)
        }));
    }
    let (mut checked, mut throttled) = (0, 0);
    for guesser in guessers {
        let (c, t) = guesser.await.unwrap();
        checked += c;
        throttled += t;
    }
    let rate = f64::from(checked) / started.elapsed().as_secs_f64();
    println!("password guesses checked: {checked} ({rate:.1}/s), throttled: {throttled}");
    // Five free guesses, then one after 1 s (and the next only after 2 s
    // more): at most 7 in 2 s, where the hash alone allowed hundreds.
    assert!((5..=7).contains(&checked), "{checked} guesses were checked");
    assert!(throttled > 100, "only {throttled} guesses were throttled");
    // Another address is not held up, and the password still works.
    let mut bob = connect_from(server.addr, [127, 0, 0, 2], "bob").await;
    let joined = join_with(&mut bob, "#vault", password("hunter2")).await;
    assert!(matches!(joined, ServerMessage::Joined { .. }), "{joined:?}");
    server.stop().await;
}

#[tokio::test]
async fn look_alike_nicks_and_rooms_are_refused() {
    let server = start_default().await;
    let _alice = Client::joined(server.addr, "alice", &["#lan"]).await;
    // Cyrillic а, fullwidth letters: refused while alice is online.
    for twin in ["аlice", "ａｌｉｃｅ", "ALICE"] {
        let (_, answer) = Client::handshake(server.addr, twin).await;
        let ServerMessage::Reject(reject) = answer else {
            panic!("{twin} got in: {answer:?}")
        };
        assert_eq!(reject.code, ErrorCode::NickInUse, "{twin}");
    }
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    for twin in ["#lаn", "#1an", "#ⅼan"] {
        let ServerMessage::Error(report) = bob.join(twin).await else {
            panic!("{twin} was created")
        };
        assert_eq!(report.code, ErrorCode::InvalidRoom, "{twin}");
        assert!(report.text.contains("#lan"), "{}", report.text);
    }
    // Invisible characters never make it into a name: a Join for
    // "#la<zero-width space>n", built by hand, is refused as invalid.
    let name = "#la\u{200b}n".as_bytes();
    let mut payload = vec![0x01, name.len() as u8];
    payload.extend_from_slice(name);
    payload.push(0x00);
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&payload);
    tokio::io::AsyncWriteExt::write_all(bob.framed.get_mut(), &frame)
        .await
        .unwrap();
    let ServerMessage::Error(report) = bob.recv().await else {
        panic!("an invisible character got through")
    };
    assert_eq!(report.code, ErrorCode::InvalidRoom);
    server.stop().await;
}

#[tokio::test]
async fn strangers_see_a_protected_room_is_locked_but_not_its_topic_or_members() {
    let server = start_default().await;
    let _alice = create_vault(server.addr).await;
    let (mut mallory, _) = Client::connect(server.addr, "mallory").await;
    mallory.send(ClientMessage::ListRooms).await;
    let ServerMessage::RoomList { rooms } = mallory
        .recv_until(|m| matches!(m, ServerMessage::RoomList { .. }))
        .await
    else {
        unreachable!()
    };
    let [vault] = &rooms[..] else {
        panic!("{rooms:?}")
    };
    assert!(vault.has_password && vault.topic.is_empty(), "{vault:?}");
    mallory
        .send(ClientMessage::ListMembers {
            room: room("#vault"),
        })
        .await;
    let ServerMessage::Error(report) = mallory.recv().await else {
        panic!("the members were listed")
    };
    assert_eq!(report.code, ErrorCode::BadPassword);
    server.stop().await;
}

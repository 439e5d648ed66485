//! The transport: TLS by default, plain TCP refused with a reason it can
//! read, both accepted with `insecure_plaintext`; the certificate presented
//! is the one the server reports, and it survives a restart.

mod common;

use common::{Client, hello, start};
use futures_util::{SinkExt, StreamExt};
use huddle_protocol::{ClientCodec, ErrorCode, ServerMessage, tls::peer_fingerprint};
use huddle_server::ServerConfig;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

#[tokio::test]
async fn plain_tcp_to_a_default_server_is_refused_in_words_it_can_read() {
    let server = start(ServerConfig::loopback()).await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut framed = Framed::new(tcp, ClientCodec::new());
    framed.send(hello("alice")).await.unwrap();
    let Some(Ok(ServerMessage::Reject(reject))) = framed.next().await else {
        panic!("no readable refusal");
    };
    assert_eq!(reject.code, ErrorCode::TlsRequired);
    assert!(
        reject.text.contains("--insecure-plaintext"),
        "{}",
        reject.text
    );
    assert_eq!(server.clients(), 0);
    server.stop().await;
}

#[tokio::test]
async fn an_insecure_server_takes_plain_tcp_and_tls_alike() {
    let server = start(ServerConfig {
        insecure_plaintext: true,
        ..ServerConfig::loopback()
    })
    .await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut plain = Framed::new(tcp, ClientCodec::new());
    plain.send(hello("plain")).await.unwrap();
    assert!(matches!(
        plain.next().await,
        Some(Ok(ServerMessage::Welcome(_)))
    ));
    let (_tls, welcome) = Client::connect(server.addr, "tls").await;
    assert_eq!(welcome.nick.as_str(), "tls");
    assert_eq!(server.clients(), 2);
    server.stop().await;
}

#[tokio::test]
async fn the_certificate_is_the_reported_one_and_a_restart_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        data_dir: Some(dir.path().to_owned()),
        ..ServerConfig::loopback()
    };
    let server = start(config.clone()).await;
    let stream = common::open(server.addr).await;
    assert_eq!(
        peer_fingerprint(stream.get_ref().1),
        Some(server.fingerprint)
    );
    let (first, first_id) = (server.fingerprint, server.server_id);
    server.stop().await;
    let again = start(config).await;
    assert_eq!(again.fingerprint, first);
    assert_eq!(
        again.server_id, first_id,
        "the id derives from the certificate"
    );
    assert_ne!(start(ServerConfig::loopback()).await.fingerprint, first);
    again.stop().await;
}

#[tokio::test]
async fn whois_shows_the_key_proved_at_hello_and_only_rooms_the_asker_may_see() {
    let server = start(ServerConfig::loopback()).await;
    let alice_id = huddle_protocol::ClientId::random();
    let mut alice = Client::joined_as(server.addr, "alice", alice_id, &["#pub"]).await;
    alice
        .send(huddle_protocol::ClientMessage::Join {
            room: common::room("#secret"),
            password: Some(huddle_protocol::ShortText::new("hunter2").unwrap()),
        })
        .await;
    alice.sync().await;
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    bob.send(huddle_protocol::ClientMessage::Whois {
        nick: huddle_protocol::Nick::new("ALICE").unwrap(),
    })
    .await;
    let ServerMessage::WhoisReply {
        nick,
        key,
        rooms,
        away,
        since,
        idle_secs,
        client,
    } = bob.recv().await
    else {
        panic!("no whois reply")
    };
    assert_eq!(nick.as_str(), "alice");
    assert_eq!(key, Some(common::key_of(alice_id).public_key()));
    assert_eq!(client.as_str(), "test 0", "the program its Hello named");
    assert!(idle_secs < 60, "idle for {idle_secs} s");
    assert_eq!(rooms, [common::room("#pub")], "#secret is not bob's to see");
    assert!(away.is_empty());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        since <= now && now - since < 60_000,
        "connected at {since}, now {now}"
    );
    bob.send(huddle_protocol::ClientMessage::Whois {
        nick: huddle_protocol::Nick::new("nobody").unwrap(),
    })
    .await;
    let ServerMessage::Error(error) = bob.recv().await else {
        panic!("an unknown nick was answered")
    };
    assert_eq!(error.code, ErrorCode::NoSuchNick);
    server.stop().await;
}

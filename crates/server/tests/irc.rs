//! The IRC gateway with a raw IRC client over a real socket, beside native
//! clients of the same server: registration, the commands, one room seen
//! the same from both sides, history on join, and hostile lines.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::time::Duration;

use common::{
    Client, PATIENCE,
    irc::{Irc, gateway, whois},
    start,
};
use huddle_protocol::ServerMessage;
use huddle_server::ServerConfig;
use tokio::{io::AsyncWriteExt, net::TcpStream};

#[tokio::test]
async fn registration_says_welcome_and_an_isupport_that_tells_the_truth() {
    let server = start(gateway()).await;
    let (_irc, welcome) = Irc::registered(&server, "alice").await;
    for numeric in [" 001 alice ", " 002 ", " 003 ", " 004 ", " 005 ", " 422 "] {
        assert!(
            welcome.iter().any(|l| l.contains(numeric)),
            "no{numeric}in {welcome:?}"
        );
    }
    let isupport = welcome.iter().find(|l| l.contains(" 005 ")).unwrap();
    for token in [
        "CHANTYPES=#",
        "NICKLEN=32",
        "CHANNELLEN=64",
        "CASEMAPPING=ascii",
    ] {
        assert!(isupport.contains(token), "{isupport}");
    }
    assert_eq!(server.clients(), 1);
    server.stop().await;
}

#[tokio::test]
async fn a_native_and_an_irc_user_share_a_room_each_message_once_in_one_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerConfig {
        data_dir: Some(dir.path().to_owned()),
        ..gateway()
    })
    .await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    for i in 0..3 {
        bob.say("#lan", &format!("before {i}")).await;
    }
    bob.sync().await;
    let (mut irc, _) = Irc::registered(&server, "alice").await;
    irc.send("JOIN #lan").await;
    let joined = irc.until(" 366 ").await;
    assert!(
        joined[0].starts_with(":alice!alice@huddle JOIN #lan"),
        "{joined:?}"
    );
    let names = joined.iter().find(|l| l.contains(" 353 ")).unwrap();
    assert!(names.contains("alice") && names.contains("bob"), "{names}");
    // History on join, with the original times.
    for i in 0..3 {
        let line = irc.line().await;
        assert!(
            line.starts_with("@time=20") && line.ends_with(&format!("PRIVMSG #lan :before {i}")),
            "{line}"
        );
    }
    bob.recv_until(|m| matches!(m, ServerMessage::Presence(_)))
        .await;
    // Interleaved from both sides.
    for i in 0..10 {
        bob.say("#lan", &format!("native {i}")).await;
        irc.send(&format!("PRIVMSG #lan :irc {i}")).await;
    }
    let mut irc_saw = Vec::new();
    while irc_saw.len() < 20 {
        let line = irc.line().await;
        if let Some((_, text)) = line.split_once("PRIVMSG #lan :") {
            irc_saw.push(text.to_owned());
        }
    }
    let mut bob_saw = Vec::new();
    while bob_saw.len() < 10 {
        bob_saw.push(bob.next_chat().await);
    }
    let expect = |prefix: &str| (0..10).map(|i| format!("{prefix} {i}")).collect::<Vec<_>>();
    assert_eq!(bob_saw, expect("irc"));
    let natives: Vec<String> = irc_saw
        .iter()
        .filter(|t| t.starts_with("native"))
        .cloned()
        .collect();
    let echoes: Vec<String> = irc_saw
        .iter()
        .filter(|t| t.starts_with("irc"))
        .cloned()
        .collect();
    assert_eq!(natives, expect("native"));
    assert_eq!(
        echoes,
        expect("irc"),
        "echo-message: each own message once, in order"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_commands_weechat_and_irssi_send_are_answered() {
    let server = start(gateway()).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    let (mut irc, _) = Irc::registered(&server, "alice").await;
    irc.send("JOIN #lan").await;
    irc.until(" 366 ").await;
    let asks = [
        ("MODE #lan", " 324 alice #lan +"),
        ("MODE #lan b", " 368 alice #lan"),
        ("WHO #lan", " 315 alice #lan"),
        ("NAMES #lan", " 366 alice #lan"),
        ("LIST", " 323 alice"),
        (
            "TOPIC #lan :plans for friday",
            "TOPIC #lan :plans for friday",
        ),
        ("TOPIC #lan", " 332 alice #lan :plans for friday"),
        ("WHOIS bob", " 318 alice bob"),
        ("WHOIS nobody", " 401 alice nobody"),
        ("AWAY :lunch", " 306 alice"),
        ("AWAY", " 305 alice"),
        ("PING abc", "PONG huddle abc"),
        ("FROB", " 421 alice FROB"),
        ("PRIVMSG nobody :hi", " 401 alice"),
        ("PART #nowhere", " 442 alice"),
        ("NICK bob", " 433 alice"),
        ("NICK alicia", ":alice!alice@huddle NICK alicia"),
    ];
    for (ask, answer) in asks {
        irc.send(ask).await;
        irc.until(answer).await;
    }
    // WHOIS names the native user's program and idle time.
    irc.send("WHOIS bob").await;
    let answer = irc.until(" 318 alicia bob").await.join("\n");
    assert!(
        answer.contains(" 311 alicia bob bob huddle * :test 0"),
        "{answer}"
    );
    assert!(answer.contains(" 317 alicia bob 0 "), "{answer}");
    // The native side saw the rename and the topic, and sees an IRC user
    // as one without a key.
    bob.recv_until(|m| matches!(m, ServerMessage::Topic { .. }))
        .await;
    assert_eq!(whois(&mut bob, "alicia").await, (None, "IRC".into()));
    irc.send("PRIVMSG bob :\u{1}ACTION waves\u{1}").await;
    let waved = bob
        .recv_until(|m| matches!(m, ServerMessage::Chat(_)))
        .await;
    let ServerMessage::Chat(chat) = waved else {
        unreachable!()
    };
    assert_eq!(
        (chat.from.as_str(), chat.text.as_str()),
        ("alicia", "waves")
    );
    assert_eq!(chat.kind, huddle_protocol::MessageKind::Action);
    irc.send("QUIT :bye now").await;
    irc.until("ERROR").await;
    server.stop().await;
}

#[tokio::test]
async fn hostile_lines_get_a_numeric_and_nobody_else_notices() {
    let server = start(gateway()).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    let mut carol = Client::joined(server.addr, "carol", &["#lan"]).await;
    let (mut irc, _) = Irc::registered(&server, "mallory").await;
    irc.send("JOIN #lan").await;
    irc.until(" 366 ").await;
    // 10 KB without a line end, then one.
    irc.write.write_all(&vec![b'A'; 10 * 1024]).await.unwrap();
    irc.send("").await;
    irc.until(" 417 ").await;
    irc.send("PRIVMSG #lan :nul \0 inside").await;
    irc.until(" 417 ").await;
    irc.write
        .write_all(b"PRIVMSG #lan :caf\xff\r\n")
        .await
        .unwrap();
    irc.send(&format!("FROB {}", "x ".repeat(1000))).await;
    let unknown = irc.until(" 421 ").await;
    // Every line within IRC's 512 bytes, CR LF included.
    assert!(unknown.iter().all(|l| l.len() <= 510), "{unknown:?}");
    irc.send("CAP GARBAGE").await;
    irc.until(" 410 ").await;
    irc.send("CAP REQ :sasl-unknown").await;
    irc.until("NAK").await;
    irc.send("PING still-here").await;
    irc.until("PONG huddle still-here").await;
    // The invalid UTF-8 arrived, replaced; the others carry on.
    assert_eq!(bob.next_chat().await, "caf\u{fffd}");
    carol.say("#lan", "all fine").await;
    assert_eq!(bob.next_chat().await, "all fine");
    server.stop().await;
}

#[tokio::test]
async fn a_taken_nick_is_refused_until_another_is_given() {
    let server = start(gateway()).await;
    let _bob = Client::joined(server.addr, "bob", &[]).await;
    let mut irc = Irc::connect(&server).await;
    irc.send("NICK bob").await;
    irc.send("USER b 0 * :b").await;
    irc.until(" 433 * bob").await;
    irc.send("NICK bobby").await;
    irc.until(" 001 bobby ").await;
    let _ = tokio::time::timeout(Duration::from_millis(50), irc.line()).await;
    assert_eq!(server.clients(), 2);
    server.stop().await;
}

/// Lines until the end of NAMES, then what follows within a short while.
async fn after_join(irc: &mut Irc) -> Vec<String> {
    irc.until(" 366 ").await;
    let mut replayed = Vec::new();
    while let Ok(line) = tokio::time::timeout(Duration::from_millis(300), irc.line()).await {
        replayed.push(line);
    }
    replayed
}

#[tokio::test]
async fn a_reconnecting_irc_client_is_not_shown_the_same_history_twice() {
    let server = start(gateway()).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    bob.say("#lan", "one").await;
    bob.say("#lan", "two").await;
    bob.sync().await;
    let (mut irc, _) = Irc::registered(&server, "alice").await;
    irc.send("JOIN #lan").await;
    let first = after_join(&mut irc).await;
    assert_eq!(first.len(), 2, "{first:?}");
    irc.send("QUIT :brb").await;
    irc.until("ERROR").await;
    bob.say("#lan", "three").await;
    bob.sync().await;
    let (mut irc, _) = Irc::registered(&server, "alice").await;
    irc.send("JOIN #lan").await;
    let again = after_join(&mut irc).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(again[0].ends_with("PRIVMSG #lan three"), "{again:?}");
    // Another device (username) of the same nick sees it all.
    irc.send("QUIT").await;
    irc.until("ERROR").await;
    let mut other = Irc::connect(&server).await;
    other.send("NICK alice").await;
    other.send("USER laptop 0 * :alice").await;
    other.until(" 422 ").await;
    other.send("JOIN #lan").await;
    assert_eq!(after_join(&mut other).await.len(), 3);
    server.stop().await;
}

#[tokio::test]
async fn the_tls_port_speaks_irc_with_the_servers_own_certificate() {
    let server = start(ServerConfig {
        irc_tls_bind: Some(([127, 0, 0, 1], 0).into()),
        ..gateway()
    })
    .await;
    // As an IRC client does it: no ALPN, the certificate pinned by its
    // fingerprint (`huddle-server --fingerprint`).
    let mut config = (*huddle_protocol::tls::client_config().unwrap()).clone();
    config.alpn_protocols.clear();
    let tcp = TcpStream::connect(server.irc_tls_addr.unwrap())
        .await
        .unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(huddle_protocol::tls::server_name(), tcp)
        .await
        .unwrap();
    let presented = huddle_protocol::tls::peer_fingerprint(tls.get_ref().1).unwrap();
    assert_eq!(presented, server.fingerprint);
    let (read, write) = tokio::io::split(tls);
    let mut irc = Irc::over(Box::new(read), Box::new(write));
    irc.send("NICK secure").await;
    irc.send("USER s 0 * :s").await;
    irc.until(" 001 secure ").await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    irc.send("JOIN #lan").await;
    irc.until(" 366 ").await;
    irc.send("PRIVMSG #lan :over tls").await;
    assert_eq!(bob.next_chat().await, "over tls");
    // Plain text to the TLS port gets no IRC at all: the handshake fails
    // and the connection ends.
    let mut plain = TcpStream::connect(server.irc_tls_addr.unwrap())
        .await
        .unwrap();
    plain
        .write_all(b"NICK plain\r\nUSER p 0 * :p\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        PATIENCE,
        tokio::io::AsyncReadExt::read_to_end(&mut plain, &mut answer),
    )
    .await;
    assert!(read.is_ok(), "the plain connection was not closed");
    assert!(!String::from_utf8_lossy(&answer).contains(" 001 "));
    server.stop().await;
}

#[tokio::test]
async fn chathistory_pages_come_in_a_batch_with_message_ids() {
    let server = start(gateway()).await;
    let mut bob = Client::joined(server.addr, "bob", &["#lan"]).await;
    for i in 0..5 {
        bob.say("#lan", &format!("m{i}")).await;
    }
    bob.sync().await;
    let mut irc = Irc::connect(&server).await;
    irc.send("CAP LS 302").await;
    irc.send("NICK hist").await;
    irc.send("USER hist 0 * :hist").await;
    irc.send("CAP REQ :batch draft/chathistory message-tags server-time")
        .await;
    irc.until("ACK").await;
    irc.send("CAP END").await;
    let welcome = irc.until(" 422 ").await;
    assert!(
        welcome.iter().any(|l| l.contains("CHATHISTORY=200")),
        "{welcome:?}"
    );
    irc.send("JOIN #lan").await;
    after_join(&mut irc).await;
    irc.send("CHATHISTORY LATEST #lan * 3").await;
    let page = irc.until("BATCH -").await;
    assert!(
        page[0].contains("BATCH +") && page[0].ends_with("chathistory #lan"),
        "{page:?}"
    );
    let lines: Vec<&String> = page.iter().filter(|l| l.contains("PRIVMSG")).collect();
    assert_eq!(lines.len(), 3, "{page:?}");
    for (line, text) in lines.iter().zip(["m2", "m3", "m4"]) {
        assert!(
            line.starts_with("@batch=") && line.contains(";msgid=") && line.ends_with(text),
            "{line}"
        );
    }
    // Older than the first of them, by its msgid.
    let first = lines[0]
        .split("msgid=")
        .nth(1)
        .unwrap()
        .split([';', ' '])
        .next()
        .unwrap()
        .to_owned();
    irc.send(&format!("CHATHISTORY BEFORE #lan msgid={first} 10"))
        .await;
    let older = irc.until("BATCH -").await;
    let texts: Vec<&str> = older
        .iter()
        .filter_map(|l| l.split("PRIVMSG #lan ").nth(1))
        .collect();
    assert_eq!(texts, ["m0", "m1"]);
    irc.send("CHATHISTORY AROUND #lan * 5").await;
    irc.until("FAIL CHATHISTORY UNKNOWN_COMMAND").await;
    irc.send("CHATHISTORY LATEST #elsewhere * 5").await;
    irc.until("FAIL CHATHISTORY INVALID_TARGET #elsewhere")
        .await;
    server.stop().await;
}

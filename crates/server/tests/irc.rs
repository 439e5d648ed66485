//! The IRC gateway with a raw IRC client over a real socket, beside native
//! clients of the same server: registration, the commands, one room seen
//! the same from both sides, history on join, and hostile lines.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use std::time::Duration;

use common::{Client, PATIENCE, start};
use huddle_protocol::ServerMessage;
use huddle_server::{RunningServer, ServerConfig};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

type Read = Box<dyn tokio::io::AsyncRead + Unpin + Send>;
type Write = Box<dyn tokio::io::AsyncWrite + Unpin + Send>;

/// A raw IRC client: writes lines, reads lines.
struct Irc {
    lines: tokio::io::Lines<BufReader<Read>>,
    write: Write,
}

impl Irc {
    async fn connect(server: &RunningServer) -> Self {
        let stream = TcpStream::connect(server.irc_addr.unwrap()).await.unwrap();
        let (read, write) = stream.into_split();
        Self::over(Box::new(read), Box::new(write))
    }

    fn over(read: Read, write: Write) -> Self {
        Self {
            lines: BufReader::new(read).lines(),
            write,
        }
    }

    async fn send(&mut self, line: &str) {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }

    async fn line(&mut self) -> String {
        match tokio::time::timeout(PATIENCE, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            other => panic!("no IRC line: {other:?}"),
        }
    }

    /// Lines until one contains `needle`; returns them all, that one last.
    async fn until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self.line().await;
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
    }

    /// Connects and registers as `nick` with server-time and echo-message.
    async fn registered(server: &RunningServer, nick: &str) -> (Self, Vec<String>) {
        let mut irc = Self::connect(server).await;
        irc.send("CAP LS 302").await;
        irc.send(&format!("NICK {nick}")).await;
        irc.send(&format!("USER {nick} 0 * :{nick} on IRC")).await;
        let ls = irc.line().await;
        assert!(
            ls.contains("CAP * LS") && ls.contains("server-time"),
            "{ls}"
        );
        irc.send("CAP REQ :server-time echo-message").await;
        let ack = irc.line().await;
        assert!(ack.contains("ACK") && ack.contains("echo-message"), "{ack}");
        irc.send("CAP END").await;
        let welcome = irc.until(" 422 ").await;
        (irc, welcome)
    }
}

fn gateway() -> ServerConfig {
    ServerConfig {
        irc_bind: Some(([127, 0, 0, 1], 0).into()),
        ..ServerConfig::loopback()
    }
}

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

/// What a native client's `Whois` of `nick` says of its key and program.
async fn whois(client: &mut Client, nick: &str) -> (Option<huddle_protocol::PublicKey>, String) {
    client
        .send(huddle_protocol::ClientMessage::Whois {
            nick: huddle_protocol::Nick::new(nick).unwrap(),
        })
        .await;
    match client
        .recv_until(|m| matches!(m, ServerMessage::WhoisReply { .. }))
        .await
    {
        ServerMessage::WhoisReply { key, client, .. } => (key, client.to_string()),
        _ => unreachable!(),
    }
}

/// The lines up to one containing `needle`, after sending `line`.
async fn ask(irc: &mut Irc, line: &str, needle: &str) -> String {
    irc.send(line).await;
    irc.until(needle).await.join("\n")
}

/// Registers as `nick`, first logging in with SASL PLAIN as `account` with
/// `password`; the lines up to the welcome (or the failure).
async fn sasl_register(
    server: &RunningServer,
    nick: &str,
    account: &str,
    password: &str,
) -> (Irc, String) {
    use base64::Engine;
    let mut irc = Irc::connect(server).await;
    // As weechat does: CAP LS, NICK, USER, then SASL, then CAP END.
    let ls = ask(&mut irc, "CAP LS 302", "CAP * LS").await;
    assert!(ls.contains("sasl=PLAIN"), "{ls}");
    irc.send(&format!("NICK {nick}")).await;
    irc.send(&format!("USER {nick} 0 * :{nick}")).await;
    ask(&mut irc, "CAP REQ :sasl", "ACK").await;
    ask(&mut irc, "AUTHENTICATE PLAIN", "AUTHENTICATE +").await;
    let payload =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{account}\0{password}"));
    irc.send(&format!("AUTHENTICATE {payload}")).await;
    let verdict = irc.line().await;
    if !verdict.contains(" 900 ") {
        return (irc, verdict);
    }
    let success = irc.line().await;
    assert!(success.contains(" 903 "), "{success}");
    let welcome = ask(&mut irc, "CAP END", " 001 ").await;
    (irc, format!("{verdict}\n{welcome}"))
}

#[tokio::test]
async fn sasl_plain_logs_an_irc_user_in_as_the_key_that_holds_its_nick() {
    let data = tempfile::tempdir().unwrap();
    let durable = || ServerConfig {
        data_dir: Some(data.path().to_owned()),
        ..gateway()
    };
    let server = start(durable()).await;
    // alice sets an IRC password from huddle, then leaves: her nick stays
    // bound to her key.
    let alice_id = huddle_protocol::ClientId::random();
    let mut alice = Client::connect_as(server.addr, "alice", alice_id).await;
    alice
        .send(huddle_protocol::ClientMessage::SetIrcPassword {
            password: huddle_protocol::ShortText::new("correct horse").unwrap(),
        })
        .await;
    let told = alice
        .recv_until(|m| matches!(m, ServerMessage::Notice { .. }))
        .await;
    assert!(
        format!("{told:?}").contains("may now log in as alice"),
        "{told:?}"
    );
    alice
        .send(huddle_protocol::ClientMessage::Quit {
            reason: Default::default(),
        })
        .await;
    alice.until_closed().await;
    // Without logging in, or with a wrong password, nobody takes "alice".
    let (mut anon, _) = {
        let mut irc = Irc::connect(&server).await;
        irc.send("NICK alice").await;
        irc.send("USER alice 0 * :a").await;
        let refused = irc.until(" 433 ").await.join("\n");
        (irc, refused)
    };
    anon.send("QUIT").await;
    let (_, wrong) = sasl_register(&server, "alice", "alice", "wrong horse").await;
    assert!(wrong.contains(" 904 "), "{wrong}");
    let (_, unknown) = sasl_register(&server, "carol", "carol", "correct horse").await;
    assert!(unknown.contains(" 904 "), "{unknown}");
    server.stop().await;

    // After a restart, the right password: the IRC user is alice's key.
    let server = start(durable()).await;
    let (mut irc, welcome) = sasl_register(&server, "alice", "alice", "correct horse").await;
    assert!(
        welcome.contains(" 900 alice ") && welcome.contains(" 001 alice "),
        "{welcome}"
    );
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    let alice_key = Some(common::key_of(alice_id).public_key());
    assert_eq!(whois(&mut bob, "alice").await, (alice_key, "IRC".into()));
    // A direct message to alice reaches her on IRC, and is in her key's
    // mailbox: her native client sees it after.
    bob.send(huddle_protocol::ClientMessage::Direct {
        to: huddle_protocol::Nick::new("alice").unwrap(),
        id: huddle_protocol::ClientMsgId::random(),
        kind: huddle_protocol::MessageKind::Normal,
        text: huddle_protocol::ChatText::new("for alice's key").unwrap(),
    })
    .await;
    irc.until("PRIVMSG alice :for alice's key").await;
    irc.send("QUIT").await;
    irc.until("ERROR").await;
    let mut alice = Client::connect_as(server.addr, "alice", alice_id).await;
    alice
        .send(huddle_protocol::ClientMessage::FetchDirectHistory {
            with: None,
            before: None,
            after: None,
            limit: 10,
        })
        .await;
    let page = alice
        .recv_until(|m| matches!(m, ServerMessage::DirectHistoryPage { .. }))
        .await;
    assert!(format!("{page:?}").contains("for alice's key"), "{page:?}");
    server.stop().await;
}

#[tokio::test]
async fn sasl_external_logs_in_the_certificate_its_keys_holder_set() {
    let server = start(ServerConfig {
        irc_tls_bind: Some(([127, 0, 0, 1], 0).into()),
        ..gateway()
    })
    .await;
    // An IRC client's own certificate, as `openssl req -x509` makes one.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let params = rcgen::CertificateParams::new(vec!["weechat".to_owned()]).unwrap();
    let certificate = params.self_signed(&key).unwrap().der().to_vec();
    let fingerprint = huddle_protocol::Fingerprint::of_certificate(&certificate);
    let connect = |presenting: bool| {
        let (certificate, key) = (certificate.clone(), key.serialize_der());
        let addr = server.irc_tls_addr.unwrap();
        async move {
            let config = match presenting {
                true => {
                    huddle_protocol::tls::irc_client_config_presenting(certificate, key).unwrap()
                }
                false => {
                    let mut config = (*huddle_protocol::tls::client_config().unwrap()).clone();
                    config.alpn_protocols.clear();
                    std::sync::Arc::new(config)
                }
            };
            let tcp = TcpStream::connect(addr).await.unwrap();
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(huddle_protocol::tls::server_name(), tcp)
                .await
                .unwrap();
            let (read, write) = tokio::io::split(tls);
            Irc::over(Box::new(read), Box::new(write))
        }
    };
    let login = |mut irc: Irc| async move {
        irc.send("CAP LS 302").await;
        let ls = irc.until("CAP * LS").await.join("\n");
        assert!(ls.contains("sasl=PLAIN,EXTERNAL"), "{ls}");
        irc.send("NICK dana").await;
        irc.send("USER dana 0 * :dana").await;
        ask(&mut irc, "CAP REQ :sasl", "ACK").await;
        irc.send("AUTHENTICATE EXTERNAL").await;
        let first = irc.line().await;
        if first.contains(" 904 ") {
            return (irc, first);
        }
        assert_eq!(first, "AUTHENTICATE +");
        irc.send("AUTHENTICATE +").await;
        let verdict = irc.line().await;
        (irc, verdict)
    };
    // dana's huddle installation names the certificate; another key cannot
    // claim it after.
    let dana_id = huddle_protocol::ClientId::random();
    let mut dana = Client::connect_as(server.addr, "dana", dana_id).await;
    let set = |fingerprint| huddle_protocol::ClientMessage::SetIrcCertificate { fingerprint };
    dana.send(set(Some(fingerprint))).await;
    let told = dana
        .recv_until(|m| matches!(m, ServerMessage::Notice { .. }))
        .await;
    assert!(
        format!("{told:?}").contains("may now log in as dana"),
        "{told:?}"
    );
    let (mut eve, _) = Client::connect(server.addr, "eve").await;
    eve.send(set(Some(fingerprint))).await;
    let refused = eve
        .recv_until(|m| matches!(m, ServerMessage::Error(_)))
        .await;
    assert!(
        format!("{refused:?}").contains("another key"),
        "{refused:?}"
    );
    dana.send(huddle_protocol::ClientMessage::Quit {
        reason: Default::default(),
    })
    .await;
    dana.until_closed().await;

    // No certificate: EXTERNAL is refused, and the bound nick with it.
    let (_, without) = login(connect(false).await).await;
    assert!(without.contains(" 904 "), "{without}");
    // The certificate: logged in as dana's key, holding her bound nick.
    let (mut irc, verdict) = login(connect(true).await).await;
    assert!(verdict.contains(" 900 dana "), "{verdict}");
    let welcome = ask(&mut irc, "CAP END", " 001 ").await;
    assert!(welcome.contains(" 001 dana "), "{welcome}");
    let (mut bob, _) = Client::connect(server.addr, "bob").await;
    let dana_key = Some(common::key_of(dana_id).public_key());
    assert_eq!(whois(&mut bob, "dana").await, (dana_key, "IRC".into()));
    server.stop().await;
}

//! SASL on the IRC gateway: PLAIN with the password a key's holder set
//! (`/ircpass`), EXTERNAL with the TLS client certificate it named
//! (`/irccert`); either way the IRC user is that key.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

mod common;

use common::{
    Client,
    irc::{Irc, ask, gateway, whois},
    start,
};
use huddle_protocol::ServerMessage;
use huddle_server::{RunningServer, ServerConfig};
use tokio::net::TcpStream;

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

//! LAN discovery on loopback: real servers, real browsers, real datagrams
//! (sent only to 127.0.0.0/8). (Hostile datagrams and floods:
//! `discovery_hostile.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{net::UdpSocket, time::Duration};

use huddle::discovery::Browser;
use huddle_e2e::{
    discoverable_config, discoverable_server, free_udp_port, loopback_browser_config,
};
use huddle_protocol::{
    ShortText,
    discovery::{Beacon, Datagram, decode_datagram},
};

#[tokio::test]
async fn two_servers_on_one_host_are_both_found() {
    let port = free_udp_port().unwrap();
    let first = discoverable_server("first", port).await.unwrap();
    let second = discoverable_server("second", port).await.unwrap();
    let browser = Browser::new(loopback_browser_config(port)).unwrap();
    let found = browser.discover(Duration::from_millis(800)).await;
    let mut names: Vec<(&str, u16)> = found
        .iter()
        .map(|s| (s.name.as_str(), s.addr.port()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [("first", first.addr.port()), ("second", second.addr.port())]
    );
    assert!(
        found
            .iter()
            .all(|s| s.rtt_ms.is_some() && s.incompatible.is_none()),
        "{found:?}"
    );
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_server_with_a_status_page_tells_browsers_its_address() {
    let port = free_udp_port().unwrap();
    let config = huddle_server::ServerConfig {
        http: Some(([127, 0, 0, 1], 0).into()),
        ..discoverable_config("lab", port)
    };
    let server = huddle_server::Server::bind(config).await.unwrap().spawn();
    let browser = Browser::new(loopback_browser_config(port)).unwrap();
    let found = browser.discover(Duration::from_millis(800)).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let expected = format!("http://{}/", server.status_addr.unwrap());
    assert_eq!(found[0].status_url.as_deref(), Some(expected.as_str()));
    // `huddle discover --json` prints this field.
    let json = serde_json::to_value(&found[0]).unwrap();
    assert_eq!(json["status_url"], expected.as_str());
    // And it is the page: its JSON names this server.
    let mut http = tokio::net::TcpStream::connect(server.status_addr.unwrap())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut http,
        b"GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut http, &mut answer)
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"name\": \"lab\""), "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_stopped_server_disappears_at_once_by_its_goodbye() {
    let port = free_udp_port().unwrap();
    let staying = discoverable_server("staying", port).await.unwrap();
    let leaving = discoverable_server("leaving", port).await.unwrap();
    let mut browser = Browser::new(loopback_browser_config(port)).unwrap();
    let found = poll(&mut browser, Duration::from_secs(5), |names| {
        names.len() == 2
    })
    .await;
    assert_eq!(found, ["leaving", "staying"]);
    leaving.stop().await;
    // Well before the 1.5 s expiry, the goodbye has removed it.
    let started = std::time::Instant::now();
    let found = poll(&mut browser, Duration::from_secs(5), |names| {
        names.len() == 1
    })
    .await;
    assert_eq!(found, ["staying"]);
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "took {:?}",
        started.elapsed()
    );
    staying.stop().await;
}

#[tokio::test]
async fn a_server_that_goes_silent_expires() {
    // A fake server that answers probes until it stops answering, without a
    // goodbye: as if its machine lost power.
    let port = free_udp_port().unwrap();
    let fake = std::sync::Arc::new(socket2_bind(port));
    let answering = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let ghost = huddle_server::ServerIdentity::generate().unwrap();
    let responder = {
        let (fake, answering) = (fake.clone(), answering.clone());
        std::thread::spawn(move || {
            let mut buffer = [0u8; 1500];
            let deadline = std::time::Instant::now() + Duration::from_secs(8);
            fake.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            while std::time::Instant::now() < deadline {
                let Ok((len, from)) = fake.recv_from(&mut buffer) else {
                    continue;
                };
                if let (Ok(Datagram::Probe(probe)), true) = (
                    decode_datagram(&buffer[..len]),
                    answering.load(std::sync::atomic::Ordering::Relaxed),
                ) {
                    let beacon = Beacon {
                        server_id: ghost.server_id(),
                        server_name: ShortText::new("ghost").unwrap(),
                        tcp_port: 1,
                        users: 0,
                        rooms: Vec::new(),
                        rooms_truncated: false,
                        needs_password: false,
                        nonce: probe.nonce,
                        goodbye: false,
                        status_port: None,
                        nodes: Vec::new(),
                    };
                    fake.send_to(&ghost.seal_beacon(&beacon, 1200).unwrap(), from)
                        .unwrap();
                }
            }
        })
    };
    let mut browser = Browser::new(loopback_browser_config(port)).unwrap();
    // Each answer carries a fresh server id here, so count entries by name.
    assert!(
        !poll(&mut browser, Duration::from_secs(5), |names| !names
            .is_empty())
        .await
        .is_empty()
    );
    answering.store(false, std::sync::atomic::Ordering::Relaxed);
    let found = poll(&mut browser, Duration::from_secs(5), |names| {
        names.is_empty()
    })
    .await;
    assert!(found.is_empty());
    drop(responder);
}

#[tokio::test]
async fn a_forged_goodbye_and_beacon_with_a_real_id_do_not_hide_or_move_it() {
    let port = free_udp_port().unwrap();
    let real = discoverable_server("real", port).await.unwrap();
    let mut browser = Browser::new(loopback_browser_config(port)).unwrap();
    poll(&mut browser, Duration::from_secs(5), |names| {
        names == ["real"]
    })
    .await;
    // Mallory, at 127.0.0.2 and on this very host, broadcasts in the real
    // server's name (its id, signed with her own key): goodbye, and "I am
    // it, at port 6666".
    let forger = std::thread::spawn({
        let id = real.server_id;
        move || {
            let mallory = huddle_server::ServerIdentity::generate().unwrap();
            let elsewhere = huddle_e2e::shared_udp_socket(([127, 0, 0, 2], 0).into()).unwrap();
            let here = huddle_e2e::shared_udp_socket(([127, 0, 0, 1], 0).into()).unwrap();
            let beacon = |goodbye| Beacon {
                server_id: id,
                server_name: ShortText::new("real").unwrap(),
                tcp_port: 6666,
                users: 0,
                rooms: Vec::new(),
                rooms_truncated: false,
                needs_password: false,
                nonce: 0,
                goodbye,
                status_port: None,
                nodes: Vec::new(),
            };
            let deadline = std::time::Instant::now() + Duration::from_millis(1500);
            while std::time::Instant::now() < deadline {
                for goodbye in [true, false] {
                    let bytes = mallory.seal_beacon(&beacon(goodbye), 1200).unwrap();
                    for socket in [&elsewhere, &here] {
                        socket.send_to(&bytes, ("127.255.255.255", port)).unwrap();
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    // Keep browsing while the forger broadcasts, and a little after.
    let found = poll(&mut browser, Duration::from_secs(5), |_| {
        forger.is_finished()
    })
    .await;
    forger.join().unwrap();
    assert!(found.iter().all(|name| name == "real"), "{found:?}");
    let found = browser.servers();
    let genuine: Vec<_> = found.iter().filter(|s| s.conflict.is_none()).collect();
    assert_eq!(genuine.len(), 1, "{found:?}");
    assert_eq!(genuine[0].addr, real.addr, "the entry was redirected");
    assert_eq!(genuine[0].fingerprint, Some(real.fingerprint));
    let forged: Vec<_> = found.iter().filter(|s| s.conflict.is_some()).collect();
    assert_eq!(forged.len(), 2, "one per forging socket: {found:?}");
    for entry in forged {
        assert_eq!(entry.addr.port(), 6666);
        assert!(
            entry.conflict.as_deref().unwrap().contains("forged"),
            "{entry:?}"
        );
        assert_ne!(entry.fingerprint, Some(real.fingerprint));
    }
    real.stop().await;
}

/// Runs the browser until `done(names)` holds, returning the names.
async fn poll(
    browser: &mut Browser,
    limit: Duration,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut probe = tokio::time::interval(Duration::from_millis(200));
    loop {
        let mut names: Vec<String> = browser.servers().into_iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        if done(&names) {
            return names;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting; last saw {names:?}"
        );
        tokio::select! {
            _ = probe.tick() => browser.probe().await,
            () = browser.receive() => {}
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// A UDP socket sharing the discovery port the way servers do.
fn socket2_bind(port: u16) -> UdpSocket {
    use std::net::SocketAddr;
    let socket = huddle_e2e::shared_udp_socket(SocketAddr::from(([0, 0, 0, 0], port))).unwrap();
    socket.set_nonblocking(false).unwrap();
    socket
}

//! LAN discovery on loopback: real servers, real browsers, real datagrams
//! (sent only to 127.0.0.0/8).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{net::UdpSocket, time::Duration};

use huddle::discovery::Browser;
use huddle_e2e::{
    discoverable_config, discoverable_server, free_udp_port, loopback_browser_config,
};
use huddle_protocol::{
    ShortText,
    discovery::{Beacon, Datagram, Probe, decode_datagram, encode_datagram},
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

// Blocking socket calls below: the server needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_foreign_datagrams_are_dropped_and_counted() {
    let port = free_udp_port().unwrap();
    let server = discoverable_server("sturdy", port).await.unwrap();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = ("127.0.0.1", port);
    sender
        .send_to(b"M-SEARCH * HTTP/1.1\r\n\r\n", target)
        .unwrap();
    sender.send_to(b"HUDL\x00\x01\xff\xff\xff", target).unwrap();
    sender.send_to(b"HUDL\x00\x63whatever", target).unwrap();
    sender.send_to(&[0u8; 1400], target).unwrap();
    // Still answers a real probe afterwards.
    let probe = encode_datagram(&Datagram::Probe(Probe::padded(42))).unwrap();
    sender
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    sender.send_to(&probe, target).unwrap();
    let mut buffer = [0u8; 1500];
    // The two datagrams of other versions are told this server's version.
    let mut version_answers = 0;
    let beacon = loop {
        let (len, _) = sender.recv_from(&mut buffer).unwrap();
        match decode_datagram(&buffer[..len]) {
            Ok(Datagram::Beacon(signed)) => break signed.open().unwrap(),
            _ if huddle_protocol::discovery::is_version_only(&buffer[..len]) => {
                version_answers += 1;
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(version_answers, 2);
    assert!(beacon.authentic, "signed by the server's key");
    assert_eq!(beacon.fingerprint, server.fingerprint);
    let beacon = beacon.beacon;
    assert_eq!((beacon.nonce, beacon.server_name.as_str()), (42, "sturdy"));
    let counts = server.discovery_counts().unwrap();
    let dropped = (counts.foreign, counts.malformed, counts.incompatible);
    assert_eq!(dropped, (2, 0, 2), "{counts:?}");
    server.stop().await;
}

// Blocking socket calls below: the server needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_probes_cannot_make_a_server_flood_back() {
    let port = free_udp_port().unwrap();
    let server = discoverable_server("calm", port).await.unwrap(); // 50 replies/s per source
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let probe = encode_datagram(&Datagram::Probe(Probe::padded(7))).unwrap();
    for _ in 0..500 {
        sender.send_to(&probe, ("127.0.0.1", port)).unwrap();
    }
    sender
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut answers = 0;
    let mut buffer = [0u8; 1500];
    while sender.recv_from(&mut buffer).is_ok() {
        answers += 1;
    }
    assert!(
        answers > 0 && answers <= 100,
        "{answers} answers to 500 probes"
    );
    let counts = server.discovery_counts().unwrap();
    // Some probes may be dropped by the kernel before the server reads them
    // (UDP); of those it read, it answered at most its budget.
    assert!(
        counts.answered <= 100 && counts.rate_limited > 0,
        "{counts:?}"
    );
    assert!(counts.answered + counts.rate_limited <= 500, "{counts:?}");
    server.stop().await;
}

/// A server in 45 rooms with 63-character names (its full beacon would be
/// far over 1200 bytes), and the client that keeps them open.
async fn busy_server(port: u16) -> (huddle_server::RunningServer, impl Sized) {
    let server = discoverable_server("busy", port).await.unwrap();
    let (mut client, _) = huddle_testkit::Client::connect(server.addr, "joiner").await;
    for n in 0..45 {
        assert!(matches!(
            client.join(&format!("#{n:0>63}")).await,
            huddle_protocol::ServerMessage::Joined { .. }
        ));
    }
    (server, client)
}

/// Sends `probe` to the server's discovery port; returns the answer, if
/// one comes within half a second.
fn ask(port: u16, probe: &[u8]) -> Option<Vec<u8>> {
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    sender
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    sender.send_to(probe, ("127.0.0.1", port)).unwrap();
    let mut buffer = [0u8; 65536];
    let (len, _) = sender.recv_from(&mut buffer).ok()?;
    Some(buffer[..len].to_vec())
}

// Blocking socket calls below: the server needs a thread of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beacon_for_many_long_room_names_stays_within_1200_bytes() {
    let port = free_udp_port().unwrap();
    let (server, _client) = busy_server(port).await;
    let probe = encode_datagram(&Datagram::Probe(Probe::padded(1))).unwrap();
    let answer = ask(port, &probe).expect("no beacon");
    assert!(answer.len() <= 1200, "{} bytes", answer.len());
    let Datagram::Beacon(signed) = decode_datagram(&answer).unwrap() else {
        panic!()
    };
    let opened = signed.open().unwrap();
    assert!(opened.authentic);
    let beacon = opened.beacon;
    assert!(beacon.rooms_truncated);
    assert!(
        beacon.rooms.len() > 5 && beacon.rooms.len() < 45,
        "{} rooms",
        beacon.rooms.len()
    );
    assert_eq!(beacon.users, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probe_draws_at_most_three_times_its_size() {
    let port = free_udp_port().unwrap();
    let (server, _client) = busy_server(port).await;
    let mut probe = Probe::padded(5);
    for size in [150, 250, 400] {
        probe.padding.clear();
        let bare = encode_datagram(&Datagram::Probe(probe.clone()))
            .unwrap()
            .len();
        probe.padding.resize(size - bare - 2, 0);
        let bytes = encode_datagram(&Datagram::Probe(probe.clone())).unwrap();
        let answer = ask(port, &bytes).expect("no beacon");
        assert!(
            answer.len() <= 3 * bytes.len(),
            "{} bytes drew {}",
            bytes.len(),
            answer.len()
        );
        assert!(matches!(decode_datagram(&answer), Ok(Datagram::Beacon(_))));
    }
    // An unpadded probe (16 bytes) is too short for any beacon: silence,
    // where version 3 answered 1,195 bytes.
    probe.padding.clear();
    let short = encode_datagram(&Datagram::Probe(probe.clone())).unwrap();
    assert_eq!(ask(port, &short), None);
    // A probe of another version learns this server's version, in 6 bytes.
    let mut old = short.clone();
    old[5] = 3;
    let answer = ask(port, &old).expect("no answer to another version");
    assert_eq!(answer, huddle_protocol::discovery::version_only());
    assert!(matches!(
        decode_datagram(&answer),
        Err(huddle_protocol::discovery::DatagramError::Wire(_))
    ));
    let counts = server.discovery_counts().unwrap();
    assert_eq!(
        (counts.too_short, counts.incompatible),
        (1, 1),
        "{counts:?}"
    );
    server.stop().await;
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

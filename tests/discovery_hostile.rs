//! LAN discovery under hostile input, on loopback: garbage and foreign
//! datagrams, floods of probes, probes too small for an answer, beacons
//! that must squeeze many rooms into one datagram — real servers, real
//! datagrams (sent only to 127.0.0.0/8). (Finding servers: `discovery.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests may panic.

use std::{net::UdpSocket, time::Duration};

use huddle_e2e::{discoverable_server, free_udp_port};
use huddle_protocol::discovery::{Datagram, Probe, decode_datagram, encode_datagram};

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

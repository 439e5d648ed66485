//! Beacons sealed, squeezed and opened; datagrams told apart.

use super::*;

/// A certificate and its signer, as a server has.
fn identity() -> (Bytes, impl Fn(&[u8]) -> [u8; 64]) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let params = rcgen::CertificateParams::new(vec!["huddle.invalid".into()]).unwrap();
    let certificate = Bytes::from(params.self_signed(&key).unwrap().der().to_vec());
    let signer =
        ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&key.serialize_der()).unwrap();
    let sign = move |message: &[u8]| {
        let mut out = [0u8; 64];
        out.copy_from_slice(signer.sign(message).as_ref());
        out
    };
    (certificate, sign)
}

fn beacon_with_rooms(certificate: &Bytes, count: usize) -> Beacon {
    Beacon {
        server_id: server_id_of(&Fingerprint::of_certificate(certificate)),
        server_name: ShortText::new("x".repeat(390)).unwrap(),
        tcp_port: 7007,
        users: 3,
        rooms: (0..count)
            .map(|i| RoomSummary {
                name: RoomName::new(format!("#{i:0>63}")).unwrap(),
                members: i as u32,
            })
            .collect(),
        rooms_truncated: false,
        needs_password: false,
        nonce: 0,
        goodbye: false,
        status_port: None,
        nodes: Vec::new(),
    }
}

fn opened(bytes: &[u8]) -> OpenedBeacon {
    let Datagram::Beacon(signed) = decode_datagram(bytes).unwrap() else {
        panic!("not a beacon");
    };
    signed.open().unwrap()
}

#[test]
fn a_beacon_with_many_long_rooms_fits_in_1200_bytes_and_stays_signed() {
    let (certificate, sign) = identity();
    let beacon = beacon_with_rooms(&certificate, 100);
    let bytes = encode_beacon_within(&beacon, &certificate, &sign, MAX_DATAGRAM_LEN).unwrap();
    assert!(bytes.len() <= MAX_DATAGRAM_LEN, "{} bytes", bytes.len());
    let opened = opened(&bytes);
    assert!(opened.authentic);
    assert_eq!(
        opened.fingerprint,
        Fingerprint::of_certificate(&certificate)
    );
    assert!(opened.beacon.rooms_truncated);
    assert!(!opened.beacon.rooms.is_empty() && opened.beacon.rooms.len() < 100);
}

#[test]
fn a_cluster_beacon_drops_rooms_before_nodes_and_nodes_only_when_it_must() {
    let (certificate, sign) = identity();
    let mut beacon = beacon_with_rooms(&certificate, 100);
    beacon.nodes = (0..MAX_BEACON_NODES as u16)
        .map(|i| std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 7000 + i)))
        .collect();
    let bytes = encode_beacon_within(&beacon, &certificate, &sign, MAX_DATAGRAM_LEN).unwrap();
    let full = opened(&bytes);
    assert!(full.authentic);
    assert_eq!(full.beacon.nodes, beacon.nodes, "every node fits");
    assert!(full.beacon.rooms_truncated);
    // Squeezed: no room left, then the last nodes go.
    let bytes = encode_beacon_within(&beacon, &certificate, &sign, 900).unwrap();
    let squeezed = opened(&bytes).beacon;
    assert!(squeezed.rooms.is_empty());
    assert!(!squeezed.nodes.is_empty() && squeezed.nodes.len() < MAX_BEACON_NODES);
    assert_eq!(squeezed.nodes[..], beacon.nodes[..squeezed.nodes.len()]);
}

#[test]
fn a_forged_signature_or_a_borrowed_id_is_not_authentic() {
    let (certificate, sign) = identity();
    let (_, other_sign) = identity();
    let beacon = beacon_with_rooms(&certificate, 1);
    // Signed by another key than the certificate's.
    let forged =
        encode_beacon_within(&beacon, &certificate, &other_sign, MAX_DATAGRAM_LEN).unwrap();
    assert!(!opened(&forged).authentic);
    // A genuine signature over a body naming someone else's id.
    let mut borrowed = beacon.clone();
    borrowed.server_id = ServerId::from_uuid(uuid::Uuid::from_u128(7));
    let bytes = encode_beacon_within(&borrowed, &certificate, &sign, MAX_DATAGRAM_LEN).unwrap();
    assert!(!opened(&bytes).authentic);
    // A body altered after signing.
    let mut signed = SignedBeacon::seal(&beacon, &certificate, &sign).unwrap();
    let mut body = signed.body.to_vec();
    let last = body.len() - 1;
    body[last] ^= 1;
    signed.body = Bytes::from(body);
    assert!(!signed.open().is_ok_and(|opened| opened.authentic));
    // Garbage for a certificate.
    let mut signed = SignedBeacon::seal(&beacon, &certificate, &sign).unwrap();
    signed.certificate = Bytes::from_static(b"not a certificate");
    assert!(!signed.open().unwrap().authentic);
}

#[test]
fn a_padded_probe_is_a_third_of_the_largest_beacon() {
    for nonce in [0, 1, 300, u64::MAX] {
        let bytes = encode_datagram(&Datagram::Probe(Probe::padded(nonce))).unwrap();
        assert_eq!(bytes.len(), PADDED_PROBE_LEN, "nonce {nonce}");
        assert_eq!(bytes.len() * MAX_REPLY_FACTOR, MAX_DATAGRAM_LEN);
    }
}

#[test]
fn a_beacon_fits_whatever_room_it_is_given_or_fails() {
    let (certificate, sign) = identity();
    let beacon = beacon_with_rooms(&certificate, 100);
    let bytes = encode_beacon_within(&beacon, &certificate, &sign, 1000).unwrap();
    assert!(bytes.len() <= 1000);
    assert!(matches!(
        encode_beacon_within(&beacon, &certificate, &sign, 300),
        Err(DatagramError::TooLarge(_))
    ));
    assert!(is_version_only(&version_only()));
    assert!(matches!(
        decode_datagram(&version_only()),
        Err(DatagramError::Wire(_))
    ));
}

#[test]
fn a_small_beacon_round_trips_untouched() {
    let (certificate, sign) = identity();
    let original = beacon_with_rooms(&certificate, 2);
    let bytes = encode_beacon_within(&original, &certificate, &sign, MAX_DATAGRAM_LEN).unwrap();
    assert_eq!(opened(&bytes).beacon, original);
}

#[test]
fn foreign_and_other_version_datagrams_are_told_apart() {
    assert!(matches!(
        decode_datagram(b"GET / HTTP/1.1"),
        Err(DatagramError::Foreign)
    ));
    assert!(matches!(
        decode_datagram(b"HUD"),
        Err(DatagramError::Foreign)
    ));
    let mut bytes = encode_datagram(&Datagram::Probe(Probe::padded(1))).unwrap();
    bytes[5] = 99;
    assert!(matches!(
        decode_datagram(&bytes),
        Err(DatagramError::Incompatible { theirs: 99 })
    ));
    assert!(matches!(
        decode_datagram(&[
            b'H',
            b'U',
            b'D',
            b'L',
            0,
            PROTOCOL_VERSION as u8,
            0xff,
            0xff
        ]),
        Err(DatagramError::Wire(_))
    ));
    assert!(matches!(
        decode_datagram(&[
            b'H',
            b'U',
            b'D',
            b'L',
            0,
            PROTOCOL_VERSION as u8,
            0,
            1,
            0,
            9
        ]),
        Err(DatagramError::Wire(_))
    ));
    let mut big = bytes.clone();
    big[5] = PROTOCOL_VERSION as u8;
    big.resize(MAX_DATAGRAM_LEN + 1, 0);
    assert!(matches!(
        decode_datagram(&big),
        Err(DatagramError::TooLarge(_))
    ));
}

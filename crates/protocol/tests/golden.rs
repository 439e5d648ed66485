//! Golden vectors: the exact bytes of several frames, also printed and
//! decoded by hand in `docs/PROTOCOL.md`. If one of these fails, the wire
//! changed: bump `PROTOCOL_VERSION` and update the spec.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers may panic.

use huddle_protocol::{
    ChatMessage, ChatText, ClientMessage, ClientMsgId, ErrorCode, Hello, MessageId, MessageKind,
    Nick, Reject, RoomName, ServerMessage, ShortText, Target,
    discovery::{
        Beacon, Datagram, Probe, RoomSummary, SignedBeacon, decode_datagram, encode_datagram,
    },
    encode_frame,
};
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

const HELLO: &str = "00 00 00 76 00 09 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 11 40 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 22 05 61 6c 69 63 65 06 68 75 64 64 6c 65 05 30 2e 31 2e 30";
const SAY: &str =
    "00 00 00 1a 03 04 23 6c 61 6e 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff 00 02 68 69";
const PING: &str = "00 00 00 04 0a fb 2c 01";
const REJECT: &str = "00 00 00 07 01 01 05 03 76 35 3f";
const CHAT: &str = "00 00 00 39 04 01 93 00 00 00 00 70 00 80 00 00 00 00 00 00 01 01 03 62 6f 62 02 61 6c 01 05 77 61 76 65 73 fd 00 68 e5 cf 8b 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ab";
const FETCH_DIRECT_HISTORY: &str =
    "00 00 00 19 12 01 03 62 6f 62 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 32";
const SEARCH: &str = "00 00 00 10 15 06 64 65 70 6c 6f 79 01 04 23 6f 70 73 00 14";
const PROBE: &str = "48 55 44 4c 00 09 00 fb 34 12 03 00 00 00";

/// Every vector above, in the order `docs/PROTOCOL.md` §9 prints them.
const VERSION_ONLY: &str = "48 55 44 4c 00 09";
const SIGNED_BEACON: &str = "48 55 44 4c 00 09 01 04 c0 c1 c2 c3 30 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 02 03 6c 61 62 fb 5f 1b 02 01 02 23 61 02 00 00 fb 34 12 00 01 fb a8 1b 01 00 7f 00 00 01 fb 60 1b 40 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a";

const IN_SPEC_ORDER: [&str; 10] = [
    HELLO,
    SAY,
    PING,
    REJECT,
    CHAT,
    FETCH_DIRECT_HISTORY,
    SEARCH,
    PROBE,
    SIGNED_BEACON,
    VERSION_ONLY,
];

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn check<M: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    message: &M,
    expected: &str,
) {
    let frame = encode_frame(message).unwrap();
    assert_eq!(hex(&frame), expected, "frame bytes of {message:?}");
    let decoded: M = huddle_protocol::decode_payload(&frame[4..]).unwrap();
    assert_eq!(&decoded, message);
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

#[test]
fn hello() {
    check(
        &ClientMessage::Hello(Hello {
            version: 9,
            public_key: huddle_protocol::PublicKey([0x11; 32]),
            proof: bytes::Bytes::from(vec![0x22; 64]),
            nick: Nick::new("alice").unwrap(),
            client_name: ShortText::new("huddle").unwrap(),
            client_version: ShortText::new("0.1.0").unwrap(),
        }),
        HELLO,
    );
}

#[test]
fn say() {
    check(
        &ClientMessage::Say {
            room: RoomName::new("lan").unwrap(),
            id: ClientMsgId::from_uuid(id(0xff)),
            kind: MessageKind::Normal,
            text: ChatText::new("hi").unwrap(),
        },
        SAY,
    );
}

#[test]
fn ping() {
    check(&ClientMessage::Ping { token: 300 }, PING);
}

#[test]
fn reject() {
    check(
        &ServerMessage::Reject(Reject {
            code: ErrorCode::VersionMismatch,
            server_version: 5,
            text: "v5?".into(),
        }),
        REJECT,
    );
}

#[test]
fn chat() {
    check(
        &ServerMessage::Chat(ChatMessage {
            id: MessageId::from_uuid(id(0x0193_0000_0000_7000_8000_0000_0000_0001)),
            target: Target::Direct(Nick::new("bob").unwrap()),
            from: Nick::new("al").unwrap(),
            kind: MessageKind::Action,
            text: ChatText::new("waves").unwrap(),
            timestamp: 1_700_000_000_000,
            client_msg_id: ClientMsgId::from_uuid(id(0xab)),
        }),
        CHAT,
    );
}

#[test]
fn fetch_direct_history() {
    check(
        &ClientMessage::FetchDirectHistory {
            with: Some(Nick::new("bob").unwrap()),
            before: None,
            after: Some(MessageId::from_uuid(id(1))),
            limit: 50,
        },
        FETCH_DIRECT_HISTORY,
    );
}

#[test]
fn search() {
    check(
        &ClientMessage::Search {
            query: ShortText::new("deploy").unwrap(),
            room: Some(RoomName::new("#ops").unwrap()),
            before: None,
            limit: 20,
        },
        SEARCH,
    );
}

#[test]
fn probe_datagram() {
    let datagram = Datagram::Probe(Probe {
        nonce: 0x1234,
        padding: vec![0; 3],
    });
    let bytes = encode_datagram(&datagram).unwrap();
    assert_eq!(hex(&bytes), PROBE);
    assert_eq!(decode_datagram(&bytes).unwrap(), datagram);
}

/// A signed beacon's layout: a stand-in certificate and signature (the
/// bytes, not their validity, are what this pins; `SignedBeacon::open`'s
/// checks are tested with real keys in `discovery.rs`).
fn signed_beacon() -> Datagram {
    let beacon = Beacon {
        server_id: huddle_protocol::ServerId::from_uuid(id(0x0102)),
        server_name: ShortText::new("lab").unwrap(),
        tcp_port: 7007,
        users: 2,
        rooms: vec![RoomSummary {
            name: RoomName::new("#a").unwrap(),
            members: 2,
        }],
        rooms_truncated: false,
        needs_password: false,
        nonce: 0x1234,
        goodbye: false,
        status_port: Some(7080),
        nodes: vec![std::net::SocketAddr::from(([127, 0, 0, 1], 7008))],
    };
    Datagram::Beacon(SignedBeacon {
        certificate: bytes::Bytes::from_static(&[0xc0, 0xc1, 0xc2, 0xc3]),
        body: bytes::Bytes::from(huddle_protocol::encode_payload(&beacon).unwrap().to_vec()),
        signature: bytes::Bytes::from(vec![0x5a; 64]),
    })
}

#[test]
fn signed_beacon_datagram() {
    let datagram = signed_beacon();
    let bytes = encode_datagram(&datagram).unwrap();
    assert_eq!(hex(&bytes), SIGNED_BEACON);
    assert_eq!(decode_datagram(&bytes).unwrap(), datagram);
}

#[test]
fn version_only_answer() {
    assert_eq!(
        hex(&huddle_protocol::discovery::version_only()),
        VERSION_ONLY
    );
}

/// The hex bytes of each code block in §9 of the spec: on each line, the
/// leading two-digit hex tokens (the rest of the line explains them).
fn spec_vectors() -> Vec<String> {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/PROTOCOL.md"
    ))
    .unwrap();
    let section = spec.split("## 9. Golden vectors").nth(1).unwrap();
    section
        .split("```")
        .skip(1)
        .step_by(2)
        .map(|block| {
            block
                .lines()
                .flat_map(|line| {
                    line.split_whitespace().take_while(|token| {
                        token.len() == 2 && token.chars().all(|c| c.is_ascii_hexdigit())
                    })
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn the_spec_prints_exactly_these_bytes() {
    assert_eq!(spec_vectors(), IN_SPEC_ORDER);
}

/// The fuzz corpus in `assets/fuzz/` is seeded with this version's golden
/// vectors (as each target takes its input: a whole frame, a payload, a
/// datagram), so fuzzing starts from valid messages of the current wire.
#[test]
fn the_fuzz_corpus_holds_the_golden_vectors() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/fuzz");
    let holds = |target: &str, hex_bytes: &str| {
        let wanted: Vec<u8> = hex_bytes
            .split(' ')
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        std::fs::read_dir(format!("{corpus}/{target}"))
            .unwrap()
            .any(|entry| std::fs::read(entry.unwrap().path()).unwrap() == wanted)
    };
    let hello_payload = HELLO.splitn(5, ' ').nth(4).unwrap();
    for (target, vector) in [
        ("frame_decoder", HELLO),
        ("client_message", hello_payload),
        ("client_message", SEARCH.splitn(5, ' ').nth(4).unwrap()),
        ("datagram", PROBE),
        ("datagram", SIGNED_BEACON),
        ("datagram", VERSION_ONLY),
    ] {
        assert!(holds(target, vector), "assets/fuzz/{target} lacks {vector}");
    }
}

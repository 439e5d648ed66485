//! Hostile and broken input: every case is a typed error, never a panic,
//! never a buffer grown past the frame limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers may panic.

mod strategies;

use bytes::BytesMut;
use huddle_protocol::{
    ClientMessage, CodecError, FieldKind, FrameCodec, ServerCodec, WireError, decode_payload,
    encode_frame, limits::MAX_FRAME_LEN,
};
use proptest::prelude::*;
use strategies::client_message;
use tokio_util::codec::Decoder;

fn decode_all(bytes: &[u8]) -> Result<Vec<ClientMessage>, CodecError> {
    let mut codec = ServerCodec::new();
    let mut buffer = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(message) = codec.decode_eof(&mut buffer)? {
        out.push(message);
    }
    Ok(out)
}

/// A hand-built `Hello` payload with the given nick bytes (see PROTOCOL.md).
fn hello_payload_with_nick(nick: &[u8]) -> Vec<u8> {
    let mut payload = vec![0x00, 0x01];
    payload.extend_from_slice(&[0u8; 32]); // public key
    payload.push(64); // proof: 64 bytes follow
    payload.extend_from_slice(&[0u8; 64]);
    payload.push(nick.len() as u8);
    payload.extend_from_slice(nick);
    payload.extend_from_slice(&[0x01, b'x', 0x01, b'1']);
    payload
}

/// Where the nick's first byte is in [`hello_payload_with_nick`]'s payload.
const NICK_AT: usize = 2 + 32 + 1 + 64 + 1;

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn a_hand_built_hello_decodes() {
    let message = decode_payload::<ClientMessage>(&hello_payload_with_nick(b"alice")).unwrap();
    let ClientMessage::Hello(hello) = message else {
        panic!("not a hello: {message:?}");
    };
    assert_eq!(hello.nick.as_str(), "alice");
    assert_eq!(hello.version, 1);
}

#[test]
fn a_4_gib_length_prefix_is_refused_before_buffering() {
    let mut codec = FrameCodec::new();
    let mut buffer = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3][..]);
    let capacity = buffer.capacity();
    match codec.decode(&mut buffer) {
        Err(CodecError::FrameTooLarge { len, max }) => {
            assert_eq!(len, u32::MAX as usize);
            assert_eq!(max, MAX_FRAME_LEN);
        }
        other => panic!("expected FrameTooLarge, got {other:?}"),
    }
    assert_eq!(buffer.capacity(), capacity, "the codec reserved memory");
}

#[test]
fn one_byte_over_the_limit_is_refused() {
    let header = ((MAX_FRAME_LEN + 1) as u32).to_be_bytes();
    assert!(matches!(
        FrameCodec::new().decode(&mut BytesMut::from(&header[..])),
        Err(CodecError::FrameTooLarge { .. })
    ));
    let header = (MAX_FRAME_LEN as u32).to_be_bytes();
    assert!(matches!(
        FrameCodec::new().decode(&mut BytesMut::from(&header[..])),
        Ok(None)
    ));
}

#[test]
fn a_truncated_frame_waits_then_fails_at_end_of_stream() {
    let full = encode_frame(&ClientMessage::ListRooms).unwrap();
    for cut in 0..full.len() {
        let mut buffer = BytesMut::from(&full[..cut]);
        assert!(
            matches!(ServerCodec::new().decode(&mut buffer), Ok(None)),
            "cut {cut}"
        );
        if cut > 0 {
            assert!(decode_all(&full[..cut]).is_err(), "cut {cut} at eof");
        }
    }
}

#[test]
fn a_zero_length_frame_is_malformed() {
    assert!(matches!(
        decode_all(&[0, 0, 0, 0]),
        Err(CodecError::Wire(WireError::Malformed(_)))
    ));
}

#[test]
fn an_unknown_variant_is_malformed() {
    assert!(matches!(
        decode_all(&frame(&[0x63])),
        Err(CodecError::Wire(WireError::Malformed(_)))
    ));
}

#[test]
fn trailing_bytes_after_a_payload_are_refused() {
    // ListRooms is variant 7 with no fields; one extra byte follows.
    assert!(matches!(
        decode_all(&frame(&[0x07, 0x00])),
        Err(CodecError::Wire(WireError::TrailingBytes(1)))
    ));
}

#[test]
fn invalid_utf8_is_malformed() {
    let mut payload = hello_payload_with_nick(b"al");
    payload[NICK_AT] = 0xff;
    assert!(matches!(
        decode_payload::<ClientMessage>(&payload),
        Err(WireError::Malformed(_))
    ));
}

#[test]
fn an_over_long_nick_inside_a_valid_frame_is_an_invalid_nick() {
    let err = decode_payload::<ClientMessage>(&hello_payload_with_nick(&[b'a'; 40])).unwrap_err();
    let WireError::Invalid(invalid) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert_eq!(invalid.kind, FieldKind::Nick);
    assert_eq!(err.error_code(), huddle_protocol::ErrorCode::InvalidNick);
}

#[test]
fn an_over_long_text_inside_a_valid_frame_is_invalid_text() {
    // Say { room: "#a", id: 16 zero bytes, kind: Normal, text: 4097 × 'x' }.
    let mut payload = vec![0x03, 0x02, b'#', b'a'];
    payload.extend_from_slice(&[0u8; 16]);
    payload.push(0x00);
    payload.push(251);
    payload.extend_from_slice(&4097u16.to_le_bytes());
    payload.extend_from_slice(&[b'x'; 4097]);
    let err = decode_payload::<ClientMessage>(&payload).unwrap_err();
    assert_eq!(
        err.error_code(),
        huddle_protocol::ErrorCode::InvalidText,
        "{err}"
    );
}

#[test]
fn a_hostile_length_inside_a_payload_does_not_allocate() {
    // Say whose text claims 4 GiB - 1 bytes: refused by the decode limit.
    let mut payload = vec![0x03, 0x02, b'#', b'a'];
    payload.extend_from_slice(&[0u8; 16]);
    payload.push(0x00);
    payload.push(252);
    payload.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        decode_payload::<ClientMessage>(&payload),
        Err(WireError::Malformed(_))
    ));
    // A member list claiming 2^60 entries.
    let mut payload = vec![0x08];
    payload.push(253);
    payload.extend_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(decode_payload::<huddle_protocol::ServerMessage>(&payload).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_all(&bytes);
        let _ = decode_payload::<ClientMessage>(&bytes);
        let _ = decode_payload::<huddle_protocol::ServerMessage>(&bytes);
        let _ = huddle_protocol::discovery::decode_datagram(&bytes);
    }

    #[test]
    fn bit_flipped_frames_decode_to_a_valid_message_or_a_typed_error(
        message in client_message(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut bytes = encode_frame(&message).unwrap().to_vec();
        let at = flip.index(bytes.len());
        bytes[at] ^= 1 << bit;
        if let Ok(messages) = decode_all(&bytes) {
            // Whatever decoded went through the validating constructors.
            for decoded in messages {
                let again = huddle_protocol::encode_payload(&decoded).unwrap();
                prop_assert_eq!(decode_payload::<ClientMessage>(&again).unwrap(), decoded);
            }
        }
    }
}

#[test]
fn a_say_with_an_invalid_room_still_names_its_id() {
    use huddle_protocol::{ChatText, ClientMsgId, MessageKind, RequestKind, RoomName};
    let id = ClientMsgId::random();
    let say = ClientMessage::Say {
        room: RoomName::new("#lan").unwrap(),
        id,
        kind: MessageKind::Normal,
        text: ChatText::new("hi").unwrap(),
    };
    let mut payload = huddle_protocol::encode_payload(&say).unwrap();
    // Variant 3, then the room's length (4), then '#': make it a control
    // character, which no room name may hold.
    assert_eq!(&payload[..3], &[3, 4, b'#']);
    payload[2] = 0x01;
    assert!(decode_payload::<ClientMessage>(&payload).is_err());
    assert_eq!(
        ClientMessage::peek_request(&payload),
        (RequestKind::Say, Some(id))
    );
    assert_eq!(
        ClientMessage::peek_request(&[200]),
        (RequestKind::Unparsed, None),
        "an unknown variant"
    );
}

#[test]
fn varint_forms_the_spec_promises() {
    // Ping (variant 10) with its u64 token in each form.
    let ping = |token: &[u8]| {
        let mut payload = vec![0x0a];
        payload.extend_from_slice(token);
        decode_payload::<ClientMessage>(&payload)
    };
    let token = |result: Result<ClientMessage, WireError>| match result {
        Ok(ClientMessage::Ping { token }) => Some(token),
        _ => None,
    };
    assert_eq!(token(ping(&[5])), Some(5));
    assert_eq!(token(ping(&[0xfb, 5, 0])), Some(5), "non-minimal accepted");
    assert_eq!(token(ping(&[0xfd, 5, 0, 0, 0, 0, 0, 0, 0])), Some(5));
    assert_eq!(
        token(ping(&[
            0xfe, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
        ])),
        None,
        "u128 marker"
    );
    assert_eq!(token(ping(&[0xff])), None, "reserved marker");
}

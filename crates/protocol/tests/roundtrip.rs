//! Every message survives the codec, however TCP splits or joins the bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers may panic.

mod strategies;

use bytes::BytesMut;
use huddle_protocol::{
    ClientCodec, ClientMessage, ServerCodec, ServerMessage, decode_payload, encode_frame,
    encode_payload,
};
use proptest::{prelude::*, strategy::ValueTree};
use strategies::{client_message, server_message};
use tokio_util::codec::{Decoder, Encoder};

/// Encodes `messages` into one byte stream with the sending codec.
fn stream_of<M: Clone, E: Encoder<M>>(messages: &[M], encoder: &mut E) -> BytesMut
where
    E::Error: std::fmt::Debug,
{
    let mut stream = BytesMut::new();
    for message in messages {
        encoder.encode(message.clone(), &mut stream).unwrap();
    }
    stream
}

/// Feeds `stream` to `decoder` in the given chunk sizes and collects messages.
fn decode_in_chunks<D: Decoder>(decoder: &mut D, stream: &[u8], chunks: &[usize]) -> Vec<D::Item>
where
    D::Error: std::fmt::Debug,
{
    let mut buffer = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let take = (*sizes.next().unwrap()).clamp(1, rest.len());
        buffer.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        while let Some(item) = decoder.decode(&mut buffer).unwrap() {
            out.push(item);
        }
    }
    assert!(buffer.is_empty(), "bytes left over");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_envelope_of_every_client_message_is_peeked_right(message in client_message()) {
        let payload = encode_payload(&message).unwrap();
        prop_assert_eq!(
            ClientMessage::peek_request(&payload),
            (message.kind(), message.client_msg_id())
        );
    }

    #[test]
    fn client_messages_round_trip(message in client_message()) {
        let payload = encode_payload(&message).unwrap();
        prop_assert_eq!(decode_payload::<ClientMessage>(&payload).unwrap(), message.clone());
        let frame = encode_frame(&message).unwrap();
        prop_assert_eq!(&frame[4..], &payload[..]);
        prop_assert_eq!(u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize, payload.len());
    }

    #[test]
    fn server_messages_round_trip(message in server_message()) {
        let payload = encode_payload(&message).unwrap();
        prop_assert_eq!(decode_payload::<ServerMessage>(&payload).unwrap(), message);
    }

    #[test]
    fn many_frames_in_one_buffer_and_split_anywhere(
        messages in proptest::collection::vec(client_message(), 1..12),
        chunks in proptest::collection::vec(1usize..64, 1..8),
    ) {
        let stream = stream_of(&messages, &mut ClientCodec::new());
        let whole = decode_in_chunks(&mut ServerCodec::new(), &stream, &[stream.len()]);
        prop_assert_eq!(&whole, &messages);
        let split = decode_in_chunks(&mut ServerCodec::new(), &stream, &chunks);
        prop_assert_eq!(&split, &messages);
    }

    #[test]
    fn server_streams_split_anywhere(
        messages in proptest::collection::vec(server_message(), 1..8),
        chunks in proptest::collection::vec(1usize..200, 1..8),
    ) {
        let stream = stream_of(&messages, &mut ServerCodec::new());
        let split = decode_in_chunks(&mut ClientCodec::new(), &stream, &chunks);
        prop_assert_eq!(&split, &messages);
    }
}

#[test]
fn every_byte_boundary_of_a_two_frame_stream() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let messages: Vec<ClientMessage> = (0..2)
        .map(|_| client_message().new_tree(&mut runner).unwrap().current())
        .collect();
    let stream = stream_of(&messages, &mut ClientCodec::new());
    for cut in 1..stream.len() {
        let got = decode_in_chunks(&mut ServerCodec::new(), &stream, &[cut, stream.len()]);
        assert_eq!(got, messages, "split at byte {cut}");
    }
    // One byte at a time.
    assert_eq!(
        decode_in_chunks(&mut ServerCodec::new(), &stream, &[1]),
        messages
    );
}

//! Codec micro-benchmarks: frames encoded and decoded per second for a small
//! chat message and for a 64 KiB payload (the size of a file chunk).
//! Run: `cargo bench -p huddle-chat-bench --bench codec`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Benchmarks may panic.

use bytes::{Bytes, BytesMut};
use divan::{Bencher, counter::ItemsCount};
use huddle_protocol::{
    ChatMessage, ChatText, ClientCodec, FileChunk, MessageId, MessageKind, Nick, RoomName,
    ServerMessage, Target, TransferId, encode_frame,
};
use tokio_util::codec::Decoder;

fn main() {
    divan::main();
}

fn chat() -> ServerMessage {
    ServerMessage::Chat(ChatMessage {
        id: MessageId::from_uuid(uuid::Uuid::now_v7()),
        target: Target::Room(RoomName::new("#general").unwrap()),
        from: Nick::new("alice").unwrap(),
        kind: MessageKind::Normal,
        text: ChatText::new("x".repeat(64)).unwrap(),
        timestamp: 1_700_000_000_000,
        client_msg_id: huddle_protocol::ClientMsgId::random(),
    })
}

const BATCH: usize = 1000;

#[divan::bench]
fn encode_small_chat(bencher: Bencher) {
    let message = chat();
    bencher.counter(ItemsCount::new(BATCH)).bench(|| {
        for _ in 0..BATCH {
            divan::black_box(encode_frame(divan::black_box(&message)).unwrap());
        }
    });
}

#[divan::bench]
fn decode_small_chat(bencher: Bencher) {
    let frame = encode_frame(&chat()).unwrap();
    let stream: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * BATCH)
        .collect();
    bencher.counter(ItemsCount::new(BATCH)).bench(|| {
        let mut buffer = BytesMut::from(&stream[..]);
        let mut codec = ClientCodec::new();
        while let Some(message) = codec.decode(&mut buffer).unwrap() {
            divan::black_box(message);
        }
    });
}

fn file_chunk() -> ServerMessage {
    ServerMessage::FileChunk(FileChunk {
        transfer: TransferId::random(),
        offset: 1 << 20,
        data: Bytes::from(vec![0xa5u8; 64 * 1024]),
    })
}

#[divan::bench]
fn encode_64k_file_chunks(bencher: Bencher) {
    let message = file_chunk();
    bencher.counter(ItemsCount::new(16usize)).bench(|| {
        for _ in 0..16 {
            divan::black_box(encode_frame(divan::black_box(&message)).unwrap());
        }
    });
}

#[divan::bench]
fn decode_64k_file_chunks(bencher: Bencher) {
    let frame = encode_frame(&file_chunk()).unwrap();
    let stream: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 16)
        .collect();
    bencher.counter(ItemsCount::new(16usize)).bench(|| {
        let mut buffer = BytesMut::from(&stream[..]);
        let mut codec = ClientCodec::new();
        while let Some(message) = codec.decode(&mut buffer).unwrap() {
            divan::black_box(message);
        }
    });
}

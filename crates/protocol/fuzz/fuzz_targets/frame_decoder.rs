//! Feeds arbitrary bytes to the frame decoder, split in two at a
//! fuzzer-chosen point: it must never panic, allocate past the frame limit,
//! or return a frame longer than announced.
#![no_main]

use bytes::BytesMut;
use huddle_protocol::FrameCodec;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(0, |b| *b as usize).min(data.len());
    let mut decoder = FrameCodec::new();
    let mut buffer = BytesMut::from(&data[..cut]);
    while let Ok(Some(_)) = decoder.decode(&mut buffer) {}
    buffer.extend_from_slice(&data[cut..]);
    while let Ok(Some(_)) = decoder.decode_eof(&mut buffer) {}
});

//! Feeds arbitrary bytes to the server's and the client's frame decoders,
//! split in two at a fuzzer-chosen point, and to the datagram decoder.
#![no_main]

use bytes::BytesMut;
use huddle_protocol::{ClientCodec, ServerCodec, discovery::decode_datagram};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fn drain<D: Decoder>(mut decoder: D, data: &[u8], cut: usize) {
    let mut buffer = BytesMut::from(&data[..cut]);
    while let Ok(Some(_)) = decoder.decode(&mut buffer) {}
    buffer.extend_from_slice(&data[cut..]);
    while let Ok(Some(_)) = decoder.decode_eof(&mut buffer) {}
}

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(0, |b| *b as usize).min(data.len());
    drain(ServerCodec::new(), data, cut);
    drain(ClientCodec::new(), data, cut);
    let _ = decode_datagram(data);
});

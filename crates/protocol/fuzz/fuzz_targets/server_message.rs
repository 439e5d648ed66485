//! Decodes arbitrary payloads as a server message (what a client reads from
//! a possibly rogue server). Whatever decodes must round-trip.
#![no_main]

use huddle_protocol::{ServerMessage, decode_payload, encode_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = decode_payload::<ServerMessage>(data) {
        let again = encode_payload(&message).expect("a decoded message encodes");
        let back: ServerMessage = decode_payload(&again).expect("and decodes again");
        assert_eq!(back, message);
    }
});

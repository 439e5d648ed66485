//! Decodes arbitrary payloads as a client message (what a server reads
//! from strangers), and peeks at their envelope as the server does when a
//! payload does not decode. Whatever decodes must encode back to the same
//! bytes (a value of a validated type is always valid).
#![no_main]

use huddle_protocol::{ClientMessage, decode_payload, encode_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ClientMessage::peek_request(data);
    if let Ok(message) = decode_payload::<ClientMessage>(data) {
        let again = encode_payload(&message).expect("a decoded message encodes");
        let back: ClientMessage = decode_payload(&again).expect("and decodes again");
        assert_eq!(back, message);
    }
});

//! Decodes arbitrary bytes as a discovery datagram (what anyone on the LAN
//! can send to a server or a browser).
#![no_main]

use huddle_protocol::discovery::decode_datagram;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = decode_datagram(data);
});

//! Decodes arbitrary bytes as a discovery datagram (what anyone on the LAN
//! can send to a server or a browser), and opens a beacon as a browser
//! does: decodes its body, parses its certificate, checks its signature.
#![no_main]

use huddle_protocol::discovery::{Datagram, decode_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A beacon's body is decoded and its signature checked, as a browser does.
    if let Ok(Datagram::Beacon(signed)) = decode_datagram(data) {
        let _ = signed.open();
    }
});

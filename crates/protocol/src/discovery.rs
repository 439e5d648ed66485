//! LAN discovery datagrams. A client broadcasts a [`Probe`]; every server
//! that hears it answers with a [`Beacon`] sent to the prober, and also
//! broadcasts beacons on its own (at start, periodically, and a goodbye).
//!
//! Layout of every datagram: the 4-byte magic `HUDL`, the protocol version as
//! a 2-byte big-endian integer, then one bincode-encoded [`Datagram`]. The
//! magic lets foreign traffic be dropped before decoding; the fixed version
//! lets a datagram from another version be reported instead of misread. No
//! datagram exceeds [`MAX_DATAGRAM_LEN`]; a beacon drops rooms to fit.

use serde::{Deserialize, Serialize};

use crate::{
    PROTOCOL_VERSION,
    error::WireError,
    ids::ServerId,
    limits::MAX_DATAGRAM_LEN,
    names::RoomName,
    text::ShortText,
    wire::{decode_payload, encode_payload},
};

/// The first four bytes of every discovery datagram.
pub const DISCOVERY_MAGIC: [u8; 4] = *b"HUDL";

const PREFIX_LEN: usize = 6;

/// "Is there a huddle server out there?"
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Random; echoed in the answering beacons so the prober can match them
    /// to this probe and measure round-trip time.
    pub nonce: u64,
}

/// One room in a beacon's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// The room.
    pub name: RoomName,
    /// Its member count.
    pub members: u32,
}

/// "Here is a huddle server."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beacon {
    /// The server instance; a client merges beacons by it.
    pub server_id: ServerId,
    /// The server's display name.
    pub server_name: ShortText,
    /// The TCP port for chat on the address the beacon came from.
    pub tcp_port: u16,
    /// Connected users.
    pub users: u32,
    /// The busiest rooms, as many as fit in the datagram.
    pub rooms: Vec<RoomSummary>,
    /// Whether rooms were left out to fit the datagram.
    pub rooms_truncated: bool,
    /// Whether any room needs a password.
    pub needs_password: bool,
    /// The probe's nonce this beacon answers, or 0 for an announcement.
    pub nonce: u64,
    /// True when the server is stopping: forget it now.
    pub goodbye: bool,
}

/// A discovery datagram's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Datagram {
    /// 0: a probe.
    Probe(Probe),
    /// 1: a beacon.
    Beacon(Beacon),
}

/// A datagram could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DatagramError {
    /// It does not start with the magic: someone else's traffic.
    #[error("not a huddle datagram")]
    Foreign,
    /// It is larger than [`MAX_DATAGRAM_LEN`].
    #[error("datagram of {0} bytes exceeds {MAX_DATAGRAM_LEN}")]
    TooLarge(usize),
    /// It comes from a peer speaking another protocol version.
    #[error("protocol version {theirs}, this program speaks {PROTOCOL_VERSION}")]
    Incompatible {
        /// The peer's version.
        theirs: u16,
    },
    /// Its body does not decode.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// Encodes a datagram. A beacon that would not fit loses rooms from the end
/// of its summary (and says so) until it does.
pub fn encode_datagram(datagram: &Datagram) -> Result<Vec<u8>, DatagramError> {
    let mut datagram = datagram.clone();
    loop {
        let payload = encode_payload(&datagram)?;
        let len = PREFIX_LEN + payload.len();
        if len <= MAX_DATAGRAM_LEN {
            let mut out = Vec::with_capacity(len);
            out.extend_from_slice(&DISCOVERY_MAGIC);
            out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
            out.extend_from_slice(&payload);
            return Ok(out);
        }
        match &mut datagram {
            Datagram::Beacon(beacon) if !beacon.rooms.is_empty() => {
                beacon.rooms.pop();
                beacon.rooms_truncated = true;
            }
            _ => return Err(DatagramError::TooLarge(len)),
        }
    }
}

/// Decodes a datagram, rejecting foreign, oversized and other-version ones
/// before decoding their body.
pub fn decode_datagram(bytes: &[u8]) -> Result<Datagram, DatagramError> {
    if bytes.len() < PREFIX_LEN || bytes[..4] != DISCOVERY_MAGIC {
        return Err(DatagramError::Foreign);
    }
    if bytes.len() > MAX_DATAGRAM_LEN {
        return Err(DatagramError::TooLarge(bytes.len()));
    }
    let theirs = u16::from_be_bytes([bytes[4], bytes[5]]);
    if theirs != PROTOCOL_VERSION {
        return Err(DatagramError::Incompatible { theirs });
    }
    Ok(decode_payload(&bytes[PREFIX_LEN..])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon_with_rooms(count: usize) -> Beacon {
        Beacon {
            server_id: ServerId::from_uuid(uuid::Uuid::from_u128(7)),
            server_name: ShortText::new("x".repeat(390)).unwrap(),
            tcp_port: 7007,
            users: 3,
            rooms: (0..count)
                .map(|i| RoomSummary {
                    name: RoomName::new(format!("#{i:0>63}")).unwrap(),
                    members: i as u32,
                })
                .collect(),
            rooms_truncated: false,
            needs_password: false,
            nonce: 0,
            goodbye: false,
        }
    }

    #[test]
    fn a_beacon_with_many_long_rooms_fits_in_1200_bytes() {
        let bytes = encode_datagram(&Datagram::Beacon(beacon_with_rooms(100))).unwrap();
        assert!(bytes.len() <= MAX_DATAGRAM_LEN, "{} bytes", bytes.len());
        let Datagram::Beacon(beacon) = decode_datagram(&bytes).unwrap() else {
            panic!("not a beacon");
        };
        assert!(beacon.rooms_truncated);
        assert!(!beacon.rooms.is_empty() && beacon.rooms.len() < 100);
    }

    #[test]
    fn a_small_beacon_round_trips_untouched() {
        let original = Datagram::Beacon(beacon_with_rooms(2));
        let bytes = encode_datagram(&original).unwrap();
        assert_eq!(decode_datagram(&bytes).unwrap(), original);
    }

    #[test]
    fn foreign_and_other_version_datagrams_are_told_apart() {
        assert!(matches!(
            decode_datagram(b"GET / HTTP/1.1"),
            Err(DatagramError::Foreign)
        ));
        assert!(matches!(
            decode_datagram(b"HUD"),
            Err(DatagramError::Foreign)
        ));
        let mut bytes = encode_datagram(&Datagram::Probe(Probe { nonce: 1 })).unwrap();
        bytes[5] = 99;
        assert!(matches!(
            decode_datagram(&bytes),
            Err(DatagramError::Incompatible { theirs: 99 })
        ));
        assert!(matches!(
            decode_datagram(&[
                b'H',
                b'U',
                b'D',
                b'L',
                0,
                PROTOCOL_VERSION as u8,
                0xff,
                0xff
            ]),
            Err(DatagramError::Wire(_))
        ));
        assert!(matches!(
            decode_datagram(&[b'H', b'U', b'D', b'L', 0, PROTOCOL_VERSION as u8, 0, 1, 0]),
            Err(DatagramError::Wire(_))
        ));
        let mut big = bytes.clone();
        big[5] = PROTOCOL_VERSION as u8;
        big.resize(MAX_DATAGRAM_LEN + 1, 0);
        assert!(matches!(
            decode_datagram(&big),
            Err(DatagramError::TooLarge(_))
        ));
    }
}

//! LAN discovery datagrams. A client broadcasts a [`Probe`]; every server
//! that hears it answers with a [`Beacon`] sent to the prober, and also
//! broadcasts beacons on its own (at start, periodically, and a goodbye).
//!
//! Layout of every datagram: the 4-byte magic `HUDL`, the protocol version as
//! a 2-byte big-endian integer, then one bincode-encoded [`Datagram`]. The
//! magic lets foreign traffic be dropped before decoding; the fixed version
//! lets a datagram from another version be reported instead of misread. No
//! datagram exceeds [`MAX_DATAGRAM_LEN`]; a beacon drops rooms to fit.
//!
//! A server answers a probe with at most [`MAX_REPLY_FACTOR`] times the
//! probe's bytes (as QUIC does for unvalidated addresses), so a forged
//! source address draws little traffic to its victim: clients pad their
//! probes ([`Probe::padded`]) to the beacon size they can accept. A probe
//! of another version is answered with the bare prefix ([`version_only`]),
//! which names the server's version.
//!
//! Beacons are signed ([`SignedBeacon`]): each carries the server's
//! certificate, whose SHA-256 is the fingerprint clients pin, and an
//! Ed25519 signature by the certificate's key over the encoded [`Beacon`].
//! The server id must be the fingerprint's first 16 bytes. A beacon that
//! fails either check is [`OpenedBeacon::authentic`] = false: listed apart
//! and flagged, never merged with the genuine server.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{
    Fingerprint, PROTOCOL_VERSION,
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

/// A server's answer to a probe is at most this many times the probe's
/// size.
pub const MAX_REPLY_FACTOR: usize = 3;

/// The size clients pad their probes to: the answer may then be a beacon
/// of the largest size, [`MAX_DATAGRAM_LEN`].
pub const PADDED_PROBE_LEN: usize = MAX_DATAGRAM_LEN / MAX_REPLY_FACTOR;

/// "Is there a huddle server out there?"
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Random; echoed in the answering beacons so the prober can match them
    /// to this probe and measure round-trip time.
    pub nonce: u64,
    /// Ignored bytes (zeros) that make the probe as large as a third of the
    /// answer it can take.
    pub padding: Vec<u8>,
}

impl Probe {
    /// A probe padded so that its datagram is [`PADDED_PROBE_LEN`] bytes.
    pub fn padded(nonce: u64) -> Self {
        let mut probe = Self {
            nonce,
            padding: Vec::new(),
        };
        // The padding's length prefix grows with it: adjust until exact.
        for _ in 0..4 {
            let len = encode_datagram(&Datagram::Probe(probe.clone())).map_or(0, |b| b.len());
            let padding = (probe.padding.len() + PADDED_PROBE_LEN).saturating_sub(len);
            if padding == probe.padding.len() {
                break;
            }
            probe.padding.resize(padding, 0);
        }
        probe
    }
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
    /// The port of the server's HTTP status page on the address this
    /// datagram came from, when it serves one there (protocol 6).
    pub status_port: Option<u16>,
    /// The chat addresses of every live node of the cluster this server is
    /// a node of, its own among them (at most [`MAX_BEACON_NODES`]); empty
    /// for a single server (protocol 9). A client lists a cluster once and
    /// may connect to any of them: they present one certificate.
    pub nodes: Vec<std::net::SocketAddr>,
}

/// A beacon lists at most this many cluster node addresses.
pub const MAX_BEACON_NODES: usize = 16;

/// What a beacon's signature covers: this context, then the body. The
/// context keeps a beacon signature from being mistaken for any other
/// signature the same key makes (TLS handshakes use their own).
pub const BEACON_SIGNATURE_CONTEXT: &[u8] = b"huddle beacon signature\0";

/// A [`Beacon`] with the proof of who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBeacon {
    /// The server's certificate (DER); its SHA-256 is the fingerprint.
    pub certificate: Bytes,
    /// The encoded [`Beacon`] (bincode, as on the wire).
    pub body: Bytes,
    /// Ed25519 over [`BEACON_SIGNATURE_CONTEXT`] followed by `body`, by the
    /// certificate's key (64 bytes).
    pub signature: Bytes,
}

/// A received beacon, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedBeacon {
    /// What it says.
    pub beacon: Beacon,
    /// The SHA-256 of the certificate it carries.
    pub fingerprint: Fingerprint,
    /// Whether the signature verifies with the certificate's key and the
    /// server id is the fingerprint's: only then is it the server it names.
    pub authentic: bool,
}

/// The server id a fingerprint stands for: its first 16 bytes.
pub fn server_id_of(fingerprint: &Fingerprint) -> ServerId {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&fingerprint.0[..16]);
    ServerId::from_uuid(uuid::Uuid::from_bytes(bytes))
}

impl SignedBeacon {
    /// Signs `beacon` with `sign` (Ed25519 by the key of `certificate`).
    pub fn seal(
        beacon: &Beacon,
        certificate: &Bytes,
        sign: impl Fn(&[u8]) -> [u8; 64],
    ) -> Result<Self, WireError> {
        let body = Bytes::from(encode_payload(beacon)?.to_vec());
        let mut message = BEACON_SIGNATURE_CONTEXT.to_vec();
        message.extend_from_slice(&body);
        Ok(Self {
            certificate: certificate.clone(),
            signature: Bytes::copy_from_slice(&sign(&message)),
            body,
        })
    }

    /// Decodes the body and checks the signature and the id.
    pub fn open(&self) -> Result<OpenedBeacon, WireError> {
        let beacon: Beacon = decode_payload(&self.body)?;
        let fingerprint = Fingerprint::of_certificate(&self.certificate);
        let mut message = BEACON_SIGNATURE_CONTEXT.to_vec();
        message.extend_from_slice(&self.body);
        let certificate = rustls::pki_types::CertificateDer::from(&self.certificate[..]);
        let signed = webpki::EndEntityCert::try_from(&certificate).is_ok_and(|cert| {
            cert.verify_signature(webpki::ring::ED25519, &message, &self.signature)
                .is_ok()
        });
        Ok(OpenedBeacon {
            authentic: signed && beacon.server_id == server_id_of(&fingerprint),
            beacon,
            fingerprint,
        })
    }
}

/// Signs and encodes `beacon` in at most `max_len` bytes, dropping rooms
/// from the end of its summary (and saying so) until it fits, then cluster
/// nodes from the end of their list (a client still reaches the others
/// from their own beacons).
pub fn encode_beacon_within(
    beacon: &Beacon,
    certificate: &Bytes,
    sign: impl Fn(&[u8]) -> [u8; 64],
    max_len: usize,
) -> Result<Vec<u8>, DatagramError> {
    let mut beacon = beacon.clone();
    loop {
        let signed = SignedBeacon::seal(&beacon, certificate, &sign)?;
        match encode_datagram_within(&Datagram::Beacon(signed), max_len) {
            Err(DatagramError::TooLarge(_)) if !beacon.rooms.is_empty() => {
                beacon.rooms.pop();
                beacon.rooms_truncated = true;
            }
            Err(DatagramError::TooLarge(_)) if !beacon.nodes.is_empty() => {
                beacon.nodes.pop();
            }
            other => return other,
        }
    }
}

/// A discovery datagram's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Datagram {
    /// 0: a probe.
    Probe(Probe),
    /// 1: a signed beacon.
    Beacon(SignedBeacon),
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

/// Encodes a datagram (a beacon is made to fit by [`encode_beacon_within`]).
pub fn encode_datagram(datagram: &Datagram) -> Result<Vec<u8>, DatagramError> {
    encode_datagram_within(datagram, MAX_DATAGRAM_LEN)
}

/// Encodes a datagram in at most `max_len` bytes (and at most
/// [`MAX_DATAGRAM_LEN`]); fails with `TooLarge` if it does not fit.
pub fn encode_datagram_within(
    datagram: &Datagram,
    max_len: usize,
) -> Result<Vec<u8>, DatagramError> {
    let max_len = max_len.min(MAX_DATAGRAM_LEN);
    let payload = encode_payload(datagram)?;
    let len = PREFIX_LEN + payload.len();
    if len > max_len {
        return Err(DatagramError::TooLarge(len));
    }
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&DISCOVERY_MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The bare prefix (magic and this version) that answers a datagram of
/// another version: the prober learns which version this server speaks.
pub fn version_only() -> [u8; PREFIX_LEN] {
    let [high, low] = PROTOCOL_VERSION.to_be_bytes();
    let [a, b, c, d] = DISCOVERY_MAGIC;
    [a, b, c, d, high, low]
}

/// Whether `bytes` is a bare prefix: an answer, never to be answered.
pub fn is_version_only(bytes: &[u8]) -> bool {
    bytes.len() == PREFIX_LEN && bytes[..4] == DISCOVERY_MAGIC
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
mod tests;

//! The huddle wire protocol, sans-IO.
//!
//! Everything that crosses the network is defined here and nowhere else: the
//! length-prefixed frame codec ([`codec`]), the handshake and every message
//! ([`message`]), the validated field types ([`names`], [`text`], [`ids`]),
//! the limits ([`limits`]), the error codes ([`error`]) and the LAN discovery
//! datagrams ([`discovery`]). There are no sockets, no tasks and no clock
//! reads in this crate, so it can be tested exhaustively and fuzzed.
//!
//! The byte-level format is specified in `docs/PROTOCOL.md`; golden vectors in
//! the tests pin the exact bytes of several messages so the two cannot drift.

pub mod codec;
pub mod direct;
pub mod discovery;
pub mod error;
pub mod ids;
pub mod limits;
pub mod message;
pub mod names;
pub mod proof;
pub mod text;
pub mod tls;
pub mod transfer;
mod wire;

pub use codec::{ClientCodec, FrameCodec, MessageCodec, ServerCodec};
pub use error::{CodecError, ErrorCode, FieldKind, ValidationError, WireError};
pub use ids::{ClientId, ClientMsgId, ConnectionId, MessageId, ServerId, TransferId};
pub use limits::Limits;
pub use message::*;
pub use names::{Nick, RoomName};
pub use proof::{IdentityKey, PublicKey};
pub use text::{ChatText, ShortText};
pub use tls::Fingerprint;
pub use wire::{decode_payload, encode_frame, encode_payload, peek_hello_version};

/// The protocol version this crate speaks. A change to the wire is a change to
/// this number and to `docs/PROTOCOL.md`.
pub const PROTOCOL_VERSION: u16 = 9;

/// Default TCP port for chat connections.
pub const DEFAULT_TCP_PORT: u16 = 7007;

/// Default UDP port for LAN discovery (probes and beacons).
pub const DEFAULT_DISCOVERY_PORT: u16 = 7007;

//! Error types: the stable error codes that travel on the wire, and the typed
//! errors this crate's constructors and codecs return.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares [`ErrorCode`] and both directions of its number mapping from one
/// table, so a code's number is written exactly once.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $number:literal => $name:ident,)*) => {
        /// Stable error codes carried by `Reject` and `Error` frames. The
        /// numeric values never change meaning; new codes are only ever
        /// appended. On the wire a code is its `u16` value (a bincode
        /// varint), so a client can show a code it does not know as a number.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "u16", into = "u16")]
        pub enum ErrorCode {
            /// A code this version does not know (the number is kept).
            Unknown(u16),
            $($(#[doc = $doc])* $name,)*
        }

        impl From<u16> for ErrorCode {
            fn from(value: u16) -> Self {
                match value {
                    $($number => ErrorCode::$name,)*
                    other => ErrorCode::Unknown(other),
                }
            }
        }

        impl From<ErrorCode> for u16 {
            fn from(code: ErrorCode) -> Self {
                match code {
                    ErrorCode::Unknown(other) => other,
                    $(ErrorCode::$name => $number,)*
                }
            }
        }
    };
}

error_codes! {
    /// 0: no error; a normal close (the answer to `Quit`).
    0 => Normal,
    /// 1: the client speaks another protocol version.
    1 => VersionMismatch,
    /// 2: the first frame was not a `Hello`, or `Hello` came twice.
    2 => HandshakeRequired,
    /// 3: the nick is already in use (compared case-insensitively).
    3 => NickInUse,
    /// 4: a nick failed validation.
    4 => InvalidNick,
    /// 5: a room name failed validation.
    5 => InvalidRoom,
    /// 6: a text failed validation (length, control characters).
    6 => InvalidText,
    /// 7: the frame could not be decoded as a message.
    7 => MalformedMessage,
    /// 8: the frame's length prefix exceeds the frame limit.
    8 => FrameTooLarge,
    /// 9: the client sends faster than the rate limit; slow down.
    9 => RateLimited,
    /// 10: the client kept flooding and is disconnected.
    10 => Flooding,
    /// 11: the client does not read fast enough and is disconnected.
    11 => SlowConsumer,
    /// 12: the server has no room for more connections.
    12 => ServerFull,
    /// 13: the client's address has too many connections.
    13 => TooManyConnectionsFromAddress,
    /// 14: the client is in as many rooms as allowed.
    14 => TooManyRooms,
    /// 15: no user with that nick is connected.
    15 => NoSuchNick,
    /// 16: no room with that name exists.
    16 => NoSuchRoom,
    /// 17: the request needs membership of the room.
    17 => NotInRoom,
    /// 18: the room's password did not match.
    18 => BadPassword,
    /// 19: the connection was silent past the keepalive timeout.
    19 => PingTimeout,
    /// 20: no `Hello` arrived in time.
    20 => HandshakeTimeout,
    /// 21: the server is shutting down.
    21 => ShuttingDown,
    /// 22: an internal server error; the request may be retried.
    22 => Internal,
    /// 23: the file is larger than the server relays.
    23 => FileTooLarge,
    /// 24: the client has as many transfers under way as allowed.
    24 => TooManyTransfers,
    /// 25: no such transfer (over, never offered, or not offered to you).
    25 => NoSuchTransfer,
    /// 26: the sender broke the transfer's rules (order, size, credit).
    26 => TransferBroken,
    /// 27: the server accepts only TLS, and the client spoke in the clear
    /// (sent in the clear, as a plain `Reject` frame, so the client can
    /// read it).
    27 => TlsRequired,
    /// 28: `Hello`'s proof is not the key's signature of this connection's
    /// channel binding (a replayed or forged `Hello`).
    28 => BadIdentityProof,
    /// 29: the nick belongs to another key (bound to whoever last held it,
    /// for a while after they leave).
    29 => NickBound,
}

impl ErrorCode {
    /// The stable numeric value of this code.
    pub fn as_u16(self) -> u16 {
        u16::from(self)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self, self.as_u16())
    }
}

/// Which validated field a [`ValidationError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A [`crate::Nick`].
    Nick,
    /// A [`crate::RoomName`].
    Room,
    /// A [`crate::ChatText`].
    Text,
    /// A [`crate::ShortText`].
    ShortText,
}

impl FieldKind {
    /// The wire error code for a value of this kind that failed validation.
    pub fn error_code(self) -> ErrorCode {
        match self {
            FieldKind::Nick => ErrorCode::InvalidNick,
            FieldKind::Room => ErrorCode::InvalidRoom,
            FieldKind::Text | FieldKind::ShortText => ErrorCode::InvalidText,
        }
    }

    fn label(self) -> &'static str {
        match self {
            FieldKind::Nick => "nick",
            FieldKind::Room => "room name",
            FieldKind::Text => "text",
            FieldKind::ShortText => "short text",
        }
    }

    fn from_label(label: &str) -> Option<Self> {
        [Self::Nick, Self::Room, Self::Text, Self::ShortText]
            .into_iter()
            .find(|kind| kind.label() == label)
    }
}

/// A value was rejected by a validated type's constructor (or by
/// deserialization, which goes through the same constructor).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {}: {reason}", kind.label())]
pub struct ValidationError {
    /// The kind of field.
    pub kind: FieldKind,
    /// What is wrong with it, for humans.
    pub reason: String,
}

impl ValidationError {
    pub(crate) fn new(kind: FieldKind, reason: impl Into<String>) -> Self {
        Self {
            kind,
            reason: reason.into(),
        }
    }

    /// Recovers a validation error from its `Display` form, which is all that
    /// survives a trip through serde's custom error.
    pub(crate) fn parse(message: &str) -> Option<Self> {
        let rest = message.strip_prefix("invalid ")?;
        let (label, reason) = rest.split_once(": ")?;
        Some(Self::new(FieldKind::from_label(label)?, reason))
    }
}

/// A payload could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The payload decoded, but a field in it failed validation.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The payload is not a valid encoding of the expected message.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// The payload decoded but bytes were left over after it.
    #[error("{0} trailing bytes after the payload")]
    TrailingBytes(usize),
    /// The value could not be encoded (never happens for this crate's types).
    #[error("cannot encode: {0}")]
    Encode(String),
    /// The encoded payload exceeds the frame limit.
    #[error("payload of {len} bytes exceeds the frame limit of {max}")]
    TooLarge {
        /// The payload's length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl WireError {
    /// The error code a server reports for this decoding failure.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            WireError::Invalid(invalid) => invalid.kind.error_code(),
            WireError::TooLarge { .. } => ErrorCode::FrameTooLarge,
            _ => ErrorCode::MalformedMessage,
        }
    }
}

/// An error from the frame codec.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A length prefix announced a frame above the limit; nothing was read or
    /// allocated for it and the stream cannot be resynchronised.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A frame arrived intact but its payload did not decode.
    #[error(transparent)]
    Wire(#[from] WireError),
}

impl CodecError {
    /// The error code a server reports for this failure.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CodecError::Io(_) => ErrorCode::MalformedMessage,
            CodecError::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
            CodecError::Wire(wire) => wire.error_code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_code_number_round_trips_and_unknown_numbers_are_kept() {
        for number in 0..=29u16 {
            let code = ErrorCode::from(number);
            assert!(!matches!(code, ErrorCode::Unknown(_)), "{number} is known");
            assert_eq!(code.as_u16(), number);
        }
        assert_eq!(ErrorCode::from(30), ErrorCode::Unknown(30));
        assert_eq!(ErrorCode::Unknown(27).as_u16(), 27);
        assert_eq!(ErrorCode::TransferBroken.as_u16(), 26);
    }
}

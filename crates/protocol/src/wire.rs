//! The only file that calls bincode. Moving the wire format to another
//! bincode-compatible crate touches this file alone; the golden vectors in
//! the tests then prove whether the bytes changed.
//!
//! Configuration: `bincode::config::standard()` (little-endian, variable-length
//! integers) with a decode limit of [`MAX_FRAME_LEN`], so no length field
//! inside a payload can make the decoder allocate past the frame.

use bincode::{
    config::{Configuration, Limit, LittleEndian, Varint},
    error::{DecodeError, EncodeError},
};
use bytes::{BufMut, Bytes, BytesMut};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    error::{ValidationError, WireError},
    limits::MAX_FRAME_LEN,
};

type WireConfig = Configuration<LittleEndian, Varint, Limit<MAX_FRAME_LEN>>;

const fn config() -> WireConfig {
    bincode::config::standard().with_limit::<MAX_FRAME_LEN>()
}

/// Encodes `message` as a bare payload (no length prefix).
pub fn encode_payload<T: Serialize>(message: &T) -> Result<Vec<u8>, WireError> {
    let payload = bincode::serde::encode_to_vec(message, config()).map_err(encode_error)?;
    check_len(payload.len())?;
    Ok(payload)
}

/// Encodes `message` as one complete frame (4-byte big-endian length, then
/// the payload) into a shared buffer, so a relay can encode once and send the
/// same bytes to every recipient.
pub fn encode_frame<T: Serialize>(message: &T) -> Result<Bytes, WireError> {
    let mut frame = BytesMut::with_capacity(64);
    encode_frame_into(message, &mut frame)?;
    Ok(frame.freeze())
}

/// Appends one complete frame for `message` to `dst`.
pub(crate) fn encode_frame_into<T: Serialize>(
    message: &T,
    dst: &mut BytesMut,
) -> Result<(), WireError> {
    let start = dst.len();
    dst.put_u32(0);
    let mut writer = dst.writer();
    let written =
        bincode::serde::encode_into_std_write(message, &mut writer, config()).map_err(encode_error);
    let dst = writer.into_inner();
    let len = match written.and_then(|len| check_len(len).map(|()| len)) {
        Ok(len) => len,
        Err(err) => {
            dst.truncate(start);
            return Err(err);
        }
    };
    // The length fits in u32 because check_len capped it at MAX_FRAME_LEN.
    dst[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(())
}

/// Decodes one payload as a `T`. Trailing bytes after the value are an error.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, WireError> {
    check_len(payload.len())?;
    let (value, used) =
        bincode::serde::decode_from_slice::<T, _>(payload, config()).map_err(decode_error)?;
    if used != payload.len() {
        return Err(WireError::TrailingBytes(payload.len() - used));
    }
    Ok(value)
}

/// Reads the protocol version from a client's first payload without decoding
/// the rest, so a server can reject a `Hello` from any version with a
/// `Reject` the client can read. Fails if the payload is not a `Hello`.
pub fn peek_hello_version(payload: &[u8]) -> Result<u16, WireError> {
    let ((variant, version), _) =
        bincode::serde::decode_from_slice::<(u32, u16), _>(payload, config())
            .map_err(decode_error)?;
    if variant != 0 {
        return Err(WireError::Malformed(format!(
            "the first frame must be Hello (variant 0), got variant {variant}"
        )));
    }
    Ok(version)
}

/// Decodes a `T` from the start of `payload`, ignoring whatever follows;
/// `None` if even that fails. For peeking at the envelope of a payload that
/// did not decode whole.
pub(crate) fn decode_prefix<T: DeserializeOwned>(payload: &[u8]) -> Option<T> {
    bincode::serde::decode_from_slice::<T, _>(payload, config())
        .ok()
        .map(|(value, _)| value)
}

fn check_len(len: usize) -> Result<(), WireError> {
    if len > MAX_FRAME_LEN {
        return Err(WireError::TooLarge {
            len,
            max: MAX_FRAME_LEN,
        });
    }
    Ok(())
}

fn encode_error(err: EncodeError) -> WireError {
    WireError::Encode(err.to_string())
}

fn decode_error(err: DecodeError) -> WireError {
    // Validated types report through serde's custom error, which bincode
    // keeps only as a string: recover the typed error from it.
    if let DecodeError::OtherString(message) = &err
        && let Some(invalid) = ValidationError::parse(message)
    {
        return WireError::Invalid(invalid);
    }
    WireError::Malformed(err.to_string())
}

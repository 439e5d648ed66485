//! Frame codecs on `tokio-util`'s codec traits, usable with `Framed` on both
//! ends. A frame is a 4-byte big-endian payload length, then the payload.
//!
//! [`FrameCodec`] splits a byte stream into payloads and nothing more: the
//! server uses it so a payload that fails to decode is answered with an
//! error instead of ending the stream. [`MessageCodec`] adds the bincode
//! payload on top, generic over the message types of each direction.

use std::marker::PhantomData;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    error::CodecError,
    limits::MAX_FRAME_LEN,
    message::{ClientMessage, ServerMessage},
    wire::{decode_payload, encode_frame_into},
};

/// Length of the frame header.
pub const HEADER_LEN: usize = 4;

/// The whole length (header included) of the frame that `bytes` starts
/// with, once its header is there: where the next frame begins.
pub fn frame_end(bytes: &[u8]) -> Option<usize> {
    let header: [u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
    Some(HEADER_LEN.saturating_add(u32::from_be_bytes(header) as usize))
}

/// Splits a byte stream into frame payloads; encodes payloads into frames.
///
/// Stateless between calls: the header stays in the buffer until the whole
/// frame has arrived, so a partial frame costs only the bytes received.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    max_frame_len: usize,
}

impl FrameCodec {
    /// A codec enforcing [`MAX_FRAME_LEN`].
    pub fn new() -> Self {
        Self::with_max_frame_len(MAX_FRAME_LEN)
    }

    /// A codec enforcing a smaller frame limit.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        Self {
            max_frame_len: max_frame_len.min(MAX_FRAME_LEN),
        }
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, CodecError> {
        if src.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        // Checked before a single byte of the frame is buffered.
        if len > self.max_frame_len {
            return Err(CodecError::FrameTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        if src.len() < HEADER_LEN + len {
            return Ok(None);
        }
        src.advance(HEADER_LEN);
        Ok(Some(src.split_to(len)))
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, payload: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        if payload.len() > self.max_frame_len {
            return Err(CodecError::FrameTooLarge {
                len: payload.len(),
                max: self.max_frame_len,
            });
        }
        dst.reserve(HEADER_LEN + payload.len());
        // The length fits in u32: it is at most MAX_FRAME_LEN.
        dst.put_u32(payload.len() as u32);
        dst.extend_from_slice(&payload);
        Ok(())
    }
}

/// Decodes frames into `In` messages and encodes `Out` messages into frames.
#[derive(Debug)]
pub struct MessageCodec<In, Out> {
    frames: FrameCodec,
    _types: PhantomData<fn(Out) -> In>,
}

/// The client's end: reads [`ServerMessage`]s, writes [`ClientMessage`]s.
pub type ClientCodec = MessageCodec<ServerMessage, ClientMessage>;

/// The server's end: reads [`ClientMessage`]s, writes [`ServerMessage`]s.
pub type ServerCodec = MessageCodec<ClientMessage, ServerMessage>;

impl<In, Out> MessageCodec<In, Out> {
    /// A codec enforcing [`MAX_FRAME_LEN`].
    pub fn new() -> Self {
        Self {
            frames: FrameCodec::new(),
            _types: PhantomData,
        }
    }
}

impl<In, Out> Default for MessageCodec<In, Out> {
    fn default() -> Self {
        Self::new()
    }
}

impl<In: DeserializeOwned, Out> Decoder for MessageCodec<In, Out> {
    type Item = In;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<In>, CodecError> {
        match self.frames.decode(src)? {
            Some(payload) => Ok(Some(decode_payload(&payload)?)),
            None => Ok(None),
        }
    }
}

impl<In, Out: Serialize> Encoder<Out> for MessageCodec<In, Out> {
    type Error = CodecError;

    fn encode(&mut self, message: Out, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(encode_frame_into(&message, dst)?)
    }
}

impl<In, Out: Serialize> Encoder<&Out> for MessageCodec<In, Out> {
    type Error = CodecError;

    fn encode(&mut self, message: &Out, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(encode_frame_into(message, dst)?)
    }
}

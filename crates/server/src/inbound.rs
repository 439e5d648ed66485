//! A connection's inbound side: frames read from the socket with no buffer
//! held while the connection is idle.
//!
//! `FramedRead` keeps an 8 KiB buffer per connection for its whole life; with
//! thousands of idle chat clients that is most of the server's memory. This
//! reader waits for readability first and only then reserves room to read
//! into, and drops its buffer whenever it has been fully consumed.

use bytes::BytesMut;
use huddle_protocol::{CodecError, FrameCodec};
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::codec::Decoder;

/// Room reserved for each read while data is flowing.
const READ_CHUNK: usize = 16 * 1024;

#[derive(Debug)]
pub(crate) struct FrameReader {
    socket: OwnedReadHalf,
    buffer: BytesMut,
    codec: FrameCodec,
    closed: bool,
}

impl FrameReader {
    pub(crate) fn new(socket: OwnedReadHalf) -> Self {
        Self {
            socket,
            buffer: BytesMut::new(),
            codec: FrameCodec::new(),
            closed: false,
        }
    }

    /// The next frame's payload; `None` at a clean end of stream. Cancel
    /// safe: dropping the future loses no bytes.
    pub(crate) async fn next(&mut self) -> Option<Result<BytesMut, CodecError>> {
        loop {
            match self.codec.decode(&mut self.buffer) {
                Ok(Some(frame)) => {
                    if self.buffer.is_empty() {
                        // Release the allocation once the frame is dropped.
                        self.buffer = BytesMut::new();
                    }
                    return Some(Ok(frame));
                }
                Ok(None) => {}
                Err(err) => return Some(Err(err)),
            }
            if self.closed {
                return if self.buffer.is_empty() {
                    None
                } else {
                    Some(Err(CodecError::Io(
                        std::io::ErrorKind::UnexpectedEof.into(),
                    )))
                };
            }
            if let Err(err) = self.socket.readable().await {
                return Some(Err(err.into()));
            }
            self.buffer.reserve(READ_CHUNK);
            match self.socket.try_read_buf(&mut self.buffer) {
                Ok(0) => self.closed = true,
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(err) => return Some(Err(err.into())),
            }
            if self.buffer.is_empty() {
                self.buffer = BytesMut::new();
            }
        }
    }
}

//! A connection's inbound side: frames read from the socket with no buffer
//! held while the connection is idle, and no partial frame held for long.
//!
//! `FramedRead` keeps an 8 KiB buffer per connection for its whole life; with
//! thousands of idle chat clients that is most of the server's memory. This
//! reader waits for readability first and only then reserves room to read
//! into, and drops its buffer whenever it has been fully consumed.
//!
//! A stranger could otherwise pin memory by starting a large frame and
//! never finishing it: a frame must be complete within `frame_deadline` of
//! its first byte, and the bytes held by unfinished frames across all
//! connections share one budget ([`PartialFrames`]); a connection whose read
//! would take the total past it is refused.

use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::BytesMut;
use huddle_protocol::{CodecError, FrameCodec};
use tokio::time::Instant;
use tokio_util::codec::Decoder;

use crate::link::ReadLink;

/// Room reserved for each read while data is flowing.
const READ_CHUNK: usize = 16 * 1024;

/// What every connection's unfinished frames hold, in bytes, against one
/// budget.
#[derive(Debug)]
pub(crate) struct PartialFrames {
    held: AtomicUsize,
    budget: usize,
}

impl PartialFrames {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            budget,
        }
    }

    /// Bytes held now, beyond one read per connection.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// The inbound limits every connection's reader enforces (shared: a
/// reader holds one pointer to them).
#[derive(Debug)]
pub(crate) struct InboundLimits {
    /// A frame must be complete this long after its first byte.
    pub(crate) frame_deadline: Duration,
    pub(crate) partial: PartialFrames,
    /// Where the bytes read are counted.
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

/// Why a read failed in a way the peer caused, as an I/O error of kind
/// `TimedOut` (too slow a frame) or `OutOfMemory` (over the budget), so the
/// caller can tell the peer.
fn refused(kind: io::ErrorKind, text: String) -> CodecError {
    CodecError::Io(io::Error::new(kind, text))
}

/// If `err` is a refusal by this reader (see [`FrameReader::next`]), what
/// to tell the peer.
pub(crate) fn refusal(err: &CodecError) -> Option<String> {
    match err {
        CodecError::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::OutOfMemory
            ) =>
        {
            Some(io.to_string())
        }
        _ => None,
    }
}

#[derive(Debug)]
pub(crate) struct FrameReader {
    socket: ReadLink,
    buffer: BytesMut,
    codec: FrameCodec,
    closed: bool,
    limits: Arc<InboundLimits>,
    /// When the first byte of the frame being read arrived.
    partial_since: Option<Instant>,
    /// What this reader counts in `limits.partial`.
    held: usize,
}

impl FrameReader {
    pub(crate) fn new(socket: ReadLink, limits: Arc<InboundLimits>) -> Self {
        Self {
            socket,
            buffer: BytesMut::new(),
            codec: FrameCodec::new(),
            closed: false,
            limits,
            partial_since: None,
            held: 0,
        }
    }

    /// The channel binding of the connection it reads.
    pub(crate) fn channel_binding(&self) -> [u8; 32] {
        self.socket.channel_binding()
    }

    /// Counts `bytes` as held by this reader's unfinished frame; false if
    /// that takes the total past the budget (nothing is counted then).
    fn hold(&mut self, bytes: usize) -> bool {
        let partial = &self.limits.partial;
        if bytes > self.held {
            let more = bytes - self.held;
            let before = partial.held.fetch_add(more, Ordering::AcqRel);
            if before + more > partial.budget {
                partial.held.fetch_sub(more, Ordering::AcqRel);
                return false;
            }
        } else {
            partial.held.fetch_sub(self.held - bytes, Ordering::AcqRel);
        }
        self.held = bytes;
        true
    }

    /// Whether a whole frame is already buffered (so [`FrameReader::next`]
    /// returns at once).
    pub(crate) fn has_buffered_frame(&self) -> bool {
        huddle_protocol::codec::frame_end(&self.buffer).is_some_and(|end| self.buffer.len() >= end)
    }

    /// The next frame's payload; `None` at a clean end of stream. Cancel
    /// safe: dropping the future loses no bytes. A frame not complete within
    /// the deadline, or one the budget cannot hold, is an error for which
    /// [`refusal`] says what to tell the peer.
    pub(crate) async fn next(&mut self) -> Option<Result<BytesMut, CodecError>> {
        loop {
            match self.codec.decode(&mut self.buffer) {
                Ok(Some(frame)) => {
                    // What follows the frame (if anything) starts the next.
                    self.partial_since = (!self.buffer.is_empty()).then(Instant::now);
                    if self.buffer.is_empty() {
                        // Release the allocation once the frame is dropped.
                        self.buffer = BytesMut::new();
                        self.hold(0);
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
                    Some(Err(CodecError::Io(io::ErrorKind::UnexpectedEof.into())))
                };
            }
            if let Err(err) = self.readable().await {
                return Some(Err(err));
            }
            self.buffer.reserve(READ_CHUNK);
            // Every connection may hold one read's worth (bounded by the
            // connection limits); only what a frame holds beyond that
            // counts against the shared budget, so ordinary chat never
            // meets it.
            if !self.hold(self.buffer.capacity().saturating_sub(READ_CHUNK)) {
                return Some(Err(refused(
                    io::ErrorKind::OutOfMemory,
                    "the server holds too many unfinished frames; try again later".into(),
                )));
            }
            match self.socket.try_read_buf(&mut self.buffer) {
                Ok(0) => self.closed = true,
                Ok(read) => self.limits.metrics.bytes_in.add(read as u64),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Some(Err(err.into())),
            }
            if self.buffer.is_empty() {
                self.buffer = BytesMut::new();
                self.hold(0);
            } else if self.partial_since.is_none() {
                self.partial_since = Some(Instant::now());
            }
        }
    }

    /// Waits until the socket is readable, but no longer than the deadline
    /// of a frame already begun.
    async fn readable(&mut self) -> Result<(), CodecError> {
        let Some(since) = self.partial_since.filter(|_| !self.buffer.is_empty()) else {
            return self.socket.readable().await.map_err(CodecError::from);
        };
        let deadline = self.limits.frame_deadline;
        // Boxed: a timer is large, and this future is part of every
        // connection's task, idle or not; only a frame under way pays.
        match Box::pin(tokio::time::timeout_at(
            since + deadline,
            self.socket.readable(),
        ))
        .await
        {
            Ok(ready) => ready.map_err(CodecError::from),
            Err(_) => Err(refused(
                io::ErrorKind::TimedOut,
                format!("a frame must arrive whole within {deadline:?} of its first byte"),
            )),
        }
    }
}

impl Drop for FrameReader {
    fn drop(&mut self) {
        self.hold(0);
    }
}

//! A connection's outbound side: a bounded queue of encoded frames and the
//! writer task that drains it.
//!
//! Frames arrive already encoded as shared [`Bytes`] (one encoding, many
//! recipients). The writer coalesces everything queued into one buffer and
//! writes it with one syscall, which is what makes fan-out fast. Pushing never
//! waits: a client whose queue passes its bound (frames or bytes) is marked
//! slow and disconnected, so nobody else ever waits for it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use huddle_protocol::{
    ErrorCode, ErrorReport, RequestKind, ServerMessage, ShortText, encode_frame,
};
use tokio::{
    io::{AsyncWrite, AsyncWriteExt},
    sync::mpsc,
};
use tokio_util::sync::CancellationToken;

/// Stop coalescing once a write buffer holds this much.
const WRITE_BATCH_BYTES: usize = 256 * 1024;

/// A buffer grown past this is released after the write, so an idle
/// connection holds no large buffer.
const KEEP_BUFFER_BYTES: usize = 64 * 1024;

/// The handle other tasks use to queue frames for one client. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    tx: mpsc::Sender<Bytes>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queued_bytes: AtomicUsize,
    max_bytes: usize,
    slow: AtomicBool,
    /// Cancelled when the connection must die now (slow consumer).
    kill: CancellationToken,
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The client is (now) a slow consumer and is being disconnected.
    Slow,
    /// The connection is gone.
    Closed,
}

impl Outbound {
    /// Queues one encoded frame, never waiting.
    pub(crate) fn push(&self, frame: Bytes) -> Result<(), PushError> {
        if self.shared.slow.load(Ordering::Relaxed) {
            return Err(PushError::Slow);
        }
        let len = frame.len();
        let queued = self.shared.queued_bytes.fetch_add(len, Ordering::Relaxed) + len;
        if queued > self.shared.max_bytes {
            self.shared.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.mark_slow();
            return Err(PushError::Slow);
        }
        match self.tx.try_send(frame) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.shared.queued_bytes.fetch_sub(len, Ordering::Relaxed);
                self.mark_slow();
                Err(PushError::Slow)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.shared.queued_bytes.fetch_sub(len, Ordering::Relaxed);
                Err(PushError::Closed)
            }
        }
    }

    /// Encodes and queues one message for this client alone.
    pub(crate) fn send(&self, message: &ServerMessage) -> Result<(), PushError> {
        match encode_frame(message) {
            Ok(frame) => self.push(frame),
            Err(err) => {
                tracing::error!(%err, "cannot encode a server message");
                Err(PushError::Closed)
            }
        }
    }

    /// Resolves when the connection must die at once.
    pub(crate) fn killed(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.shared.kill.cancelled()
    }

    fn mark_slow(&self) {
        if !self.shared.slow.swap(true, Ordering::Relaxed) {
            self.shared.kill.cancel();
        }
    }
}

/// The receiving end, owned by the writer task.
#[derive(Debug)]
pub(crate) struct OutboundQueue {
    rx: mpsc::Receiver<Bytes>,
    shared: Arc<Shared>,
}

/// A new queue bounded by `max_frames` frames and `max_bytes` bytes.
pub(crate) fn outbound(max_frames: usize, max_bytes: usize) -> (Outbound, OutboundQueue) {
    let (tx, rx) = mpsc::channel(max_frames.max(1));
    let shared = Arc::new(Shared {
        queued_bytes: AtomicUsize::new(0),
        max_bytes,
        slow: AtomicBool::new(false),
        kill: CancellationToken::new(),
    });
    (
        Outbound {
            tx,
            shared: shared.clone(),
        },
        OutboundQueue { rx, shared },
    )
}

/// How the writer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriterEnd {
    /// Every handle was dropped and everything queued was written.
    Drained,
    /// The client was too slow; the queue was discarded.
    Slow,
    /// The socket failed.
    Failed,
}

/// Drains `queue` into `socket` until every [`Outbound`] handle is dropped
/// (then everything queued has been written) or the connection is killed.
/// The caller bounds the final flush by aborting the task after a timeout.
pub(crate) async fn run_writer<W: AsyncWrite + Unpin>(
    mut socket: W,
    mut queue: OutboundQueue,
) -> WriterEnd {
    let mut buffer = BytesMut::new();
    let kill = queue.shared.kill.clone();
    let end = loop {
        let first = tokio::select! {
            biased;
            () = kill.cancelled() => break WriterEnd::Slow,
            first = queue.rx.recv() => first,
        };
        let Some(first) = first else {
            break WriterEnd::Drained;
        };
        take(&queue, &mut buffer, &first);
        while buffer.len() < WRITE_BATCH_BYTES {
            match queue.rx.try_recv() {
                Ok(frame) => take(&queue, &mut buffer, &frame),
                Err(_) => break,
            }
        }
        let written = tokio::select! {
            biased;
            () = kill.cancelled() => break WriterEnd::Slow,
            written = socket.write_all(&buffer) => written,
        };
        if written.is_err() {
            break WriterEnd::Failed;
        }
        buffer.clear();
        if buffer.capacity() > KEEP_BUFFER_BYTES {
            buffer = BytesMut::new();
        }
    };
    if end == WriterEnd::Slow {
        // Best effort: tell the client why, if its socket still takes bytes.
        let report = ServerMessage::Error(ErrorReport {
            code: ErrorCode::SlowConsumer,
            text: ShortText::lossy("you are not reading fast enough; disconnecting"),
            request: RequestKind::Unparsed,
            id: None,
        });
        if let Ok(frame) = encode_frame(&report) {
            let _ =
                tokio::time::timeout(Duration::from_millis(100), socket.write_all(&frame)).await;
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(100), socket.shutdown()).await;
    end
}

fn take(queue: &OutboundQueue, buffer: &mut BytesMut, frame: &Bytes) {
    queue
        .shared
        .queued_bytes
        .fetch_sub(frame.len(), Ordering::Relaxed);
    buffer.extend_from_slice(frame);
}

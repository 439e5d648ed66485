//! The writer task of one connection: it gives the socket to the flusher,
//! takes it back while the socket is full (waiting for it without holding
//! anyone up), and at the end drains the queue or, for a slow client, says
//! why it is being dropped.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use bytes::BytesMut;
use huddle_protocol::{
    ErrorCode, ErrorReport, RequestKind, ServerMessage, ShortText, encode_frame,
};

use super::{OutboundQueue, Shared, Slot, lock};
use crate::link::WriteLink;

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

/// Takes the socket from wherever it is, with the bytes the flusher could
/// not write if it was handed over. `None` only if it is already gone.
fn take_socket(shared: &Shared) -> Option<(WriteLink, Option<BytesMut>)> {
    match std::mem::replace(&mut *lock(&shared.socket), Slot::Away) {
        Slot::Ready(socket) => Some((socket, None)),
        Slot::Stalled(socket, rest) => Some((socket, Some(rest))),
        Slot::Away | Slot::Foreign => None,
    }
}

/// Writes `rest` and then everything queued, holding the socket.
async fn drain(
    shared: &Shared,
    socket: &mut WriteLink,
    rest: Option<BytesMut>,
) -> std::io::Result<()> {
    if let Some(rest) = rest {
        socket.write_all(&rest).await?;
        shared.flusher.metrics.bytes_out.add(rest.len() as u64);
    }
    let mut buffer = BytesMut::new();
    loop {
        buffer.clear();
        shared.take_batch(&mut buffer);
        if buffer.is_empty() {
            return Ok(());
        }
        socket.write_all(&buffer).await?;
        shared.flusher.metrics.bytes_out.add(buffer.len() as u64);
    }
}

/// Waits for a full socket to take `rest`, unless the client is killed;
/// gives the socket back to the flusher if it did.
async fn unstall(shared: &Arc<Shared>, mut socket: WriteLink, rest: BytesMut) -> Option<WriterEnd> {
    let written = tokio::select! {
        biased;
        () = shared.killed() => {
            *lock(&shared.socket) = Slot::Ready(socket);
            return Some(WriterEnd::Slow);
        }
        written = socket.write_all(&rest) => written,
    };
    if written.is_err() {
        return Some(WriterEnd::Failed);
    }
    shared.flusher.metrics.bytes_out.add(rest.len() as u64);
    *lock(&shared.socket) = Slot::Ready(socket);
    if shared.queued_bytes() > 0 {
        shared.schedule();
    }
    None
}

/// The last words: drain everything queued, or tell a slow client why it
/// is dropped; then close.
async fn finish(shared: &Shared, end: WriterEnd) -> WriterEnd {
    let Some((mut socket, rest)) = take_socket(shared) else {
        return end;
    };
    match end {
        WriterEnd::Drained => {
            if drain(shared, &mut socket, rest).await.is_err() {
                return WriterEnd::Failed;
            }
        }
        WriterEnd::Slow => {
            // Best effort, if its socket still takes bytes.
            let report = ServerMessage::Error(ErrorReport {
                code: ErrorCode::SlowConsumer,
                text: ShortText::lossy("you are not reading fast enough; disconnecting"),
                request: RequestKind::Unparsed,
                id: None,
            });
            if let Ok(frame) = encode_frame(&report) {
                let _ = tokio::time::timeout(Duration::from_millis(100), socket.write_all(&frame))
                    .await;
            }
        }
        WriterEnd::Failed => return end,
    }
    let _ = tokio::time::timeout(Duration::from_millis(100), socket.shutdown()).await;
    end
}

/// Runs one connection's writer until every [`super::Outbound`] handle is
/// dropped (then everything queued has been written) or the connection is
/// killed. The caller bounds the final flush by aborting the task after a
/// timeout. The rare parts are boxed when reached, so a waiting writer
/// holds little memory.
pub(crate) async fn run_writer(socket: WriteLink, queue: OutboundQueue) -> WriterEnd {
    let shared = queue.shared;
    *lock(&shared.socket) = Slot::Ready(socket);
    if shared.queued_bytes() > 0 {
        shared.schedule();
    }
    let end = loop {
        // Registered before looking, so a notification in between counts.
        let woken = shared.task.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if shared.slow.load(Ordering::Acquire) {
            break WriterEnd::Slow;
        }
        if shared.handles.load(Ordering::Acquire) == 0 {
            break WriterEnd::Drained;
        }
        let stalled = {
            let mut slot = lock(&shared.socket);
            match std::mem::replace(&mut *slot, Slot::Away) {
                Slot::Stalled(socket, rest) => Some((socket, rest)),
                other => {
                    *slot = other;
                    None
                }
            }
        };
        let Some((socket, rest)) = stalled else {
            woken.await;
            continue;
        };
        if let Some(end) = Box::pin(unstall(&shared, socket, rest)).await {
            break end;
        }
    };
    Box::pin(finish(&shared, end)).await
}

//! The durability path of a message the hub accepted, in three named steps:
//!
//! 1. **accept** (`relay.rs`): the message gets its server id and its place
//!    in the room's order, and is fanned out, under the room's lock;
//! 2. **persist** ([`Hub::persist_then_acknowledge`]): it is handed to the
//!    store together with a [`PendingAck`]; the store group-commits on its
//!    committer thread and never sees a connection;
//! 3. **acknowledge** ([`acknowledge`]): the committer reports each commit
//!    with the pending acks it settled, and only then is each `Ack` queued
//!    (or an `Internal` error, if the commit failed, so the client resends).
//!
//! Without a store (`--ephemeral`) step 2 is skipped and the ack is queued
//! at once.

use bytes::Bytes;
use huddle_protocol::{
    ClientMsgId, ErrorCode, ErrorReport, RequestKind, ServerMessage, ShortText, encode_frame,
};

use super::{Caller, Hub, frame, send};
use crate::{
    outbound::Outbound,
    store::{Accepted, Commit, Record},
};

/// The request a message came in: the client's id for it and its kind
/// (`Say` or `Direct`), to answer it by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    pub(crate) id: ClientMsgId,
    pub(crate) kind: RequestKind,
}

/// An `Ack` waiting for its message to be committed.
#[derive(Debug)]
pub(crate) struct PendingAck {
    outbound: Outbound,
    frame: Bytes,
    request: Request,
}

/// Step 3: queues the acks a commit settled, or tells their senders the
/// messages were not stored.
pub(crate) fn acknowledge(commit: Commit<PendingAck>) {
    for pending in commit.waiters {
        let frame = if commit.durable {
            pending.frame
        } else {
            let error = ServerMessage::Error(ErrorReport {
                code: ErrorCode::Internal,
                text: ShortText::lossy("the server could not store this message; send it again"),
                request: pending.request.kind,
                id: Some(pending.request.id),
            });
            match encode_frame(&error) {
                Ok(frame) => frame,
                Err(_) => continue,
            }
        };
        let _ = pending.outbound.push(frame);
    }
}

impl Hub {
    /// Step 2: persists `record` (if new) and acknowledges `request` once it
    /// is committed; at once without a store. A resend (`record` is `None`)
    /// is acknowledged after everything queued before it is committed, since
    /// its original may still be on its way to disk.
    pub(super) fn persist_then_acknowledge(
        &self,
        caller: Caller<'_>,
        request: Request,
        accepted: Accepted,
        record: Option<Record<'_>>,
    ) {
        let ack = ServerMessage::Ack {
            id: request.id,
            message_id: accepted.id,
            timestamp: accepted.timestamp,
        };
        let Some(store) = &self.store else {
            send(caller.outbound, &ack);
            return;
        };
        let Some(frame) = frame(&ack) else { return };
        let pending = PendingAck {
            outbound: caller.outbound.clone(),
            frame,
            request,
        };
        match record {
            Some(record) => {
                store.persist(&record, Some((caller.client, request.id)), Some(pending))
            }
            None => store.after_commit(pending),
        }
    }
}

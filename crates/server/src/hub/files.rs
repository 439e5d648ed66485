//! File transfers relayed through the server with per-transfer flow control.
//!
//! The sender may have at most `transfer_window` bytes in flight beyond what
//! the slowest accepting recipient has consumed: recipients return credit
//! (`FileCredit`) as they write, and the server passes credit on to the
//! sender only as the slowest one advances. So a fast sender cannot make the
//! server buffer more than one window per recipient, and a slow recipient
//! slows only its own transfer. Chunks travel in each connection's bulk
//! queue, behind chat.

use std::collections::HashMap;

use huddle_protocol::{
    ConnectionId, ErrorCode, FileChunk, Nick, ServerMessage, ShortText, TransferId,
    limits::MAX_CHUNK_LEN,
};
use tokio::time::Instant;

use super::{Caller, Hub, Refusal, frame, lock, refuse, send};
use crate::outbound::Outbound;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Pending,
    Accepted,
    Left,
}

#[derive(Debug)]
struct Recipient {
    outbound: Outbound,
    answer: Answer,
    /// Bytes this recipient reported written.
    consumed: u64,
}

#[derive(Debug)]
pub(crate) struct Transfer {
    sender: ConnectionId,
    sender_nick: Nick,
    sender_outbound: Outbound,
    size: u64,
    /// Bytes relayed from the sender.
    forwarded: u64,
    /// Bytes the sender was allowed to send so far.
    granted: u64,
    /// Data started to flow: a recipient answering now is too late.
    started: bool,
    /// When data starts even if some recipients have not answered (set at
    /// the first accept; see [`Hub::run_due`]).
    start_at: Option<Instant>,
    /// The last time anything happened: offer, answer, chunk or credit. A
    /// transfer idle for the stall timeout is ended (`files/deadlines.rs`).
    last_progress: Instant,
    recipients: HashMap<ConnectionId, Recipient>,
}

impl Transfer {
    fn accepted(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients
            .values()
            .filter(|r| r.answer == Answer::Accepted)
    }

    fn undecided_or_accepted(&self) -> bool {
        self.recipients.values().any(|r| r.answer != Answer::Left)
    }

    /// Sends `message` to every recipient still part of the transfer.
    fn tell_recipients(&self, message: &ServerMessage) {
        for recipient in self
            .recipients
            .values()
            .filter(|r| r.answer != Answer::Left)
        {
            send(&recipient.outbound, message);
        }
    }

    fn done(&self) -> bool {
        self.forwarded == self.size && self.accepted().all(|r| r.consumed >= self.size)
    }
}

mod deadlines;
mod offer;

/// How long a room's members have to answer an offer before the data
/// starts flowing to those who accepted.
const FILE_START_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

fn cancelled(transfer: TransferId, by: &Nick, reason: &str, ended: bool) -> ServerMessage {
    ServerMessage::FileCancelled {
        transfer,
        by: by.clone(),
        reason: ShortText::lossy(reason),
        ended,
    }
}

impl Hub {
    /// Records an answer given at `now`. Data starts flowing once every
    /// recipient has answered; if some have not when the first accepts, it
    /// starts [`FILE_START_GRACE`] later instead ([`Hub::run_due`]).
    pub(crate) fn file_answer(
        &self,
        caller: Caller<'_>,
        id: TransferId,
        accept: bool,
        now: Instant,
    ) -> Result<(), Refusal> {
        let mut transfers = lock(&self.transfers);
        let Some(transfer) = transfers.get_mut(&id) else {
            return refuse(
                ErrorCode::NoSuchTransfer,
                "that transfer is over or never existed",
            );
        };
        let started = transfer.started;
        let sender_nick = transfer.sender_nick.clone();
        let Some(recipient) = transfer.recipients.get_mut(&caller.conn) else {
            return refuse(
                ErrorCode::NoSuchTransfer,
                "that file was not offered to you",
            );
        };
        if recipient.answer != Answer::Pending {
            return Ok(());
        }
        transfer.last_progress = now;
        if started && accept {
            recipient.answer = Answer::Left;
            send(
                &recipient.outbound,
                &cancelled(
                    id,
                    &sender_nick,
                    "the transfer had already started; ask for it again",
                    true,
                ),
            );
            return Ok(());
        }
        recipient.answer = if accept {
            Answer::Accepted
        } else {
            Answer::Left
        };
        send(
            &transfer.sender_outbound,
            &ServerMessage::FileAnswered {
                transfer: id,
                by: caller.nick.clone(),
                accept,
            },
        );
        let all_answered = transfer
            .recipients
            .values()
            .all(|r| r.answer != Answer::Pending);
        if all_answered {
            self.start(&mut transfers, id);
        } else if accept && transfer.start_at.is_none() {
            // Others have not answered yet: give them a moment.
            transfer.start_at = Some(now + FILE_START_GRACE);
            self.deadline_set.notify_one();
        }
        Ok(())
    }

    fn start(&self, transfers: &mut HashMap<TransferId, Transfer>, id: TransferId) {
        let Some(transfer) = transfers.get_mut(&id) else {
            return;
        };
        transfer.started = true;
        self.settle(transfers, id);
    }

    pub(crate) fn file_chunk(
        &self,
        caller: Caller<'_>,
        chunk: FileChunk,
        now: Instant,
    ) -> Result<(), Refusal> {
        let mut transfers = lock(&self.transfers);
        let Some(transfer) = transfers.get_mut(&chunk.transfer) else {
            return refuse(
                ErrorCode::NoSuchTransfer,
                "that transfer is over or never existed",
            );
        };
        if transfer.sender != caller.conn {
            return refuse(
                ErrorCode::NoSuchTransfer,
                "only the sender sends a file's chunks",
            );
        }
        let len = chunk.data.len() as u64;
        let problem = if chunk.offset != transfer.forwarded {
            Some(format!(
                "chunk at {} but {} bytes were sent so far",
                chunk.offset, transfer.forwarded
            ))
        } else if chunk.data.len() > MAX_CHUNK_LEN || chunk.data.is_empty() {
            Some(format!("a chunk must hold 1 to {MAX_CHUNK_LEN} bytes"))
        } else if transfer.forwarded + len > transfer.size {
            Some(format!("more bytes than the {} offered", transfer.size))
        } else if transfer.forwarded + len > transfer.granted {
            Some("chunk beyond the credit granted".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            // The stream of this transfer is broken: end it for everyone.
            let id = chunk.transfer;
            let message = cancelled(
                id,
                &transfer.sender_nick,
                &format!("the sender broke the transfer: {problem}"),
                true,
            );
            transfer.tell_recipients(&message);
            transfers.remove(&id);
            return refuse(ErrorCode::TransferBroken, problem);
        }
        transfer.forwarded += len;
        transfer.last_progress = now;
        if let Some(relayed) = frame(&ServerMessage::FileChunk(chunk)) {
            for recipient in transfer.accepted() {
                let _ = recipient.outbound.push_bulk(relayed.clone());
            }
        }
        Ok(())
    }

    pub(crate) fn file_credit(
        &self,
        caller: Caller<'_>,
        id: TransferId,
        bytes: u32,
        now: Instant,
    ) -> Result<(), Refusal> {
        let mut transfers = lock(&self.transfers);
        let Some(transfer) = transfers.get_mut(&id) else {
            // Late credit for a finished transfer is harmless.
            return Ok(());
        };
        let forwarded = transfer.forwarded;
        let Some(recipient) = transfer
            .recipients
            .get_mut(&caller.conn)
            .filter(|r| r.answer == Answer::Accepted)
        else {
            return refuse(
                ErrorCode::NoSuchTransfer,
                "you are not receiving that transfer",
            );
        };
        recipient.consumed = (recipient.consumed + u64::from(bytes)).min(forwarded);
        transfer.last_progress = now;
        self.settle(&mut transfers, id);
        Ok(())
    }

    pub(crate) fn file_cancel(
        &self,
        caller: Caller<'_>,
        id: TransferId,
        reason: &ShortText,
    ) -> Result<(), Refusal> {
        let mut transfers = lock(&self.transfers);
        let Some(transfer) = transfers.get_mut(&id) else {
            return refuse(
                ErrorCode::NoSuchTransfer,
                "that transfer is over or never existed",
            );
        };
        if transfer.sender == caller.conn {
            let message = cancelled(id, caller.nick, reason, true);
            transfer.tell_recipients(&message);
            transfers.remove(&id);
            return Ok(());
        }
        let Some(recipient) = transfer.recipients.get_mut(&caller.conn) else {
            return refuse(
                ErrorCode::NoSuchTransfer,
                "that file was not offered to you",
            );
        };
        recipient.answer = Answer::Left;
        send(
            &transfer.sender_outbound,
            &cancelled(id, caller.nick, reason, false),
        );
        self.settle(&mut transfers, id);
        Ok(())
    }

    /// After a change: grants the sender credit up to the slowest accepting
    /// recipient plus the window, and ends the transfer when it is complete
    /// or nobody is left to receive it.
    fn settle(&self, transfers: &mut HashMap<TransferId, Transfer>, id: TransferId) {
        let Some(transfer) = transfers.get_mut(&id) else {
            return;
        };
        if !transfer.undecided_or_accepted() {
            send(
                &transfer.sender_outbound,
                &cancelled(
                    id,
                    &transfer.sender_nick,
                    "nobody is receiving the file",
                    true,
                ),
            );
            transfers.remove(&id);
            return;
        }
        if transfer.done() {
            transfers.remove(&id);
            return;
        }
        let Some(slowest) = transfer.accepted().map(|r| r.consumed).min() else {
            return;
        };
        let allowed = (slowest + u64::from(self.limits.transfer_window)).min(transfer.size);
        if allowed > transfer.granted {
            let more = allowed - transfer.granted;
            transfer.granted = allowed;
            let bytes = u32::try_from(more).unwrap_or(u32::MAX);
            send(
                &transfer.sender_outbound,
                &ServerMessage::FileCredit {
                    transfer: id,
                    bytes,
                },
            );
        }
    }

    /// A departing client leaves every transfer it was part of.
    pub(crate) fn leave_transfers(&self, conn: ConnectionId, nick: &Nick) {
        let mut transfers = lock(&self.transfers);
        let ids: Vec<TransferId> = transfers
            .iter()
            .filter(|(_, t)| t.sender == conn || t.recipients.contains_key(&conn))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(transfer) = transfers.get_mut(&id) else {
                continue;
            };
            if transfer.sender == conn && transfer.forwarded == transfer.size {
                // Everything is already queued to the recipients: let it land.
                transfers.remove(&id);
            } else if transfer.sender == conn {
                let message = cancelled(id, nick, "the sender disconnected", true);
                transfer.tell_recipients(&message);
                transfers.remove(&id);
            } else if let Some(recipient) = transfer.recipients.get_mut(&conn) {
                if recipient.answer != Answer::Left {
                    recipient.answer = Answer::Left;
                    send(
                        &transfer.sender_outbound,
                        &cancelled(id, nick, "disconnected", false),
                    );
                }
                self.settle(&mut transfers, id);
            }
        }
    }
}

//! The writing side of the store: what a message turns into (rows under a
//! room's key or under two mailboxes' keys) and the writer thread that
//! group-commits them and then releases the acks.

use std::{collections::HashMap, sync::mpsc};

use bytes::Bytes;
use huddle_protocol::{
    ChatMessage, ClientId, ClientMsgId, DirectEntry, ErrorCode, ErrorReport, MessageId,
    RequestKind, RoomName, ServerMessage, ShortText, encode_frame, encode_payload,
};
use redb::{Database, ReadableTable};

use super::disk::{DEDUP, MESSAGES};
use crate::outbound::Outbound;

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 1000;

/// A frame to queue for a client once its message is on disk.
#[derive(Debug)]
pub(crate) struct Ack {
    pub(crate) outbound: Outbound,
    pub(crate) frame: Bytes,
    pub(crate) id: ClientMsgId,
    /// The request it answers (`Say` or `Direct`), for an error report.
    pub(crate) request: RequestKind,
}

/// What to store: a room message, or a direct message (filed in both its
/// sender's and its recipient's mailbox).
#[derive(Debug)]
pub(crate) enum Record<'a> {
    Room(&'a RoomName, &'a ChatMessage),
    Direct {
        sender: ClientId,
        recipient: ClientId,
        message: &'a ChatMessage,
    },
}

/// The key under which a client's mailbox is stored in `messages`: room
/// keys always start with `#`, so the two never meet.
pub(crate) fn mailbox_key(owner: ClientId) -> String {
    format!("@{}", owner.as_uuid())
}

/// One row of `messages`, encoded by the caller.
#[derive(Debug)]
pub(super) struct Row {
    key: String,
    id: u128,
    bytes: Vec<u8>,
}

impl Record<'_> {
    pub(super) fn rows(&self) -> Vec<Row> {
        let encoded = |key: String, id: MessageId, payload: Result<Vec<u8>, _>| {
            payload
                .map_err(|err| tracing::error!(%err, "cannot encode a message for the store"))
                .ok()
                .map(|bytes| Row {
                    key,
                    id: id.as_uuid().as_u128(),
                    bytes,
                })
        };
        match self {
            Record::Room(room, message) => encoded(
                room.folded().to_owned(),
                message.id,
                encode_payload(*message),
            )
            .into_iter()
            .collect(),
            Record::Direct {
                sender,
                recipient,
                message,
            } => {
                let mut owners = vec![(*sender, true)];
                if recipient != sender {
                    owners.push((*recipient, false));
                }
                owners
                    .into_iter()
                    .filter_map(|(owner, outgoing)| {
                        let entry = DirectEntry {
                            outgoing,
                            message: (*message).clone(),
                        };
                        encoded(mailbox_key(owner), message.id, encode_payload(&entry))
                    })
                    .collect()
            }
        }
    }

    pub(super) fn message(&self) -> &ChatMessage {
        match self {
            Record::Room(_, message) | Record::Direct { message, .. } => message,
        }
    }
}

#[derive(Debug)]
pub(super) enum Job {
    Append {
        rows: Vec<Row>,
        /// The resend key and what it was accepted as (id, timestamp).
        dedup: Option<((ClientId, ClientMsgId), (u128, u64))>,
        ack: Option<Ack>,
    },
    /// Queue this ack after everything before it is committed (a resend of
    /// a message that may still be in flight).
    AfterCommit(Ack),
}

/// Group commit: whatever queued up while the previous commit was on its way
/// to disk goes into the next one.
pub(super) fn run_writer(db: &Database, queue: &mpsc::Receiver<Job>, retention: usize) {
    let mut counts: HashMap<String, u64> = HashMap::new();
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = commit(db, &batch, retention, &mut counts);
        if let Err(err) = &committed {
            tracing::error!(%err, "history commit failed; messages not acknowledged");
            counts.clear();
        }
        for job in batch {
            let ack = match job {
                Job::Append { ack, .. } => ack,
                Job::AfterCommit(ack) => Some(ack),
            };
            let Some(ack) = ack else { continue };
            let frame = if committed.is_ok() {
                ack.frame
            } else {
                let error = ServerMessage::Error(ErrorReport {
                    code: ErrorCode::Internal,
                    text: ShortText::lossy(
                        "the server could not store this message; send it again",
                    ),
                    request: ack.request,
                    id: Some(ack.id),
                });
                match encode_frame(&error) {
                    Ok(frame) => frame,
                    Err(_) => continue,
                }
            };
            let _ = ack.outbound.push(frame);
        }
    }
}

fn commit(
    db: &Database,
    batch: &[Job],
    retention: usize,
    counts: &mut HashMap<String, u64>,
) -> Result<(), Box<redb::Error>> {
    commit_inner(db, batch, retention, counts).map_err(Box::new)
}

#[allow(clippy::result_large_err)] // Boxed once, by `commit`.
fn commit_inner(
    db: &Database,
    batch: &[Job],
    retention: usize,
    counts: &mut HashMap<String, u64>,
) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut messages = txn.open_table(MESSAGES)?;
        let mut dedup = txn.open_table(DEDUP)?;
        let mut touched: Vec<&str> = Vec::new();
        for job in batch {
            let Job::Append {
                rows, dedup: key, ..
            } = job
            else {
                continue;
            };
            for Row {
                key: room,
                id,
                bytes,
            } in rows
            {
                if messages
                    .insert((room.as_str(), *id), bytes.as_slice())?
                    .is_none()
                {
                    if !counts.contains_key(room) {
                        // First write under this key since start: count what is there.
                        let existing = messages
                            .range((room.as_str(), 0u128)..=(room.as_str(), u128::MAX))?
                            .count() as u64;
                        counts.insert(room.clone(), existing.saturating_sub(1));
                    }
                    if let Some(count) = counts.get_mut(room) {
                        *count += 1;
                    }
                }
                if !touched.contains(&room.as_str()) {
                    touched.push(room);
                }
            }
            if let Some(((client, client_msg), accepted)) = key {
                dedup.insert(
                    (client.as_uuid().as_u128(), client_msg.as_uuid().as_u128()),
                    accepted,
                )?;
            }
        }
        // Retention: drop each touched room's oldest messages past the limit.
        for room in touched {
            let Some(count) = counts.get_mut(room) else {
                continue;
            };
            let excess = count.saturating_sub(retention as u64);
            if excess == 0 {
                continue;
            }
            let oldest: Vec<u128> = messages
                .range((room, 0u128)..=(room, u128::MAX))?
                .take(excess as usize)
                .map(|row| row.map(|(key, _)| key.value().1))
                .collect::<Result<_, _>>()?;
            for id in oldest {
                messages.remove((room, id))?;
            }
            *count -= excess;
        }
    }
    txn.commit()?;
    Ok(())
}

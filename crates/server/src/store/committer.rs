//! The committer: a thread that group-commits what the hub hands the store,
//! then reports each commit, with the waiters it settled, to the callback
//! given at open. It knows nothing of connections: what a waiter is (an ack
//! to queue, in the server) is the caller's business.

use std::{collections::HashMap, sync::mpsc};

use huddle_protocol::{ClientId, ClientMsgId};
use redb::{Database, ReadableTable};

use super::{
    record::{Accepted, Row},
    schema::{DEDUP, MESSAGES, ROOMS},
};

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 1000;

/// One commit's outcome and whoever waited for it, in submission order.
#[derive(Debug)]
pub(crate) struct Commit<W> {
    /// Whether the batch is on disk; on failure nothing of it is.
    pub(crate) durable: bool,
    pub(crate) waiters: Vec<W>,
}

#[derive(Debug)]
pub(super) enum Job<W> {
    Append {
        rows: Vec<Row>,
        /// The resend key and what it was accepted as.
        dedup: Option<((ClientId, ClientMsgId), Accepted)>,
        waiter: Option<W>,
    },
    /// Settle this waiter once everything before it is committed (a resend
    /// of a message that may still be in flight).
    AfterCommit(W),
    /// Write a room's meta (`schema::ROOMS`): key and encoded value.
    SaveRoom { key: String, bytes: Vec<u8> },
}

/// Group commit: whatever queued up while the previous commit was on its way
/// to disk goes into the next one; then `report` learns who it settled.
pub(super) fn run_committer<W>(
    db: &Database,
    queue: &mpsc::Receiver<Job<W>>,
    retention: usize,
    report: &mut dyn FnMut(Commit<W>),
) {
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
        let waiters = batch
            .into_iter()
            .filter_map(|job| match job {
                Job::Append { waiter, .. } => waiter,
                Job::AfterCommit(waiter) => Some(waiter),
                Job::SaveRoom { .. } => None,
            })
            .collect();
        report(Commit {
            durable: committed.is_ok(),
            waiters,
        });
    }
}

fn commit<W>(
    db: &Database,
    batch: &[Job<W>],
    retention: usize,
    counts: &mut HashMap<String, u64>,
) -> Result<(), Box<redb::Error>> {
    commit_inner(db, batch, retention, counts).map_err(Box::new)
}

#[allow(clippy::result_large_err)] // Boxed once, by `commit`.
fn commit_inner<W>(
    db: &Database,
    batch: &[Job<W>],
    retention: usize,
    counts: &mut HashMap<String, u64>,
) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut messages = txn.open_table(MESSAGES)?;
        let mut dedup = txn.open_table(DEDUP)?;
        let mut rooms = txn.open_table(ROOMS)?;
        let mut touched: Vec<&str> = Vec::new();
        for job in batch {
            if let Job::SaveRoom { key, bytes } = job {
                rooms.insert(key.as_str(), bytes.as_slice())?;
                continue;
            }
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
                    (accepted.id.as_uuid().as_u128(), accepted.timestamp),
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

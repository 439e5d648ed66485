//! The committer: a thread that group-commits what the hub hands the store,
//! then reports each commit, with the waiters it settled, to the callback
//! given at open. It knows nothing of connections: what a waiter is (an ack
//! to queue, in the server) is the caller's business.

use std::{collections::HashMap, sync::mpsc};

use huddle_protocol::{ClientId, ClientMsgId};
use redb::{Database, ReadableTable};

use super::{
    record::{Accepted, Row},
    schema::{DEDUP, DEDUP_AGE, IRC_LOGINS, MESSAGES, NICKS, ROOMS},
    usage::Usage,
};

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 1000;

/// Most bytes of messages committed in one transaction: a transaction's
/// new pages and the pages it frees both add to the file's high-water mark.
const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// One commit's outcome and whoever waited for it, in submission order.
#[derive(Debug)]
pub(crate) struct Commit<W> {
    /// Whether the batch is on disk; on failure nothing of it is.
    pub(crate) durable: bool,
    pub(crate) waiters: Vec<W>,
    /// How long the commit took (writing and syncing the batch).
    pub(crate) took: std::time::Duration,
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
    /// Bind a nick (folded) to a client until a time (`schema::NICKS`).
    BindNick {
        key: String,
        client: u128,
        until: u64,
    },
    /// Write (or, `None`, delete) a client's IRC login
    /// (`schema::IRC_LOGINS`).
    SaveIrcLogin {
        client: u128,
        bytes: Option<Vec<u8>>,
    },
}

impl<W> Job<W> {
    /// The bytes this job writes, about.
    fn bytes(&self) -> usize {
        match self {
            Job::Append { rows, .. } => rows.iter().map(|row| row.bytes.len()).sum(),
            Job::AfterCommit(_) => 0,
            Job::SaveRoom { bytes, .. } => bytes.len(),
            Job::BindNick { key, .. } => key.len() + 24,
            Job::SaveIrcLogin { bytes, .. } => bytes.as_ref().map_or(16, Vec::len),
        }
    }
}

/// Group commit: whatever queued up while the previous commit was on its way
/// to disk goes into the next one; then `report` learns who it settled.
pub(super) fn run_committer<W>(
    db: &Database,
    queue: &mpsc::Receiver<Job<W>>,
    limits: Limits,
    mut usage: Usage,
    report: &mut dyn FnMut(Commit<W>),
) {
    let mut counts: HashMap<String, u64> = HashMap::new();
    while let Ok(first) = queue.recv() {
        let mut batch_bytes = first.bytes();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && batch_bytes < MAX_BATCH_BYTES {
            match queue.try_recv() {
                Ok(job) => {
                    batch_bytes += job.bytes();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let committed = commit(db, &batch, limits, &mut usage, &mut counts);
        let took = started.elapsed();
        if let Err(err) = &committed {
            tracing::error!(%err, "history commit failed; messages not acknowledged");
            counts.clear();
            // What was counted for the failed batch is not on disk.
            match reload_usage(db, limits.max_bytes) {
                Ok(reloaded) => usage = reloaded,
                Err(err) => tracing::error!(%err, "cannot recount the history's size"),
            }
        }
        let waiters = batch
            .into_iter()
            .filter_map(|job| match job {
                Job::Append { waiter, .. } => waiter,
                Job::AfterCommit(waiter) => Some(waiter),
                Job::SaveRoom { .. } | Job::BindNick { .. } | Job::SaveIrcLogin { .. } => None,
            })
            .collect();
        report(Commit {
            durable: committed.is_ok(),
            waiters,
            took,
        });
    }
}

/// What the committer holds the store to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Messages kept per room or mailbox.
    pub(crate) retention: usize,
    /// Bytes of messages kept in all (oldest deleted first).
    pub(crate) max_bytes: u64,
}

fn reload_usage(db: &Database, budget: u64) -> Result<Usage, Box<redb::Error>> {
    let txn = db.begin_write().map_err(|e| Box::new(e.into()))?;
    let usage = Usage::load(&txn, budget).map_err(Box::new)?;
    txn.commit().map_err(|e| Box::new(e.into()))?;
    Ok(usage)
}

fn commit<W>(
    db: &Database,
    batch: &[Job<W>],
    limits: Limits,
    usage: &mut Usage,
    counts: &mut HashMap<String, u64>,
) -> Result<(), Box<redb::Error>> {
    commit_inner(db, batch, limits, usage, counts).map_err(Box::new)
}

#[allow(clippy::result_large_err)] // Boxed once, by `commit`.
fn commit_inner<W>(
    db: &Database,
    batch: &[Job<W>],
    limits: Limits,
    usage: &mut Usage,
    counts: &mut HashMap<String, u64>,
) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    {
        let mut messages = txn.open_table(MESSAGES)?;
        let mut dedup = txn.open_table(DEDUP)?;
        let mut dedup_age = txn.open_table(DEDUP_AGE)?;
        let mut rooms = txn.open_table(ROOMS)?;
        let mut nicks = txn.open_table(NICKS)?;
        let mut irc_logins = txn.open_table(IRC_LOGINS)?;
        let mut touched: Vec<&str> = Vec::new();
        for job in batch {
            if let Job::SaveRoom { key, bytes } = job {
                rooms.insert(key.as_str(), bytes.as_slice())?;
                continue;
            }
            if let Job::BindNick { key, client, until } = job {
                nicks.insert(key.as_str(), (*client, *until))?;
                continue;
            }
            if let Job::SaveIrcLogin { client, bytes } = job {
                match bytes {
                    Some(bytes) => drop(irc_logins.insert(*client, bytes.as_slice())?),
                    None => drop(irc_logins.remove(*client)?),
                }
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
                let replaced = messages
                    .insert((room.as_str(), *id), bytes.as_slice())?
                    .map(|old| old.value().len());
                usage.inserted(room, *id, bytes.len(), replaced);
                if replaced.is_none() {
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
                let (client, client_msg) =
                    (client.as_uuid().as_u128(), client_msg.as_uuid().as_u128());
                dedup.insert(
                    (client, client_msg),
                    (accepted.id.as_uuid().as_u128(), accepted.timestamp),
                )?;
                dedup_age.insert((accepted.timestamp, client, client_msg), ())?;
                usage.dedup_inserted();
            }
        }
        // Retention: drop each touched room's oldest messages past the limit.
        for room in touched {
            let Some(count) = counts.get_mut(room) else {
                continue;
            };
            let excess = count.saturating_sub(limits.retention as u64);
            if excess > 0 {
                usage.delete_oldest(&mut messages, room, excess as usize)?;
                *count -= excess;
            }
        }
        // The window and the budget: the oldest things stored go first.
        if usage.enforce(&mut messages, &mut dedup, &mut dedup_age)? > 0 {
            counts.clear();
        }
    }
    usage.record(&txn)?;
    txn.commit()?;
    Ok(())
}

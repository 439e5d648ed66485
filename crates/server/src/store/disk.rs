//! The redb-backed store and its group-committing writer thread.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, mpsc},
    thread::JoinHandle,
    time::{SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use huddle_protocol::{
    ChatMessage, ClientId, ClientMsgId, ErrorCode, ErrorReport, MessageId, RequestKind, RoomName,
    ServerMessage, ShortText, decode_payload, encode_frame, encode_payload,
    limits::MAX_HISTORY_PAGE,
};
use redb::{Database, DatabaseError, ReadableTable, TableDefinition};
use uuid::Uuid;

use super::{SCHEMA_VERSION, StoreError};
use crate::outbound::Outbound;

const MESSAGES: TableDefinition<(&str, u128), &[u8]> = TableDefinition::new("messages");
const DEDUP: TableDefinition<(u128, u128), (u128, u64)> = TableDefinition::new("dedup");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Resends are recognised for this long (across restarts too).
const DEDUP_RETENTION_MILLIS: u64 = 24 * 60 * 60 * 1000;

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 1000;

/// A frame to queue for a client once its message is on disk.
#[derive(Debug)]
pub(crate) struct Ack {
    pub(crate) outbound: Outbound,
    pub(crate) frame: Bytes,
    pub(crate) id: ClientMsgId,
}

#[derive(Debug)]
enum Job {
    Append {
        room: String,
        message: Box<ChatMessage>,
        dedup: Option<(ClientId, ClientMsgId)>,
        ack: Option<Ack>,
    },
    /// Queue this ack after everything before it is committed (a resend of
    /// a message that may still be in flight).
    AfterCommit(Ack),
}

#[derive(Debug)]
pub(crate) struct DiskStore {
    db: Arc<Database>,
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn corrupt(path: &Path, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        message: err.to_string(),
    }
}

/// Accepted resends loaded from disk, for the hub's in-memory dedup.
pub(crate) type DedupRows = Vec<((ClientId, ClientMsgId), (MessageId, u64))>;

impl DiskStore {
    /// Opens (or creates) the store in `dir`, keeping at most `retention`
    /// messages per room.
    pub(crate) fn open(dir: &Path, retention: usize) -> Result<(Self, DedupRows), StoreError> {
        std::fs::create_dir_all(dir).map_err(|err| StoreError::Unusable {
            path: dir.to_owned(),
            message: err.to_string(),
        })?;
        let path = dir.join("history.redb");
        let db = match Database::create(&path) {
            Ok(db) => db,
            Err(DatabaseError::DatabaseAlreadyOpen) => return Err(StoreError::Locked { path }),
            Err(DatabaseError::Storage(redb::StorageError::Io(err)))
                if err.kind() != std::io::ErrorKind::InvalidData =>
            {
                return Err(StoreError::Unusable {
                    path,
                    message: err.to_string(),
                });
            }
            Err(err) => return Err(corrupt(&path, err)),
        };
        let dedup = Self::prepare(&db, &path)?;
        let db = Arc::new(db);
        let (jobs, queue) = mpsc::channel();
        let writer_db = db.clone();
        let writer = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || run_writer(&writer_db, &queue, retention))
            .map_err(|err| StoreError::Unusable {
                path: path.clone(),
                message: format!("cannot start the writer thread: {err}"),
            })?;
        Ok((
            Self {
                db,
                path,
                jobs: Mutex::new(Some(jobs)),
                writer: Mutex::new(Some(writer)),
            },
            dedup,
        ))
    }

    /// Checks the schema version (writing it into a new database), prunes
    /// old dedup rows and returns the rest.
    fn prepare(db: &Database, path: &Path) -> Result<DedupRows, StoreError> {
        let fail = |err: &dyn std::fmt::Display| corrupt(path, err);
        let txn = db.begin_write().map_err(|e| fail(&e))?;
        let mut rows = Vec::new();
        {
            let mut meta = txn.open_table(META).map_err(|e| fail(&e))?;
            let version = meta
                .get("schema_version")
                .map_err(|e| fail(&e))?
                .map(|v| v.value());
            match version {
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(|e| fail(&e))?;
                }
                Some(SCHEMA_VERSION) => {}
                Some(other) => {
                    return Err(corrupt(
                        path,
                        format!(
                            "schema version {other}; this server knows version {SCHEMA_VERSION}"
                        ),
                    ));
                }
            }
            txn.open_table(MESSAGES).map_err(|e| fail(&e))?;
            let mut dedup = txn.open_table(DEDUP).map_err(|e| fail(&e))?;
            let cutoff = now_millis().saturating_sub(DEDUP_RETENTION_MILLIS);
            dedup
                .retain(|_, (_, timestamp)| timestamp >= cutoff)
                .map_err(|e| fail(&e))?;
            for row in dedup.iter().map_err(|e| fail(&e))? {
                let (key, value) = row.map_err(|e| fail(&e))?;
                let (client, id) = key.value();
                let (message, timestamp) = value.value();
                rows.push((
                    (
                        ClientId::from_uuid(Uuid::from_u128(client)),
                        ClientMsgId::from_uuid(Uuid::from_u128(id)),
                    ),
                    (MessageId::from_uuid(Uuid::from_u128(message)), timestamp),
                ));
            }
        }
        txn.commit().map_err(|e| fail(&e))?;
        Ok(rows)
    }

    fn submit(&self, job: Job) {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        match jobs.as_ref() {
            Some(jobs) => {
                if jobs.send(job).is_err() {
                    tracing::error!(path = %self.path.display(), "the history writer has stopped");
                }
            }
            None => tracing::warn!("a message arrived after the history store closed"),
        }
    }

    /// Stores `message` in `room`; `ack` is queued once it is committed.
    pub(crate) fn append(
        &self,
        room: &RoomName,
        message: ChatMessage,
        dedup: Option<(ClientId, ClientMsgId)>,
        ack: Option<Ack>,
    ) {
        self.submit(Job::Append {
            room: room.folded().to_owned(),
            message: Box::new(message),
            dedup,
            ack,
        });
    }

    /// Queues `ack` once everything submitted before it is committed.
    pub(crate) fn after_commit(&self, ack: Ack) {
        self.submit(Job::AfterCommit(ack));
    }

    fn read(
        &self,
        room: &RoomName,
        range: impl FnOnce(
            &redb::ReadOnlyTable<(&str, u128), &[u8]>,
            &str,
        ) -> Result<Vec<Vec<u8>>, redb::StorageError>,
    ) -> Vec<ChatMessage> {
        let result = (|| -> Result<Vec<Vec<u8>>, Box<redb::Error>> {
            let txn = self.db.begin_read().map_err(|e| Box::new(e.into()))?;
            let table = txn.open_table(MESSAGES).map_err(|e| Box::new(e.into()))?;
            range(&table, room.folded()).map_err(|e| Box::new(e.into()))
        })();
        match result {
            Ok(raw) => raw
                .iter()
                .filter_map(|bytes| decode_payload::<ChatMessage>(bytes).ok())
                .collect(),
            Err(err) => {
                tracing::error!(%err, path = %self.path.display(), "cannot read history");
                Vec::new()
            }
        }
    }

    /// The newest `count` messages of `room`, oldest first.
    pub(crate) fn recent(&self, room: &RoomName, count: usize) -> Vec<ChatMessage> {
        let mut messages = self.read(room, |table, key| {
            table
                .range((key, 0u128)..=(key, u128::MAX))?
                .rev()
                .take(count)
                .map(|row| row.map(|(_, v)| v.value().to_vec()))
                .collect()
        });
        messages.reverse();
        messages
    }

    /// Up to `limit` messages strictly after `after` (oldest first), or
    /// strictly before `before` (the newest of those), and whether more
    /// exist beyond them.
    pub(crate) fn page(
        &self,
        room: &RoomName,
        before: Option<MessageId>,
        after: Option<MessageId>,
        limit: u16,
    ) -> (Vec<ChatMessage>, bool) {
        let limit = usize::from(limit.min(MAX_HISTORY_PAGE));
        let id = |m: MessageId| m.as_uuid().as_u128();
        let mut messages = match after {
            Some(after) => self.read(room, |table, key| {
                let Some(start) = id(after).checked_add(1) else {
                    return Ok(Vec::new());
                };
                table
                    .range((key, start)..=(key, u128::MAX))?
                    .take(limit + 1)
                    .map(|row| row.map(|(_, v)| v.value().to_vec()))
                    .collect()
            }),
            None => {
                let end = before.map_or(u128::MAX, id);
                let mut newest_first = self.read(room, |table, key| {
                    table
                        .range((key, 0u128)..(key, end))?
                        .rev()
                        .take(limit + 1)
                        .map(|row| row.map(|(_, v)| v.value().to_vec()))
                        .collect()
                });
                newest_first.reverse();
                newest_first
            }
        };
        let more = messages.len() > limit;
        if more {
            if after.is_some() {
                messages.truncate(limit);
            } else {
                messages.remove(0);
            }
        }
        (messages, more)
    }

    /// Commits what is queued and stops the writer.
    pub(crate) fn close(&self) {
        drop(
            self.jobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(writer) = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = writer.join();
        }
    }
}

impl Drop for DiskStore {
    fn drop(&mut self) {
        self.close();
    }
}

/// Group commit: whatever queued up while the previous commit was on its way
/// to disk goes into the next one.
fn run_writer(db: &Database, queue: &mpsc::Receiver<Job>, retention: usize) {
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
                    request: RequestKind::Say,
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
                room,
                message,
                dedup: key,
                ..
            } = job
            else {
                continue;
            };
            let Ok(bytes) = encode_payload(message) else {
                continue;
            };
            let id = message.id.as_uuid().as_u128();
            if messages
                .insert((room.as_str(), id), bytes.as_slice())?
                .is_none()
            {
                if !counts.contains_key(room) {
                    // First write to this room since start: count what is there.
                    let existing = messages
                        .range((room.as_str(), 0u128)..=(room.as_str(), u128::MAX))?
                        .count() as u64;
                    counts.insert(room.clone(), existing.saturating_sub(1));
                }
                if let Some(count) = counts.get_mut(room) {
                    *count += 1;
                }
            }
            if let Some((client, client_msg)) = key {
                dedup.insert(
                    (client.as_uuid().as_u128(), client_msg.as_uuid().as_u128()),
                    (id, message.timestamp),
                )?;
            }
            if !touched.contains(&room.as_str()) {
                touched.push(room);
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

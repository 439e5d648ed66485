//! The redb-backed store and its group-committing writer thread.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, mpsc},
    thread::JoinHandle,
    time::{SystemTime, UNIX_EPOCH},
};

use huddle_protocol::{
    ChatMessage, ClientId, ClientMsgId, DirectEntry, MessageId, Nick, RoomName, decode_payload,
    limits::MAX_HISTORY_PAGE,
};
use redb::{Database, DatabaseError, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::{
    SCHEMA_VERSION, StoreError,
    writer::{Ack, Job, Record, mailbox_key, run_writer},
};

pub(super) const MESSAGES: TableDefinition<(&str, u128), &[u8]> = TableDefinition::new("messages");
pub(super) const DEDUP: TableDefinition<(u128, u128), (u128, u64)> = TableDefinition::new("dedup");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Resends are recognised for this long (across restarts too).
const DEDUP_RETENTION_MILLIS: u64 = 24 * 60 * 60 * 1000;

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
                Some(1) => {
                    let upgraded = super::migrate::from_version_1(&txn).map_err(|e| fail(&e))?;
                    tracing::info!(upgraded, path = %path.display(), "history upgraded from schema version 1");
                    meta.insert("schema_version", SCHEMA_VERSION)
                        .map_err(|e| fail(&e))?;
                }
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

    /// Stores `record`; `ack` is queued once it is committed.
    pub(crate) fn append(
        &self,
        record: &Record<'_>,
        dedup: Option<(ClientId, ClientMsgId)>,
        ack: Option<Ack>,
    ) {
        let message = record.message();
        let accepted = (message.id.as_uuid().as_u128(), message.timestamp);
        self.submit(Job::Append {
            rows: record.rows(),
            dedup: dedup.map(|key| (key, accepted)),
            ack,
        });
    }

    /// Queues `ack` once everything submitted before it is committed.
    pub(crate) fn after_commit(&self, ack: Ack) {
        self.submit(Job::AfterCommit(ack));
    }

    /// Up to `limit` items under `key` that `keep` accepts, decoded, with
    /// whether more exist beyond them: strictly after `after` (the oldest of
    /// those), or strictly before `before` (the newest of those).
    fn scan<T: DeserializeOwned>(
        &self,
        key: &str,
        before: Option<MessageId>,
        after: Option<MessageId>,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> (Vec<T>, bool) {
        let id = |m: MessageId| m.as_uuid().as_u128();
        let boxed = |err: redb::Error| Box::new(err);
        let result = (|| -> Result<Vec<T>, Box<redb::Error>> {
            let txn = self.db.begin_read().map_err(|e| boxed(e.into()))?;
            let table = txn.open_table(MESSAGES).map_err(|e| boxed(e.into()))?;
            let bytes = |row: Result<_, redb::StorageError>| {
                row.map(|(_, v): (_, redb::AccessGuard<&[u8]>)| v.value().to_vec())
            };
            Ok(match after {
                Some(after) => {
                    let Some(start) = id(after).checked_add(1) else {
                        return Ok(Vec::new());
                    };
                    let rows = table
                        .range((key, start)..=(key, u128::MAX))
                        .map_err(|e| boxed(e.into()))?;
                    matching(rows.map(bytes), &keep, limit).map_err(|e| boxed(e.into()))?
                }
                None => {
                    let end = before.map_or(u128::MAX, id);
                    let rows = table
                        .range((key, 0u128)..(key, end))
                        .map_err(|e| boxed(e.into()))?
                        .rev();
                    let mut newest_first =
                        matching(rows.map(bytes), &keep, limit).map_err(|e| boxed(e.into()))?;
                    newest_first.reverse();
                    newest_first
                }
            })
        })();
        let mut items = match result {
            Ok(items) => items,
            Err(err) => {
                tracing::error!(%err, path = %self.path.display(), "cannot read history");
                return (Vec::new(), false);
            }
        };
        let more = items.len() > limit;
        if more {
            if after.is_some() {
                items.truncate(limit);
            } else {
                items.remove(0);
            }
        }
        (items, more)
    }

    /// The newest `count` messages of `room`, oldest first.
    pub(crate) fn recent(&self, room: &RoomName, count: usize) -> Vec<ChatMessage> {
        self.scan(room.folded(), None, None, count, |_| true).0
    }

    /// A page of `room`'s history (see [`crate::page::page`]).
    pub(crate) fn page(
        &self,
        room: &RoomName,
        before: Option<MessageId>,
        after: Option<MessageId>,
        limit: u16,
    ) -> (Vec<ChatMessage>, bool) {
        let limit = usize::from(limit.min(MAX_HISTORY_PAGE));
        self.scan(room.folded(), before, after, limit, |_| true)
    }

    /// A page of `owner`'s direct messages, only those exchanged with `with`
    /// if given (see [`crate::page::page`]).
    pub(crate) fn direct_page(
        &self,
        owner: ClientId,
        with: Option<&Nick>,
        before: Option<MessageId>,
        after: Option<MessageId>,
        limit: u16,
    ) -> (Vec<DirectEntry>, bool) {
        let limit = usize::from(limit.min(MAX_HISTORY_PAGE));
        self.scan(
            &mailbox_key(owner),
            before,
            after,
            limit,
            |entry: &DirectEntry| crate::page::exchanged_with(entry, with),
        )
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

/// The first `limit + 1` of `rows` that decode and that `keep` accepts.
fn matching<T: DeserializeOwned>(
    rows: impl Iterator<Item = Result<Vec<u8>, redb::StorageError>>,
    keep: &impl Fn(&T) -> bool,
    limit: usize,
) -> Result<Vec<T>, redb::StorageError> {
    let mut items = Vec::new();
    for bytes in rows {
        if let Ok(item) = decode_payload::<T>(&bytes?)
            && keep(&item)
        {
            items.push(item);
            if items.len() > limit {
                break;
            }
        }
    }
    Ok(items)
}

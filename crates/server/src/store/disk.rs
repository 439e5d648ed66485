//! The redb-backed store: opening (schema check, migration, dedup rows),
//! reads (joins, pages), and the hand-off of writes to the committer thread.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError, mpsc},
    thread::JoinHandle,
};

use huddle_protocol::{
    ChatMessage, ClientId, ClientMsgId, DirectEntry, MessageId, Nick, RoomName, decode_payload,
    encode_payload,
};
use redb::{Database, DatabaseError, ReadableTable};
use serde::de::DeserializeOwned;

use super::{
    StoreError,
    committer::{Commit, Job, Limits as StoreLimits, run_committer},
    record::{Accepted, Record},
    schema::{
        DEDUP, DEDUP_AGE, DEDUP_RETENTION_MILLIS, IRC_LOGINS, MESSAGES, META, NICKS, ROOMS,
        SCHEMA_VERSION, mailbox_key,
    },
    usage::Usage,
};
use crate::{
    page::{Anchor, Page, PageRequest},
    room::RoomMeta,
    wall_clock::now_millis,
};

/// The store; `W` is whatever waits for a commit (the server's pending
/// acks), opaque to the store and handed back in [`Commit`] reports.
#[derive(Debug)]
pub(crate) struct DiskStore<W> {
    db: Arc<Database>,
    path: PathBuf,
    jobs: Mutex<Option<mpsc::Sender<Job<W>>>>,
    committer: Mutex<Option<JoinHandle<()>>>,
}

fn corrupt(path: &Path, err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        message: err.to_string(),
    }
}

impl<W> DiskStore<W> {
    /// Opens (or creates) the store in `dir`, within `limits` (messages per
    /// room, bytes in all)
    /// messages per room; `report` hears of every commit, on the committer
    /// thread.
    pub(crate) fn open(
        dir: &Path,
        limits: StoreLimits,
        mut report: impl FnMut(Commit<W>) + Send + 'static,
    ) -> Result<Self, StoreError>
    where
        W: Send + 'static,
    {
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
        let usage = Self::prepare(&db, &path, limits.max_bytes)?;
        let db = Arc::new(db);
        let (jobs, queue) = mpsc::channel();
        let committer_db = db.clone();
        let committer = std::thread::Builder::new()
            .name("history-committer".into())
            .spawn(move || run_committer(&committer_db, &queue, limits, usage, &mut report))
            .map_err(|err| StoreError::Unusable {
                path: path.clone(),
                message: format!("cannot start the committer thread: {err}"),
            })?;
        Ok(Self {
            db,
            path,
            jobs: Mutex::new(Some(jobs)),
            committer: Mutex::new(Some(committer)),
        })
    }

    /// Checks the schema version (writing it into a new database), prunes
    /// dedup rows past their window, and reads what the history holds.
    fn prepare(db: &Database, path: &Path, budget: u64) -> Result<Usage, StoreError> {
        let fail = |err: &dyn std::fmt::Display| corrupt(path, err);
        let txn = db.begin_write().map_err(|e| fail(&e))?;
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
                Some(old @ (1 | 2)) => {
                    if old == 1 {
                        let upgraded =
                            super::migrate::from_version_1(&txn).map_err(|e| fail(&e))?;
                        tracing::info!(upgraded, path = %path.display(), "history upgraded from schema version 1");
                    }
                    // Version 3 only adds the `rooms` table, created below.
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
            txn.open_table(ROOMS).map_err(|e| fail(&e))?;
            txn.open_table(NICKS).map_err(|e| fail(&e))?;
            txn.open_table(IRC_LOGINS).map_err(|e| fail(&e))?;
            txn.open_table(DEDUP_AGE).map_err(|e| fail(&e))?;
            let mut dedup = txn.open_table(DEDUP).map_err(|e| fail(&e))?;
            let cutoff = now_millis().saturating_sub(DEDUP_RETENTION_MILLIS);
            dedup
                .retain(|_, (_, timestamp)| timestamp >= cutoff)
                .map_err(|e| fail(&e))?;
        }
        let usage = Usage::load(&txn, budget).map_err(|e| fail(&e))?;
        txn.commit().map_err(|e| fail(&e))?;
        Ok(usage)
    }

    fn submit(&self, job: Job<W>) {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        match jobs.as_ref() {
            Some(jobs) => {
                if jobs.send(job).is_err() {
                    tracing::error!(path = %self.path.display(), "the history committer has stopped");
                }
            }
            None => tracing::warn!("a message arrived after the history store closed"),
        }
    }

    /// Persists `record` (and the resend key it was accepted under, if
    /// any); `waiter` is reported once it is committed.
    pub(crate) fn persist(
        &self,
        record: &Record<'_>,
        dedup: Option<(ClientId, ClientMsgId)>,
        waiter: Option<W>,
    ) {
        let accepted = Accepted::of(record.message());
        self.submit(Job::Append {
            rows: record.rows(),
            dedup: dedup.map(|key| (key, accepted)),
            waiter,
        });
    }

    /// Stores `meta` as its room's (replacing what was there), without
    /// waiting for the commit.
    pub(crate) fn save_room(&self, meta: &RoomMeta) {
        match encode_payload(meta) {
            Ok(bytes) => self.submit(Job::SaveRoom {
                key: meta.name.folded().to_owned(),
                bytes,
            }),
            Err(err) => tracing::error!(%err, "cannot encode a room for the store"),
        }
    }

    /// Binds `nick` to `client` until `until` (Unix ms), without waiting
    /// for the commit.
    pub(crate) fn bind_nick(&self, nick: &huddle_protocol::Nick, client: ClientId, until: u64) {
        self.submit(Job::BindNick {
            key: nick.folded().to_owned(),
            client: client.as_uuid().as_u128(),
            until,
        });
    }

    /// The stored binding of `nick`: (client, until).
    pub(crate) fn nick_binding(&self, nick: &huddle_protocol::Nick) -> Option<(ClientId, u64)> {
        let read = || -> Result<Option<(u128, u64)>, Box<redb::Error>> {
            let boxed = |err: redb::Error| Box::new(err);
            let txn = self.db.begin_read().map_err(|e| boxed(e.into()))?;
            let table = txn.open_table(NICKS).map_err(|e| boxed(e.into()))?;
            let value = table.get(nick.folded()).map_err(|e| boxed(e.into()))?;
            Ok(value.map(|v| v.value()))
        };
        match read() {
            Ok(found) => found
                .map(|(client, until)| (ClientId::from_uuid(uuid::Uuid::from_u128(client)), until)),
            Err(err) => {
                tracing::error!(%err, path = %self.path.display(), "cannot read a nick binding");
                None
            }
        }
    }

    /// The stored meta of `room`, if it was ever saved.
    pub(crate) fn room(&self, room: &RoomName) -> Option<RoomMeta> {
        let read = || -> Result<Option<Vec<u8>>, Box<redb::Error>> {
            let boxed = |err: redb::Error| Box::new(err);
            let txn = self.db.begin_read().map_err(|e| boxed(e.into()))?;
            let table = txn.open_table(ROOMS).map_err(|e| boxed(e.into()))?;
            let value = table.get(room.folded()).map_err(|e| boxed(e.into()))?;
            Ok(value.map(|v| v.value().to_vec()))
        };
        match read() {
            Ok(bytes) => bytes.and_then(|bytes| match decode_payload(&bytes) {
                Ok(meta) => Some(meta),
                Err(err) => {
                    tracing::error!(%err, %room, "a stored room is unreadable");
                    None
                }
            }),
            Err(err) => {
                tracing::error!(%err, path = %self.path.display(), "cannot read a room");
                None
            }
        }
    }

    /// Reports `waiter` once everything submitted before it is committed.
    pub(crate) fn after_commit(&self, waiter: W) {
        self.submit(Job::AfterCommit(waiter));
    }

    /// The page `request` asks for of the items under `key` that `keep`
    /// accepts, decoded.
    fn scan<T: DeserializeOwned>(
        &self,
        key: &str,
        request: PageRequest,
        keep: impl Fn(&T) -> bool,
    ) -> Page<T> {
        let id = |m: MessageId| m.as_uuid().as_u128();
        let boxed = |err: redb::Error| Box::new(err);
        let limit = request.limit;
        let result = (|| -> Result<Vec<T>, Box<redb::Error>> {
            let txn = self.db.begin_read().map_err(|e| boxed(e.into()))?;
            let table = txn.open_table(MESSAGES).map_err(|e| boxed(e.into()))?;
            let bytes = |row: Result<_, redb::StorageError>| {
                row.map(|(_, v): (_, redb::AccessGuard<&[u8]>)| v.value().to_vec())
            };
            let end = match request.anchor {
                Anchor::After(after) => {
                    let Some(start) = id(after).checked_add(1) else {
                        return Ok(Vec::new());
                    };
                    let rows = table
                        .range((key, start)..=(key, u128::MAX))
                        .map_err(|e| boxed(e.into()))?;
                    return matching(rows.map(bytes), &keep, limit).map_err(|e| boxed(e.into()));
                }
                Anchor::Before(before) => id(before),
                Anchor::Newest => u128::MAX,
            };
            let rows = table
                .range((key, 0u128)..(key, end))
                .map_err(|e| boxed(e.into()))?
                .rev();
            let mut newest_first =
                matching(rows.map(bytes), &keep, limit).map_err(|e| boxed(e.into()))?;
            newest_first.reverse();
            Ok(newest_first)
        })();
        let mut items = match result {
            Ok(items) => items,
            Err(err) => {
                tracing::error!(%err, path = %self.path.display(), "cannot read history");
                return Page::empty();
            }
        };
        let more = items.len() > limit;
        if more {
            if request.forward() {
                items.truncate(limit);
            } else {
                items.remove(0);
            }
        }
        Page { items, more }
    }

    /// The newest `count` messages of `room`, oldest first.
    pub(crate) fn recent(&self, room: &RoomName, count: usize) -> Vec<ChatMessage> {
        self.scan(room.folded(), PageRequest::newest(count), |_| true)
            .items
    }

    /// A page of `room`'s history.
    pub(crate) fn page(&self, room: &RoomName, request: PageRequest) -> Page<ChatMessage> {
        self.scan(room.folded(), request, |_| true)
    }

    /// A page of `owner`'s direct messages, only those exchanged with `with`
    /// if given.
    pub(crate) fn direct_page(
        &self,
        owner: ClientId,
        with: Option<&Nick>,
        request: PageRequest,
    ) -> Page<DirectEntry> {
        self.scan(&mailbox_key(owner), request, |entry: &DirectEntry| {
            crate::page::exchanged_with(entry, with)
        })
    }

    /// The history file's size on disk (0 if it cannot be read).
    pub(crate) fn file_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |meta| meta.len())
    }

    /// Whether the committer still takes jobs (until [`Self::close`]).
    pub(crate) fn is_open(&self) -> bool {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Commits what is queued and stops the committer.
    pub(crate) fn close(&self) {
        drop(
            self.jobs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(committer) = self
            .committer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = committer.join();
        }
    }
}

impl<W> Drop for DiskStore<W> {
    fn drop(&mut self) {
        self.close();
    }
}

mod dedup;
mod irc_logins;
mod search;

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

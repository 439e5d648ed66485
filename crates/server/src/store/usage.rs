//! What the history holds on disk, for the disk budget
//! (`--max-history-bytes`): the size of `messages` (kept in `meta` as
//! `messages_bytes`) and of the resend records (`dedup`, with `dedup_age`),
//! and each room's or mailbox's oldest message id, so that the oldest thing
//! stored — a message in any room or mailbox, or a resend record — is found
//! at once and deleted first when the total passes the budget. Resend
//! records are also deleted as they pass their 24-hour window.

// `redb::Error` is large; these run inside the committer's transaction,
// whose caller boxes it once (`committer::commit`).
#![allow(clippy::result_large_err)]

use std::{
    collections::{BTreeSet, HashMap},
    ops::Bound,
};

use redb::{ReadableTable, ReadableTableMetadata, Table, WriteTransaction};

use super::schema::{DEDUP, DEDUP_RETENTION_MILLIS, MESSAGES, META};
use crate::wall_clock::now_millis;

type Messages<'t> = Table<'t, (&'static str, u128), &'static [u8]>;
type Dedup<'t> = Table<'t, (u128, u128), (u128, u64)>;
type DedupAge<'t> = Table<'t, (u64, u128, u128), ()>;

/// What one resend record costs: its row in `dedup` and in `dedup_age`.
const DEDUP_RECORD_BYTES: u64 = 56 + 40;

/// The time a message id (a UUID v7) was made, in Unix milliseconds.
fn millis_of(id: u128) -> u64 {
    (id >> 80) as u64
}

/// The `meta` key of the total.
const BYTES_KEY: &str = "messages_bytes";

/// What one row costs on disk, about: its key, id and value (redb's own
/// overhead per row is not counted).
pub(super) fn row_bytes(key: &str, value_len: usize) -> u64 {
    (key.len() + 16 + value_len) as u64
}

#[derive(Debug)]
pub(super) struct Usage {
    /// Bytes in `messages`.
    bytes: u64,
    /// Bytes of resend records.
    dedup_bytes: u64,
    budget: u64,
    /// (oldest id, key) for every key with messages.
    oldest: BTreeSet<(u128, String)>,
    oldest_of: HashMap<String, u128>,
}

impl Usage {
    /// Reads the usage of a database at open (counting every row once if
    /// the total was never recorded, as after an upgrade).
    pub(super) fn load(txn: &WriteTransaction, budget: u64) -> Result<Self, redb::Error> {
        let messages = txn.open_table(MESSAGES)?;
        let mut meta = txn.open_table(META)?;
        let recorded = meta.get(BYTES_KEY)?.map(|v| v.value());
        let bytes = match recorded {
            Some(bytes) => bytes,
            None => {
                let mut total = 0;
                for row in messages.iter()? {
                    let (key, value) = row?;
                    total += row_bytes(key.value().0, value.value().len());
                }
                meta.insert(BYTES_KEY, total)?;
                total
            }
        };
        let dedup_rows = txn.open_table(DEDUP)?.len()?;
        let mut usage = Self {
            bytes,
            dedup_bytes: dedup_rows * DEDUP_RECORD_BYTES,
            budget,
            oldest: BTreeSet::new(),
            oldest_of: HashMap::new(),
        };
        // One lookup per key: the first row, then the first row past it.
        let mut after: Option<String> = None;
        loop {
            let first = match &after {
                None => messages.iter()?.next(),
                Some(key) => messages
                    .range::<(&str, u128)>((
                        Bound::Excluded((key.as_str(), u128::MAX)),
                        Bound::Unbounded,
                    ))?
                    .next(),
            };
            let Some(row) = first else { break };
            let (row_key, _) = row?;
            let (key, id) = row_key.value();
            usage.set_oldest(key, Some(id));
            after = Some(key.to_owned());
        }
        Ok(usage)
    }

    fn set_oldest(&mut self, key: &str, id: Option<u128>) {
        if let Some(old) = self.oldest_of.remove(key) {
            self.oldest.remove(&(old, key.to_owned()));
        }
        if let Some(id) = id {
            self.oldest.insert((id, key.to_owned()));
            self.oldest_of.insert(key.to_owned(), id);
        }
    }

    /// A row was inserted, replacing one `replaced` bytes long if any.
    pub(super) fn inserted(
        &mut self,
        key: &str,
        id: u128,
        value_len: usize,
        replaced: Option<usize>,
    ) {
        if let Some(old) = replaced {
            self.bytes = self.bytes.saturating_sub(row_bytes(key, old));
        }
        self.bytes += row_bytes(key, value_len);
        if self.oldest_of.get(key).is_none_or(|oldest| id < *oldest) {
            self.set_oldest(key, Some(id));
        }
    }

    /// Deletes `key`'s oldest `count` rows.
    pub(super) fn delete_oldest(
        &mut self,
        messages: &mut Messages<'_>,
        key: &str,
        count: usize,
    ) -> Result<(), redb::Error> {
        let ids: Vec<u128> = messages
            .range((key, 0u128)..=(key, u128::MAX))?
            .take(count)
            .map(|row| row.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for id in ids {
            if let Some(value) = messages.remove((key, id))? {
                self.bytes = self
                    .bytes
                    .saturating_sub(row_bytes(key, value.value().len()));
            }
        }
        let next = messages
            .range((key, 0u128)..=(key, u128::MAX))?
            .next()
            .transpose()?
            .map(|(k, _)| k.value().1);
        self.set_oldest(key, next);
        Ok(())
    }

    /// A resend record was written.
    pub(super) fn dedup_inserted(&mut self) {
        self.dedup_bytes += DEDUP_RECORD_BYTES;
    }

    fn delete_oldest_dedup(
        &mut self,
        dedup: &mut Dedup<'_>,
        dedup_age: &mut DedupAge<'_>,
        until: u64,
        count: usize,
    ) -> Result<usize, redb::Error> {
        let oldest: Vec<(u64, u128, u128)> = dedup_age
            .range(..(until, 0u128, 0u128))?
            .take(count)
            .map(|row| row.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        for (timestamp, client, client_msg) in &oldest {
            dedup_age.remove((*timestamp, *client, *client_msg))?;
            if dedup.remove((*client, *client_msg))?.is_some() {
                self.dedup_bytes = self.dedup_bytes.saturating_sub(DEDUP_RECORD_BYTES);
            }
        }
        Ok(oldest.len())
    }

    /// Deletes resend records past their window (a bounded number at once),
    /// then the oldest things stored, until the total fits the budget;
    /// returns how many messages went.
    pub(super) fn enforce(
        &mut self,
        messages: &mut Messages<'_>,
        dedup: &mut Dedup<'_>,
        dedup_age: &mut DedupAge<'_>,
    ) -> Result<usize, redb::Error> {
        let cutoff = now_millis().saturating_sub(DEDUP_RETENTION_MILLIS);
        self.delete_oldest_dedup(dedup, dedup_age, cutoff, 1000)?;
        let mut deleted = 0;
        while self.bytes + self.dedup_bytes > self.budget {
            let message = self
                .oldest
                .first()
                .map(|(id, key)| (millis_of(*id), key.clone()));
            let record = dedup_age.first()?.map(|(k, _)| k.value().0);
            match (message, record) {
                (Some((at, _)), Some(record)) if record <= at => {
                    self.delete_oldest_dedup(dedup, dedup_age, record + 1, 1)?;
                }
                (Some((_, key)), _) => {
                    self.delete_oldest(messages, &key, 1)?;
                    deleted += 1;
                }
                (None, Some(record)) => {
                    self.delete_oldest_dedup(dedup, dedup_age, record + 1, 1)?;
                }
                (None, None) => break,
            }
        }
        Ok(deleted)
    }

    /// Records the total in `meta`, in the transaction being committed.
    pub(super) fn record(&self, txn: &WriteTransaction) -> Result<(), redb::Error> {
        txn.open_table(META)?.insert(BYTES_KEY, self.bytes)?;
        Ok(())
    }

    /// Everything counted against the budget.
    #[cfg(test)]
    fn bytes(&self) -> u64 {
        self.bytes + self.dedup_bytes
    }
}

#[cfg(test)]
mod tests {
    use redb::Database;

    use super::*;
    use crate::store::schema::DEDUP_AGE;

    #[test]
    fn the_oldest_message_anywhere_goes_first_until_the_total_fits() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("t.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut messages = txn.open_table(MESSAGES).unwrap();
            for (key, id) in [("#a", 1), ("#a", 4), ("#b", 2), ("@c", 3)] {
                messages.insert((key, id), [0u8; 100].as_slice()).unwrap();
            }
        }
        let row = row_bytes("#a", 100);
        let mut usage = Usage::load(&txn, 2 * row).unwrap();
        assert_eq!(usage.bytes(), 4 * row, "counted once at load");
        {
            let mut messages = txn.open_table(MESSAGES).unwrap();
            let mut dedup = txn.open_table(DEDUP).unwrap();
            let mut dedup_age = txn.open_table(DEDUP_AGE).unwrap();
            assert_eq!(
                usage
                    .enforce(&mut messages, &mut dedup, &mut dedup_age)
                    .unwrap(),
                2
            );
            let left: Vec<(String, u128)> = messages
                .iter()
                .unwrap()
                .map(|row| {
                    let (key, _) = row.unwrap();
                    let (name, id) = key.value();
                    (name.to_owned(), id)
                })
                .collect();
            assert_eq!(left, [("#a".to_owned(), 4), ("@c".to_owned(), 3)]);
        }
        assert_eq!(usage.bytes(), 2 * row);
    }
}

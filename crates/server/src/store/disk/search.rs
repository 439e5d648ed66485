//! Searching stored messages (`hub/search.rs`): a room's or a mailbox's
//! rows from the newest back, within a budget of rows read.

use huddle_protocol::{ChatMessage, ClientId, DirectEntry, MessageId, RoomName, decode_payload};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::DiskStore;
use crate::{
    page::Scanned,
    store::schema::{MESSAGES, mailbox_key},
};

impl<W> DiskStore<W> {
    /// For a search: the newest items under `key` older than `before` that
    /// `keep` accepts, at most `limit`, reading at most `budget` rows.
    fn search<T: DeserializeOwned>(
        &self,
        key: &str,
        before: Option<MessageId>,
        keep: impl Fn(&T) -> bool,
        limit: usize,
        budget: usize,
    ) -> Scanned<T> {
        let end = before.map_or(u128::MAX, |before| before.as_uuid().as_u128());
        let boxed = |err: redb::Error| Box::new(err);
        let result = (|| -> Result<Scanned<T>, Box<redb::Error>> {
            let txn = self.db.begin_read().map_err(|e| boxed(e.into()))?;
            let table = txn.open_table(MESSAGES).map_err(|e| boxed(e.into()))?;
            let rows = table
                .range((key, 0u128)..(key, end))
                .map_err(|e| boxed(e.into()))?
                .rev();
            let mut failure = None;
            let decoded = rows.map_while(|row| match row {
                Ok((k, v)) => Some((k.value().1, decode_payload::<T>(v.value()).ok())),
                Err(err) => {
                    failure = Some(err);
                    None
                }
            });
            let scanned = Scanned::newest(
                decoded,
                |(id, _)| MessageId::from_uuid(Uuid::from_u128(*id)),
                |(_, item)| item.as_ref().is_some_and(&keep),
                limit,
                budget,
            );
            if let Some(err) = failure {
                return Err(boxed(err.into()));
            }
            Ok(Scanned {
                hits: scanned
                    .hits
                    .into_iter()
                    .filter_map(|(_, item)| item)
                    .collect(),
                frontier: scanned.frontier,
            })
        })();
        result.unwrap_or_else(|err| {
            tracing::error!(%err, path = %self.path.display(), "cannot search history");
            Scanned {
                hits: Vec::new(),
                frontier: None,
            }
        })
    }

    /// A search of `room`'s stored messages (see [`Self::search`]).
    pub(crate) fn search_room(
        &self,
        room: &RoomName,
        before: Option<MessageId>,
        keep: impl Fn(&ChatMessage) -> bool,
        limit: usize,
        budget: usize,
    ) -> Scanned<ChatMessage> {
        self.search(room.folded(), before, keep, limit, budget)
    }

    /// A search of `owner`'s stored direct messages (see [`Self::search`]).
    pub(crate) fn search_mailbox(
        &self,
        owner: ClientId,
        before: Option<MessageId>,
        keep: impl Fn(&DirectEntry) -> bool,
        limit: usize,
        budget: usize,
    ) -> Scanned<DirectEntry> {
        self.search(&mailbox_key(owner), before, keep, limit, budget)
    }
}

//! The store's resend records (`schema::DEDUP`): what a client's message
//! ids were accepted as, read when the client connects so that a resend
//! after a restart is acknowledged again instead of stored twice.

use huddle_protocol::{ClientId, ClientMsgId, MessageId};
use uuid::Uuid;

use super::DiskStore;
use crate::{
    store::{
        record::Accepted,
        schema::{DEDUP, DEDUP_RETENTION_MILLIS},
    },
    wall_clock::now_millis,
};

impl<W> DiskStore<W> {
    /// The message ids `client` had accepted within the dedup window,
    /// oldest first, at most the newest `max` of them.
    pub(crate) fn dedup_rows(&self, client: ClientId, max: usize) -> Vec<(ClientMsgId, Accepted)> {
        let key = client.as_uuid().as_u128();
        let cutoff = now_millis().saturating_sub(DEDUP_RETENTION_MILLIS);
        let read = || -> Result<Vec<(ClientMsgId, Accepted)>, Box<redb::Error>> {
            let boxed = |err: redb::Error| Box::new(err);
            let txn = self.db.begin_read().map_err(|e| boxed(e.into()))?;
            let table = txn.open_table(DEDUP).map_err(|e| boxed(e.into()))?;
            let mut rows = Vec::new();
            for row in table
                .range((key, 0u128)..=(key, u128::MAX))
                .map_err(|e| boxed(e.into()))?
            {
                let (k, v) = row.map_err(|e| boxed(e.into()))?;
                let (message, timestamp) = v.value();
                if timestamp >= cutoff {
                    let accepted = Accepted {
                        id: MessageId::from_uuid(Uuid::from_u128(message)),
                        timestamp,
                    };
                    rows.push((
                        ClientMsgId::from_uuid(Uuid::from_u128(k.value().1)),
                        accepted,
                    ));
                }
            }
            rows.sort_by_key(|(_, accepted)| accepted.timestamp);
            let excess = rows.len().saturating_sub(max);
            rows.drain(..excess);
            Ok(rows)
        };
        read().unwrap_or_else(|err| {
            tracing::error!(%err, path = %self.path.display(), "cannot read resend ids");
            Vec::new()
        })
    }
}

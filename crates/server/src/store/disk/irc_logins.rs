//! The store's IRC logins (`hub/irc_logins.rs`): one record per key,
//! written through the committer, read directly.

use huddle_protocol::ClientId;
use redb::ReadableTable;
use uuid::Uuid;

use super::{DiskStore, Job};
use crate::store::schema::IRC_LOGINS;

impl<W> DiskStore<W> {
    /// Saves (or, `None`, deletes) `client`'s IRC login, without waiting
    /// for the commit.
    pub(crate) fn save_irc_login(&self, client: ClientId, bytes: Option<Vec<u8>>) {
        self.submit(Job::SaveIrcLogin {
            client: client.as_uuid().as_u128(),
            bytes,
        });
    }

    /// `client`'s stored IRC login, encoded.
    pub(crate) fn irc_login(&self, client: ClientId) -> Option<Vec<u8>> {
        let read = || -> Result<Option<Vec<u8>>, Box<redb::Error>> {
            let boxed = |err: redb::Error| Box::new(err);
            let txn = self.db.begin_read().map_err(|e| boxed(e.into()))?;
            let table = txn.open_table(IRC_LOGINS).map_err(|e| boxed(e.into()))?;
            let value = table
                .get(client.as_uuid().as_u128())
                .map_err(|e| boxed(e.into()))?;
            Ok(value.map(|v| v.value().to_vec()))
        };
        read().unwrap_or_else(|err| {
            tracing::error!(%err, path = %self.path.display(), "cannot read an IRC login");
            None
        })
    }

    /// Every stored IRC login, encoded.
    pub(crate) fn irc_logins(&self) -> Vec<(ClientId, Vec<u8>)> {
        let read = || -> Result<Vec<(ClientId, Vec<u8>)>, Box<redb::Error>> {
            let boxed = |err: redb::Error| Box::new(err);
            let txn = self.db.begin_read().map_err(|e| boxed(e.into()))?;
            let table = txn.open_table(IRC_LOGINS).map_err(|e| boxed(e.into()))?;
            let mut all = Vec::new();
            for row in table.iter().map_err(|e| boxed(e.into()))? {
                let (client, bytes) = row.map_err(|e| boxed(e.into()))?;
                let client = ClientId::from_uuid(Uuid::from_u128(client.value()));
                all.push((client, bytes.value().to_vec()));
            }
            Ok(all)
        };
        read().unwrap_or_else(|err| {
            tracing::error!(%err, path = %self.path.display(), "cannot read the IRC logins");
            Vec::new()
        })
    }
}

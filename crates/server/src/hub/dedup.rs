//! Which client messages were already accepted, so a resend is acknowledged
//! with the original id instead of being delivered twice. Kept **per
//! client**: each client's own newest ids (at most [`PER_CLIENT`], none
//! older than [`WINDOW_MILLIS`]), so no other client's traffic can push a
//! client's ids out, however much of it there is. A client's ids are loaded
//! from the store when it connects (`Hub::register`), so they survive
//! restarts and this map's own bound on clients.

use std::collections::{HashMap, VecDeque};

use huddle_protocol::{ClientId, ClientMsgId};

use crate::store::Accepted;

/// Ids remembered per client: far more than a client's outbox ever holds.
pub(crate) const PER_CLIENT: usize = 4096;

/// How long an accepted id is recognised (wall clock: it is stored).
const WINDOW_MILLIS: u64 = crate::store::DEDUP_RETENTION_MILLIS;

/// Clients remembered in memory; the least recently active go first (a
/// connecting client's ids are loaded again from the store).
const MAX_CLIENTS: usize = 20_000;

#[derive(Debug, Default)]
struct ClientIds {
    accepted: HashMap<ClientMsgId, Accepted>,
    order: VecDeque<ClientMsgId>,
    /// When this client last touched the map (a counter, for eviction).
    touched: u64,
}

impl ClientIds {
    fn insert(&mut self, id: ClientMsgId, accepted: Accepted) {
        if self.accepted.insert(id, accepted).is_none() {
            self.order.push_back(id);
        }
        let cutoff = accepted.timestamp.saturating_sub(WINDOW_MILLIS);
        while let Some(oldest) = self.order.front() {
            let expired = self
                .accepted
                .get(oldest)
                .is_none_or(|a| a.timestamp < cutoff);
            if self.order.len() <= PER_CLIENT && !expired {
                break;
            }
            if let Some(oldest) = self.order.pop_front() {
                self.accepted.remove(&oldest);
            }
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Dedup {
    clients: HashMap<ClientId, ClientIds>,
    tick: u64,
}

impl Dedup {
    fn touch(&mut self, client: ClientId) -> &mut ClientIds {
        self.tick += 1;
        if !self.clients.contains_key(&client) && self.clients.len() >= MAX_CLIENTS {
            self.evict_idlest();
        }
        let ids = self.clients.entry(client).or_default();
        ids.touched = self.tick;
        ids
    }

    /// Forgets the least recently active eighth of the clients.
    fn evict_idlest(&mut self) {
        let mut touched: Vec<u64> = self.clients.values().map(|ids| ids.touched).collect();
        let cut = touched.len() / 8;
        let (_, threshold, _) = touched.select_nth_unstable(cut);
        let threshold = *threshold;
        self.clients.retain(|_, ids| ids.touched > threshold);
    }

    /// Whether `client`'s ids are in memory (else load them first).
    pub(crate) fn knows(&self, client: ClientId) -> bool {
        self.clients.contains_key(&client)
    }

    pub(crate) fn get(&mut self, client: ClientId, id: ClientMsgId) -> Option<Accepted> {
        self.clients.get(&client)?.accepted.get(&id).copied()
    }

    pub(crate) fn insert(&mut self, client: ClientId, id: ClientMsgId, accepted: Accepted) {
        self.touch(client).insert(id, accepted);
    }

    /// Loads `client`'s ids (oldest first), marking it known even if empty.
    pub(crate) fn load(&mut self, client: ClientId, rows: Vec<(ClientMsgId, Accepted)>) {
        let ids = self.touch(client);
        for (id, accepted) in rows {
            ids.insert(id, accepted);
        }
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::MessageId;
    use uuid::Uuid;

    use super::*;

    fn accepted(n: u128, timestamp: u64) -> Accepted {
        Accepted {
            id: MessageId::from_uuid(Uuid::from_u128(n)),
            timestamp,
        }
    }

    #[test]
    fn each_client_keeps_its_own_newest_ids_whatever_the_others_send() {
        let mut dedup = Dedup::default();
        let (alice, bob) = (ClientId::random(), ClientId::random());
        let hers = ClientMsgId::random();
        dedup.insert(alice, hers, accepted(1, 1_000));
        for n in 0..(PER_CLIENT as u128 * 3) {
            dedup.insert(bob, ClientMsgId::random(), accepted(n, 1_000));
        }
        assert_eq!(dedup.get(alice, hers), Some(accepted(1, 1_000)));
        assert_eq!(
            dedup.clients[&bob].order.len(),
            PER_CLIENT,
            "bob's own bound"
        );
        assert!(dedup.get(bob, hers).is_none(), "ids are per client");
    }

    #[test]
    fn ids_older_than_the_window_are_forgotten() {
        let mut dedup = Dedup::default();
        let alice = ClientId::random();
        let old = ClientMsgId::random();
        dedup.insert(alice, old, accepted(1, 1_000));
        dedup.insert(
            alice,
            ClientMsgId::random(),
            accepted(2, 1_000 + WINDOW_MILLIS + 1),
        );
        assert!(dedup.get(alice, old).is_none());
    }
}

//! Which client messages were already accepted, so a resend is acknowledged
//! with the original id instead of being delivered twice. Bounded: the
//! oldest entries go first. Loaded from the store's `dedup` table at start.

use std::collections::{HashMap, VecDeque};

use huddle_protocol::{ClientId, ClientMsgId};

use crate::store::Accepted;

#[derive(Debug, Default)]
pub(crate) struct Dedup {
    seen: HashMap<(ClientId, ClientMsgId), Accepted>,
    order: VecDeque<(ClientId, ClientMsgId)>,
    capacity: usize,
}

impl Dedup {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    pub(crate) fn get(&self, client: ClientId, id: ClientMsgId) -> Option<Accepted> {
        self.seen.get(&(client, id)).copied()
    }

    pub(crate) fn insert(&mut self, client: ClientId, id: ClientMsgId, accepted: Accepted) {
        if self.seen.insert((client, id), accepted).is_none() {
            self.order.push_back((client, id));
        }
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::MessageId;
    use uuid::Uuid;

    use super::*;

    fn accepted(n: u128) -> Accepted {
        Accepted {
            id: MessageId::from_uuid(Uuid::from_u128(n)),
            timestamp: 0,
        }
    }

    #[test]
    fn dedup_is_bounded_oldest_first() {
        let mut dedup = Dedup::new(2);
        let client = ClientId::random();
        let ids: Vec<ClientMsgId> = (0..3).map(|_| ClientMsgId::random()).collect();
        for (n, id) in ids.iter().enumerate() {
            dedup.insert(client, *id, accepted(n as u128));
        }
        assert!(dedup.get(client, ids[0]).is_none());
        assert_eq!(dedup.get(client, ids[2]), Some(accepted(2)));
        assert!(dedup.get(ClientId::random(), ids[2]).is_none());
    }
}

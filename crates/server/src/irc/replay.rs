//! What each IRC "device" has already been shown of each room, so that a
//! reconnect does not replay the same history twice (weechat and irssi
//! rejoin on reconnect and cannot tell a replayed line from a new one).
//! A device is the username from `USER` with the nick, as soju keys its
//! replay by client name. In memory, bounded: the oldest devices are
//! forgotten first (then they see the room's history again, once).

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
};

use huddle_protocol::MessageId;

/// Devices remembered.
const MAX_DEVICES: usize = 4096;

/// The newest message each device saw in each room (by folded name).
#[derive(Debug, Default)]
pub(crate) struct ReplayMarks {
    inner: Mutex<Marks>,
}

#[derive(Debug, Default)]
struct Marks {
    seen: HashMap<String, HashMap<String, MessageId>>,
    order: VecDeque<String>,
}

impl ReplayMarks {
    /// The newest message `device` saw in `room`, if any.
    pub(crate) fn seen(&self, device: &str, room: &str) -> Option<MessageId> {
        let marks = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        marks.seen.get(device)?.get(room).copied()
    }

    /// Records what `device` saw during a connection.
    pub(crate) fn save(&self, device: &str, rooms: HashMap<String, MessageId>) {
        let mut marks = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if !marks.seen.contains_key(device) {
            marks.order.push_back(device.to_owned());
            if marks.order.len() > MAX_DEVICES
                && let Some(oldest) = marks.order.pop_front()
            {
                marks.seen.remove(&oldest);
            }
        }
        let known = marks.seen.entry(device.to_owned()).or_default();
        for (room, id) in rooms {
            let newest = known.entry(room).or_insert(id);
            *newest = (*newest).max(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_seen_is_kept_per_device_and_room() {
        let marks = ReplayMarks::default();
        let id = |n| MessageId::from_uuid(uuid::Uuid::from_u128(n));
        let (old, new) = (id(1), id(2));
        marks.save("u/alice", HashMap::from([("#lan".to_owned(), new)]));
        marks.save("u/alice", HashMap::from([("#lan".to_owned(), old)]));
        assert_eq!(marks.seen("u/alice", "#lan"), Some(new));
        assert_eq!(marks.seen("u/bob", "#lan"), None);
        assert_eq!(marks.seen("u/alice", "#ops"), None);
    }
}

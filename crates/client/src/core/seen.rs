//! De-duplication of what the server streams: a chat message is given to
//! the view once, whether it arrives live, in a room's join backlog, in the
//! gap filled after a reconnect, or again under a new server id because
//! the server crashed between relaying and storing it and the sender sent
//! it again. **Invariant:** the key is the sender's client message id (the
//! same in every copy), remembered for the newest [`REMEMBERED`] messages.

use std::collections::{HashSet, VecDeque};

use huddle_protocol::{ClientMsgId, Nick};

/// A message as its sender named it.
type Origin = (Nick, ClientMsgId);

/// Origins remembered: far more than a gap fill or a backlog brings back.
const REMEMBERED: usize = 8192;

#[derive(Debug, Default)]
pub(crate) struct Seen {
    set: HashSet<Origin>,
    order: VecDeque<Origin>,
}

impl Seen {
    /// Records the message `from` sent as `origin`; false if it was seen
    /// already.
    pub(crate) fn first_time(&mut self, from: &Nick, origin: ClientMsgId) -> bool {
        let key = (from.clone(), origin);
        if self.set.contains(&key) {
            return false;
        }
        self.set.insert(key.clone());
        self.order.push_back(key);
        if self.order.len() > REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_refused_and_the_memory_is_bounded() {
        let mut seen = Seen::default();
        let (bob, carol) = (Nick::new("bob").unwrap(), Nick::new("carol").unwrap());
        let first = ClientMsgId::random();
        assert!(seen.first_time(&bob, first));
        assert!(!seen.first_time(&bob, first));
        assert!(
            seen.first_time(&carol, first),
            "another sender's id is not a copy"
        );
        for _ in 0..REMEMBERED {
            seen.first_time(&bob, ClientMsgId::random());
        }
        assert_eq!(seen.set.len(), REMEMBERED);
        assert!(
            seen.first_time(&bob, first),
            "forgotten after REMEMBERED others"
        );
    }
}

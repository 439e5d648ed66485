//! Acks wait for the node's own fan-out: a sender is acknowledged only
//! once JetStream stored its message **and** this node's consumer handed
//! it (and everything before it in the stream) to the local members. As on
//! a single server, where the fan-out happens before the ack, a sender
//! paced by its acks cannot outrun the delivery to the members of its own
//! node (their queues would overflow and drop them as slow), and the
//! sender has seen every message before its own when the ack comes.
//! Plain state; the publisher and the fan-out share it under a mutex.

use std::collections::BTreeMap;

/// Acks waiting for the fan-out of one stream to reach their sequence.
#[derive(Debug)]
pub(crate) struct AckGate<T> {
    /// Every sequence up to this one has been fanned out here.
    through: u64,
    waiting: BTreeMap<u64, Vec<T>>,
}

impl<T> Default for AckGate<T> {
    fn default() -> Self {
        Self {
            through: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<T> AckGate<T> {
    /// `ack` for the message at `sequence`: given back at once if the
    /// fan-out is there already, else kept until it is.
    pub(crate) fn after(&mut self, sequence: u64, ack: T) -> Option<T> {
        if sequence <= self.through {
            return Some(ack);
        }
        self.waiting.entry(sequence).or_default().push(ack);
        None
    }

    /// The fan-out reached `sequence`: the acks it releases.
    pub(crate) fn reached(&mut self, sequence: u64) -> Vec<T> {
        self.through = self.through.max(sequence);
        let later = self.waiting.split_off(&(self.through + 1));
        let released = std::mem::replace(&mut self.waiting, later);
        released.into_values().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ack_waits_for_the_fanout_to_reach_its_sequence() {
        let mut gate = AckGate::default();
        assert_eq!(gate.after(3, "c"), None);
        assert_eq!(gate.after(1, "a"), None);
        assert_eq!(gate.reached(1), vec!["a"]);
        assert_eq!(gate.after(5, "e"), None);
        assert_eq!(gate.reached(4), vec!["c"]);
        // Already fanned out: released at once.
        assert_eq!(gate.after(2, "b"), Some("b"));
        assert_eq!(gate.reached(9), vec!["e"]);
        assert!(gate.reached(10).is_empty());
    }
}

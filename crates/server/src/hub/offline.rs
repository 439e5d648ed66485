//! Direct messages to a nick whose holder is offline: while the nick is
//! bound to a key (`nick_bindings.rs`), a direct message to it is accepted
//! and kept in that key's mailbox, where its holder finds it on coming back
//! (the gap a client fills after reconnecting, or the recent conversations
//! a new client restores). The sender is told once that the recipient is
//! offline, until the recipient comes back. A nick nobody holds or has
//! held within the binding time is still `NoSuchNick`. In cluster mode the
//! publisher does the same with the cluster's bindings
//! (`cluster/bindings.rs`, `BoundNicks::holder`), without the notice.

use std::collections::{HashMap, HashSet};

use huddle_protocol::{ClientId, Nick, ServerMessage};

use super::{Caller, Hub, lock, now_millis, send};

/// Most offline nicks whose senders were told, remembered at once (past
/// that, the memory is cleared: a sender may be told twice).
const MAX_TOLD_NICKS: usize = 10_000;

/// Who has been told, per offline nick (folded), that its holder is away.
#[derive(Debug, Default)]
pub(crate) struct OfflineTold {
    told: HashMap<String, HashSet<ClientId>>,
}

impl Hub {
    /// The key `to` is bound to while nobody online holds it, if the
    /// binding has not ended: a direct message to it waits in that key's
    /// mailbox.
    pub(super) fn offline_holder(&self, to: &Nick) -> Option<ClientId> {
        if self.nick_hold_millis == 0 {
            return None;
        }
        let binding = self.binding_of(to)?;
        (binding.until > now_millis()).then_some(binding.client)
    }

    /// After a direct message kept for offline `to`: tells the caller so,
    /// once until `to` comes back.
    pub(super) fn reply_offline(&self, caller: Caller<'_>, to: &Nick) {
        let first = {
            let mut told = lock(&self.offline_told);
            if told.told.len() >= MAX_TOLD_NICKS && !told.told.contains_key(to.folded()) {
                told.told.clear();
            }
            told.told
                .entry(to.folded().to_owned())
                .or_default()
                .insert(caller.client)
        };
        let text =
            format!("{to} is offline; your messages wait in their mailbox until they are back");
        if first && let Ok(text) = huddle_protocol::ChatText::new(text) {
            send(caller.outbound, &ServerMessage::Notice { text });
        }
    }

    /// `nick` is held again: its senders are told afresh when it leaves.
    pub(super) fn back_online(&self, nick: &Nick) {
        let mut told = lock(&self.offline_told);
        if told.told.remove(nick.folded()).is_some() && told.told.is_empty() {
            told.told.shrink_to_fit();
        }
    }
}

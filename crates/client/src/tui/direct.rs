//! Direct-message history from the server's mailbox for this client id:
//! recent conversations restored on the first connection, the gap filled
//! after a reconnect, and one conversation paged back when scrolled to its
//! top.

use huddle_protocol::{ClientMessage, DirectEntry, MessageId, Nick, limits::MAX_HISTORY_PAGE};

use super::{
    app::{App, Effect},
    buffer::{BufferKind, LineKind},
};

/// Direct messages fetched on the first connection, to restore recent
/// conversations.
const RESTORED_ON_CONNECT: u16 = 50;

fn fetch(with: Option<Nick>, before: Option<MessageId>, after: Option<MessageId>) -> Effect {
    Effect::Send(ClientMessage::FetchDirectHistory {
        with,
        before,
        after,
        limit: MAX_HISTORY_PAGE,
    })
}

/// Asks for the page before the oldest message of the conversation with
/// `with`.
pub(super) fn fetch_older(with: &Nick, oldest: Option<MessageId>) -> Effect {
    fetch(Some(with.clone()), oldest, None)
}

impl App {
    /// The newest direct message the stream brought to any conversation
    /// (not an ack of our own: see `Buffer::streamed`).
    fn newest_direct_id(&self) -> Option<MessageId> {
        self.buffers
            .iter()
            .filter(|b| matches!(b.kind, BufferKind::Direct(_)))
            .filter_map(|b| b.streamed)
            .max()
    }

    /// What to ask for once connected: the recent conversations the first
    /// time, everything after the newest one seen after a reconnect (the
    /// newest page if none was seen).
    pub(super) fn direct_history_on_connect(&mut self, reconnecting: bool) -> Effect {
        if !reconnecting {
            return Effect::Send(ClientMessage::FetchDirectHistory {
                with: None,
                before: None,
                after: None,
                limit: RESTORED_ON_CONNECT,
            });
        }
        let after = self.newest_direct_id();
        self.direct_catching_up = after.is_some();
        fetch(None, None, after)
    }

    /// Files a page of direct messages into their conversations' buffers.
    pub(super) fn on_direct_history(
        &mut self,
        with: Option<Nick>,
        messages: &[DirectEntry],
        more: bool,
    ) -> Vec<Effect> {
        for entry in messages {
            if !entry.outgoing && self.is_ignored(&entry.message.from) {
                continue;
            }
            let index = self.buffer_for(BufferKind::Direct(entry.peer().clone()));
            let (mut line, _) = self.chat_line(&entry.message);
            if let LineKind::Chat { own, mention, .. } = &mut line.kind {
                *own = entry.outgoing;
                *mention = false;
            }
            let buffer = &mut self.buffers[index];
            if with.is_none() {
                // Pages of the whole mailbox are contiguous runs of it.
                buffer.mark_streamed(entry.message.id);
            }
            let unseen = !buffer.has_id(entry.message.id);
            buffer.merge_history(vec![line]);
            if self.direct_catching_up && unseen && index != self.current {
                buffer.unread += 1;
            }
        }
        if let Some(with) = with {
            let index = self.buffer_for(BufferKind::Direct(with));
            let buffer = &mut self.buffers[index];
            buffer.fetching = false;
            buffer.history_complete = !more;
            return Vec::new();
        }
        if self.direct_catching_up {
            match (more, self.newest_direct_id()) {
                (true, Some(after)) => return vec![fetch(None, None, Some(after))],
                _ => self.direct_catching_up = false,
            }
        }
        Vec::new()
    }
}

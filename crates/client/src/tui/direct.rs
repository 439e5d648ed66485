//! Direct-message history from the server's mailbox: recent conversations
//! restored on the first connection and what arrived while disconnected
//! (both fetched by the core: `CoreEvent::DirectBacklog`), and one
//! conversation paged back when scrolled to its top.

use huddle_protocol::{ClientMessage, DirectEntry, MessageId, Nick, limits::MAX_HISTORY_PAGE};

use super::{
    app::{App, Effect},
    buffer::{BufferKind, LineKind},
};

/// Asks for the page before the oldest message of the conversation with
/// `with`.
pub(super) fn fetch_older(with: &Nick, oldest: Option<MessageId>) -> Effect {
    Effect::Send(ClientMessage::FetchDirectHistory {
        with: Some(with.clone()),
        before: oldest,
        after: None,
        limit: MAX_HISTORY_PAGE,
    })
}

impl App {
    /// Files direct messages into their conversations' buffers; those
    /// `missed` while disconnected count as unread.
    pub(super) fn on_direct_backlog(&mut self, entries: &[DirectEntry], missed: bool) {
        for entry in entries {
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
            let unseen = !buffer.has_id(entry.message.id);
            buffer.merge_history(vec![line]);
            if missed && unseen && index != self.current {
                buffer.unread += 1;
            }
        }
    }

    /// A page of one conversation's older history, asked for by scrolling.
    pub(super) fn on_direct_history(
        &mut self,
        with: Option<Nick>,
        messages: &[DirectEntry],
        more: bool,
    ) -> Vec<Effect> {
        self.on_direct_backlog(messages, false);
        if let Some(with) = with {
            let index = self.buffer_for(BufferKind::Direct(with));
            let buffer = &mut self.buffers[index];
            buffer.fetching = false;
            buffer.history_complete = !more;
        }
        Vec::new()
    }
}

//! `--history N`: a room's last messages printed on joining it, marked as
//! history, so a bot can catch up on what it missed.

use huddle_protocol::{
    ChatMessage, ClientMessage, RoomName, ServerMessage, limits::MAX_HISTORY_PAGE,
};
use tokio::io::AsyncWrite;

use super::{Plain, PlainError, format_event, marked};
use crate::core::CoreEvent;

impl<W: AsyncWrite + Unpin> Plain<W> {
    /// Prints the newest `count` messages of `room`, marked as history, so
    /// a bot can catch up on what it missed.
    pub(super) async fn print_history(
        &mut self,
        room: &RoomName,
        count: usize,
    ) -> Result<(), PlainError> {
        let mut messages: Vec<ChatMessage> = Vec::new();
        let mut before = None;
        while messages.len() < count {
            let want = (count - messages.len()).min(usize::from(MAX_HISTORY_PAGE));
            self.request(ClientMessage::FetchHistory {
                room: room.clone(),
                before,
                after: None,
                limit: u16::try_from(want).unwrap_or(MAX_HISTORY_PAGE),
            });
            let (page, more) = loop {
                match self.next_event().await? {
                    CoreEvent::Frame(ServerMessage::HistoryPage {
                        room: of,
                        messages,
                        more,
                    }) if of == *room => break (messages, more),
                    other => self.on_event(other).await?,
                }
            };
            before = page.first().map(|m| m.id);
            let done = page.is_empty() || !more;
            messages.splice(0..0, page);
            if done {
                break;
            }
        }
        for message in &messages {
            let time = utc(message.timestamp);
            if let Some(line) = format_event(&ServerMessage::Chat(message.clone())) {
                self.print(&marked(&line, &format!("history {time}")))
                    .await?;
            }
        }
        Ok(())
    }
}

/// A server timestamp (Unix ms) as `2026-11-30 10:00:00 UTC`.
pub(super) fn utc(timestamp: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(timestamp).unwrap_or(0))
        .map_or_else(String::new, |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        })
}

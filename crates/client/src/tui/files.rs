//! File transfers as part of the app's model: the server's file frames go
//! to the transfer engine (`transfer.rs`), whose replies go out through the
//! client core like any request and whose events become one line per
//! transfer, updated in place; `/accept`, `/reject`, `/cancel` and a
//! prepared `/send` are handled here. Reading and hashing a file to offer
//! is the one step left to the event loop (it blocks).

use huddle_protocol::{Nick, ServerMessage, Target};

use super::{
    app::{App, Effect},
    buffer::{BufferKind, Line, LineKind},
};
use crate::transfer::{Among, PreparedOffer, TransferError};

/// A file read and hashed for `/send`, or why it could not be.
#[derive(Debug)]
pub struct Prepared {
    /// As the user typed it.
    pub path: String,
    pub target: Target,
    pub offer: Result<PreparedOffer, TransferError>,
}

impl App {
    /// A file frame from the server: the engine's replies, and its events
    /// shown.
    pub(super) fn on_file_frame(&mut self, message: &ServerMessage) -> Vec<Effect> {
        let (replies, events) = self.transfers.on_message(message);
        for event in events {
            self.on_transfer(event);
        }
        replies.into_iter().map(Effect::Send).collect()
    }

    /// The connection is gone: transfers under way cannot go on.
    pub(super) fn abandon_transfers(&mut self) {
        for event in self.transfers.abandon_all("the connection was lost") {
            self.on_transfer(event);
        }
    }

    /// `/accept` or `/reject` the offer whose id starts with `prefix` (the
    /// latest if none).
    pub(super) fn answer_file(&mut self, prefix: Option<&str>, accept: bool) -> Vec<Effect> {
        let Some(id) = self.transfers.resolve(prefix, Among::Offers) else {
            self.notice_here("No file offer is waiting".into());
            return Vec::new();
        };
        let answer = if accept {
            self.transfers.accept(id)
        } else {
            self.transfers.reject(id)
        };
        match answer {
            Ok(answer) => {
                if !accept {
                    self.notice_here("File offer declined".into());
                }
                vec![Effect::Send(answer)]
            }
            Err(err) => {
                self.notice_here(err.to_string());
                Vec::new()
            }
        }
    }

    /// `/cancel` the transfer whose id starts with `prefix` (the latest if
    /// none).
    pub(super) fn cancel_file(&mut self, prefix: Option<&str>) -> Vec<Effect> {
        let cancel = self
            .transfers
            .resolve(prefix, Among::Active)
            .and_then(|id| self.transfers.cancel(id, "cancelled"));
        match cancel {
            Some(cancel) => vec![Effect::Send(cancel)],
            None => {
                self.notice_here("No transfer to cancel".into());
                Vec::new()
            }
        }
    }

    /// A file is read and hashed: offer it, or say why not where `/send`
    /// was typed.
    pub(super) fn offer_prepared(&mut self, prepared: Prepared) -> Vec<Effect> {
        match prepared.offer {
            Ok(offer) => {
                let (_, offer) = self.transfers.offer_prepared(offer, prepared.target);
                vec![Effect::Send(offer)]
            }
            Err(err) => {
                let text = format!("Cannot send {}: {err}", prepared.path);
                self.error_for(&prepared.target, text);
                Vec::new()
            }
        }
    }

    /// Shows a transfer event: one line per transfer, updated in place.
    pub(super) fn on_transfer(&mut self, event: crate::transfer::TransferEvent) {
        use crate::transfer::TransferEvent;
        let text = crate::transfer::describe(&event);
        let (id, finished) = match &event {
            TransferEvent::Progress { id, .. } => (Some(*id), false),
            TransferEvent::Completed { id, .. } | TransferEvent::Failed { id, .. } => {
                (Some(*id), true)
            }
            TransferEvent::Offered { id, .. } => (Some(*id), false),
            TransferEvent::Notice(_) => (None, false),
        };
        let kind = if matches!(event, TransferEvent::Failed { .. }) {
            LineKind::Error
        } else {
            LineKind::Notice
        };
        let existing =
            id.and_then(|id| self.transfer_lines.get(&id).cloned().map(|kind| (id, kind)));
        let updated = existing.and_then(|(id, buffer)| {
            let index = self.buffer_index(&buffer)?;
            let line = self.buffers[index]
                .lines
                .iter_mut()
                .rev()
                .find(|l| l.transfer == Some(id))?;
            line.text = text.clone();
            line.kind = kind.clone();
            Some(())
        });
        if updated.is_none() {
            let buffer = match &event {
                TransferEvent::Offered {
                    target: huddle_protocol::Target::Room(room),
                    ..
                } => self.buffer_for(BufferKind::Room(room.clone())),
                TransferEvent::Offered { from, .. } => match Nick::new(from.clone()) {
                    Ok(nick) => self.buffer_for(BufferKind::Direct(nick)),
                    Err(_) => self.current,
                },
                _ => self.current,
            };
            let mut line = Line::new(kind, text);
            line.transfer = id;
            if let Some(id) = id {
                self.transfer_lines
                    .insert(id, self.buffers[buffer].kind.clone());
            }
            let is_offer = matches!(event, TransferEvent::Offered { .. });
            let target = &mut self.buffers[buffer];
            target.push(line);
            if is_offer && buffer != self.current {
                target.unread += 1;
            }
        }
        if finished && let Some(id) = id {
            self.transfer_lines.remove(&id);
        }
    }
}

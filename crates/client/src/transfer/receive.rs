//! The receiving side of a transfer: writing chunks to the `.part` file,
//! returning credit, and keeping the file only if its checksum matches.

use std::io::Write;

use huddle_protocol::{ClientMessage, FileChunk, ShortText};
use sha2::Digest;

use super::{Direction, TransferEvent, Transfers, rate, unique_path};

impl Transfers {
    pub(super) fn on_chunk(
        &mut self,
        chunk: &FileChunk,
        send: &mut Vec<ClientMessage>,
        events: &mut Vec<TransferEvent>,
    ) {
        let id = chunk.transfer;
        let Some(incoming) = self.incoming.get_mut(&id) else {
            return;
        };
        let fail = |this: &mut Self,
                    reason: String,
                    send: &mut Vec<ClientMessage>,
                    events: &mut Vec<TransferEvent>| {
            if let Some(incoming) = this.incoming.remove(&id) {
                super::parts::discard(&incoming.part);
                send.push(ClientMessage::FileCancel {
                    transfer: id,
                    reason: ShortText::lossy(&reason),
                });
                events.push(TransferEvent::Failed {
                    id,
                    name: incoming.name,
                    reason,
                });
            }
        };
        if chunk.offset != incoming.received
            || incoming.received + chunk.data.len() as u64 > incoming.size
        {
            let reason = format!(
                "the sender sent bytes out of order or past the {} offered",
                incoming.size
            );
            return fail(self, reason, send, events);
        }
        if let Err(err) = incoming.file.write_all(&chunk.data) {
            let reason = format!("cannot write {}: {err}", incoming.part.display());
            return fail(self, reason, send, events);
        }
        incoming.hasher.update(&chunk.data);
        incoming.received += chunk.data.len() as u64;
        send.push(ClientMessage::FileCredit {
            transfer: id,
            bytes: chunk.data.len() as u32,
        });
        events.push(TransferEvent::Progress {
            id,
            direction: Direction::Receiving,
            name: incoming.name.clone(),
            done: incoming.received,
            size: incoming.size,
            bytes_per_second: rate(incoming.received, incoming.started),
        });
        if incoming.received < incoming.size {
            return;
        }
        let Some(incoming) = self.incoming.remove(&id) else {
            return;
        };
        let digest: [u8; 32] = incoming.hasher.finalize().into();
        let finished = incoming.file.sync_all();
        drop(incoming.file);
        if digest != incoming.sha256 {
            super::parts::discard(&incoming.part);
            events.push(TransferEvent::Failed {
                id,
                name: incoming.name,
                reason: "the checksum does not match the offer: file discarded".into(),
            });
            return;
        }
        let target = unique_path(&self.downloads, &incoming.name);
        let renamed = finished.and_then(|()| std::fs::rename(&incoming.part, &target));
        super::parts::closed(&incoming.part);
        match renamed {
            Ok(()) => events.push(TransferEvent::Completed {
                id,
                direction: Direction::Receiving,
                name: incoming.name,
                saved: Some(target),
            }),
            Err(err) => {
                super::parts::discard(&incoming.part);
                events.push(TransferEvent::Failed {
                    id,
                    name: incoming.name,
                    reason: format!("cannot save {}: {err}", target.display()),
                });
            }
        }
    }
}

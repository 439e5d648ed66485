//! A run of room messages from one client: while more of its frames are
//! already read and waiting, consecutive `Say`s to one room are held and
//! then relayed together (`Hub::say_all`), so each member's queue is locked
//! once per run instead of once per message. Nothing waits for this: a run
//! ends as soon as no complete frame is buffered, and before any other
//! request is served, so replies keep the order the requests came in.

use huddle_protocol::{RequestKind, RoomName};

use super::Dispatcher;
use crate::hub::Said;

/// Most messages held in one run.
const MAX_RUN: usize = 64;

/// Held `Say`s to one room, oldest first.
#[derive(Debug)]
pub(super) struct SaidRun {
    room: RoomName,
    said: Vec<Said>,
}

impl Dispatcher {
    /// Holds a `Say` to `room` in the run (relaying the run first if it is
    /// for another room or full).
    pub(super) fn hold_say(&mut self, room: RoomName, said: Said) {
        match &mut self.said_run {
            Some(run) if run.room == room && run.said.len() < MAX_RUN => run.said.push(said),
            _ => {
                self.relay_said();
                self.said_run = Some(Box::new(SaidRun {
                    room,
                    said: vec![said],
                }));
            }
        }
    }

    /// After a request: the run is relayed unless more requests follow and
    /// the client stays.
    pub(super) fn end_run_unless_more(
        &mut self,
        end: Option<super::Departure>,
        more_follow: bool,
    ) -> Option<super::Departure> {
        if end.is_some() || !more_follow {
            self.relay_said();
        }
        end
    }

    /// Relays the held run, if any; a refusal is reported for each message.
    pub(crate) fn relay_said(&mut self) {
        let Some(run) = self.said_run.take() else {
            return;
        };
        let SaidRun { room, said } = *run;
        let ids: Vec<_> = said.iter().map(|said| said.id).collect();
        if let Err(refusal) = self.hub.clone().say_all(self.caller(), &room, said) {
            for id in ids {
                self.report(refusal.code, &refusal.text, RequestKind::Say, Some(id));
            }
        }
    }
}

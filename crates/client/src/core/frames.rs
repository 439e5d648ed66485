//! What the core does with each frame from the server, and which frames
//! reach the view.

use huddle_protocol::{ChatMessage, ClientMessage, DirectEntry, RoomName, ServerMessage, Target};
use tokio::time::Instant;

use super::{
    ClientCore, CoreEvent,
    streams::{Asker, DirectAsk},
};

impl ClientCore {
    /// A frame arrived from the server.
    pub fn handle_frame(&mut self, now: Instant, message: ServerMessage) {
        if let Some(live) = &mut self.live {
            live.keepalive.heard(now);
        }
        match message {
            ServerMessage::Ping { token } => self.send(now, ClientMessage::Pong { token }),
            ServerMessage::Pong { token } if token == super::SYNC_TOKEN => {
                self.events.push_back(CoreEvent::Synced);
            }
            ServerMessage::Pong { token } => {
                if let Some(live) = &self.live {
                    let latency = live.keepalive.latency(token, now);
                    self.events.push_back(CoreEvent::Latency(latency));
                }
            }
            ServerMessage::Ack {
                id,
                message_id,
                timestamp,
            } => {
                // A second ack (of a resend whose copy already settled it)
                // tells the view nothing new.
                if self.outbox.settle(id).is_some() {
                    if let Some(nick) = &self.nick {
                        self.seen.first_time(nick, id);
                    }
                    self.events.push_back(CoreEvent::Acked {
                        id,
                        message_id,
                        timestamp,
                    });
                }
            }
            ServerMessage::Error(report) => self.on_error(report),
            ServerMessage::Chat(message) => self.on_chat(message),
            ServerMessage::Joined {
                room,
                topic,
                members,
                history,
            } => {
                self.streams.join_answered();
                // A rejoin whose gap is being filled: the backlog (the
                // newest few) would come before the older messages missed,
                // so the view gets them all from the gap fill, in order.
                let history = if self.streams.gap_pending(&room) {
                    Vec::new()
                } else {
                    // The join backlog joins up with the stream only when
                    // nothing was seen yet.
                    if self.streams.watermark(&room).is_none()
                        && let Some(newest) = history.iter().map(|m| m.id).max()
                    {
                        self.streams.streamed(&room, newest);
                    }
                    self.unseen(history)
                };
                self.events
                    .push_back(CoreEvent::Frame(ServerMessage::Joined {
                        room,
                        topic,
                        members,
                        history,
                    }));
            }
            ServerMessage::Parted { room } => {
                self.streams.forget(&room);
                self.events
                    .push_back(CoreEvent::Frame(ServerMessage::Parted { room }));
            }
            ServerMessage::HistoryPage {
                room,
                messages,
                more,
            } => match self.streams.page_answered(Some(&room)) {
                Asker::Gap => self.on_gap_page(room, messages, more),
                Asker::View => {
                    self.events
                        .push_back(CoreEvent::Frame(ServerMessage::HistoryPage {
                            room,
                            messages,
                            more,
                        }))
                }
            },
            ServerMessage::DirectHistoryPage {
                with: None,
                messages,
                more,
            } if !self.streams.direct_pages_asked.is_empty() => {
                self.on_mailbox_page(messages, more);
            }
            ServerMessage::NickChanged { old, new } => {
                self.nick = Some(new.clone());
                self.events
                    .push_back(CoreEvent::Frame(ServerMessage::NickChanged { old, new }));
            }
            other => self.events.push_back(CoreEvent::Frame(other)),
        }
    }

    fn on_error(&mut self, report: huddle_protocol::ErrorReport) {
        if report.request == huddle_protocol::RequestKind::FetchHistory {
            self.streams.page_answered(None);
            self.unpark();
        }
        if report.request == huddle_protocol::RequestKind::Join
            && let Some(room) = self.streams.join_answered()
        {
            // Refused (a password, a limit): not rejoined later.
            self.streams.forget(&room);
        }
        match report.id.filter(|id| self.outbox.get(*id).is_some()) {
            Some(id) if report.code == huddle_protocol::ErrorCode::RateLimited => {
                // Paced, this is rare (frames bunched on the way): the
                // message goes back first in line, not lost.
                if let (Some(live), Some(message)) = (&mut self.live, self.outbox.get(id)) {
                    live.pacer.requeue(message.clone());
                }
            }
            Some(id) => self.refused(id, report),
            None => self
                .events
                .push_back(CoreEvent::Frame(ServerMessage::Error(report))),
        }
    }

    fn on_chat(&mut self, message: ChatMessage) {
        let message = match message.target.clone() {
            Target::Room(room) => match self.streams.park(&room, message) {
                None => return,
                Some(message) => message,
            },
            Target::Direct(_) => match self.streams.park_direct(message) {
                None => return,
                Some(message) => message,
            },
        };
        self.give_live(message);
    }

    /// A live message the view is to get now (unless it saw it already).
    fn give_live(&mut self, message: ChatMessage) {
        match &message.target {
            Target::Room(room) => self.streams.streamed(room, message.id),
            Target::Direct(_) => {
                self.streams.direct_streamed = self.streams.direct_streamed.max(Some(message.id));
            }
        }
        if self.seen.first_time(&message.from, message.client_msg_id) {
            self.events
                .push_back(CoreEvent::Frame(ServerMessage::Chat(message)));
        }
    }

    /// A page of a room's gap: given to the view (what it has not seen),
    /// and the next page asked for until the gap is closed.
    fn on_gap_page(&mut self, room: RoomName, messages: Vec<ChatMessage>, more: bool) {
        let newest = messages.iter().map(|m| m.id).max();
        if let Some(newest) = newest {
            self.streams.streamed(&room, newest);
        }
        let messages = self.unseen(messages);
        if more && newest.is_some() {
            self.ask_gap(room.clone(), newest);
        }
        if !messages.is_empty() {
            self.events
                .push_back(CoreEvent::RoomBacklog { room, messages });
        }
        self.unpark();
    }

    /// The live messages parked while a gap was filled, given once it is
    /// closed — or, if some were dropped, the gap asked again from where
    /// the stream stands (it brings the parked ones too).
    fn unpark(&mut self) {
        for (room, parked, overflowed) in self.streams.unpark() {
            if overflowed {
                let streamed = self.streams.watermark(&room);
                self.ask_gap(room, streamed);
                continue;
            }
            for message in parked {
                self.give_live(message);
            }
        }
    }

    /// A page of the whole mailbox the core asked for.
    fn on_mailbox_page(&mut self, entries: Vec<DirectEntry>, more: bool) {
        let Some(ask) = self.streams.direct_pages_asked.pop_front() else {
            return;
        };
        let newest = entries.iter().map(|e| e.message.id).max();
        self.streams.direct_streamed = self.streams.direct_streamed.max(newest);
        let entries: Vec<DirectEntry> = entries
            .into_iter()
            .filter(|e| {
                !self.settled_by_copy(&e.message)
                    && self
                        .seen
                        .first_time(&e.message.from, e.message.client_msg_id)
            })
            .collect();
        if ask == DirectAsk::Gap && more && newest.is_some() {
            self.ask_direct(
                DirectAsk::Gap,
                newest,
                huddle_protocol::limits::MAX_HISTORY_PAGE,
            );
        }
        if ask != DirectAsk::Anchor && !entries.is_empty() {
            self.events.push_back(CoreEvent::DirectBacklog {
                entries,
                missed: ask == DirectAsk::Gap,
            });
        }
        let (parked, overflowed) = self.streams.unpark_direct();
        if overflowed {
            let after = self.streams.direct_streamed;
            self.ask_direct(
                DirectAsk::Gap,
                after,
                huddle_protocol::limits::MAX_HISTORY_PAGE,
            );
        } else {
            for message in parked {
                self.give_live(message);
            }
        }
    }
}

//! A connection comes up: the order in which the core resumes.
//! **Invariant:** rooms are rejoined before their gaps are asked for (the
//! server answers in order, and only members may read a room), and the
//! outbox goes after both, oldest first, with its ids.

use huddle_protocol::{ClientMessage, Welcome, limits::MAX_HISTORY_PAGE};
use tokio::time::Instant;

use super::{
    ClientCore, CoreEvent, Live,
    keepalive::Keepalive,
    pacer::Pacer,
    streams::{Asker, DirectAsk},
};

impl ClientCore {
    /// Connected and greeted by `welcome`: rejoin, ask for the gaps, send
    /// the outbox again, then whatever waited for the connection.
    pub fn handle_connected(&mut self, now: Instant, welcome: &Welcome) {
        self.live = Some(Live {
            pacer: Pacer::new(&welcome.limits, now),
            keepalive: Keepalive::new(self.config.ping_every, now),
            stale_told: false,
        });
        self.max_text = usize::try_from(welcome.limits.max_text_bytes).unwrap_or(usize::MAX);
        self.nick = Some(welcome.nick.clone());
        let reconnected = self.ever_connected;
        self.ever_connected = true;
        let rooms: Vec<_> = self
            .streams
            .rooms()
            .iter()
            .map(|r| (r.name.clone(), r.password.clone(), r.streamed))
            .collect();
        for (room, password, _) in &rooms {
            self.queue(
                ClientMessage::Join {
                    room: room.clone(),
                    password: password.clone(),
                },
                Asker::View,
            );
        }
        for (room, _, streamed) in rooms.into_iter().filter(|_| reconnected) {
            // Without a watermark (nothing seen yet) the newest page, of
            // which the view is given what it has not seen.
            self.ask_gap(room, streamed);
        }
        match (reconnected, self.streams.direct_streamed) {
            (true, after) => self.ask_direct(DirectAsk::Gap, after, MAX_HISTORY_PAGE),
            (false, _) if self.config.restore_direct > 0 => {
                self.ask_direct(DirectAsk::Restore, None, self.config.restore_direct);
            }
            (false, _) => self.ask_direct(DirectAsk::Anchor, None, 1),
        }
        let resend: Vec<ClientMessage> = self.outbox.in_order().cloned().collect();
        let resent = resend.len();
        for message in resend {
            self.queue(message, Asker::View);
        }
        while let Some(message) = self.held.pop_front() {
            self.queue(message, Asker::View);
        }
        self.events.push_back(CoreEvent::Connected {
            welcome: Box::new(welcome.clone()),
            reconnected,
            resent,
        });
    }
}

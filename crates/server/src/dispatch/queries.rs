//! The requests that only read: lists, history pages, whois and search,
//! each answered with one frame (or refused).

use huddle_protocol::{ClientMessage, ServerMessage};
use tokio::time::Instant;

use super::{Dispatcher, MAX_LISTED_ROOMS};
use crate::{
    hub::{Refusal, SearchRequest},
    page::PageRequest,
};

impl Dispatcher {
    /// Answers `query`, one of the requests that only read.
    pub(super) fn answer(&mut self, query: ClientMessage, now: Instant) -> Result<(), Refusal> {
        match query {
            ClientMessage::ListRooms => {
                self.send(&ServerMessage::RoomList {
                    rooms: self.hub.list_rooms(Some(self.conn), MAX_LISTED_ROOMS),
                });
                Ok(())
            }
            ClientMessage::ListMembers { room } => {
                let members = self.hub.members(self.conn, &room)?;
                self.send(&ServerMessage::MemberList { room, members });
                Ok(())
            }
            ClientMessage::FetchHistory {
                room,
                before,
                after,
                limit,
            } => {
                let request = PageRequest::from_wire(before, after, limit);
                let page = self.hub.history(self.caller(), &room, request)?;
                self.send(&page);
                Ok(())
            }
            ClientMessage::FetchDirectHistory {
                with,
                before,
                after,
                limit,
            } => {
                let request = PageRequest::from_wire(before, after, limit);
                let page = self.hub.direct_history(self.caller(), with, request);
                self.send(&page);
                Ok(())
            }
            ClientMessage::Whois { nick } => {
                let reply = self.hub.whois(self.conn, &nick)?;
                self.send(&reply);
                Ok(())
            }
            ClientMessage::Search {
                query,
                room,
                before,
                limit,
            } => {
                if self.config.rate_limit {
                    self.throttles.search(now)?;
                }
                let request = SearchRequest {
                    query,
                    room,
                    before,
                    limit,
                };
                let results = self.hub.search(self.caller(), &self.rooms, request)?;
                self.send(&results);
                Ok(())
            }
            // Not a query: `serve` sends only the above here.
            _ => Ok(()),
        }
    }
}

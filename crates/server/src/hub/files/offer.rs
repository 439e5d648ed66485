//! Offering a file: the checks (size, transfers under way, who receives
//! it) and the offer queued to every recipient.

use std::collections::HashMap;

use huddle_protocol::{
    ConnectionId, ErrorCode, FileOffer, Nick, ServerMessage, Target, TransferId,
};
use tokio::time::Instant;

use super::{Answer, Recipient, Transfer};
use crate::{
    hub::{Caller, Hub, Refusal, frame, lock, refuse},
    outbound::Outbound,
};

impl Hub {
    fn active_transfers(&self, conn: ConnectionId) -> usize {
        lock(&self.transfers)
            .values()
            .filter(|t| t.sender == conn)
            .count()
    }

    /// Whether `id` is a transfer under way (its chunks and credit are
    /// paced by the window, not the rate limit).
    pub(crate) fn transfer_exists(&self, id: TransferId) -> bool {
        lock(&self.transfers).contains_key(&id)
    }

    pub(crate) fn file_offer(
        &self,
        caller: Caller<'_>,
        offer: FileOffer,
        now: Instant,
    ) -> Result<(), Refusal> {
        if offer.size > self.limits.max_file_size {
            return refuse(
                ErrorCode::FileTooLarge,
                format!(
                    "{} bytes is more than this server relays ({} bytes)",
                    offer.size, self.limits.max_file_size
                ),
            );
        }
        if self.active_transfers(caller.conn) >= usize::from(self.limits.max_transfers) {
            return refuse(
                ErrorCode::TooManyTransfers,
                format!(
                    "you already have {} transfers under way; wait for one to finish",
                    self.limits.max_transfers
                ),
            );
        }
        let recipients: Vec<(ConnectionId, Nick, Outbound)> = match &offer.target {
            Target::Room(name) => {
                let Some(room) = self.room(name) else {
                    return refuse(ErrorCode::NotInRoom, format!("you are not in {name}"));
                };
                let room = lock(&room);
                if !room.members.contains_key(&caller.conn) {
                    return refuse(ErrorCode::NotInRoom, format!("you are not in {name}"));
                }
                refuse_remote_members(&room)?;
                room.members
                    .iter()
                    .filter(|(conn, _)| **conn != caller.conn)
                    .map(|(conn, m)| (*conn, m.nick.clone(), m.outbound.clone()))
                    .collect()
            }
            Target::Direct(nick) => match lock(&self.users).get(nick.folded()) {
                Some(user) => vec![(user.conn, user.nick.clone(), user.outbound.clone())],
                None if self.cluster.is_some() => {
                    return refuse(
                        ErrorCode::NoSuchNick,
                        format!(
                            "{nick} is not connected to this node: in cluster mode, files go \
                             only between users of one node"
                        ),
                    );
                }
                None => return refuse(ErrorCode::NoSuchNick, format!("no user is called {nick}")),
            },
        };
        if recipients.is_empty() {
            return refuse(
                ErrorCode::NoSuchNick,
                "nobody else is here to send the file to",
            );
        }
        let mut transfers = lock(&self.transfers);
        if transfers.contains_key(&offer.transfer) {
            return refuse(
                ErrorCode::MalformedMessage,
                "that transfer id is already in use",
            );
        }
        let offered = ServerMessage::FileOffered {
            from: caller.nick.clone(),
            offer: offer.clone(),
        };
        let offered = frame(&offered);
        let mut transfer = Transfer {
            sender: caller.conn,
            sender_nick: caller.nick.clone(),
            sender_outbound: caller.outbound.clone(),
            size: offer.size,
            forwarded: 0,
            granted: 0,
            started: false,
            start_at: None,
            last_progress: now,
            recipients: HashMap::new(),
        };
        for (conn, _, outbound) in recipients {
            if let Some(offered) = &offered {
                let _ = outbound.push(offered.clone());
            }
            transfer.recipients.insert(
                conn,
                Recipient {
                    outbound,
                    answer: Answer::Pending,
                    consumed: 0,
                },
            );
        }
        transfers.insert(offer.transfer, transfer);
        // A new transfer has a deadline (its stall timeout): wake the timer.
        self.deadline_set.notify_one();
        Ok(())
    }
}

/// In cluster mode, a file offered to a room with members on other nodes
/// is refused, naming them: chunks are not relayed between nodes (yet),
/// and a transfer some members could not take would look broken to them.
fn refuse_remote_members(room: &crate::room::Room) -> Result<(), Refusal> {
    let mut elsewhere: Vec<&str> = room
        .remote
        .iter()
        .filter(|(folded, _)| !room.has_local(folded))
        .map(|(_, (_, nick))| nick.as_str())
        .collect();
    if elsewhere.is_empty() {
        return Ok(());
    }
    elsewhere.sort_unstable();
    refuse(
        ErrorCode::TransferBroken,
        format!(
            "{} {} on other nodes of this cluster: file transfers stay within one node",
            elsewhere.join(", "),
            if elsewhere.len() == 1 { "is" } else { "are" }
        ),
    )
}

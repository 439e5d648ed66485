//! Plain mode's input: each line turned into a request (or refused, with
//! its line number).

use huddle_protocol::{
    ChatText, ClientMessage, ClientMsgId, MessageKind, Nick, RoomName, ShortText, Target,
};
use tokio::io::AsyncWrite;

use super::{Plain, PlainError};
use crate::{
    sanitize::sanitize,
    transfer::{Among, short_id},
    tui::commands::{Command, parse},
};

impl<W: AsyncWrite + Unpin> Plain<W> {
    /// Turns one input line into a request, printing what is wrong with it.
    pub(super) async fn on_line(&mut self, line: &str) -> Result<bool, PlainError> {
        self.line_number += 1;
        let command = match parse(line) {
            Ok(command) => command,
            Err(err) => return self.refuse(&err.to_string()).await,
        };
        let id = ClientMsgId::random();
        let message = match command {
            Command::Say(text) | Command::Me(text) if text.is_empty() => return Ok(true),
            Command::Say(text) | Command::Me(text) => {
                let kind = if line.starts_with("/me") {
                    MessageKind::Action
                } else {
                    MessageKind::Normal
                };
                match (self.room.clone(), ChatText::new(text)) {
                    (Some(room), Ok(text)) => ClientMessage::Say {
                        room,
                        id,
                        kind,
                        text,
                    },
                    (None, _) => {
                        return self.refuse("not in a room: /join one first").await;
                    }
                    (_, Err(err)) => {
                        return self.refuse(&err.to_string()).await;
                    }
                }
            }
            Command::Msg { nick, text } => match (Nick::new(nick), ChatText::new(text)) {
                (Ok(to), Ok(text)) => ClientMessage::Direct {
                    to,
                    id,
                    kind: MessageKind::Normal,
                    text,
                },
                (Err(err), _) => return self.refuse(&err.to_string()).await,
                (_, Err(err)) => return self.refuse(&err.to_string()).await,
            },
            Command::Join { room, password } => match RoomName::new(room) {
                Ok(room) => ClientMessage::Join {
                    room,
                    password: password.map(|p| ShortText::lossy(&p)),
                },
                Err(err) => return self.refuse(&err.to_string()).await,
            },
            Command::Part { room, reason } => match room.map(RoomName::new).transpose() {
                Ok(Some(room)) => ClientMessage::Part {
                    room,
                    reason: ShortText::lossy(&reason),
                },
                Ok(None) => match self.room.clone() {
                    Some(room) => ClientMessage::Part {
                        room,
                        reason: ShortText::lossy(&reason),
                    },
                    None => return Ok(true),
                },
                Err(err) => return self.refuse(&err.to_string()).await,
            },
            Command::Nick(nick) => match Nick::new(nick) {
                Ok(nick) => ClientMessage::ChangeNick { nick },
                Err(err) => return self.refuse(&err.to_string()).await,
            },
            Command::Topic(Some(topic)) => match (self.room.clone(), ShortText::new(topic)) {
                (Some(room), Ok(topic)) => ClientMessage::SetTopic { room, topic },
                _ => {
                    return self
                        .refuse("/topic needs a room and one line of text")
                        .await;
                }
            },
            Command::Who(room) => match room.map(RoomName::new).transpose() {
                Ok(Some(room)) => ClientMessage::ListMembers { room },
                Ok(None) => match self.room.clone() {
                    Some(room) => ClientMessage::ListMembers { room },
                    None => return Ok(true),
                },
                Err(err) => return self.refuse(&err.to_string()).await,
            },
            Command::List => ClientMessage::ListRooms,
            Command::Away(message) => ClientMessage::SetAway {
                message: ShortText::lossy(message.trim()),
            },
            Command::Set(_) => {
                return self
                    .refuse("/set works in the TUI; edit the config file")
                    .await;
            }
            Command::Search(_) => {
                return self
                    .refuse("/search works in the TUI; plain mode prints everything it receives")
                    .await;
            }
            Command::Whois(nick) => match Nick::new(nick) {
                Ok(nick) => ClientMessage::Whois { nick },
                Err(err) => return self.refuse(&err.to_string()).await,
            },
            Command::Send { path, nick } => {
                let target = match (nick.map(Nick::new).transpose(), self.room.clone()) {
                    (Ok(Some(nick)), _) => Target::Direct(nick),
                    (Ok(None), Some(room)) => Target::Room(room),
                    (Ok(None), None) => {
                        return self.refuse("not in a room: /join one first").await;
                    }
                    (Err(err), _) => {
                        return self.refuse(&err.to_string()).await;
                    }
                };
                match self.transfers.offer(std::path::Path::new(&path), target) {
                    Ok((id, offer)) => {
                        self.print(&format!(
                            "-!- offering {} ({})",
                            sanitize(&path),
                            short_id(id)
                        ))
                        .await?;
                        offer
                    }
                    Err(err) => return self.refuse(&err.to_string()).await,
                }
            }
            Command::Accept(prefix) | Command::Reject(prefix) => {
                let accept = line.trim_start().starts_with("/accept");
                let Some(id) = self.transfers.resolve(prefix.as_deref(), Among::Offers) else {
                    return self.refuse("no file offer is waiting").await;
                };
                let answer = if accept {
                    self.transfers.accept(id)
                } else {
                    self.transfers.reject(id)
                };
                match answer {
                    Ok(answer) => answer,
                    Err(err) => return self.refuse(&err.to_string()).await,
                }
            }
            Command::Cancel(prefix) => {
                let cancel = self
                    .transfers
                    .resolve(prefix.as_deref(), Among::Active)
                    .and_then(|id| self.transfers.cancel(id, "cancelled"));
                match cancel {
                    Some(cancel) => cancel,
                    None => {
                        return self.refuse("no transfer to cancel").await;
                    }
                }
            }
            Command::Quit(_) => return Ok(false),
            Command::Topic(None)
            | Command::Query(_)
            | Command::Buffer(_)
            | Command::Close
            | Command::Clear
            | Command::Connect(_)
            | Command::Bar(_)
            | Command::Ignore(_)
            | Command::Unignore(_)
            | Command::Server
            | Command::Disconnect
            | Command::Help => {
                return self.refuse("that command needs the TUI").await;
            }
        };
        self.queue(message);
        self.flush().await?;
        Ok(true)
    }
}

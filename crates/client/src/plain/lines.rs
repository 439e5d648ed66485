//! Plain mode's input: each line turned into a request by the core's rules
//! (`core/requests.rs`), or refused with its line number.

use huddle_protocol::{Nick, Target};
use tokio::io::AsyncWrite;

use super::{Plain, PlainError};
use crate::{
    command::{Command, parse},
    core::requests::{Here, NOWHERE, request_for},
    sanitize::sanitize,
    transfer::{Among, short_id},
};

impl<W: AsyncWrite + Unpin> Plain<W> {
    /// Turns one input line into a request, printing what is wrong with it.
    /// False when the input asks to stop (`/quit`).
    pub(super) async fn on_line(&mut self, line: &str) -> Result<bool, PlainError> {
        self.line_number += 1;
        let command = match parse(line) {
            Ok(command) => command,
            Err(err) => return self.refuse(&err).await,
        };
        let message = match command {
            Command::Send { path, nick } => return self.offer(&path, nick).await,
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
                    None => return self.refuse("no transfer to cancel").await,
                }
            }
            Command::Quit(_) => return Ok(false),
            Command::Set(_) => {
                return self
                    .refuse("/set works in the TUI; edit the config file")
                    .await;
            }
            Command::Search(args) => match self.search_request(&args) {
                Ok(request) => request,
                Err(why) => return self.refuse(&why).await,
            },
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
            | Command::Help => return self.refuse("that command needs the TUI").await,
            command => {
                let here = match &self.room {
                    Some(room) => Here::Room(room),
                    None => Here::Nowhere,
                };
                match request_for(&command, here) {
                    Ok(Some(request)) => request,
                    Ok(None) => return Ok(true),
                    Err(err) => return self.refuse(&err).await,
                }
            }
        };
        self.request(message);
        Ok(true)
    }

    /// `/send PATH [NICK]`: offers a file to the room (or to NICK).
    async fn offer(&mut self, path: &str, nick: Option<String>) -> Result<bool, PlainError> {
        let target = match (nick.map(Nick::new).transpose(), self.room.clone()) {
            (Ok(Some(nick)), _) => Target::Direct(nick),
            (Ok(None), Some(room)) => Target::Room(room),
            (Ok(None), None) => return self.refuse(NOWHERE).await,
            (Err(err), _) => return self.refuse(&err.to_string()).await,
        };
        match self.transfers.offer(std::path::Path::new(path), target) {
            Ok((id, offer)) => {
                let text = format!("-!- offering {} ({})", sanitize(path), short_id(id));
                self.print(&text).await?;
                self.request(offer);
                Ok(true)
            }
            Err(err) => self.refuse(&err.to_string()).await,
        }
    }
}

impl<W: AsyncWrite + Unpin> Plain<W> {
    /// `/search TEXT` (the current room) or `/search -all TEXT` (every room
    /// joined and the direct messages): the server's newest matches.
    fn search_request(&self, args: &str) -> Result<huddle_protocol::ClientMessage, String> {
        let (all, needle) = match args.strip_prefix("-all ") {
            Some(rest) => (true, rest.trim()),
            None => (false, args.trim()),
        };
        let query = huddle_protocol::ShortText::new(needle)
            .ok()
            .filter(|query| !query.is_empty())
            .ok_or("usage: /search [-all] TEXT (one line, at most 390 bytes)")?;
        let room = match all {
            true => None,
            false => Some(
                self.room
                    .clone()
                    .ok_or("join a room first, or use /search -all")?,
            ),
        };
        Ok(huddle_protocol::ClientMessage::Search {
            query,
            room,
            before: None,
            limit: huddle_protocol::limits::MAX_SEARCH_RESULTS,
        })
    }
}

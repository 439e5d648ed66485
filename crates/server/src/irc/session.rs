//! A registered IRC user's side of the translation: each command becomes
//! the requests a native client would send (`Session::command`), served
//! by the same dispatcher; what IRC needs remembered to word the answers
//! (queries waiting for their reply, own messages to echo) is kept here.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
};

use huddle_protocol::{
    ChatText, ClientMessage, ClientMsgId, MessageId, MessageKind, Nick, RoomName, ShortText,
};

pub(crate) use super::caps::Caps;
use super::{
    line::{Line, format},
    replay::ReplayMarks,
};

/// A question whose answer is still to come, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Query {
    Names(String),
    Who,
    List,
    Topic(String),
    Whois(String),
    /// A CHATHISTORY page for this room (as the client named it).
    History(String),
}

/// An own message to echo once acknowledged (echo-message).
#[derive(Debug, Clone)]
pub(crate) struct Echo {
    pub(crate) target: String,
    pub(crate) kind: MessageKind,
    pub(crate) text: String,
}

/// A registered IRC user.
#[derive(Debug)]
pub(crate) struct Session {
    /// The server's name in line prefixes.
    pub(crate) server: String,
    /// The user's nick as the hub spells it.
    pub(crate) nick: String,
    pub(crate) caps: Caps,
    pub(crate) pending: VecDeque<Query>,
    pub(crate) echoes: HashMap<ClientMsgId, Echo>,
    /// NOTICEs sent: their errors are not reported back.
    pub(crate) notices: HashSet<ClientMsgId>,
    /// Users whose QUIT or NICK was written (each shared room reports it).
    pub(crate) gone: HashSet<String>,
    /// Who this is across reconnects (`replay.rs`): username and nick.
    pub(crate) device: String,
    /// The newest message shown per room (folded name) this connection.
    pub(crate) seen: HashMap<String, MessageId>,
    /// What every device was shown before.
    pub(crate) marks: Arc<ReplayMarks>,
    /// Batches opened so far (their references).
    batches: u64,
}

/// Most entries of the maps above (a misbehaving peer cannot grow them).
const MAX_REMEMBERED: usize = 1024;

/// What a command comes to: requests for the hub, and lines to write now.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) requests: Vec<ClientMessage>,
    pub(crate) lines: String,
    /// The user said QUIT.
    pub(crate) quit: Option<String>,
}

impl Session {
    pub(crate) fn new(
        (server, nick): (String, String),
        caps: Caps,
        device: String,
        marks: Arc<ReplayMarks>,
    ) -> Self {
        Self {
            server,
            nick,
            caps,
            device,
            seen: HashMap::new(),
            marks,
            batches: 0,
            pending: VecDeque::new(),
            echoes: HashMap::new(),
            notices: HashSet::new(),
            gone: HashSet::new(),
        }
    }

    /// A fresh batch reference number.
    pub(crate) fn next_batch(&mut self) -> u64 {
        self.batches += 1;
        self.batches
    }

    /// Notes that room message `id` was shown.
    pub(crate) fn shown(&mut self, room: &RoomName, id: MessageId) {
        let full = self.seen.len() >= MAX_REMEMBERED;
        match self.seen.get_mut(room.folded()) {
            Some(newest) => *newest = (*newest).max(id),
            None if !full => {
                self.seen.insert(room.folded().to_owned(), id);
            }
            None => {}
        }
    }

    /// Remembers, for the next connection of this device, what was shown.
    pub(crate) fn save_marks(&mut self) {
        self.marks
            .save(&self.device, std::mem::take(&mut self.seen));
    }

    /// Records that `folded` quit or was renamed; false if already recorded.
    pub(crate) fn forget(&mut self, folded: &str) -> bool {
        if self.gone.len() >= MAX_REMEMBERED {
            self.gone.clear();
        }
        self.gone.insert(folded.to_owned())
    }

    /// One command of a registered user.
    pub(crate) fn command(&mut self, line: &Line) -> Outcome {
        let mut outcome = Outcome::default();
        let p = |i| line.param(i);
        match line.command.as_str() {
            "PRIVMSG" | "NOTICE" => self.message(line, &mut outcome),
            "JOIN" if p(0) == "0" => {
                outcome.lines = format(
                    "",
                    &self.server,
                    "NOTICE",
                    &[&self.nick, "JOIN 0 is not supported: PART each room"],
                );
            }
            "JOIN" => {
                let keys: Vec<&str> = p(1).split(',').collect();
                for (i, room) in p(0).split(',').filter(|r| !r.is_empty()).enumerate() {
                    let password = keys
                        .get(i)
                        .filter(|k| !k.is_empty())
                        .map(|k| ShortText::lossy(k));
                    match RoomName::new(room) {
                        Ok(room) => outcome
                            .requests
                            .push(ClientMessage::Join { room, password }),
                        Err(err) => {
                            self.numeric_into("479", &[room, &err.to_string()], &mut outcome)
                        }
                    }
                }
            }
            "PART" => {
                for room in p(0).split(',').filter(|r| !r.is_empty()) {
                    match RoomName::new(room) {
                        Ok(room) => outcome.requests.push(ClientMessage::Part {
                            room,
                            reason: ShortText::lossy(p(1)),
                        }),
                        Err(_) => {
                            self.numeric_into("403", &[room, "No such channel"], &mut outcome)
                        }
                    }
                }
            }
            "TOPIC" if line.params.len() >= 2 => match RoomName::new(p(0)) {
                Ok(room) => outcome.requests.push(ClientMessage::SetTopic {
                    room,
                    topic: ShortText::lossy(p(1)),
                }),
                Err(_) => self.numeric_into("403", &[p(0), "No such channel"], &mut outcome),
            },
            "TOPIC" => self.query(
                Query::Topic(p(0).to_owned()),
                ClientMessage::ListRooms,
                &mut outcome,
            ),
            "NAMES" => match RoomName::new(p(0)) {
                Ok(room) => self.query(
                    Query::Names(p(0).to_owned()),
                    ClientMessage::ListMembers { room },
                    &mut outcome,
                ),
                Err(_) => self.numeric_into(
                    "366",
                    &[
                        if p(0).is_empty() { "*" } else { p(0) },
                        "End of /NAMES list",
                    ],
                    &mut outcome,
                ),
            },
            "WHO" => match RoomName::new(p(0)).ok().filter(|_| p(0).starts_with('#')) {
                Some(room) => self.query(
                    Query::Who,
                    ClientMessage::ListMembers { room },
                    &mut outcome,
                ),
                None => self.numeric_into(
                    "315",
                    &[if p(0).is_empty() { "*" } else { p(0) }, "End of /WHO list"],
                    &mut outcome,
                ),
            },
            "LIST" => self.query(Query::List, ClientMessage::ListRooms, &mut outcome),
            "WHOIS" => {
                // WHOIS [server] nick: the nick is the last parameter.
                let asked = line.params.last().map_or("", String::as_str);
                match Nick::new(asked) {
                    Ok(nick) => self.query(
                        Query::Whois(asked.to_owned()),
                        ClientMessage::Whois { nick },
                        &mut outcome,
                    ),
                    Err(_) => {
                        self.numeric_into("401", &[asked, "No such nick"], &mut outcome);
                        self.numeric_into("318", &[asked, "End of /WHOIS list"], &mut outcome);
                    }
                }
            }
            "NICK" => match Nick::new(p(0)) {
                Ok(nick) => outcome.requests.push(ClientMessage::ChangeNick { nick }),
                Err(err) => self.numeric_into("432", &[p(0), &err.to_string()], &mut outcome),
            },
            "AWAY" => {
                let message = ShortText::lossy(p(0));
                let (code, text) = match message.is_empty() {
                    true => ("305", "You are no longer marked as being away"),
                    false => ("306", "You have been marked as being away"),
                };
                outcome.requests.push(ClientMessage::SetAway { message });
                self.numeric_into(code, &[text], &mut outcome);
            }
            "MODE" => self.mode(line, &mut outcome),
            "CHATHISTORY" => match super::history::request(line) {
                Ok((room, request)) => self.query(Query::History(room), request, &mut outcome),
                Err(fail) => outcome.lines = fail,
            },
            "PING" => outcome.lines = format("", &self.server, "PONG", &[&self.server, p(0)]),
            "PONG" => outcome.requests.push(ClientMessage::Pong {
                token: p(0).parse().unwrap_or(0),
            }),
            "QUIT" => outcome.quit = Some(p(0).to_owned()),
            "CAP" => {
                outcome.lines = super::cap_reply(&self.server, &self.nick, line, &mut self.caps)
            }
            "USER" | "PASS" => self.numeric_into("462", &["You may not reregister"], &mut outcome),
            other => {
                // Echoed within reason: a command is a word, not a page.
                let mut cut = other.len().min(32);
                while !other.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.numeric_into("421", &[&other[..cut], "Unknown command"], &mut outcome);
            }
        }
        outcome
    }

    fn numeric_into(&self, code: &str, params: &[&str], outcome: &mut Outcome) {
        self.numeric(code, params, &mut outcome.lines);
    }

    fn query(&mut self, query: Query, request: ClientMessage, outcome: &mut Outcome) {
        if self.pending.len() < MAX_REMEMBERED {
            self.pending.push_back(query);
            outcome.requests.push(request);
        }
    }

    fn mode(&self, line: &Line, outcome: &mut Outcome) {
        let target = line.param(0);
        match (target.starts_with('#'), line.param(1)) {
            // Enough for irssi and weechat to call a channel synced.
            (true, "b") => self.numeric_into("368", &[target, "End of channel ban list"], outcome),
            (true, "") => self.numeric_into("324", &[target, "+"], outcome),
            (true, _) => self.numeric_into("482", &[target, "huddle rooms have no modes"], outcome),
            (false, _) => self.numeric_into("221", &["+"], outcome),
        }
    }

    /// PRIVMSG / NOTICE to a room or a nick; CTCP ACTION is `/me`, other
    /// CTCP is not relayed.
    fn message(&mut self, line: &Line, outcome: &mut Outcome) {
        let (targets, raw) = (line.param(0), line.param(1));
        if targets.is_empty() || raw.is_empty() {
            let code = if targets.is_empty() { "411" } else { "412" };
            self.numeric_into(code, &["No recipient or text given"], outcome);
            return;
        }
        let (kind, text) = match raw.strip_prefix("\u{1}ACTION ") {
            Some(action) => (MessageKind::Action, action.trim_end_matches('\u{1}')),
            None if raw.starts_with('\u{1}') => return,
            None => (MessageKind::Normal, raw),
        };
        let text = match ChatText::new(text.to_owned()) {
            Ok(text) => text,
            Err(err) => return self.numeric_into("417", &[&err.to_string()], outcome),
        };
        for target in targets.split(',').filter(|t| !t.is_empty()) {
            let id = ClientMsgId::random();
            let request = if target.starts_with('#') {
                RoomName::new(target)
                    .map(|room| ClientMessage::Say {
                        room,
                        id,
                        kind,
                        text: text.clone(),
                    })
                    .ok()
            } else {
                Nick::new(target)
                    .map(|to| ClientMessage::Direct {
                        to,
                        id,
                        kind,
                        text: text.clone(),
                    })
                    .ok()
            };
            let Some(request) = request else {
                self.numeric_into("401", &[target, "No such nick/channel"], outcome);
                continue;
            };
            if self.echoes.len() < MAX_REMEMBERED {
                let echo = Echo {
                    target: target.to_owned(),
                    kind,
                    text: text.to_string(),
                };
                self.echoes.insert(id, echo);
            }
            if line.command == "NOTICE" && self.notices.len() < MAX_REMEMBERED {
                self.notices.insert(id);
            }
            outcome.requests.push(request);
        }
    }
}

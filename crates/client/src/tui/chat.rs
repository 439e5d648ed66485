//! The chat screen's input side: keys, the input line, slash commands,
//! completion and scrolling.

use huddle_protocol::{ClientMessage, MessageKind, Nick};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;

use super::{
    app::{App, ConnState, Effect},
    buffer::{BufferKind, Line, LineKind},
    input::{NEWLINE_MARK, edit_input},
};
use crate::{
    command::{Command, parse},
    core::requests::{Here, request_for},
};

/// Lines of history asked for when scrolling past the top.
const HISTORY_PAGE: u16 = 100;

impl App {
    pub(super) fn chat_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if self.find.is_some() {
            self.find_key(key);
            return Vec::new();
        }
        if key.code != KeyCode::Tab {
            self.completion = None;
        }
        match key.code {
            KeyCode::F(1) => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            KeyCode::Esc => self.help = false,
            // While help is open, the page keys scroll it.
            KeyCode::PageDown | KeyCode::Down if self.help => {
                self.help_scroll = self.help_scroll.saturating_add(10);
            }
            KeyCode::PageUp | KeyCode::Up if self.help => {
                self.help_scroll = self.help_scroll.saturating_sub(10);
            }
            KeyCode::Enter => return self.submit(),
            KeyCode::Tab => self.complete(),
            KeyCode::Up => self.history_step(true),
            KeyCode::Down => self.history_step(false),
            KeyCode::PageUp => return self.scroll_up(self.page_height / 2),
            KeyCode::PageDown => self.buffers[self.current].scroll_down(self.page_height / 2),
            KeyCode::Char(c @ '1'..='9') if alt => self.switch_to(c as usize - '1' as usize),
            KeyCode::Char('0') if alt => self.switch_to(9),
            KeyCode::Char('l' | 'L') if alt => self.hide_members = !self.hide_members,
            KeyCode::Char('r') if ctrl => self.start_find(),
            KeyCode::Char('n') if ctrl => self.switch_to((self.current + 1) % self.buffers.len()),
            KeyCode::Char('p') if ctrl => {
                self.switch_to((self.current + self.buffers.len() - 1) % self.buffers.len());
            }
            _ => edit_input(&mut self.input, key),
        }
        Vec::new()
    }

    /// Scrolls the current buffer up; at the top of a room or a conversation,
    /// asks the server for older history.
    pub(super) fn scroll_up(&mut self, by: usize) -> Vec<Effect> {
        let buffer = &mut self.buffers[self.current];
        let was_at_top = buffer.at_top();
        buffer.scroll_up(by.max(1));
        if !(was_at_top || buffer.at_top())
            || buffer.history_complete
            || buffer.fetching
            || self.conn != ConnState::Connected
        {
            return Vec::new();
        }
        let fetch = match &buffer.kind {
            BufferKind::Room(room) => Effect::Send(ClientMessage::FetchHistory {
                room: room.clone(),
                before: buffer.oldest_id(),
                after: None,
                limit: HISTORY_PAGE,
            }),
            BufferKind::Direct(nick) => super::direct::fetch_older(nick, buffer.oldest_id()),
            _ => return Vec::new(),
        };
        self.buffers[self.current].fetching = true;
        vec![fetch]
    }

    fn history_step(&mut self, back: bool) {
        if self.history.is_empty() {
            return;
        }
        let next = match (self.history_pos, back) {
            (None, true) => Some(self.history.len() - 1),
            (None, false) => return,
            (Some(0), true) => Some(0),
            (Some(pos), true) => Some(pos - 1),
            (Some(pos), false) if pos + 1 < self.history.len() => Some(pos + 1),
            (Some(_), false) => None,
        };
        self.history_pos = next;
        self.input = Input::new(
            next.map(|pos| self.history[pos].clone())
                .unwrap_or_default(),
        );
    }

    fn submit(&mut self) -> Vec<Effect> {
        let raw = self.input.value().to_owned();
        if raw.trim().is_empty() {
            return Vec::new();
        }
        self.input.reset();
        self.history_pos = None;
        // A password is not kept where Up would show it again.
        let secret = raw.trim_start().starts_with("/ircpass");
        if !secret && self.history.last() != Some(&raw) {
            self.history.push(raw.clone());
        }
        let line = raw.replace(NEWLINE_MARK, "\n");
        match parse(&line) {
            Ok(command) => self.run(command),
            Err(message) => {
                self.error_here(message);
                Vec::new()
            }
        }
    }

    pub(super) fn error_here(&mut self, text: String) {
        let current = self.current;
        self.buffers[current].push(Line::new(LineKind::Error, text));
    }

    /// A notice in the buffer being looked at (where a command was typed).
    pub fn notice_here(&mut self, text: String) {
        let current = self.current;
        self.buffers[current].push(Line::new(LineKind::Notice, text));
    }

    /// An error about a command aimed at `target`, in that room's or
    /// conversation's buffer (where it was typed), else the current one.
    pub fn error_for(&mut self, target: &huddle_protocol::Target, text: String) {
        let index = self
            .buffers
            .iter()
            .position(|b| match (&b.kind, target) {
                (BufferKind::Room(room), huddle_protocol::Target::Room(wanted)) => room == wanted,
                (BufferKind::Direct(peer), huddle_protocol::Target::Direct(wanted)) => {
                    peer == wanted
                }
                _ => false,
            })
            .unwrap_or(self.current);
        self.buffers[index].push(Line::new(LineKind::Error, text));
    }

    fn connected(&mut self) -> bool {
        if self.conn == ConnState::Connected {
            return true;
        }
        self.error_here("not connected: the message was not sent".into());
        false
    }

    fn run(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::Msg { ref nick, .. } | Command::Query(ref nick) => {
                match Nick::new(nick.clone()) {
                    Ok(peer) => {
                        let index = self.buffer_for(BufferKind::Direct(peer));
                        self.switch_to(index);
                    }
                    Err(err) => {
                        self.error_here(err.to_string());
                        return Vec::new();
                    }
                }
                match command {
                    Command::Query(_) => Vec::new(),
                    command => self.request(&command),
                }
            }
            Command::Nick(nick) if self.conn != ConnState::Connected => match Nick::new(nick) {
                Ok(nick) => {
                    self.nick = nick.to_string();
                    self.notice_here(format!("You will be known as {nick} when connected"));
                    vec![Effect::SaveNick(nick.to_string())]
                }
                Err(err) => {
                    self.error_here(err.to_string());
                    Vec::new()
                }
            },
            Command::Topic(None) => {
                let buffer = &self.buffers[self.current];
                let text = match (&buffer.kind, buffer.topic.is_empty()) {
                    (BufferKind::Room(room), true) => format!("{room} has no topic"),
                    (BufferKind::Room(room), false) => format!("Topic of {room}: {}", buffer.topic),
                    _ => "topics belong to rooms".into(),
                };
                self.notice_here(text);
                Vec::new()
            }
            Command::Close => match self.buffers[self.current].kind.clone() {
                BufferKind::Direct(_) => {
                    self.buffers.remove(self.current);
                    self.switch_to(self.current.saturating_sub(1));
                    Vec::new()
                }
                BufferKind::Room(room) => self.run(Command::Part {
                    room: Some(room.to_string()),
                    reason: String::new(),
                }),
                BufferKind::Status => {
                    self.error_here("the status buffer cannot be closed".into());
                    Vec::new()
                }
            },
            Command::Send { path, nick } => self.send_file(path, nick),
            Command::Accept(prefix) => self.answer_file(prefix.as_deref(), true),
            Command::Reject(prefix) => self.answer_file(prefix.as_deref(), false),
            Command::Cancel(prefix) => self.cancel_file(prefix.as_deref()),
            Command::Clear => {
                self.buffers[self.current].clear();
                Vec::new()
            }
            Command::Buffer(which) => {
                match self.find_buffer(&which) {
                    Some(index) => self.switch_to(index),
                    None => self.error_here(format!("no buffer {which}: see the list on the left")),
                }
                Vec::new()
            }
            Command::Help => {
                self.help = true;
                Vec::new()
            }
            Command::Connect(addr) => self.connect_to(&addr),
            Command::Ignore(nick) => self.ignore(nick),
            Command::Whois(nick) => self.whois(&nick),
            Command::Search(args) => self.search(&args),
            Command::Away(message) => self.away(&message),
            Command::Set(args) => self.set(&args),
            Command::Unignore(nick) => self.unignore(&nick),
            Command::Bar(bar) => self.toggle_bar(&bar),
            Command::Server => self.show_server(),
            Command::Disconnect => self.disconnect(),
            Command::Quit(reason) => vec![Effect::Quit(reason)],
            command => self.request(&command),
        }
    }

    /// A command for the server, made into a request by the core's rules
    /// (`core/requests.rs`) where it was typed.
    fn request(&mut self, command: &Command) -> Vec<Effect> {
        let request = {
            let here = match &self.buffers[self.current].kind {
                BufferKind::Room(room) => Here::Room(room),
                BufferKind::Direct(peer) => Here::Direct(peer),
                BufferKind::Status => Here::Nowhere,
            };
            request_for(command, here)
        };
        let request = match request {
            Ok(Some(request)) => request,
            Ok(None) => return Vec::new(),
            Err(err) => {
                self.error_here(err);
                return Vec::new();
            }
        };
        match request {
            ClientMessage::Say { .. } | ClientMessage::Direct { .. } => self.say(request),
            _ if !self.connected() => Vec::new(),
            ClientMessage::Join { room, password } => {
                self.switch_to = Some(room.folded().to_owned());
                vec![Effect::Send(ClientMessage::Join { room, password })]
            }
            request => vec![Effect::Send(request)],
        }
    }

    fn send_file(&mut self, path: String, nick: Option<String>) -> Vec<Effect> {
        let target = match nick {
            Some(nick) => match Nick::new(nick) {
                Ok(nick) => huddle_protocol::Target::Direct(nick),
                Err(err) => {
                    self.error_here(err.to_string());
                    return Vec::new();
                }
            },
            None => match &self.buffers[self.current].kind {
                BufferKind::Room(room) => huddle_protocol::Target::Room(room.clone()),
                BufferKind::Direct(nick) => huddle_protocol::Target::Direct(nick.clone()),
                BufferKind::Status => {
                    self.error_here(
                        "/send needs a room or a conversation: switch to one, or /send PATH NICK"
                            .into(),
                    );
                    return Vec::new();
                }
            },
        };
        if !self.connected() {
            return Vec::new();
        }
        vec![Effect::SendFile { path, target }]
    }

    /// Shows our message as pending and hands it to the core, which keeps
    /// it in its outbox until the server acknowledges it (sending it again
    /// after a reconnect).
    fn say(&mut self, message: ClientMessage) -> Vec<Effect> {
        let (ClientMessage::Say { id, kind, text, .. }
        | ClientMessage::Direct { id, kind, text, .. }) = &message
        else {
            return Vec::new();
        };
        // Before the first connection, or after giving up, there is nobody
        // to send to; while reconnecting, the message waits in the outbox.
        if !self.core.ever_connected() || matches!(self.conn, ConnState::Failed(_)) {
            self.error_here("not connected: the message was not sent".into());
            return Vec::new();
        }
        let mut line = Line::new(
            LineKind::Chat {
                from: self.nick.clone(),
                action: *kind == MessageKind::Action,
                pending: true,
                mention: false,
                own: true,
            },
            text.to_string(),
        );
        line.client_id = Some(*id);
        let current = self.current;
        let buffer = &mut self.buffers[current];
        buffer.scroll_down(usize::MAX);
        buffer.push(line);
        let mut effects: Vec<Effect> = self.back_on_sending().into_iter().collect();
        if self.conn != ConnState::Connected {
            self.notice_here("(not connected: it will be sent when the connection is back)".into());
        }
        effects.push(Effect::Send(message));
        effects
    }
}

//! The commands about the connection rather than the chat: switching
//! servers, where you are, leaving (and asking first when others use the
//! server this client hosts); ignoring nicks; showing bars.

use huddle_protocol::Nick;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::{
    app::{App, ConnState, Effect, Screen},
    buffer::BufferKind,
};

impl App {
    /// `/connect HOST[:PORT]` (or `/server HOST`): the open rooms follow.
    pub(super) fn connect_to(&mut self, addr: &str) -> Vec<Effect> {
        let addr = crate::with_default_port(addr, huddle_protocol::DEFAULT_TCP_PORT);
        let rooms = self
            .buffers
            .iter()
            .filter_map(|b| match &b.kind {
                BufferKind::Room(room) => Some(room.to_string()),
                _ => None,
            })
            .collect();
        self.start_chat(&addr, rooms);
        vec![Effect::Connect(addr)]
    }

    /// `/server`: where you are and how the connection is.
    pub(super) fn show_server(&mut self) -> Vec<Effect> {
        let state = match &self.conn {
            ConnState::Connected => "connected".to_owned(),
            other => format!("{other:?}").to_lowercase(),
        };
        let text = format!(
            "Server: {} ({}), {state}",
            self.server_name, self.server_addr
        );
        self.notice_here(text);
        let identity = match self.server_identity.and_then(|i| i.fingerprint) {
            Some(fingerprint) => format!(
                "Encrypted (TLS). Fingerprint {fingerprint}, short {}",
                fingerprint.short()
            ),
            None if self.server_identity.is_some() => {
                "NOT ENCRYPTED: --insecure-plaintext; anyone on the network can read this chat"
                    .to_owned()
            }
            None => return Vec::new(),
        };
        self.notice_here(identity);
        Vec::new()
    }

    /// The server's identity, checked by the session: said once when it
    /// is new, kept for `/server` and the status bar.
    pub(super) fn on_identity(&mut self, identity: crate::net::PeerIdentity) {
        self.server_identity = Some(identity);
        match (identity.fingerprint, identity.verdict) {
            (Some(fingerprint), Some(crate::trust::Verdict::FirstUse)) => {
                self.notice_status(format!(
                    "New server {}: fingerprint {fingerprint} ({}), now trusted for this address. \
                     Compare it with the operator's huddle-server --fingerprint",
                    self.server_addr,
                    fingerprint.short()
                ));
            }
            (None, _) => self.notice_status(
                "Connected WITHOUT encryption (--insecure-plaintext): anyone on the network can read this chat".into(),
            ),
            _ => {}
        }
    }

    /// `/disconnect`: back to the browser.
    pub(super) fn disconnect(&mut self) -> Vec<Effect> {
        self.conn = ConnState::Failed("disconnected".into());
        self.screen = Screen::Browser;
        self.notice_status(format!("Disconnected from {}", self.server_addr));
        vec![Effect::Disconnect]
    }

    /// `/ignore [NICK]`: hide a nick's messages, or list those hidden.
    pub(super) fn ignore(&mut self, nick: Option<String>) -> Vec<Effect> {
        let Some(nick) = nick else {
            let text = match self.ignored.is_empty() {
                true => "Nobody is ignored".to_owned(),
                false => format!("Ignored: {}", self.ignored.join(", ")),
            };
            self.notice_here(text);
            return Vec::new();
        };
        match Nick::new(nick) {
            Ok(nick) => {
                if !self.ignored.iter().any(|n| n == nick.folded()) {
                    self.ignored.push(nick.folded().to_owned());
                }
                self.notice_here(format!("Ignoring {nick} (/unignore {nick} to undo)"));
                vec![Effect::SaveIgnored(self.ignored.clone())]
            }
            Err(err) => {
                self.error_here(err.to_string());
                Vec::new()
            }
        }
    }

    /// Whether `nick`'s messages are hidden (`/ignore`): live, in history
    /// pages, and in direct-message history alike.
    pub(super) fn is_ignored(&self, nick: &Nick) -> bool {
        self.ignored.iter().any(|ignored| ignored == nick.folded())
    }

    /// `/unignore NICK`.
    pub(super) fn unignore(&mut self, nick: &str) -> Vec<Effect> {
        let folded = nick.to_lowercase();
        let before = self.ignored.len();
        self.ignored.retain(|n| *n != folded);
        if self.ignored.len() == before {
            self.error_here(format!("{nick} is not ignored"));
            return Vec::new();
        }
        self.notice_here(format!("No longer ignoring {nick}"));
        vec![Effect::SaveIgnored(self.ignored.clone())]
    }

    /// `/bar nicklist` (also Alt+L).
    pub(super) fn toggle_bar(&mut self, bar: &str) -> Vec<Effect> {
        if bar == "nicklist" {
            self.hide_members = !self.hide_members;
        } else {
            self.error_here(format!(
                "no bar {bar}: /bar nicklist shows or hides the member list"
            ));
        }
        Vec::new()
    }
    /// Asks before quitting when `others` use the server this client hosts
    /// (quitting stops it for them).
    pub fn ask_before_quitting(&mut self, others: usize, reason: String) {
        self.confirm_quit = Some(reason);
        let people = if others == 1 {
            "1 person is"
        } else {
            "people are"
        };
        let count = if others == 1 {
            String::new()
        } else {
            format!("{others} ")
        };
        self.notice_here(format!(
            "{count}{people} connected to the server you host: quit and stop it? y/N \
             (next time, huddle --host --detach keeps the server running without this window)"
        ));
    }

    pub(super) fn answer_quit(&mut self, key: KeyEvent, reason: String) -> Vec<Effect> {
        if matches!(key.code, KeyCode::Char('y' | 'Y')) {
            self.quit_confirmed = true;
            return vec![Effect::Quit(reason)];
        }
        self.notice_here("Still here: the server keeps running".into());
        Vec::new()
    }
}

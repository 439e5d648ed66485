//! The server browser screen: choosing a server (or hosting one), and its
//! prompts for a nick, an address, and accepting a server whose
//! fingerprint changed (never silently: the user types `yes`).

use huddle_protocol::Nick;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;

use super::{
    app::{App, ConnState, Effect, Screen},
    input::edit_input,
};
use crate::discovery::FoundServer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What a browser prompt asks for.
pub enum PromptKind {
    Nick,
    Address,
    /// Accept the new fingerprint of `BrowserState::pending_trust`.
    Trust,
}

#[derive(Debug, Clone, Default)]
/// What the browser shows and is being asked.
pub struct BrowserState {
    pub servers: Vec<FoundServer>,
    /// Index into the servers, or `servers.len()` for "host here".
    pub selected: usize,
    pub prompt: Option<(PromptKind, Input)>,
    /// The server (address, fingerprint its beacon carries) the Trust
    /// prompt is about.
    pub pending_trust: Option<(String, huddle_protocol::Fingerprint)>,
}

impl App {
    pub(super) fn browser_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if let Some((kind, input)) = &mut self.browser.prompt {
            let kind = *kind;
            match key.code {
                KeyCode::Esc if kind != PromptKind::Nick => self.browser.prompt = None,
                KeyCode::Enter => {
                    let value = input.value().trim().to_owned();
                    return self.confirm_prompt(kind, value);
                }
                _ => edit_input(input, key),
            }
            return Vec::new();
        }
        let rows = self.browser.servers.len() + 1;
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                self.browser.selected = (self.browser.selected + rows - 1) % rows;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.browser.selected = (self.browser.selected + 1) % rows
            }
            KeyCode::Char('c') => {
                self.browser.prompt = Some((PromptKind::Address, Input::default()))
            }
            KeyCode::Char('n') => {
                self.browser.prompt = Some((PromptKind::Nick, Input::new(self.nick.clone())))
            }
            KeyCode::Char('h') => return self.host(),
            KeyCode::Char('q') | KeyCode::Esc => return vec![Effect::Quit(String::new())],
            KeyCode::Enter => {
                let Some(server) = self.browser.servers.get(self.browser.selected) else {
                    return self.host();
                };
                if let Some(why) = &server.incompatible {
                    self.notice_status(format!("Cannot connect to {}: it {why}", server.addr));
                    return Vec::new();
                }
                let addr = server.addr.to_string();
                // A cluster: its other nodes too, tried when one is lost.
                let connect_to = server.connect_addresses();
                if let (Some(trust), Some(fingerprint)) = (&server.trust, server.fingerprint)
                    && trust.starts_with("CHANGED")
                {
                    self.notice_status(format!(
                        "{addr} now presents {fingerprint} ({}); {}. Accept it only if the \
                         server's operator confirms it (huddle-server --fingerprint)",
                        fingerprint.short(),
                        trust.trim_start_matches("CHANGED: ")
                    ));
                    self.browser.pending_trust = Some((addr, fingerprint));
                    self.browser.prompt = Some((PromptKind::Trust, Input::default()));
                    return Vec::new();
                }
                self.server_name = server.name.clone();
                self.start_chat(&connect_to, Vec::new());
                return vec![Effect::Connect(connect_to)];
            }
            _ => {}
        }
        Vec::new()
    }

    pub(super) fn host(&mut self) -> Vec<Effect> {
        self.screen = Screen::Chat;
        self.conn = ConnState::Connecting;
        self.notice_status("Starting a server on this machine…".into());
        vec![Effect::Host]
    }

    fn confirm_prompt(&mut self, kind: PromptKind, value: String) -> Vec<Effect> {
        match kind {
            PromptKind::Nick => match Nick::new(value.clone()) {
                Ok(nick) => {
                    self.browser.prompt = None;
                    self.nick = nick.to_string();
                    vec![Effect::SaveNick(self.nick.clone())]
                }
                Err(err) => {
                    self.notice_status(err.to_string());
                    Vec::new()
                }
            },
            PromptKind::Trust => {
                self.browser.prompt = None;
                let pending = self.browser.pending_trust.take();
                match (value.eq_ignore_ascii_case("yes"), pending) {
                    (true, Some((addr, fingerprint))) => {
                        self.start_chat(&addr, Vec::new());
                        vec![
                            Effect::TrustServer(addr.clone(), fingerprint),
                            Effect::Connect(addr),
                        ]
                    }
                    _ => {
                        self.notice_status("Not accepted: nothing changed".into());
                        Vec::new()
                    }
                }
            }
            PromptKind::Address if value.is_empty() => Vec::new(),
            PromptKind::Address => {
                self.browser.prompt = None;
                let addr = crate::with_default_port(&value, huddle_protocol::DEFAULT_TCP_PORT);
                self.start_chat(&addr, Vec::new());
                vec![Effect::Connect(addr)]
            }
        }
    }
}

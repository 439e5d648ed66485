//! The TUI's state and its update function (the Elm architecture): every
//! input — key, paste, mouse, network event, discovery result, tick — goes
//! through [`App::update`], which changes the state and returns [`Effect`]s
//! for the event loop to carry out. Nothing here does I/O, so it tests
//! without a terminal or a socket.

use std::time::Duration;

use huddle_protocol::ClientMessage;
use ratatui::crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};
use tokio::time::Instant;
use tui_input::Input;

pub use super::browser::{BrowserState, PromptKind};
use super::buffer::{Buffer, BufferKind, Line, LineKind};
use crate::{
    core::{ClientCore, CoreConfig},
    discovery::FoundServer,
    net::NetEvent,
};

/// Direct messages fetched on the first connection, to restore recent
/// conversations.
const RESTORED_ON_CONNECT: u16 = 50;

/// The core for a connection to a server not connected to yet.
fn new_core() -> ClientCore {
    ClientCore::new(CoreConfig {
        restore_direct: RESTORED_ON_CONNECT,
        ..CoreConfig::default()
    })
}

/// What the event loop must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A request for the server. Handlers return it; [`App::update`] hands
    /// it to the client core, which turns it into `Write`s (paced, kept in
    /// the outbox): the loop never sees one.
    Send(ClientMessage),
    /// Write this frame to the connection now (the core released it).
    Write(ClientMessage),
    /// Drop the connection and make a new one (the core found it stale).
    DropConnection,
    /// Connect to a server (`host:port`) with the current nick.
    Connect(String),
    /// Host a server here and connect to it.
    Host,
    /// Remember the nick in the config file.
    SaveNick(String),
    /// Remember a server connected to.
    RememberServer(String),
    /// Record this fingerprint for this address in the known servers (the
    /// user accepted it deliberately).
    TrustServer(String, huddle_protocol::Fingerprint),
    /// Remember the rooms open on each server (`autojoin.rs`).
    SaveRooms(super::autojoin::RememberedRooms),
    /// Remember the ignored nicks.
    SaveIgnored(Vec<String>),
    /// Remember the key seen for each nick (`/whois`).
    SaveNickKeys(std::collections::BTreeMap<String, String>),
    /// Ring the terminal bell.
    Bell,
    /// Apply and save a `/set` change (`settings.rs`).
    ChangeSetting(super::settings::Setting),
    /// A desktop notification through the terminal (`notify.rs`).
    Notify { title: String, body: String },
    /// Leave, telling the server why.
    Quit(String),
    /// Read and hash the file at `path` (off the UI thread) and hand it
    /// back as [`Event::Prepared`] to be offered to `target`.
    SendFile {
        path: String,
        target: huddle_protocol::Target,
    },
    /// Stop trying to reach the server (it was never reached).
    Disconnect,
}

/// Everything that can happen to the app.
#[derive(Debug)]
pub enum Event {
    Terminal(TermEvent),
    Net(NetEvent),
    Servers(Vec<FoundServer>),
    /// A file read and hashed for `/send` (or why it cannot be sent).
    Prepared(Box<super::files::Prepared>),
    /// The instant [`App::next_wake`] asked for has come (pacing, pings).
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Browser,
    Chat,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    Offline,
    Connecting,
    Connected,
    Reconnecting { retry_in: Duration },
    Failed(String),
}

#[derive(Debug, Clone)]
pub(super) struct Completion {
    pub(super) candidates: Vec<String>,
    pub(super) index: usize,
    /// Input before the completed word.
    pub(super) before: String,
    /// Input after the cursor.
    pub(super) after: String,
    pub(super) at_line_start: bool,
}

/// The whole UI state.
#[derive(Debug)]
pub struct App {
    pub screen: Screen,
    pub browser: BrowserState,
    pub nick: String,
    pub server_name: String,
    pub server_addr: String,
    /// Who the server proved to be (its fingerprint), once connected.
    pub server_identity: Option<crate::net::PeerIdentity>,
    pub conn: ConnState,
    pub latency: Option<Duration>,
    pub buffers: Vec<Buffer>,
    pub current: usize,
    pub input: Input,
    pub help: bool,
    pub quit: bool,
    /// Rows of the message area, for paging.
    pub page_height: usize,
    pub(super) history: Vec<String>,
    pub(super) history_pos: Option<usize>,
    pub(super) completion: Option<Completion>,
    /// Rooms to join on the first connection.
    pub(super) autojoin: Vec<String>,
    /// Whether the rooms were named (`--room`), which wins over the
    /// remembered ones.
    pub(super) rooms_named: bool,
    /// Rooms remembered per server id (`autojoin.rs`; config `rooms`).
    pub remembered_rooms: super::autojoin::RememberedRooms,
    /// The server connected to (its id), once known.
    pub(super) server_id: Option<huddle_protocol::ServerId>,
    /// The room a `/join` asked for, to switch to when joined.
    pub(super) switch_to: Option<String>,
    /// Delivery: the outbox, pacing, rejoin, gap fill, de-duplication,
    /// keepalive (`core.rs`). The app is its view. Whether this server
    /// was ever reached is the core's (`ClientCore::ever_connected`): a
    /// failure before returns to the browser instead of retrying a wrong
    /// address forever.
    pub core: ClientCore,
    /// Where each transfer's progress line is.
    pub(super) transfer_lines: std::collections::HashMap<huddle_protocol::TransferId, BufferKind>,
    /// Rooms the server listed (`/list`), for completing `/join #…`.
    pub(super) listed_rooms: Vec<huddle_protocol::RoomName>,
    /// A quit waiting for a yes (others use the server this client hosts),
    /// with its reason.
    pub(super) confirm_quit: Option<String>,
    /// The user said yes: quitting may stop the hosted server.
    pub quit_confirmed: bool,
    /// The member list is hidden (Alt+L, `/bar nicklist`): narrow
    /// terminals get the room back.
    pub hide_members: bool,
    /// Nicks (case-folded) whose messages are not shown (`/ignore`).
    pub ignored: Vec<String>,
    /// The short key fingerprint last seen for each nick (folded), by
    /// `/whois`.
    pub nick_keys: std::collections::BTreeMap<String, String>,
    /// Whether the terminal has focus (focus events; assumed at start).
    pub focused: bool,
    /// How far the help overlay is scrolled (rows).
    pub help_scroll: u16,
    /// Whether chat logs are written (config `logging`).
    pub logging: bool,
    /// Whether mentions and direct messages notify (config `notify`).
    pub notify: bool,
    /// Words that count as mentions besides the nick (config `highlight`).
    pub highlight_words: Vec<String>,
    /// Our away message, while away.
    pub away: Option<String>,
    /// Who else is away.
    pub away_nicks: super::away::AwayNicks,
    /// A Ctrl+R search in the current buffer (`find.rs`), while one runs.
    pub find: Option<super::find::Find>,
    /// The last `/search -all` the server answers (`search.rs`).
    pub server_search: Option<super::search::ServerSearch>,
    /// File transfers under way (`files.rs`): fed the server's file frames,
    /// they answer through the core like any request.
    pub transfers: crate::transfer::Transfers,
}

impl App {
    /// A new app. Without a nick it asks for one first (suggesting
    /// `default_nick`).
    pub fn new(nick: Option<String>, default_nick: &str) -> Self {
        let mut app = Self {
            screen: Screen::Browser,
            browser: BrowserState::default(),
            nick: nick.clone().unwrap_or_else(|| default_nick.to_owned()),
            server_name: String::new(),
            server_addr: String::new(),
            server_identity: None,
            conn: ConnState::Offline,
            latency: None,
            buffers: vec![Buffer::new(BufferKind::Status)],
            current: 0,
            input: Input::default(),
            help: false,
            quit: false,
            page_height: 20,
            history: Vec::new(),
            history_pos: None,
            completion: None,
            autojoin: vec!["#general".into()],
            rooms_named: false,
            remembered_rooms: Default::default(),
            server_id: None,
            switch_to: None,
            core: new_core(),
            transfer_lines: std::collections::HashMap::new(),
            listed_rooms: Vec::new(),
            confirm_quit: None,
            quit_confirmed: false,
            hide_members: false,
            ignored: Vec::new(),
            nick_keys: std::collections::BTreeMap::new(),
            focused: true,
            help_scroll: 0,
            logging: true,
            notify: true,
            highlight_words: Vec::new(),
            away: None,
            away_nicks: super::away::AwayNicks::default(),
            find: None,
            server_search: None,
            transfers: crate::transfer::Transfers::new(
                std::env::temp_dir(),
                crate::transfer::AcceptPolicy::default(),
            ),
        };
        if nick.is_none() {
            app.browser.prompt = Some((PromptKind::Nick, Input::new(default_nick.to_owned())));
        }
        app
    }

    /// Skips the browser: the loop is connecting to `addr` already.
    pub fn start_chat(&mut self, addr: &str, rooms: Vec<String>) {
        self.screen = Screen::Chat;
        self.server_addr = addr.to_owned();
        self.conn = ConnState::Connecting;
        // Another server (or the same one afresh): nothing the old
        // connection left (rooms, watermarks, outbox) belongs to it.
        self.core = new_core();
        self.rooms_named = !rooms.is_empty();
        if !rooms.is_empty() {
            self.autojoin = rooms;
        }
        self.notice_status(format!("Connecting to {addr}…"));
    }

    /// Applies `event`; returns what the loop must do. Requests the
    /// handlers made go through the client core, and the frames it
    /// releases come back as [`Effect::Write`].
    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        let now = Instant::now();
        let effects = self.react(now, event);
        self.through_core(now, effects)
    }

    /// Hands requests made outside an update (a file transfer's replies)
    /// to the core; returns the frames it releases.
    pub fn send_requests(&mut self, requests: Vec<ClientMessage>) -> Vec<Effect> {
        let requests = requests.into_iter().map(Effect::Send).collect();
        self.through_core(Instant::now(), requests)
    }

    /// When the core wants an [`Event::Tick`].
    pub fn next_wake(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// Hands requests to the core, shows what the core reports (which may
    /// make more requests), and collects the frames it releases.
    fn through_core(&mut self, now: Instant, mut effects: Vec<Effect>) -> Vec<Effect> {
        let mut out = Vec::new();
        loop {
            for effect in effects.drain(..) {
                match effect {
                    Effect::Send(message) => self.core.send(now, message),
                    other => out.push(other),
                }
            }
            while let Some(event) = self.core.poll_event() {
                effects.extend(self.on_core(event));
            }
            if effects.is_empty() {
                break;
            }
        }
        while let Some(message) = self.core.poll_transmit(now) {
            out.push(Effect::Write(message));
        }
        out
    }

    fn react(&mut self, now: Instant, event: Event) -> Vec<Effect> {
        match event {
            Event::Tick => {
                self.core.handle_timeout(now);
                Vec::new()
            }
            Event::Terminal(TermEvent::Key(key)) if key.kind != KeyEventKind::Release => {
                match self.confirm_quit.take() {
                    Some(reason) => self.answer_quit(key, reason),
                    None => self.on_key(key),
                }
            }
            Event::Terminal(TermEvent::Paste(text)) => {
                self.on_paste(&text);
                Vec::new()
            }
            Event::Terminal(TermEvent::Mouse(mouse)) => self.on_mouse(mouse),
            Event::Terminal(TermEvent::FocusGained) => {
                self.focused = true;
                Vec::new()
            }
            Event::Terminal(TermEvent::FocusLost) => {
                self.focused = false;
                Vec::new()
            }
            Event::Terminal(_) => Vec::new(),
            Event::Net(event) => self.on_net(now, event),
            Event::Prepared(prepared) => self.offer_prepared(*prepared),
            Event::Servers(servers) => {
                self.browser.servers = servers;
                self.browser.selected = self.browser.selected.min(self.browser.servers.len());
                Vec::new()
            }
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return vec![Effect::Quit(String::new())];
        }
        match self.screen {
            Screen::Browser => self.browser_key(key),
            Screen::Chat => self.chat_key(key),
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) -> Vec<Effect> {
        if self.screen != Screen::Chat {
            return Vec::new();
        }
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_up(3),
            MouseEventKind::ScrollDown => {
                self.buffers[self.current].scroll_down(3);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Adds a line to the status buffer.
    pub fn notice_status(&mut self, text: String) {
        self.buffers[0].push(Line::new(LineKind::Notice, text));
    }

    /// The status buffer's last line, for the browser's message bar.
    pub fn last_status(&self) -> Option<&str> {
        self.buffers[0].lines.last().map(|l| l.text.as_str())
    }
}

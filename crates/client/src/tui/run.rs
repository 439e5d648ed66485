//! The event loop, an interpreter of effects: one channel per source
//! (terminal, network, discovery, prepared files, the core's timer) feeds
//! [`App::update`], and each effect it returns is carried out here (writes
//! to the connection, sessions started and stopped, files saved). The
//! terminal itself is `terminal.rs`.

use std::{
    io::{Write, stdout},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use huddle_protocol::Nick;
use tokio::sync::mpsc;

use super::{
    app::{App, Effect, Event},
    files::Prepared,
    terminal::{self, spawn_terminal_reader},
    ui,
};
use crate::trust::{KnownServers, Security, Trust};
use crate::{
    config::Config,
    core::sleep_until_some,
    discovery::{Browser, BrowserConfig},
    host::{HostOptions, Hosted, host},
    net::{NetEvent, NetHandle, SessionConfig, spawn_session},
    transfer::{Transfers, prepare_offer},
};

/// The shortest time between two frames after a key (60 a second at
/// most): what is typed shows at once.
const FRAME: Duration = Duration::from_millis(16);

/// The shortest time between two frames when only the network changed
/// things (20 a second at most): a busy room costs a third of the drawing.
const BUSY_FRAME: Duration = Duration::from_millis(50);

/// Where the TUI starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// The server browser.
    Browser,
    /// Connect to this address at once, joining these rooms.
    Connect { addr: String, rooms: Vec<String> },
    /// Host a server and join it.
    Host { rooms: Vec<String> },
}

/// Everything the TUI needs to run.
#[derive(Debug)]
pub struct Options {
    pub config: Config,
    pub config_path: Option<PathBuf>,
    pub start: Start,
    pub nick: Option<String>,
    pub browser: BrowserConfig,
    pub host: HostOptions,
    /// Where received files go.
    pub downloads: PathBuf,
    /// Which file offers are accepted without asking.
    pub accept: crate::transfer::AcceptPolicy,
    /// This installation's key.
    pub key: std::sync::Arc<huddle_protocol::IdentityKey>,
    /// A server this client started itself (detached), and how to reach
    /// it: pinned to the fingerprint it reported.
    pub pinned: Option<(String, crate::trust::Security)>,
    /// Said in the status buffer at start.
    pub notes: Vec<String>,
    /// TLS and whom to trust (the hosted server is always pinned).
    pub security: crate::trust::Security,
}

fn spawn_discovery(
    config: BrowserConfig,
    tx: mpsc::UnboundedSender<Vec<crate::discovery::FoundServer>>,
) -> anyhow::Result<()> {
    let mut browser = Browser::new(config.clone()).context("cannot open the discovery socket")?;
    tokio::spawn(async move {
        let mut probe = tokio::time::interval(config.probe_every);
        let mut report = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = probe.tick() => browser.probe().await,
                _ = report.tick() => if tx.send(browser.servers()).is_err() { return },
                () = browser.receive() => {}
            }
        }
    });
    Ok(())
}

/// Runs the TUI until the user quits.
pub async fn run(mut options: Options) -> anyhow::Result<()> {
    let default_nick = std::env::var("USER")
        .ok()
        .and_then(|u| Nick::new(u).ok())
        .map_or_else(|| "guest".into(), |n| n.to_string());
    let nick = options.nick.clone().or_else(|| options.config.nick.clone());
    let mut app = App::new(nick, &default_nick);
    app.ignored = options.config.ignore.clone();
    app.nick_keys = options.config.nick_keys.clone();
    app.remembered_rooms = options.config.rooms.clone();
    for note in &options.notes {
        app.notice_status(note.clone());
    }
    app.notify = options.config.notify.unwrap_or(true);
    app.logging = options.config.logging.unwrap_or(true);
    app.highlight_words = options.config.highlight.clone();

    let (mut terminal, _guard) = terminal::open()?;

    let stop = Arc::new(AtomicBool::new(false));
    let (term_tx, mut term_rx) = mpsc::unbounded_channel();
    spawn_terminal_reader(term_tx, stop.clone());
    let (net_tx, mut net_rx) = mpsc::unbounded_channel();
    let (servers_tx, mut servers_rx) = mpsc::unbounded_channel();
    let (prepared_tx, mut prepared_rx) = mpsc::unbounded_channel();

    let mut net: Option<NetHandle> = None;
    app.transfers = Transfers::new(options.downloads.clone(), options.accept.clone());
    let mut hosted: Option<Hosted> = None;
    let mut effects = Vec::new();
    match options.start.clone() {
        Start::Browser => {
            if let Err(err) = spawn_discovery(options.browser.clone(), servers_tx) {
                effects = app.update(Event::Net(crate::net::NetEvent::Failed(format!("{err:#}"))));
            }
        }
        Start::Connect { addr, rooms } => {
            app.start_chat(&addr, rooms);
            effects.push(Effect::Connect(addr));
        }
        Start::Host { rooms } => {
            app.start_chat("this machine", rooms);
            effects.push(Effect::Host);
        }
    }

    // Every room and conversation, appended to text files (chatlog.rs).
    let logs_root = || {
        dirs::data_dir().map(|dir| crate::chatlog::ChatLogs::new(dir.join("huddle").join("logs")))
    };
    // The server the session is on, for logs turned on mid-session.
    let mut logged_server: Option<(String, huddle_protocol::ServerId)> = None;
    let mut chat_logs = match options.config.logging {
        Some(false) => None,
        _ => logs_root(),
    };
    // Whether the app changed since the last frame, and when that was.
    let mut changed = true;
    let mut last_frame: Option<tokio::time::Instant> = None;
    // Whether the user did something since the last frame (a key, the
    // mouse, a resize): then the next frame comes sooner.
    let mut user_acted = true;
    let result = loop {
        for effect in std::mem::take(&mut effects) {
            match effect {
                Effect::Write(message) => {
                    if let Some(net) = &net {
                        net.send(message);
                    }
                }
                // `App::update` hands requests to the core; one that gets
                // here still goes through it.
                Effect::Send(message) => effects.extend(app.send_requests(vec![message])),
                Effect::DropConnection => {
                    if let Some(net) = &net {
                        net.reconnect("the server stopped answering");
                    }
                }
                Effect::Connect(addr) => {
                    app.server_addr = addr.clone();
                    let nick = match Nick::new(app.nick.clone()) {
                        Ok(nick) => nick,
                        Err(err) => {
                            app.notice_status(format!("{err}; change it with /nick"));
                            continue;
                        }
                    };
                    let security = match (&hosted, &options.pinned) {
                        (Some(hosted), _) if hosted.local_addr == addr => hosted.security.clone(),
                        (_, Some((pinned, security))) if *pinned == addr => security.clone(),
                        _ => options.security.clone(),
                    };
                    let session = SessionConfig {
                        addr,
                        nick,
                        security,
                        key: options.key.clone(),
                        retry_nick: true,
                    };
                    if let Some(old) = net.replace(spawn_session(session, net_tx.clone())) {
                        old.shutdown("switching servers").await;
                    }
                }
                Effect::Host => match host(&options.host).await {
                    Ok(server) => {
                        for note in &server.notes {
                            app.notice_status(note.clone());
                        }
                        effects.push(Effect::Connect(server.local_addr.clone()));
                        hosted = Some(server);
                    }
                    Err(err) => {
                        effects.extend(app.update(Event::Net(crate::net::NetEvent::Failed(
                            format!("cannot host a server: {err}"),
                        ))));
                    }
                },
                Effect::SaveNick(nick) => {
                    options.config.nick = Some(nick);
                    save(&options);
                }
                Effect::SaveIgnored(nicks) => {
                    options.config.ignore = nicks;
                    save(&options);
                }
                Effect::TrustServer(addr, fingerprint) => {
                    if let Security::Tls(Trust::KnownServers(path)) = &options.security {
                        let recorded = KnownServers::load(path)
                            .and_then(|mut known| known.record(path, &addr, fingerprint, ""));
                        if let Err(err) = recorded {
                            app.notice_status(format!("cannot record the new fingerprint: {err}"));
                        }
                    }
                }
                Effect::ChangeSetting(setting) => {
                    use super::settings::Setting;
                    match setting {
                        Setting::Logging(on) => {
                            options.config.logging = Some(on);
                            chat_logs = on.then(logs_root).flatten();
                            if let (Some(logs), Some((name, id))) = (&mut chat_logs, &logged_server)
                            {
                                logs.set_server(name, *id);
                            }
                        }
                        Setting::Notify(on) => options.config.notify = Some(on),
                        Setting::Highlight(words) => options.config.highlight = words,
                    }
                    save(&options);
                }
                Effect::SaveRooms(rooms) => {
                    options.config.rooms = rooms;
                    save(&options);
                }
                Effect::SaveNickKeys(keys) => {
                    options.config.nick_keys = keys;
                    save(&options);
                }
                Effect::RememberServer(addr) => {
                    if !addr.starts_with("127.") {
                        options.config.remember_server(&addr);
                        save(&options);
                    }
                }
                Effect::Bell => {
                    let mut out = stdout();
                    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                }
                Effect::Notify { title, body } => {
                    let in_tmux = std::env::var_os("TMUX").is_some();
                    let bytes = super::notify::osc_notification(&title, &body, in_tmux);
                    let mut out = stdout();
                    let _ = out.write_all(&bytes).and_then(|()| out.flush());
                }
                Effect::SendFile { path, target } => {
                    // Hashing reads the whole file: off the UI thread.
                    app.notice_here(format!("Reading {path} to offer it…"));
                    let prepared_tx = prepared_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let offer = prepare_offer(std::path::Path::new(&path));
                        let _ = prepared_tx.send(Prepared {
                            path,
                            target,
                            offer,
                        });
                    });
                }
                Effect::Disconnect => {
                    if let Some(net) = net.take() {
                        net.shutdown("giving up").await;
                    }
                }
                Effect::Quit(reason)
                    if !app.quit_confirmed
                        && hosted.as_ref().is_some_and(|h| h.server.clients() > 1) =>
                {
                    let others = hosted.as_ref().map_or(0, |h| h.server.clients() - 1);
                    app.ask_before_quitting(others, reason);
                }
                Effect::Quit(reason) => {
                    app.quit = true;
                    if let Some(net) = net.take() {
                        net.shutdown(&reason).await;
                    }
                }
            }
        }
        if app.quit {
            record_logs(&mut chat_logs, &mut app);
            break Ok(());
        }
        if !effects.is_empty() {
            continue;
        }
        // A frame at most every FRAME after a key, BUSY_FRAME otherwise: a
        // burst of events (a busy room, a gap filled) is drawn once, not
        // once per event; nothing is drawn without an event.
        let now = tokio::time::Instant::now();
        let gap = if user_acted { FRAME } else { BUSY_FRAME };
        let frame_due = last_frame.map_or(now, |at| at + gap);
        if changed && now >= frame_due {
            // The logs are written with the frame: once per burst too.
            record_logs(&mut chat_logs, &mut app);
            let size = terminal.size().context("cannot read the terminal size")?;
            app.page_height = usize::from(size.height.saturating_sub(3)).max(1);
            if let Err(err) = terminal.draw(|frame| ui::draw(frame, &app)) {
                break Err(anyhow::Error::new(err).context("cannot draw"));
            }
            last_frame = Some(now);
            changed = false;
            user_acted = false;
        }
        // Debug builds only: lets the tmux end-to-end test prove that a
        // panic in the middle of a session still restores the terminal.
        #[cfg(debug_assertions)]
        if std::env::var_os("HUDDLE_DEBUG_PANIC").is_some() {
            panic!("HUDDLE_DEBUG_PANIC is set: panicking with the terminal in raw mode");
        }
        let draw_at = changed.then_some(frame_due);
        changed = true;
        effects = tokio::select! {
            () = sleep_until_some(draw_at) => Vec::new(),
            Some(event) = term_rx.recv() => {
                user_acted = true;
                app.update(Event::Terminal(event))
            }
            Some(event) = net_rx.recv() => {
                if let NetEvent::Connected(welcome) = &event {
                    logged_server = Some((welcome.server_name.to_string(), welcome.server_id));
                    if let Some(logs) = &mut chat_logs {
                        logs.set_server(welcome.server_name.as_str(), welcome.server_id);
                    }
                }
                app.update(Event::Net(event))
            }
            Some(mut servers) = servers_rx.recv() => {
                if let Security::Tls(Trust::KnownServers(path)) = &options.security
                    && let Ok(known) = KnownServers::load(path)
                {
                    crate::discovery::mark_trust(&mut servers, &known);
                }
                app.update(Event::Servers(servers))
            }
            Some(prepared) = prepared_rx.recv() => app.update(Event::Prepared(Box::new(prepared))),
            () = sleep_until_some(app.next_wake()) => app.update(Event::Tick),
            else => break Ok(()),
        };
    };
    stop.store(true, Ordering::Relaxed);
    if let Some(hosted) = hosted {
        hosted.server.stop().await;
    }
    result
}

/// Appends to the chat logs what the buffers gained since the last call;
/// says so in the status buffer if writing fails.
fn record_logs(chat_logs: &mut Option<crate::chatlog::ChatLogs>, app: &mut App) {
    if let Some(logs) = chat_logs
        && let Some(failed) = logs.record(app)
    {
        app.notice_status(failed);
    }
}

fn save(options: &Options) {
    if let Some(path) = &options.config_path
        && let Err(err) = options.config.save(path)
    {
        tracing::warn!("{err}");
    }
}

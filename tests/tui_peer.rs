//! The harness of the durability tests: a TUI client (the real `App` and
//! network session) driven by hand, the server as a child process killed
//! when dropped, and a proxy that can cut connections.
#![allow(clippy::unwrap_used, clippy::expect_used)] // Test helpers may panic.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use huddle::{
    net::{NetEvent, NetHandle, SessionConfig, spawn_session},
    tui::{App, Effect, Event, buffer::LineKind},
};
use huddle_protocol::Nick;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::mpsc::UnboundedReceiver;

/// The server process, killed when dropped so a failing test leaves none
/// behind (it would also hold the test's output pipe open).
pub(crate) struct ServerProcess(pub(crate) Child);

impl ServerProcess {
    pub(crate) fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback address nothing listens on (the port is free a moment ago).
pub(crate) fn free_loopback_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Starts `huddle-server` on `addr` with its history in `data_dir`, and
/// waits until it accepts connections.
pub(crate) async fn start_server(addr: SocketAddr, data_dir: &std::path::Path) -> ServerProcess {
    let child = Command::new(huddle_e2e::workspace_binary("huddle-server"))
        .args([
            "--bind",
            &addr.to_string(),
            "--no-discovery",
            "--no-rate-limit",
            "--log",
            "warn",
            "--data-dir",
        ])
        .arg(data_dir)
        .stderr(Stdio::null())
        .spawn()
        .expect("huddle-server is built by `cargo test --workspace`");
    // Wrapped first, so a server that never listens is still killed.
    let server = ServerProcess(child);
    wait_listening(addr).await;
    server
}

pub(crate) async fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) struct Peer {
    pub(crate) nick: String,
    pub(crate) app: App,
    events: UnboundedReceiver<NetEvent>,
    pub(crate) net: NetHandle,
}

impl Peer {
    pub(crate) fn new(nick: &str, addr: SocketAddr) -> Self {
        Self::connecting_to(nick, &addr.to_string())
    }

    /// A peer whose session connects to `addr`: one address, or several
    /// separated by commas (the nodes of a cluster), tried in turn.
    pub(crate) fn connecting_to(nick: &str, addr: &str) -> Self {
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let net = spawn_session(
            SessionConfig {
                addr: addr.to_owned(),
                nick: Nick::new(nick).unwrap(),
                security: huddle_e2e::any_server(),
                key: huddle_e2e::fresh_key(),
                retry_nick: true,
            },
            tx,
        );
        let mut app = App::new(Some(nick.into()), nick);
        app.start_chat(addr, vec!["#load".into()]);
        Self {
            nick: nick.into(),
            app,
            events,
            net,
        }
    }

    /// Carries out the network's effects, as `tui/run.rs` does.
    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Write(message) => self.net.send(message),
                Effect::DropConnection => self.net.reconnect("stale"),
                _ => {}
            }
        }
    }

    /// Handles every network event that has arrived, and the core's timer
    /// (pacing, pings) if it is due.
    pub(crate) fn pump(&mut self) {
        while let Ok(event) = self.events.try_recv() {
            let effects = self.app.update(Event::Net(event));
            self.apply(effects);
        }
        if self
            .app
            .next_wake()
            .is_some_and(|at| at <= tokio::time::Instant::now())
        {
            let effects = self.app.update(Event::Tick);
            self.apply(effects);
        }
    }

    pub(crate) fn type_line(&mut self, text: &str) {
        for c in text.chars().map(KeyCode::Char).chain([KeyCode::Enter]) {
            let effects = self
                .app
                .update(Event::Terminal(TermEvent::Key(KeyEvent::new(
                    c,
                    KeyModifiers::NONE,
                ))));
            self.apply(effects);
        }
    }

    pub(crate) fn joined(&self) -> bool {
        self.app
            .buffers
            .iter()
            .any(|b| b.title() == "#load" && b.joined)
    }

    /// Chat lines of #load: (text, still pending).
    pub(crate) fn chat(&self) -> Vec<(String, bool)> {
        self.chat_in("#load")
    }

    /// Chat lines of the buffer titled `title`: (text, still pending).
    pub(crate) fn chat_in(&self, title: &str) -> Vec<(String, bool)> {
        self.lines_in(title, |kind| match kind {
            LineKind::Chat { pending, .. } => Some(*pending),
            _ => None,
        })
    }

    /// Messages the server refused, in the buffer titled `title`.
    pub(crate) fn refused_in(&self, title: &str) -> Vec<String> {
        self.lines_in(title, |kind| matches!(kind, LineKind::Error).then_some(()))
            .into_iter()
            .map(|(text, ())| text)
            .filter(|text| text.contains("(not delivered:"))
            .collect()
    }

    fn lines_in<T>(&self, title: &str, pick: impl Fn(&LineKind) -> Option<T>) -> Vec<(String, T)> {
        self.app
            .buffers
            .iter()
            .find(|b| b.title() == title)
            .map(|b| {
                b.lines
                    .iter()
                    .filter_map(|l| pick(&l.kind).map(|t| (l.text.clone(), t)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) async fn pump_until(
    peers: &mut [Peer],
    limit: Duration,
    done: impl Fn(&[Peer]) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(peers) {
        assert!(
            Instant::now() < deadline,
            "timed out; last state:\n{}",
            describe(peers)
        );
        for peer in peers.iter_mut() {
            peer.pump();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn describe(peers: &[Peer]) -> String {
    peers
        .iter()
        .map(|p| {
            let chat = p.chat();
            let pending = chat.iter().filter(|(_, pending)| *pending).count();
            format!(
                "{}: {:?}, {} chat lines, {pending} pending",
                p.nick,
                p.app.conn,
                chat.len()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + &missing(peers)
}

/// What the peer with the fewest room lines lacks of the one with most.
fn missing(peers: &[Peer]) -> String {
    let (Some(fewest), Some(most)) = (
        peers.iter().min_by_key(|p| p.chat().len()),
        peers.iter().max_by_key(|p| p.chat().len()),
    ) else {
        return String::new();
    };
    let has: std::collections::HashSet<String> =
        fewest.chat().into_iter().map(|(t, _)| t).collect();
    let lacks: Vec<String> = most
        .chat()
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| !has.contains(t))
        .collect();
    let notices: Vec<String> = fewest
        .app
        .buffers
        .iter()
        .flat_map(|b| b.lines.iter())
        .filter(|l| !matches!(l.kind, LineKind::Chat { .. }))
        .map(|l| l.text.clone())
        .collect();
    format!(
        "\n{} lacks {lacks:?}\nits notices: {notices:?}",
        fewest.nick
    )
}

/// A TCP proxy whose live connections can be cut at will.
pub(crate) async fn cutting_proxy(
    upstream: SocketAddr,
) -> (SocketAddr, tokio::sync::watch::Sender<u32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (cut, cuts) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let mut cuts = cuts.clone();
            cuts.borrow_and_update();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = cuts.changed() => {}
                }
                // Dropping both sockets here cuts the connection mid-stream.
            });
        }
    });
    (addr, cut)
}

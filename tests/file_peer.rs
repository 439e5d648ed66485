//! The harness of the file transfer tests: a client with a transfer engine
//! run as a task, and a raw sender that can lie.
#![allow(dead_code)] // Each test uses a different subset.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use huddle::{
    net::{Connection, connect},
    transfer::{AcceptPolicy, TransferEvent, Transfers},
};
use huddle_protocol::{
    ChatText, ClientMessage, ClientMsgId, FileOffer, MessageKind, Nick, RoomName, ServerMessage,
    ShortText, Target, TransferId,
};
use huddle_server::{RunningServer, Server, ServerConfig};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

pub(crate) fn room() -> RoomName {
    RoomName::new("#files").unwrap()
}

pub(crate) async fn server() -> RunningServer {
    Server::bind(ServerConfig::loopback())
        .await
        .unwrap()
        .spawn()
}

pub(crate) async fn joined(addr: std::net::SocketAddr, nick: &str) -> Connection {
    let (mut connection, _, _) = connect(
        &addr.to_string(),
        &huddle_e2e::any_server(),
        &huddle::net::Introduction::fresh(Nick::new(nick).unwrap()),
    )
    .await
    .unwrap();
    connection
        .send(ClientMessage::Join {
            room: room(),
            password: None,
        })
        .await
        .unwrap();
    loop {
        if let ServerMessage::Joined { .. } = connection.next().await.unwrap().unwrap() {
            return connection;
        }
    }
}

/// What a running peer reports.
#[derive(Debug)]
pub(crate) enum Report {
    Transfer(TransferEvent),
    Chat(String),
    Error,
}

/// A client with a transfer engine, run as a task: frames in, engine out.
pub(crate) struct Peer {
    pub(crate) commands: mpsc::UnboundedSender<ClientMessage>,
    pub(crate) reports: mpsc::UnboundedReceiver<Report>,
    /// Reports not picked yet, oldest first: a later wait may want them.
    pub(crate) backlog: Vec<Report>,
    pub(crate) task: tokio::task::JoinHandle<Transfers>,
}

impl Peer {
    pub(crate) fn spawn(mut connection: Connection, mut transfers: Transfers) -> Self {
        let (commands, mut incoming_commands) = mpsc::unbounded_channel::<ClientMessage>();
        let (report, reports) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    command = incoming_commands.recv() => match command {
                        Some(message) => if connection.send(message).await.is_err() { break },
                        None => break,
                    },
                    frame = connection.next() => {
                        let Some(Ok(message)) = frame else { break };
                        match &message {
                            ServerMessage::Chat(chat) => { let _ = report.send(Report::Chat(chat.text.to_string())); }
                            ServerMessage::Error(_) => { let _ = report.send(Report::Error); }
                            ServerMessage::Ping { token } => { let _ = connection.send(ClientMessage::Pong { token: *token }).await; }
                            _ => {}
                        }
                        let (send, events) = transfers.on_message(&message);
                        for event in events {
                            let _ = report.send(Report::Transfer(event));
                        }
                        for out in send {
                            if connection.send(out).await.is_err() { break }
                        }
                    }
                }
            }
            transfers
        });
        Self {
            commands,
            reports,
            backlog: Vec::new(),
            task,
        }
    }

    pub(crate) fn send(&self, message: ClientMessage) {
        self.commands.send(message).unwrap();
    }

    /// Waits for a failed transfer and returns its reason.
    pub(crate) async fn failure(&mut self) -> String {
        self.until(|r| match r {
            Report::Transfer(TransferEvent::Failed { reason, .. }) => Some(reason.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for a report matching `pick`, returning what it picked.
    pub(crate) async fn until<T>(&mut self, mut pick: impl FnMut(&Report) -> Option<T>) -> T {
        if let Some((at, found)) = self
            .backlog
            .iter()
            .enumerate()
            .find_map(|(at, r)| pick(r).map(|f| (at, f)))
        {
            self.backlog.remove(at);
            return found;
        }
        tokio::time::timeout(PATIENCE, async {
            loop {
                let report = self.reports.recv().await.expect("the peer stopped");
                match pick(&report) {
                    Some(found) => return found,
                    None => self.backlog.push(report),
                }
            }
        })
        .await
        .unwrap_or_else(|_| {
            let recent: Vec<&Report> = self.backlog.iter().rev().take(3).collect();
            panic!(
                "timed out waiting for a report; {} unpicked, newest {recent:?}",
                self.backlog.len()
            )
        })
    }
}

pub(crate) fn say(text: &str) -> ClientMessage {
    ClientMessage::Say {
        room: room(),
        id: ClientMsgId::random(),
        kind: MessageKind::Normal,
        text: ChatText::new(text).unwrap(),
    }
}

pub(crate) fn random_file(dir: &Path, name: &str, size: usize) -> PathBuf {
    let path = dir.join(name);
    let mut rng = fastrand::Rng::with_seed(7);
    let data: Vec<u8> = (0..size).map(|_| rng.u8(..)).collect();
    std::fs::write(&path, data).unwrap();
    path
}

pub(crate) fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

pub(crate) fn accept_all() -> AcceptPolicy {
    AcceptPolicy {
        from: Vec::new(),
        below: Some(u64::MAX),
    }
}

/// A raw sender: offers whatever it likes, then sends the given chunks.
pub(crate) async fn raw_offer(connection: &mut Connection, offer: FileOffer) {
    connection
        .send(ClientMessage::FileOffer(offer))
        .await
        .unwrap();
}

pub(crate) async fn next_credit(connection: &mut Connection) -> u32 {
    loop {
        match tokio::time::timeout(PATIENCE, connection.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            ServerMessage::FileCredit { bytes, .. } => return bytes,
            ServerMessage::Error(e) => panic!("sender got an error: {}", e.text),
            _ => {}
        }
    }
}

pub(crate) fn offer(name: &str, size: u64, sha256: [u8; 32]) -> FileOffer {
    FileOffer {
        transfer: TransferId::random(),
        target: Target::Room(room()),
        name: ShortText::new(name).unwrap(),
        size,
        sha256,
    }
}

pub(crate) fn sha(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

//! File transfers on the client: offering a file, receiving one into the
//! downloads directory, flow control, checksums, cancellation.
//!
//! [`Transfers`] reacts to the server's `File*` frames and returns the
//! frames to send plus [`TransferEvent`]s for the UI. A received file is
//! written to a `.part` file and renamed to its final (sanitised, unique)
//! name only once its SHA-256 matches the offer; anything else removes the
//! `.part` file, so no file that looks complete is ever left behind.

mod name;
pub mod parts;
mod receive;
mod send;
mod text;

use std::{
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
    time::Instant,
};

use huddle_protocol::{ClientMessage, FileOffer, ServerMessage, ShortText, Target, TransferId};
pub use name::{sanitize_file_name, unique_path};
pub use send::{PreparedOffer, digest, prepare_offer};
use sha2::{Digest, Sha256};
pub use text::{describe, human_size, progress_bar, short_id};

/// A transfer could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a file")]
    NotAFile(PathBuf),
    #[error("there is no file {0}")]
    NoSuchFile(PathBuf),
    #[error("{0} is a directory: send the files in it one by one")]
    Directory(PathBuf),
    #[error("the file name {0:?} cannot be sent (control characters or longer than 390 bytes)")]
    BadName(String),
    #[error("no offer {0} is waiting for an answer")]
    NoSuchOffer(String),
    #[error("cannot write in {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Who gets offered files accepted without asking.
#[derive(Debug, Clone, Default)]
pub struct AcceptPolicy {
    /// Nicks (case-insensitive) whose files are always accepted.
    pub from: Vec<String>,
    /// Files at most this large are accepted from anyone.
    pub below: Option<u64>,
}

/// Whether a transfer is ours going out or theirs coming in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sending,
    Receiving,
}

/// What the UI should show.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferEvent {
    /// Someone offers a file; `/accept` or `/reject` it.
    Offered {
        id: TransferId,
        from: String,
        name: String,
        size: u64,
        target: Target,
    },
    /// Bytes moved.
    Progress {
        id: TransferId,
        direction: Direction,
        name: String,
        done: u64,
        size: u64,
        bytes_per_second: f64,
    },
    /// Finished: for a received file, where it was saved.
    Completed {
        id: TransferId,
        direction: Direction,
        name: String,
        saved: Option<PathBuf>,
    },
    /// Ended without the file; the reason says why.
    Failed {
        id: TransferId,
        name: String,
        reason: String,
    },
    /// Anything else worth a line.
    Notice(String),
}

#[derive(Debug)]
struct Outgoing {
    name: String,
    file: File,
    size: u64,
    sent: u64,
    credit: u64,
    started: Instant,
}

#[derive(Debug)]
struct Incoming {
    name: String,
    part: PathBuf,
    file: File,
    hasher: Sha256,
    size: u64,
    sha256: [u8; 32],
    received: u64,
    started: Instant,
}

/// All transfers of one client.
#[derive(Debug)]
pub struct Transfers {
    downloads: PathBuf,
    policy: AcceptPolicy,
    offers: HashMap<TransferId, (String, FileOffer)>,
    outgoing: HashMap<TransferId, Outgoing>,
    incoming: HashMap<TransferId, Incoming>,
    /// Every transfer seen, oldest first, to resolve short ids and "the
    /// latest".
    recent: Vec<TransferId>,
}

/// What a short id is looked up among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Among {
    /// Offers waiting for an answer.
    Offers,
    /// Anything under way (offers included).
    Active,
}

fn rate(bytes: u64, started: Instant) -> f64 {
    bytes as f64 / started.elapsed().as_secs_f64().max(1e-3)
}

impl Transfers {
    pub fn new(downloads: PathBuf, policy: AcceptPolicy) -> Self {
        Self {
            downloads,
            policy,
            offers: HashMap::new(),
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            recent: Vec::new(),
        }
    }

    /// The transfer a user means: the one whose id starts with `prefix`, or
    /// the most recent one if no prefix is given.
    pub fn resolve(&self, prefix: Option<&str>, among: Among) -> Option<TransferId> {
        let eligible = |id: &TransferId| match among {
            Among::Offers => self.offers.contains_key(id),
            Among::Active => {
                self.offers.contains_key(id)
                    || self.outgoing.contains_key(id)
                    || self.incoming.contains_key(id)
            }
        };
        self.recent
            .iter()
            .rev()
            .filter(|id| eligible(id))
            .find(|id| prefix.is_none_or(|p| id.to_string().starts_with(&p.to_lowercase())))
            .copied()
    }

    /// Accepts an offer: opens its `.part` file and says yes.
    pub fn accept(&mut self, id: TransferId) -> Result<ClientMessage, TransferError> {
        let Some((_, offer)) = self.offers.remove(&id) else {
            return Err(TransferError::NoSuchOffer(id.to_string()));
        };
        let name = sanitize_file_name(&offer.name);
        let write = |path: &Path, source| TransferError::Write {
            path: path.to_owned(),
            source,
        };
        std::fs::create_dir_all(&self.downloads).map_err(|e| write(&self.downloads, e))?;
        let part = parts::part_path(&self.downloads, &name, &id.to_string()[..8]);
        let file = File::create(&part).map_err(|e| write(&part, e))?;
        parts::opened(&part);
        self.incoming.insert(
            id,
            Incoming {
                name,
                part,
                file,
                hasher: Sha256::new(),
                size: offer.size,
                sha256: offer.sha256,
                received: 0,
                started: Instant::now(),
            },
        );
        Ok(ClientMessage::FileAnswer {
            transfer: id,
            accept: true,
        })
    }

    /// Declines an offer.
    pub fn reject(&mut self, id: TransferId) -> Result<ClientMessage, TransferError> {
        self.offers
            .remove(&id)
            .ok_or_else(|| TransferError::NoSuchOffer(id.to_string()))?;
        Ok(ClientMessage::FileAnswer {
            transfer: id,
            accept: false,
        })
    }

    /// Stops a transfer of ours (either direction), removing any `.part`.
    pub fn cancel(&mut self, id: TransferId, reason: &str) -> Option<ClientMessage> {
        let known = self.outgoing.remove(&id).is_some() || self.offers.remove(&id).is_some();
        let incoming = self.incoming.remove(&id);
        if let Some(incoming) = &incoming {
            parts::discard(&incoming.part);
        }
        (known || incoming.is_some()).then(|| ClientMessage::FileCancel {
            transfer: id,
            reason: ShortText::lossy(reason),
        })
    }

    /// Whether any transfer is under way or offered.
    pub fn is_idle(&self) -> bool {
        self.outgoing.is_empty() && self.incoming.is_empty() && self.offers.is_empty()
    }

    /// Reacts to a server frame; returns what to send and what to show.
    pub fn on_message(
        &mut self,
        message: &ServerMessage,
    ) -> (Vec<ClientMessage>, Vec<TransferEvent>) {
        let mut send = Vec::new();
        let mut events = Vec::new();
        match message {
            ServerMessage::FileOffered { from, offer } => {
                self.recent.push(offer.transfer);
                let name = sanitize_file_name(&offer.name);
                let from_trusted = self
                    .policy
                    .from
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(from.as_str()));
                let small = self.policy.below.is_some_and(|limit| offer.size <= limit);
                self.offers
                    .insert(offer.transfer, (from.to_string(), offer.clone()));
                events.push(TransferEvent::Offered {
                    id: offer.transfer,
                    from: from.to_string(),
                    name,
                    size: offer.size,
                    target: offer.target.clone(),
                });
                if from_trusted || small {
                    match self.accept(offer.transfer) {
                        Ok(answer) => send.push(answer),
                        Err(err) => events.push(TransferEvent::Notice(err.to_string())),
                    }
                }
            }
            ServerMessage::FileAnswered {
                transfer,
                by,
                accept,
            } => {
                if let Some(outgoing) = self.outgoing.get(transfer) {
                    let verb = if *accept { "accepted" } else { "declined" };
                    events.push(TransferEvent::Notice(format!(
                        "{by} {verb} {}",
                        outgoing.name
                    )));
                }
            }
            ServerMessage::FileCredit { transfer, bytes } => {
                self.on_credit(*transfer, *bytes, &mut send, &mut events)
            }
            ServerMessage::FileChunk(chunk) => self.on_chunk(chunk, &mut send, &mut events),
            ServerMessage::FileCancelled {
                transfer,
                by,
                reason,
                ended,
            } => {
                if let Some(incoming) = self.incoming.remove(transfer) {
                    parts::discard(&incoming.part);
                    events.push(TransferEvent::Failed {
                        id: *transfer,
                        name: incoming.name,
                        reason: format!("{by} cancelled: {reason}"),
                    });
                } else if let Some((_, offer)) = self.offers.remove(transfer) {
                    events.push(TransferEvent::Failed {
                        id: *transfer,
                        name: sanitize_file_name(&offer.name),
                        reason: format!("{by} withdrew the offer: {reason}"),
                    });
                } else if *ended {
                    if let Some(outgoing) = self.outgoing.remove(transfer) {
                        events.push(TransferEvent::Failed {
                            id: *transfer,
                            name: outgoing.name,
                            reason: reason.to_string(),
                        });
                    }
                } else if let Some(outgoing) = self.outgoing.get(transfer) {
                    events.push(TransferEvent::Notice(format!(
                        "{by} stopped receiving {}: {reason}",
                        outgoing.name
                    )));
                }
            }
            _ => {}
        }
        (send, events)
    }

    /// Gives up every transfer (the connection is gone): removes `.part` files.
    pub fn abandon_all(&mut self, why: &str) -> Vec<TransferEvent> {
        let mut events = Vec::new();
        for (id, incoming) in self.incoming.drain() {
            parts::discard(&incoming.part);
            events.push(TransferEvent::Failed {
                id,
                name: incoming.name,
                reason: why.to_owned(),
            });
        }
        for (id, outgoing) in self.outgoing.drain() {
            events.push(TransferEvent::Failed {
                id,
                name: outgoing.name,
                reason: why.to_owned(),
            });
        }
        self.offers.clear();
        events
    }
}

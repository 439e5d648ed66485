//! The sending side of a transfer: checking and hashing the file, the
//! offer, and chunks sent within the credit the server gives.

use std::{fs::File, io::Read, path::Path, time::Instant};

use bytes::Bytes;
use huddle_protocol::{
    ClientMessage, FileChunk, FileOffer, ShortText, Target, TransferId, limits::MAX_CHUNK_LEN,
};
use sha2::{Digest, Sha256};

use super::{Direction, Outgoing, TransferError, TransferEvent, Transfers, rate};

/// A file checked, hashed and opened, ready to be offered.
#[derive(Debug)]
pub struct PreparedOffer {
    shown: String,
    name: ShortText,
    file: File,
    size: u64,
    sha256: [u8; 32],
}

/// Checks, hashes and opens the file at `path` for an offer. It reads the
/// whole file: the TUI runs it off its thread.
pub fn prepare_offer(path: &Path) -> Result<PreparedOffer, TransferError> {
    let expanded = expand_home(path);
    let path = expanded.as_path();
    if !path.exists() {
        return Err(TransferError::NoSuchFile(path.to_owned()));
    }
    if path.is_dir() {
        return Err(TransferError::Directory(path.to_owned()));
    }
    if !path.is_file() {
        return Err(TransferError::NotAFile(path.to_owned()));
    }
    let shown = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = ShortText::new(shown.clone()).map_err(|_| TransferError::BadName(shown.clone()))?;
    let (sha256, size) = digest(path)?;
    let file = File::open(path).map_err(|source| TransferError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(PreparedOffer {
        shown,
        name,
        file,
        size,
        sha256,
    })
}

/// `~` or `~/…` as the shell would expand it (the user's home directory);
/// any other path as it is.
pub(crate) fn expand_home(path: &Path) -> std::path::PathBuf {
    let Some(text) = path.to_str() else {
        return path.to_owned();
    };
    let rest = match text {
        "~" => "",
        _ => match text.strip_prefix("~/") {
            Some(rest) => rest,
            None => return path.to_owned(),
        },
    };
    match dirs::home_dir() {
        Some(home) => home.join(rest),
        None => path.to_owned(),
    }
}

/// The SHA-256 and size of the file at `path`.
pub fn digest(path: &Path) -> Result<([u8; 32], u64), TransferError> {
    let read = |source| TransferError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((hasher.finalize().into(), size))
}

impl Transfers {
    /// Offers the file at `path` to `target`: [`prepare_offer`] (which reads
    /// the whole file) then [`Transfers::offer_prepared`].
    pub fn offer(
        &mut self,
        path: &Path,
        target: Target,
    ) -> Result<(TransferId, ClientMessage), TransferError> {
        Ok(self.offer_prepared(prepare_offer(path)?, target))
    }

    /// Registers a prepared file as an outgoing transfer and returns the
    /// offer to send.
    pub fn offer_prepared(
        &mut self,
        prepared: PreparedOffer,
        target: Target,
    ) -> (TransferId, ClientMessage) {
        let PreparedOffer {
            shown,
            name,
            file,
            size,
            sha256,
        } = prepared;
        let id = TransferId::random();
        self.recent.push(id);
        self.outgoing.insert(
            id,
            Outgoing {
                name: shown,
                file,
                size,
                sent: 0,
                credit: 0,
                started: Instant::now(),
            },
        );
        (
            id,
            ClientMessage::FileOffer(FileOffer {
                transfer: id,
                target,
                name,
                size,
                sha256,
            }),
        )
    }

    pub(super) fn on_credit(
        &mut self,
        id: TransferId,
        bytes: u32,
        send: &mut Vec<ClientMessage>,
        events: &mut Vec<TransferEvent>,
    ) {
        let Some(outgoing) = self.outgoing.get_mut(&id) else {
            return;
        };
        outgoing.credit += u64::from(bytes);
        while outgoing.sent < outgoing.credit.min(outgoing.size) {
            let want = (outgoing.credit.min(outgoing.size) - outgoing.sent)
                .min(MAX_CHUNK_LEN as u64) as usize;
            let mut data = vec![0u8; want];
            if let Err(err) = outgoing.file.read_exact(&mut data) {
                let name = outgoing.name.clone();
                self.outgoing.remove(&id);
                send.push(ClientMessage::FileCancel {
                    transfer: id,
                    reason: ShortText::lossy("the sender could not read the file"),
                });
                events.push(TransferEvent::Failed {
                    id,
                    name,
                    reason: format!("cannot read the file: {err}"),
                });
                return;
            }
            send.push(ClientMessage::FileChunk(FileChunk {
                transfer: id,
                offset: outgoing.sent,
                data: Bytes::from(data),
            }));
            outgoing.sent += want as u64;
        }
        events.push(TransferEvent::Progress {
            id,
            direction: Direction::Sending,
            name: outgoing.name.clone(),
            done: outgoing.sent,
            size: outgoing.size,
            bytes_per_second: rate(outgoing.sent, outgoing.started),
        });
        if outgoing.sent == outgoing.size {
            let name = outgoing.name.clone();
            self.outgoing.remove(&id);
            events.push(TransferEvent::Completed {
                id,
                direction: Direction::Sending,
                name,
                saved: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_a_directory_and_the_home_directory_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pdf");
        let err = prepare_offer(&missing).unwrap_err();
        assert!(err.to_string().starts_with("there is no file"), "{err}");
        let err = prepare_offer(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        let home = dirs::home_dir().unwrap();
        assert_eq!(
            expand_home(Path::new("~/slides.pdf")),
            home.join("slides.pdf")
        );
        assert_eq!(expand_home(Path::new("~")), home);
        assert_eq!(expand_home(Path::new("~bob/x")), Path::new("~bob/x"));
        assert_eq!(expand_home(Path::new("/tmp/x")), Path::new("/tmp/x"));
    }
}

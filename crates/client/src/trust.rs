//! Whom the client trusts: servers are pinned on first use, like SSH.
//!
//! A server is identified by its certificate's SHA-256 [`Fingerprint`]
//! (see `huddle_protocol::tls`). The first connection to an address records
//! `address → fingerprint` in the known-servers file; a later connection
//! that presents another fingerprint is refused with an error naming both
//! and the command that accepts the new one deliberately (`huddle trust
//! ADDRESS`). Nothing is ever accepted silently. Scripts can pin a
//! fingerprint outright (`--fingerprint`), and `--insecure-plaintext`
//! turns TLS off on both ends.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use huddle_protocol::Fingerprint;

/// How the client protects and checks a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    /// TLS, with the server's fingerprint checked as [`Trust`] says.
    Tls(Trust),
    /// No TLS at all: only with `--insecure-plaintext` on both ends.
    InsecurePlaintext,
}

/// Which server fingerprints are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Exactly this one (`--fingerprint`, or the server this client hosts).
    Pinned(Fingerprint),
    /// Trust on first use, recorded in this known-servers file.
    KnownServers(PathBuf),
    /// The fingerprint another node of the same cluster presented: once a
    /// session given several addresses has reached one, every other must
    /// present what it did (the nodes share one certificate).
    SameCluster {
        /// The node that was reached first.
        first: String,
        /// What it presented.
        fingerprint: Fingerprint,
    },
}

/// What the check found about a trusted server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The fingerprint was pinned or known.
    Known,
    /// The address was new: its fingerprint has just been recorded.
    FirstUse,
}

/// Why a server is not trusted, or the trust file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The server presents another fingerprint than the one recorded.
    #[error(
        "the server at {addr} presents fingerprint {presented}, but {file} says it had {known}. \
         Someone may be between you and the server, or the server got a new identity. \
         Ask its operator (huddle-server --fingerprint), and if it is right, accept it with: \
         huddle trust {addr}"
    )]
    Changed {
        /// The address connected to.
        addr: String,
        /// The recorded fingerprint.
        known: Fingerprint,
        /// What the server presented.
        presented: Fingerprint,
        /// The known-servers file.
        file: String,
    },
    /// The server is not the one pinned with `--fingerprint`.
    #[error(
        "the server at {addr} presents fingerprint {presented}, not the pinned {pinned}; refusing"
    )]
    NotPinned {
        /// The address connected to.
        addr: String,
        /// The pinned fingerprint.
        pinned: Fingerprint,
        /// What the server presented.
        presented: Fingerprint,
    },
    /// A node of a cluster presents another fingerprint than the node
    /// reached first.
    #[error(
        "{addr} presents fingerprint {presented}, but {first}, given with it as a node of the \
         same cluster, presented {expected}; the nodes of a cluster share one certificate, so \
         one of the two is not what you were told: refusing"
    )]
    NotSameCluster {
        /// The address connected to.
        addr: String,
        /// The node reached first.
        first: String,
        /// What it presented.
        expected: Fingerprint,
        /// What this one presents.
        presented: Fingerprint,
    },
    /// The known-servers file cannot be read or written, or is damaged.
    #[error("{file}: {reason}")]
    File {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// The default known-servers file, beside the config file.
pub fn default_known_servers() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("huddle").join("known_servers"))
}

/// The known-servers file: one `ADDRESS SHA256:HEX [NAME]` per line, `#`
/// comments. Small, so it is read whole each time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownServers {
    entries: Vec<(String, Fingerprint, String)>,
}

impl KnownServers {
    /// Reads `path`; a missing file is an empty list, a damaged line an
    /// error naming the file and the line.
    pub fn load(path: &Path) -> Result<Self, TrustError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(err) => return Err(file_error(path, err.to_string())),
        };
        let mut entries = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.splitn(3, ' ');
            let (Some(addr), Some(fingerprint)) = (fields.next(), fields.next()) else {
                return Err(file_error(
                    path,
                    format!("line {}: expected ADDRESS SHA256:…", number + 1),
                ));
            };
            let fingerprint = fingerprint.parse().map_err(|err| {
                file_error(
                    path,
                    format!("line {}: {err}; fix or delete the line", number + 1),
                )
            })?;
            let name = fields.next().unwrap_or_default().to_owned();
            entries.push((addr.to_owned(), fingerprint, name));
        }
        Ok(Self { entries })
    }

    /// The fingerprint recorded for `addr`.
    pub fn get(&self, addr: &str) -> Option<Fingerprint> {
        self.entries
            .iter()
            .find(|(known, ..)| known == addr)
            .map(|(_, fingerprint, _)| *fingerprint)
    }

    /// Records (or replaces) `addr`'s fingerprint and writes the file.
    pub fn record(
        &mut self,
        path: &Path,
        addr: &str,
        fingerprint: Fingerprint,
        name: &str,
    ) -> Result<(), TrustError> {
        self.entries.retain(|(known, ..)| known != addr);
        let name: String = name.chars().filter(|c| !c.is_control()).collect();
        self.entries.push((addr.to_owned(), fingerprint, name));
        let mut text = String::from("# huddle known servers: ADDRESS FINGERPRINT NAME\n");
        for (addr, fingerprint, name) in &self.entries {
            text.push_str(&format!("{addr} {fingerprint} {name}\n"));
        }
        write_atomically(path, &text).map_err(|err| file_error(path, err.to_string()))
    }
}

fn file_error(path: &Path, reason: String) -> TrustError {
    TrustError::File {
        file: path.display().to_string(),
        reason,
    }
}

/// Writes through a temporary file and a rename, so a crash leaves the old
/// file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

impl Trust {
    /// Decides whether the server at `addr` presenting `presented` is
    /// trusted; on first use records it.
    pub fn check(
        &self,
        addr: &str,
        presented: Fingerprint,
        name: &str,
    ) -> Result<Verdict, TrustError> {
        match self {
            Trust::Pinned(pinned) if *pinned == presented => Ok(Verdict::Known),
            Trust::Pinned(pinned) => Err(TrustError::NotPinned {
                addr: addr.to_owned(),
                pinned: *pinned,
                presented,
            }),
            Trust::SameCluster { fingerprint, .. } if *fingerprint == presented => {
                Ok(Verdict::Known)
            }
            Trust::SameCluster { first, fingerprint } => Err(TrustError::NotSameCluster {
                addr: addr.to_owned(),
                first: first.clone(),
                expected: *fingerprint,
                presented,
            }),
            Trust::KnownServers(path) => {
                let mut known = KnownServers::load(path)?;
                match known.get(addr) {
                    Some(recorded) if recorded == presented => Ok(Verdict::Known),
                    Some(recorded) => Err(TrustError::Changed {
                        addr: addr.to_owned(),
                        known: recorded,
                        presented,
                        file: path.display().to_string(),
                    }),
                    None => {
                        known.record(path, addr, presented, name)?;
                        Ok(Verdict::FirstUse)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(seed: &[u8]) -> Fingerprint {
        Fingerprint::of_certificate(seed)
    }

    #[test]
    fn first_use_records_then_the_same_is_known_and_another_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_servers");
        let trust = Trust::KnownServers(file.clone());
        let (a, b) = (fingerprint(b"a"), fingerprint(b"b"));
        assert_eq!(
            trust.check("10.0.0.1:7007", a, "lab"),
            Ok(Verdict::FirstUse)
        );
        assert_eq!(trust.check("10.0.0.1:7007", a, "lab"), Ok(Verdict::Known));
        let err = trust
            .check("10.0.0.1:7007", b, "lab")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&a.to_string()) && err.contains(&b.to_string()),
            "{err}"
        );
        assert!(err.contains("huddle trust 10.0.0.1:7007"), "{err}");
        // Another address is another server.
        assert_eq!(trust.check("10.0.0.2:7007", b, "x"), Ok(Verdict::FirstUse));
        // Accepting deliberately replaces the entry.
        let mut known = KnownServers::load(&file).unwrap();
        known.record(&file, "10.0.0.1:7007", b, "lab").unwrap();
        assert_eq!(trust.check("10.0.0.1:7007", b, "lab"), Ok(Verdict::Known));
    }

    #[test]
    fn a_pin_accepts_only_itself() {
        let trust = Trust::Pinned(fingerprint(b"a"));
        assert_eq!(
            trust.check("h:1", fingerprint(b"a"), ""),
            Ok(Verdict::Known)
        );
        let err = trust.check("h:1", fingerprint(b"b"), "").unwrap_err();
        assert!(matches!(err, TrustError::NotPinned { .. }));
    }

    #[test]
    fn another_node_of_a_cluster_must_present_the_first_node_s_fingerprint() {
        let trust = Trust::SameCluster {
            first: "h:1".into(),
            fingerprint: fingerprint(b"a"),
        };
        assert_eq!(
            trust.check("h:2", fingerprint(b"a"), ""),
            Ok(Verdict::Known)
        );
        let err = trust.check("h:2", fingerprint(b"b"), "").unwrap_err();
        let text = err.to_string();
        for named in [
            "h:1",
            "h:2",
            &fingerprint(b"a").to_string(),
            &fingerprint(b"b").to_string(),
        ] {
            assert!(text.contains(named), "{text} lacks {named}");
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_the_file_and_line_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_servers");
        let text = format!("# comment\nh:1 {}\nh:2 SHA256:nothex\n", fingerprint(b"a"));
        std::fs::write(&file, &text).unwrap();
        let err = Trust::KnownServers(file.clone())
            .check("h:3", fingerprint(b"c"), "")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("known_servers") && err.contains("line 3"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    }
}

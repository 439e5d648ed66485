//! The client's small config file (`config.toml` in the platform's config
//! dir): the nick, the client id that makes reconnects recognisable, and the
//! servers to probe by unicast when broadcast does not get through.

use std::{
    fs,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most remembered servers; the oldest are forgotten first.
const MAX_KNOWN_SERVERS: usize = 16;

/// A config file that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("{path} is not a valid huddle config: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// What the client remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The nick to use; asked once on first run.
    pub nick: Option<String>,
    /// The bearer client id of protocol 4 and before: read so old config
    /// files still load, no longer used (the key in `identity.pk8`, beside
    /// this file, is who this installation is now).
    pub client_id: Option<Uuid>,
    /// Servers connected to before (`host:port`), newest first; probed by
    /// unicast.
    pub known_servers: Vec<String>,
    /// Extra hosts (`host[:port]`) to probe by unicast, e.g. across a VPN.
    pub probe: Vec<String>,
    /// Whether mentions and direct messages raise a desktop notification
    /// (through the terminal); unset means yes.
    pub notify: Option<bool>,
    /// Words that count as mentions of you besides your nick.
    pub highlight: Vec<String>,
    /// The rooms open on each server (by server id) when last connected:
    /// joined again next time unless `--room` names others.
    pub rooms: std::collections::BTreeMap<String, Vec<String>>,
    /// Whether rooms and conversations are logged to text files under the
    /// data dir (`huddle/logs`); unset means yes.
    pub logging: Option<bool>,
    /// Nicks (case-folded) whose messages are hidden (`/ignore`).
    pub ignore: Vec<String>,
    /// The short fingerprint of the key each nick (case-folded) had when
    /// last looked up with `/whois`.
    pub nick_keys: std::collections::BTreeMap<String, String>,
}

impl Config {
    /// The default config file path, if the platform has a config dir.
    pub fn default_path() -> Option<PathBuf> {
        dirs::config_dir().map(|dir| dir.join("huddle").join("config.toml"))
    }

    /// Reads the config at `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|err| ConfigError::Parse {
                path: path.to_owned(),
                message: err.to_string(),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the config to `path`, creating its directory.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let io = |source| ConfigError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let text = toml::to_string_pretty(self).map_err(|err| ConfigError::Parse {
            path: path.to_owned(),
            message: err.to_string(),
        })?;
        // Write then rename, so a crash never leaves half a config.
        let temporary = path.with_extension("toml.tmp");
        fs::write(&temporary, text).map_err(io)?;
        fs::rename(&temporary, path).map_err(io)
    }

    /// Remembers a server connected to, newest first.
    pub fn remember_server(&mut self, addr: &str) {
        self.known_servers.retain(|known| known != addr);
        self.known_servers.insert(0, addr.to_owned());
        self.known_servers.truncate(MAX_KNOWN_SERVERS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `assets/config.example.toml` parses and sets every key: the fields
    /// are destructured without `..`, so a field added to `Config` does
    /// not compile here until the example (and this test) have it.
    #[test]
    fn the_example_config_parses_and_sets_every_key() {
        let text = include_str!("../../../assets/config.example.toml");
        let example: Config = toml::from_str(text).unwrap();
        let Config {
            nick,
            client_id,
            known_servers,
            probe,
            notify,
            highlight,
            rooms,
            logging,
            ignore,
            nick_keys,
        } = example;
        // Read from old files only, never an option: left out on purpose.
        assert_eq!(client_id, None);
        assert!(nick.is_some() && notify.is_some() && logging.is_some());
        assert!(!known_servers.is_empty() && !probe.is_empty() && !highlight.is_empty());
        assert!(!rooms.is_empty() && !ignore.is_empty() && !nick_keys.is_empty());
        // And nothing in it that huddle would not read.
        let table: toml::Table = toml::from_str(text).unwrap();
        let mut keys: Vec<&str> = table.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "highlight",
                "ignore",
                "known_servers",
                "logging",
                "nick",
                "nick_keys",
                "notify",
                "probe",
                "rooms"
            ]
        );
    }

    #[test]
    fn saves_and_loads_and_remembers_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("config.toml");
        assert_eq!(Config::load(&path).unwrap(), Config::default());
        let mut config = Config {
            nick: Some("alice".into()),
            ..Config::default()
        };
        config.remember_server("10.0.0.1:7007");
        config.remember_server("10.0.0.2:7007");
        config.remember_server("10.0.0.1:7007");
        config.save(&path).unwrap();
        let loaded = Config::load(&path).unwrap();
        assert_eq!(loaded.known_servers, ["10.0.0.1:7007", "10.0.0.2:7007"]);
    }

    #[test]
    fn a_broken_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        fs::write(&path, "nick = [").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("config.toml") && err.contains("not a valid huddle config"),
            "{err}"
        );
    }
}

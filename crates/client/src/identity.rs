//! This installation's key pair (Ed25519): made on first run, kept beside
//! the config file in `identity.pk8`, readable by its owner only (0600).
//! The server knows this user by the key: direct-message mailboxes,
//! resends and nicks are bound to it (see `huddle_protocol::proof`).

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use huddle_protocol::IdentityKey;

/// The key file's name, beside the config file.
pub const KEY_FILE: &str = "identity.pk8";

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// It cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It holds no Ed25519 key.
    #[error("{}: {reason}; move it away to make a new identity (your nick and direct messages stay with the old key)", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The key in `path`, made (and saved with mode 0600) if there is none.
pub fn load_or_create(path: &Path) -> Result<IdentityKey, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => IdentityKey::from_pkcs8(&bytes).map_err(|err| KeyFileError::Corrupt {
            path: path.to_owned(),
            reason: err.to_string(),
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = IdentityKey::generate().map_err(|err| KeyFileError::Corrupt {
                path: path.to_owned(),
                reason: err.to_string(),
            })?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(io)?;
            file.write_all(key.pkcs8()).map_err(io)?;
            file.sync_all().map_err(io)?;
            Ok(key)
        }
        Err(err) => Err(io(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huddle").join(KEY_FILE);
        let first = load_or_create(&path).unwrap();
        assert_eq!(
            load_or_create(&path).unwrap().public_key(),
            first.public_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"garbage").unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains(KEY_FILE) && err.contains("Ed25519"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"garbage", "left alone");
    }
}

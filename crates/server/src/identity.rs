//! The server's identity: a self-signed Ed25519 certificate made on first
//! start (rcgen) and kept in the data directory, or in memory with
//! `--ephemeral`. Its SHA-256 [`Fingerprint`] is what clients pin; the
//! server id is derived from it, so a server keeps its id across restarts
//! and an id can only be claimed by whoever holds the key. The same key
//! signs discovery beacons.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use huddle_protocol::{Fingerprint, ServerId};
use ring::signature::Ed25519KeyPair;

/// The certificate's file in the data directory (DER).
pub const CERTIFICATE_FILE: &str = "server-certificate.der";
/// The private key's file in the data directory (PKCS#8 DER, mode 0600).
pub const KEY_FILE: &str = "server-key.pk8";

/// Why the identity could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds something that is not a usable key or certificate.
    #[error("{}: {reason}; move it away to make a new identity (clients that pinned the old one will refuse the new one until they accept it)", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Generating the certificate failed.
    #[error("cannot make a certificate: {0}")]
    Generate(String),
}

/// The certificate, its key and what is derived from them.
pub struct ServerIdentity {
    certificate: Vec<u8>,
    pkcs8_key: Vec<u8>,
    signer: Ed25519KeyPair,
    fingerprint: Fingerprint,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerIdentity")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// A new identity, kept only in memory.
    pub fn generate() -> Result<Self, IdentityError> {
        let error = |err: rcgen::Error| IdentityError::Generate(err.to_string());
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).map_err(error)?;
        let params =
            rcgen::CertificateParams::new(vec![huddle_protocol::tls::SERVER_NAME.to_owned()])
                .map_err(error)?;
        let certificate = params.self_signed(&key).map_err(error)?;
        Self::from_parts(
            certificate.der().to_vec(),
            key.serialize_der(),
            Path::new(""),
        )
    }

    fn from_parts(
        certificate: Vec<u8>,
        pkcs8_key: Vec<u8>,
        key_path: &Path,
    ) -> Result<Self, IdentityError> {
        let signer = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8_key).map_err(|err| {
            IdentityError::Corrupt {
                path: key_path.to_owned(),
                reason: format!("not an Ed25519 PKCS#8 key ({err})"),
            }
        })?;
        Ok(Self {
            fingerprint: Fingerprint::of_certificate(&certificate),
            certificate,
            pkcs8_key,
            signer,
        })
    }

    /// An identity from its certificate and PKCS#8 key (DER), read from
    /// `source` (named in errors); checked like one read from files.
    pub(crate) fn from_der(
        certificate: Vec<u8>,
        pkcs8_key: Vec<u8>,
        source: &Path,
    ) -> Result<Self, IdentityError> {
        let identity = Self::from_parts(certificate, pkcs8_key, source)?;
        identity
            .tls_config()
            .map_err(|err| IdentityError::Corrupt {
                path: source.to_owned(),
                reason: err.to_string(),
            })?;
        Ok(identity)
    }

    /// The certificate and the PKCS#8 key (DER), to share them.
    pub(crate) fn der_parts(&self) -> (&[u8], &[u8]) {
        (&self.certificate, &self.pkcs8_key)
    }

    /// The identity kept in `dir`, made and saved there if there is none.
    /// A key without its certificate (or the reverse) is an error, not a
    /// reason to make a new identity silently.
    pub fn load_or_create(dir: &Path) -> Result<Self, IdentityError> {
        let cert_path = dir.join(CERTIFICATE_FILE);
        let key_path = dir.join(KEY_FILE);
        let file_error = |path: &Path| {
            let path = path.to_owned();
            move |source| IdentityError::File { path, source }
        };
        match (cert_path.exists(), key_path.exists()) {
            (false, false) => {
                std::fs::create_dir_all(dir).map_err(file_error(dir))?;
                let identity = Self::generate()?;
                write_private(&key_path, &identity.pkcs8_key).map_err(file_error(&key_path))?;
                std::fs::write(&cert_path, &identity.certificate)
                    .map_err(file_error(&cert_path))?;
                Ok(identity)
            }
            (true, true) => {
                let certificate = std::fs::read(&cert_path).map_err(file_error(&cert_path))?;
                let key = std::fs::read(&key_path).map_err(file_error(&key_path))?;
                let identity = Self::from_parts(certificate, key, &key_path)?;
                // rustls checks that the key matches the certificate.
                identity
                    .tls_config()
                    .map_err(|err| IdentityError::Corrupt {
                        path: cert_path.clone(),
                        reason: err.to_string(),
                    })?;
                Ok(identity)
            }
            (true, false) => Err(IdentityError::Corrupt {
                path: key_path,
                reason: format!("missing, although {} exists", cert_path.display()),
            }),
            (false, true) => Err(IdentityError::Corrupt {
                path: cert_path,
                reason: format!("missing, although {} exists", key_path.display()),
            }),
        }
    }

    /// The certificate's SHA-256: what clients pin.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The server id: the fingerprint's first 16 bytes.
    pub fn server_id(&self) -> ServerId {
        huddle_protocol::discovery::server_id_of(&self.fingerprint)
    }

    /// The rustls configuration presenting this identity.
    pub fn tls_config(
        &self,
    ) -> Result<Arc<rustls::ServerConfig>, huddle_protocol::tls::TlsConfigError> {
        huddle_protocol::tls::server_config(self.certificate.clone(), self.pkcs8_key.clone())
    }

    /// The IRC gateway's rustls configuration presenting this identity
    /// (`huddle_protocol::tls::irc_server_config`).
    pub fn irc_tls_config(
        &self,
    ) -> Result<Arc<rustls::ServerConfig>, huddle_protocol::tls::TlsConfigError> {
        huddle_protocol::tls::irc_server_config(self.certificate.clone(), self.pkcs8_key.clone())
    }

    /// An Ed25519 signature of `message` with the certificate's key.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.signer.sign(message).as_ref());
        out
    }

    /// Signs `beacon` and encodes it as a discovery datagram of at most
    /// `max_len` bytes (rooms dropped to fit).
    pub fn seal_beacon(
        &self,
        beacon: &huddle_protocol::discovery::Beacon,
        max_len: usize,
    ) -> Result<Vec<u8>, huddle_protocol::discovery::DatagramError> {
        let certificate = bytes::Bytes::from(self.certificate.clone());
        huddle_protocol::discovery::encode_beacon_within(
            beacon,
            &certificate,
            |message| self.sign(message),
            max_len,
        )
    }
}

/// Writes a file only its owner can read (created with mode 0600).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_is_kept_across_restarts_and_its_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = ServerIdentity::load_or_create(dir.path()).unwrap();
        let again = ServerIdentity::load_or_create(dir.path()).unwrap();
        assert_eq!(first.fingerprint(), again.fingerprint());
        assert_eq!(first.server_id(), again.server_id());
        assert_ne!(
            ServerIdentity::generate().unwrap().fingerprint(),
            first.fingerprint()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_damaged_or_half_missing_identity_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        ServerIdentity::load_or_create(dir.path()).unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"garbage").unwrap();
        let err = ServerIdentity::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains(KEY_FILE) && err.contains("Ed25519"), "{err}");
        std::fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        let err = ServerIdentity::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.contains(KEY_FILE) && err.contains("missing"), "{err}");
    }
}

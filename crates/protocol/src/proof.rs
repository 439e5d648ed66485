//! A client installation's identity: an Ed25519 key pair. `Hello` carries
//! the public key and a proof: a signature, by the private key, of a value
//! that only the two ends of this TLS connection know — its channel
//! binding, the TLS exporter with label [`CHANNEL_BINDING_LABEL`]. A
//! captured `Hello` replayed on another connection fails, since that
//! connection's binding differs; nothing in `Hello` is a bearer secret.
//!
//! The server keys everything that belongs to a person (direct-message
//! mailbox, resend de-duplication, nick bindings) by the key, through
//! [`PublicKey::client_id`]. Over plain TCP (`--insecure-plaintext`) there is
//! no binding: the proof signs 32 zero bytes and protects nothing.

use bytes::Bytes;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::ClientId;

/// The TLS exporter label of the channel binding (RFC 8446 §7.5, no
/// context), 32 bytes long.
pub const CHANNEL_BINDING_LABEL: &[u8] = b"EXPORTER-huddle-identity";

/// The length of a channel binding.
pub const CHANNEL_BINDING_LEN: usize = 32;

/// What the proof signs: this context, then the 32-byte binding.
pub const IDENTITY_SIGNATURE_CONTEXT: &[u8] = b"huddle identity proof\0";

/// A client's public key (Ed25519, 32 raw bytes on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublicKey(pub [u8; 32]);

fn signed_message(binding: &[u8; CHANNEL_BINDING_LEN]) -> Vec<u8> {
    let mut message = IDENTITY_SIGNATURE_CONTEXT.to_vec();
    message.extend_from_slice(binding);
    message
}

impl PublicKey {
    /// The id the server keeps this key's things under: the first 16
    /// bytes of the key's SHA-256.
    pub fn client_id(&self) -> ClientId {
        let digest = Sha256::digest(self.0);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        ClientId::from_uuid(uuid::Uuid::from_bytes(bytes))
    }

    /// A short form for `/whois` and warnings: the key's SHA-256, first 8
    /// bytes, in four groups of hex digits.
    pub fn short(&self) -> String {
        let digest = Sha256::digest(self.0);
        let hex: Vec<String> = digest[..8]
            .chunks(2)
            .map(|pair| format!("{:02x}{:02x}", pair[0], pair[1]))
            .collect();
        hex.join(" ")
    }

    /// Whether `proof` is this key's signature of `binding`.
    pub fn verify(&self, binding: &[u8; CHANNEL_BINDING_LEN], proof: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, self.0)
            .verify(&signed_message(binding), proof)
            .is_ok()
    }
}

/// A key that cannot be read or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Ed25519 key: {0}")]
pub struct KeyError(String);

/// A client installation's key pair.
pub struct IdentityKey {
    pair: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityKey")
            .field("public", &self.public_key().short())
            .finish_non_exhaustive()
    }
}

impl IdentityKey {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let random = ring::rand::SystemRandom::new();
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&random).map_err(|err| KeyError(err.to_string()))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// A key from its PKCS#8 document (as [`Self::pkcs8`] gives it).
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8)
            .map_err(|err| KeyError(err.to_string()))?;
        Ok(Self {
            pair,
            pkcs8: pkcs8.to_vec(),
        })
    }

    /// The key whose 32-byte Ed25519 seed (private key) is `seed`: a
    /// PKCS#8 v1 document as RFC 8410 lays it out. For tests and tools
    /// that need a key derived from something; a user's key is random.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, KeyError> {
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut pkcs8 = PREFIX.to_vec();
        pkcs8.extend_from_slice(seed);
        Self::from_pkcs8(&pkcs8)
    }

    /// The PKCS#8 document to store (secret: keep it private).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        let mut key = [0u8; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(key)
    }

    /// The proof for a connection with this channel binding.
    pub fn prove(&self, binding: &[u8; CHANNEL_BINDING_LEN]) -> Bytes {
        Bytes::copy_from_slice(self.pair.sign(&signed_message(binding)).as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_holds_for_its_binding_and_key_only() {
        let key = IdentityKey::generate().unwrap();
        let other = IdentityKey::generate().unwrap();
        let binding = [7u8; 32];
        let proof = key.prove(&binding);
        assert!(key.public_key().verify(&binding, &proof));
        assert!(
            !key.public_key().verify(&[8u8; 32], &proof),
            "replayed elsewhere"
        );
        assert!(!other.public_key().verify(&binding, &proof), "another key");
        assert!(!key.public_key().verify(&binding, &proof[..63]));
        let again = IdentityKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(again.public_key().client_id(), key.public_key().client_id());
        assert_ne!(other.public_key().client_id(), key.public_key().client_id());
        assert_eq!(key.public_key().short().len(), 19);
        assert!(IdentityKey::from_pkcs8(b"garbage").is_err());
        let seeded = IdentityKey::from_seed(&[1; 32]).unwrap();
        assert_eq!(
            seeded.public_key(),
            IdentityKey::from_seed(&[1; 32]).unwrap().public_key()
        );
        assert_ne!(
            seeded.public_key(),
            IdentityKey::from_seed(&[2; 32]).unwrap().public_key()
        );
    }
}

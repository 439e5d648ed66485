//! The nodes of a cluster are one server to its clients: one certificate,
//! so one fingerprint and one server id (the client's trust on first use
//! and `--fingerprint` pins hold whichever node it reaches). The first node
//! to start makes the identity and stores it in the `HUDDLE_SHARED` bucket
//! (an atomic create: of nodes starting at once, one identity wins); the
//! others read it. The private key is thus readable by whoever may read
//! that bucket: the NATS account is as trusted as the nodes themselves
//! (it holds every room's messages anyway).

use async_nats::jetstream::{self, kv::CreateErrorKind};
use bytes::{BufMut, Bytes, BytesMut};

use super::{ClusterError, naming, open_bucket, setup_error};
use crate::identity::{IdentityError, ServerIdentity};

const KEY: &str = "identity";

/// The cluster's identity, made by this node if it is the first.
pub(crate) async fn shared_identity(
    jetstream: &jetstream::Context,
) -> Result<ServerIdentity, ClusterError> {
    let bucket = naming::SHARED_BUCKET;
    let store = open_bucket(jetstream, bucket, None, false).await?;
    let mine = ServerIdentity::generate()?;
    match store.create(KEY, pack(&mine)).await {
        Ok(_) => return Ok(mine),
        Err(err) if err.kind() == CreateErrorKind::AlreadyExists => {}
        Err(err) => return Err(setup_error(bucket)(err.to_string())),
    }
    let stored = store
        .get(KEY)
        .await
        .map_err(|err| setup_error(bucket)(err.to_string()))?
        .ok_or_else(|| setup_error(bucket)("the identity vanished".to_owned()))?;
    Ok(unpack(&stored)?)
}

/// Certificate length (4 bytes, big-endian), certificate, PKCS#8 key.
fn pack(identity: &ServerIdentity) -> Bytes {
    let (certificate, key) = identity.der_parts();
    let mut out = BytesMut::new();
    out.put_u32(u32::try_from(certificate.len()).unwrap_or(u32::MAX));
    out.put_slice(certificate);
    out.put_slice(key);
    out.freeze()
}

fn unpack(bytes: &[u8]) -> Result<ServerIdentity, IdentityError> {
    let where_ = format!("NATS key-value {}/{KEY}", naming::SHARED_BUCKET);
    let damaged = || IdentityError::Corrupt {
        path: where_.clone().into(),
        reason: "not a certificate and key".to_owned(),
    };
    let length = bytes.get(..4).ok_or_else(damaged)?;
    let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
    let certificate = bytes.get(4..4 + length).ok_or_else(damaged)?;
    let key = bytes.get(4 + length..).ok_or_else(damaged)?;
    ServerIdentity::from_der(certificate.to_vec(), key.to_vec(), where_.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_survives_packing_and_damage_is_an_error() {
        let identity = ServerIdentity::generate().unwrap();
        let unpacked = unpack(&pack(&identity)).unwrap();
        assert_eq!(unpacked.fingerprint(), identity.fingerprint());
        let packed = pack(&identity);
        assert!(unpack(&packed[..10]).is_err());
        assert!(unpack(b"\0\0\0\x05abc").is_err());
    }
}

//! Wrong room passwords counted cluster-wide: each guess a node lets
//! through (and each that proves right) is told to the other nodes over
//! plain NATS (`huddle.guess`), which count it against the address as if
//! it had been made there (`AddressThrottles::note_elsewhere`). Guessing
//! through three nodes is then no faster than through one, but for the
//! guesses in flight while a note crosses (milliseconds). Payload: the
//! node's id (16 bytes), 1 (wrong) or 0 (right), then the address (4 or 16
//! bytes).

use std::{net::IpAddr, sync::Arc};

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::ClusterLink;
use crate::password::{AddressThrottles, GuessNote};

const SUBJECT: &str = "huddle.guess";

/// Shares `throttles` with the other nodes until `shutdown`.
pub(crate) async fn run_sharing(
    link: Arc<ClusterLink>,
    throttles: Arc<AddressThrottles>,
    shutdown: CancellationToken,
) {
    let mut heard = match link.client.subscribe(SUBJECT).await {
        Ok(heard) => heard,
        Err(err) => return tracing::warn!(%err, "cannot hear other nodes' password guesses"),
    };
    let (tell, mut told) = tokio::sync::mpsc::unbounded_channel();
    throttles.share_with(tell);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            note = told.recv() => {
                let Some(note) = note else { return };
                let payload = seal(link.node, note);
                if let Err(err) = link.client.publish(SUBJECT, payload).await {
                    tracing::debug!(%err, "a password guess was not told to the other nodes");
                }
            }
            message = heard.next() => {
                let Some(message) = message else { return };
                match open(&message.payload) {
                    Some((node, note)) if node != link.node => {
                        throttles.note_elsewhere(note, tokio::time::Instant::now());
                    }
                    _ => {}
                }
            }
        }
    }
}

fn seal(node: uuid::Uuid, (address, wrong): GuessNote) -> Bytes {
    let mut out = BytesMut::with_capacity(33);
    out.put_slice(node.as_bytes());
    out.put_u8(u8::from(wrong));
    match address {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.freeze()
}

fn open(payload: &[u8]) -> Option<(uuid::Uuid, GuessNote)> {
    let node = uuid::Uuid::from_slice(payload.get(..16)?).ok()?;
    let wrong = match payload.get(16)? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let address = match payload.get(17..)? {
        &[a, b, c, d] => IpAddr::from([a, b, c, d]),
        bytes => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
    };
    Some((node, (address, wrong)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_opens_as_sealed_and_garbage_does_not() {
        let node = uuid::Uuid::new_v4();
        for note in [
            (IpAddr::from([10, 0, 0, 7]), true),
            (IpAddr::from(std::net::Ipv6Addr::LOCALHOST), false),
        ] {
            assert_eq!(open(&seal(node, note)), Some((node, note)));
        }
        assert_eq!(open(b"short"), None);
        let mut bad = seal(node, (IpAddr::from([1, 2, 3, 4]), true)).to_vec();
        bad.push(9);
        assert_eq!(open(&bad), None);
    }
}

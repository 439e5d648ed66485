//! The end of plain mode's input: what was sent is settled (acknowledged
//! or refused, reconnects waited out), answers to requests without an id
//! collected, transfers finished, and the exit status decided.

use tokio::{io::AsyncWrite, time::Instant};

use super::Plain;
use crate::{
    core::{CoreEvent, sleep_until_some},
    plain::{ACK_TIMEOUT, PlainError},
};

impl<W: AsyncWrite + Unpin> Plain<W> {
    /// End of input: everything sent at the rate allowed and acknowledged
    /// (waiting out reconnects; giving up after [`ACK_TIMEOUT`] without
    /// progress while connected), transfers finished, then `Quit`.
    pub(in crate::plain) async fn finish(mut self) -> Result<(), PlainError> {
        let mut progress = Instant::now();
        while !self.core.is_settled() {
            let deadline = self.core.is_connected().then_some(progress + ACK_TIMEOUT);
            tokio::select! {
                event = self.next_event() => {
                    let event = event?;
                    if matches!(event, CoreEvent::Acked { .. } | CoreEvent::Connected { .. }) {
                        progress = Instant::now();
                    }
                    self.on_event(event).await?;
                }
                () = sleep_until_some(deadline) => break,
            }
        }
        // Requests without an id (a /nick, a /join) are settled when sent:
        // one round trip more brings their answers, refusals included.
        if self.core.is_connected() {
            self.core.sync();
            let synced = tokio::time::timeout(ACK_TIMEOUT, async {
                loop {
                    match self.next_event().await? {
                        CoreEvent::Synced => return Ok(()),
                        event => self.on_event(event).await?,
                    }
                }
            })
            .await;
            if let Ok(Err(err)) = synced {
                return Err(err);
            }
        }
        while !self.transfers.is_idle() {
            match tokio::time::timeout(ACK_TIMEOUT, self.next_event()).await {
                Ok(event) => self.on_event(event?).await?,
                Err(_) => {
                    self.print("error: a file transfer stalled; giving up")
                        .await?;
                    self.transfer_failures += 1;
                    break;
                }
            }
        }
        let (read, delivered, waiting) = (self.line_number, self.delivered, self.core.waiting());
        self.progress.finish(read, delivered, waiting);
        let unacknowledged = self.core.unacknowledged();
        self.net.shutdown("end of input").await;
        let mut refused = std::mem::take(&mut self.refused);
        refused.sort_unstable();
        match () {
            () if !refused.is_empty() => Err(PlainError::Refused(refused)),
            () if unacknowledged > 0 => Err(PlainError::Unacknowledged(unacknowledged)),
            () if self.transfer_failures > 0 => Err(PlainError::Transfers(self.transfer_failures)),
            () => Ok(()),
        }
    }
}

//! A nick change on a node of a cluster: the new nick must be claimed
//! across the cluster first, which means asking NATS — so `handle` only
//! notes the request, and the connection's loop (native or IRC) finishes
//! it here, between two frames. The claim of the old nick is let go once
//! the new one is held.

use huddle_protocol::{Nick, RequestKind};

use super::Dispatcher;
use crate::cluster::NickClaim;

impl Dispatcher {
    /// Notes a nick change to make once claimed (cluster mode).
    pub(super) fn rename_later(&mut self, nick: Nick) {
        self.rename_pending = Some(Box::new(nick));
    }

    /// Whether a nick change waits for [`Dispatcher::finish_rename`].
    pub(crate) fn rename_waits(&self) -> bool {
        self.rename_pending.is_some()
    }

    /// Claims the nick asked for and renames, or says why not.
    pub(crate) async fn finish_rename(&mut self) {
        let (Some(new), Some(link)) = (self.rename_pending.take(), self.hub.cluster().cloned())
        else {
            return;
        };
        let refuse = |this: &Self, code, text: &str| {
            this.report(code, text, RequestKind::ChangeNick, None);
        };
        if new.folded() == self.nick.folded() {
            // Only its spelling changes: the claim stands.
            if let Err(refusal) = self.hub.rename(self.caller(), &new, &self.rooms) {
                return refuse(self, refusal.code, &refusal.text);
            }
            self.nick = *new;
            return;
        }
        let binds = self.claim.as_ref().is_none_or(|claim| claim.binds());
        let claim = match NickClaim::make(&link, &new, self.client, binds).await {
            Ok(claim) => claim,
            Err((code, text)) => return refuse(self, code, &text),
        };
        if let Err(refusal) = self.hub.rename(self.caller(), &new, &self.rooms) {
            NickClaim::release(Some(claim)).await;
            return refuse(self, refusal.code, &refusal.text);
        }
        self.nick = *new;
        let old = self.claim.replace(claim);
        NickClaim::release(old).await;
    }
}

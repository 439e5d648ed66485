//! A nick claimed across the cluster for one connection: in use
//! (`nicks.rs`) and, for a key, bound to it (`bindings.rs`).

use std::sync::Arc;

use huddle_protocol::ErrorCode;

use super::{ClusterLink, bindings::BindingRefused, nicks::ClaimRefused};

/// A nick a connection claimed across the cluster before registering
/// here, let go of when it leaves. Boxed: a connection's task holds it
/// while idle (8 bytes, not the claim).
#[derive(Debug)]
pub(crate) struct NickClaim {
    link: Arc<ClusterLink>,
    folded: String,
    client: huddle_protocol::ClientId,
    /// Whether holding it binds it to `client`'s key (not for a keyless
    /// IRC user: nobody could prove to be it later).
    binds: bool,
}

impl NickClaim {
    /// Claims `nick` for `client` (binding it to that key when `binds`);
    /// the code and text to refuse with.
    pub(crate) async fn make(
        link: &Arc<ClusterLink>,
        nick: &huddle_protocol::Nick,
        client: huddle_protocol::ClientId,
        binds: bool,
    ) -> Result<Box<Self>, (ErrorCode, String)> {
        let unreachable = |why: String| {
            let text =
                format!("this node cannot reach the cluster to claim {nick} ({why}); try again");
            (ErrorCode::Internal, text)
        };
        // In use first (the clearer answer while its holder is online),
        // then bound, as on a single server.
        match link.nicks.claim(nick.folded(), client).await {
            Ok(()) => {}
            Err(ClaimRefused::Taken) => {
                let text = format!("{nick} is in use on this cluster");
                return Err((ErrorCode::NickInUse, text));
            }
            Err(ClaimRefused::Unreachable(why)) => return Err(unreachable(why)),
        }
        let claim = Box::new(Self {
            link: link.clone(),
            folded: nick.folded().to_owned(),
            client,
            binds,
        });
        let refused = match link.bound_nicks.check(nick.folded(), client).await {
            Ok(()) if binds => {
                link.bound_nicks.bind(nick.folded(), client).await;
                return Ok(claim);
            }
            Ok(()) => return Ok(claim),
            Err(BindingRefused::Bound { days }) => (
                ErrorCode::NickBound,
                format!(
                    "{nick} belongs to someone else's key for {days} more day(s); pick another nick"
                ),
            ),
            Err(BindingRefused::Unreachable(why)) => unreachable(why),
        };
        // Not ours to hold: let go without binding it.
        link.nicks.release(&claim.folded, client).await;
        Err(refused)
    }

    /// Whether holding this claim binds the nick to its key.
    pub(crate) fn binds(&self) -> bool {
        self.binds
    }

    /// Lets go of the claim, if there is one.
    pub(crate) async fn release(claim: Option<Box<Self>>) {
        if let Some(claim) = claim {
            // Bound from now for the hold time, then free for its holder.
            let (link, folded) = (&claim.link, &claim.folded);
            if claim.binds {
                Box::pin(link.bound_nicks.bind(folded, claim.client)).await;
            }
            Box::pin(link.nicks.release(folded, claim.client)).await;
        }
    }
}

//! The one timer for the hub's deadlines (today: when a file transfer starts
//! although some recipients have not answered, and when a stalled one is
//! ended). The hub keeps deadlines as
//! plain state with time passed in (`Hub::next_deadline`, `Hub::run_due`);
//! this task, tracked like every other, sleeps until the next one.

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// How long the timer sleeps when no deadline is set (it is woken early
/// when one is).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// Runs the hub's due deadlines until `shutdown`.
pub(crate) async fn run_deadlines(hub: Arc<Hub>, shutdown: CancellationToken) {
    loop {
        let set = hub.deadline_set.notified();
        tokio::pin!(set);
        set.as_mut().enable();
        let next = hub
            .next_deadline()
            .unwrap_or_else(|| Instant::now() + IDLE_WAIT);
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = &mut set => {}
            () = tokio::time::sleep_until(next) => hub.run_due(Instant::now()),
        }
    }
}

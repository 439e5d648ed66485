//! The client core: sans-IO rules that make delivery correct, with time
//! passed in, for the TUI and plain mode to drive. So far it holds pacing
//! (`pacer.rs`); the outbox, resend and gap fill still live in `tui/` and
//! `plain.rs` (issue #13 moves them here).

pub mod pacer;

/// Sleeps until `at`, or forever if there is nothing to wait for (a
/// `poll_timeout` of `None`), for `select!` loops that drive the core.
pub(crate) async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

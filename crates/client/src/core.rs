//! The client core: sans-IO rules that make delivery correct, with time
//! passed in, for the TUI and plain mode to drive. So far it holds pacing
//! (`pacer.rs`); the outbox, resend and gap fill still live in `tui/` and
//! `plain.rs` (issue #13 moves them here).

pub mod pacer;

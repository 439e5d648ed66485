//! The terminal UI: state and update ([`app`]), rendering ([`ui`]), and the
//! event loop that wires them to the terminal and the network ([`run`]).

pub mod app;
pub mod buffer;
mod chat;
pub mod commands;
mod incoming;
pub mod run;
pub mod text;
pub mod ui;

pub use app::{App, Effect, Event};

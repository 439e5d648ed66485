//! The terminal UI: state and update ([`app`]), rendering ([`ui`]), and the
//! event loop that wires them to the terminal and the network ([`run`]).

pub mod app;
mod autojoin;
mod away;
mod browser;
pub mod buffer;
mod chat;
mod completion;
mod direct;
#[cfg(test)]
mod direct_tests;
mod files;
mod find;
mod incoming;
mod input;
pub mod links;
mod navigation;
mod net_events;
mod notify;
#[cfg(test)]
mod papercut_tests;
#[cfg(test)]
mod render_tests;
pub mod run;
mod search;
#[cfg(test)]
mod security_tests;
mod server_commands;
#[cfg(test)]
mod session_tests;
mod settings;
mod terminal;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
pub mod text;
pub mod ui;
mod whois;

pub use app::{App, Effect, Event};

//! The terminal the TUI owns: raw mode with mouse, bracketed paste and
//! focus events, given back on quit, on error and on panic; and the thread
//! that reads its events.

use std::{
    io::stdout,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use anyhow::Context as _;
use ratatui::{
    DefaultTerminal,
    crossterm::{
        event::{
            self, DisableBracketedPaste, DisableFocusChange, DisableMouseCapture,
            EnableBracketedPaste, EnableFocusChange, EnableMouseCapture,
        },
        execute,
    },
};
use tokio::sync::mpsc;

/// Takes the terminal; it is given back when the guard is dropped (or on
/// panic).
pub(super) fn open() -> anyhow::Result<(DefaultTerminal, TerminalGuard)> {
    let terminal = ratatui::init();
    install_panic_hook();
    let guard = TerminalGuard;
    execute!(
        stdout(),
        EnableMouseCapture,
        EnableBracketedPaste,
        EnableFocusChange
    )
    .context("cannot set up the terminal")?;
    Ok((terminal, guard))
}

/// Restores the terminal when dropped: on quit, on error, and (through the
/// panic hook) on panic.
pub(super) struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back as it was: modes off, raw mode and the
/// alternate screen left.
fn restore() {
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        DisableFocusChange
    );
    ratatui::restore();
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Reads terminal events on a thread (crossterm's reader blocks) until
/// `stop` is set.
pub(super) fn spawn_terminal_reader(
    tx: mpsc::UnboundedSender<event::Event>,
    stop: Arc<AtomicBool>,
) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => match event::read() {
                    Ok(event) => {
                        if tx.send(event).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
}

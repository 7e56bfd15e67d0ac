//! Taking over the terminal and giving it back: raw mode, the alternate screen, a hidden
//! cursor; restored when the [`Screen`] is dropped, and by a panic hook before the panic
//! message prints, so a crash never leaves the shell in raw mode.

use std::io::{self, Stdout};
use std::sync::Once;

use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal, ours until dropped.
#[derive(Debug)]
pub(super) struct Screen {
    /// ratatui's double-buffered view of stdout.
    pub(super) terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    /// Enters raw mode and the alternate screen (undoing it all if a step fails).
    pub(super) fn enter() -> io::Result<Screen> {
        install_panic_hook();
        enable_raw_mode()?;
        let screen = Terminal::new(CrosstermBackend::new(io::stdout()))
            .and_then(|terminal| {
                execute!(io::stdout(), EnterAlternateScreen, Hide)?;
                Ok(Screen { terminal })
            })
            .inspect_err(|_| restore())?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor; safe to call twice.
fn restore() {
    // Errors are ignored: there is nothing better to do with a terminal that is gone.
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
}

/// Chains a hook that restores the terminal before the previous hook prints the panic.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

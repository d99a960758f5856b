//! The one line a host redraws in place on a terminal (a spinner, a countdown): cut
//! to the terminal's width, measured at each draw, so it never wraps onto a new row.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::{present::fit, symbols};

pub use crate::symbols::SPINNER;

/// Columns a redrawn line may use: one less than the terminal's width (writing the
/// last column would move the cursor to the next row); 79 when it cannot be measured.
pub fn width() -> usize {
    crossterm::terminal::size()
        .map(|(w, _)| usize::from(w))
        .unwrap_or(80)
        .saturating_sub(1)
        .max(10)
}

/// Replaces the current row with `line`, cut to [`width`], on stderr; its symbols as
/// the locale can show them ([`symbols::for_terminal`]).
pub fn draw(line: &str) {
    // Where "…" becomes "...", a cut line grows by two.
    let room = match symbols::unicode() {
        true => width(),
        false => width().saturating_sub(2),
    };
    let line = fit(&symbols::for_terminal(line), room);
    let mut err = std::io::stderr();
    let _ = write!(err, "\r\x1b[2K{}", symbols::for_terminal(&line));
    let _ = err.flush();
}

/// Clears the current row, on stderr.
pub fn clear() {
    let mut err = std::io::stderr();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

/// A progress line on a terminal while nothing else is shown: redrawn in place, cut to
/// the terminal's width. Nothing at all when stderr is not a terminal.
pub struct Spinner {
    on: bool,
    shown: bool,
    tick: usize,
}

impl Spinner {
    /// A spinner drawn only when stderr is a terminal.
    pub fn on_terminal() -> Self {
        Spinner {
            on: std::io::stderr().is_terminal(),
            shown: false,
            tick: 0,
        }
    }

    /// Redraws the line: the next frame, `what`, and the seconds since `since`.
    pub fn show(&mut self, what: &str, since: Instant) {
        if !self.on {
            return;
        }
        self.tick += 1;
        draw(&format!(
            "{} {} ({} s)",
            SPINNER[self.tick % SPINNER.len()],
            what.trim_end_matches(['.', '…']),
            since.elapsed().as_secs()
        ));
        self.shown = true;
    }

    /// Takes the line away, if it was drawn.
    pub fn clear(&mut self) {
        if self.shown {
            clear();
            self.shown = false;
        }
    }
}

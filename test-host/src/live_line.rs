//! The one line a host redraws in place on a terminal (a spinner, a countdown): cut
//! to the terminal's width, measured at each draw, so it never wraps onto a new row.

use std::io::Write;

use crate::present::fit;

/// The spinner's frames, one per redraw.
pub const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Columns a redrawn line may use: one less than the terminal's width (writing the
/// last column would move the cursor to the next row); 79 when it cannot be measured.
pub fn width() -> usize {
    crossterm::terminal::size()
        .map(|(w, _)| usize::from(w))
        .unwrap_or(80)
        .saturating_sub(1)
        .max(10)
}

/// Replaces the current row with `line`, cut to [`width`], on stderr.
pub fn draw(line: &str) {
    let mut err = std::io::stderr();
    let _ = write!(err, "\r\x1b[2K{}", fit(line, width()));
    let _ = err.flush();
}

/// Clears the current row, on stderr.
pub fn clear() {
    let mut err = std::io::stderr();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

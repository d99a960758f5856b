//! The status a host redraws in place on a terminal (a spinner, a countdown, a progress
//! bar): laid out at the terminal's width measured at each draw, never cut mid-word —
//! what does not fit beside the label moves to a row of its own — and drawn over
//! exactly the rows the previous draw occupies now, so a terminal resized between two
//! draws keeps no stale fragment of the old status.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::present::{wrap, LongWords};
use crate::symbols;

pub use crate::symbols::SPINNER;

/// Columns a redrawn row may use: one less than the terminal's width (writing the
/// last column would move the cursor to the next row); 79 when it cannot be measured.
pub fn width() -> usize {
    columns().saturating_sub(1).max(10)
}

/// The terminal's width in columns; 80 when it cannot be measured.
fn columns() -> usize {
    crossterm::terminal::size()
        .map(|(w, _)| usize::from(w))
        .unwrap_or(80)
}

/// `pieces` in rows of at most `width` characters: each piece joins the row before it
/// (after `separator`) when it fits there, else starts a row of its own; a piece wider
/// than a row wraps between its words. No piece is cut or left out.
pub fn flow(pieces: &[&str], separator: &str, width: usize) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    for piece in pieces.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let joined = rows
            .last()
            .map(|row| row.chars().count() + separator.chars().count() + piece.chars().count());
        match (joined, rows.last_mut()) {
            (Some(len), Some(row)) if len <= width => {
                row.push_str(separator);
                row.push_str(piece);
            }
            _ => rows.extend(wrap(piece, width, LongWords::Break)),
        }
    }
    if rows.is_empty() {
        rows.push(String::new());
    }
    rows
}

/// A status line (`⠋ Waiting… · 4:59 left · Esc: cancel`) in rows of `width`: its
/// ` · `-separated parts kept whole where they fit (see [`flow`]), with the symbols the
/// terminal can show.
pub fn status_rows(line: &str, width: usize) -> Vec<String> {
    let line = symbols::for_terminal(line);
    let separator = symbols::for_terminal(" · ");
    let parts: Vec<&str> = line.split(separator.as_ref()).collect();
    flow(&parts, &separator, width)
}

/// The rows of a status redrawn in place on stderr. Each draw first takes away what the
/// previous one left: its rows, counted at the terminal's width now (a terminal that
/// narrowed since folds a row that was one row wide onto several).
#[derive(Debug, Default)]
pub struct LiveRows {
    /// The length, in characters, of each row drawn last; empty when nothing is shown.
    drawn: Vec<usize>,
}

impl LiveRows {
    /// Nothing shown yet.
    pub fn new() -> Self {
        LiveRows::default()
    }

    /// Whether rows are shown.
    pub fn is_shown(&self) -> bool {
        !self.drawn.is_empty()
    }

    /// Replaces what was drawn with `rows` (each at most [`width`] long), on stderr.
    pub fn draw(&mut self, rows: &[String]) {
        let mut err = std::io::stderr().lock();
        self.draw_on(&mut err, columns(), rows);
        let _ = err.flush();
    }

    /// Takes the rows away, if any are shown.
    pub fn clear(&mut self) {
        if self.is_shown() {
            let mut err = std::io::stderr().lock();
            self.clear_on(&mut err, columns());
            let _ = err.flush();
        }
    }

    /// [`LiveRows::draw`] on `out`, a terminal `columns` wide now.
    fn draw_on(&mut self, out: &mut dyn Write, columns: usize, rows: &[String]) {
        self.clear_on(out, columns);
        let _ = write!(out, "{}", rows.join("\r\n"));
        self.drawn = rows.iter().map(|r| r.chars().count()).collect();
    }

    /// Moves to the first row drawn (the cursor is at the end of the last) and clears
    /// from there down.
    fn clear_on(&mut self, out: &mut dyn Write, columns: usize) {
        let up = occupied(&self.drawn, columns).saturating_sub(1);
        let _ = write!(out, "\r");
        if up > 0 {
            let _ = write!(out, "\x1b[{up}A");
        }
        let _ = write!(out, "\x1b[J");
        self.drawn.clear();
    }
}

/// The terminal rows that rows of these lengths take on a terminal `columns` wide: a
/// row longer than the width is folded onto more rows (as terminals reflow on resize).
fn occupied(lengths: &[usize], columns: usize) -> usize {
    let columns = columns.max(1);
    lengths
        .iter()
        .map(|&len| len.div_ceil(columns).max(1))
        .sum()
}

/// A progress line on a terminal while nothing else is shown: redrawn in place (see
/// [`LiveRows`]). Nothing at all when stderr is not a terminal.
pub struct Spinner {
    on: bool,
    rows: LiveRows,
    tick: usize,
}

impl Spinner {
    /// A spinner drawn only when stderr is a terminal.
    pub fn on_terminal() -> Self {
        Spinner {
            on: std::io::stderr().is_terminal(),
            rows: LiveRows::new(),
            tick: 0,
        }
    }

    /// Redraws the line: the next frame, `what`, and the seconds since `since`.
    pub fn show(&mut self, what: &str, since: Instant) {
        if !self.on {
            return;
        }
        self.tick += 1;
        self.rows.draw(&spinner_rows(
            self.tick,
            what,
            since.elapsed().as_secs(),
            width(),
        ));
    }

    /// Takes the line away, if it was drawn.
    pub fn clear(&mut self) {
        self.rows.clear();
    }
}

/// The spinner's frame `tick`, `what` and the seconds elapsed, in rows of `width`; the
/// seconds stay one piece (`(12 s)`).
fn spinner_rows(tick: usize, what: &str, secs: u64, width: usize) -> Vec<String> {
    let label = format!(
        "{} {}",
        SPINNER[tick % SPINNER.len()],
        what.trim_end_matches(['.', '…'])
    );
    let label = symbols::for_terminal(&label);
    flow(&[&label, &format!("({secs} s)")], " ", width)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row within `width`, and `text` read whole across the rows.
    fn whole(rows: &[String], text: &str, width: usize) {
        assert!(
            rows.iter().all(|r| r.chars().count() <= width),
            "{width}: {rows:#?}"
        );
        assert!(rows.join(" ").contains(text), "{width}: {rows:#?}");
    }

    #[test]
    fn a_status_keeps_its_parts_whole_and_moves_what_does_not_fit_to_a_row_below() {
        let line = "⠋ Waiting for the browser sign-in… · 4:59 left · Esc: cancel · O: open browser";
        assert_eq!(status_rows(line, 79), vec![line.to_owned()]);
        assert_eq!(
            status_rows(line, 64),
            vec![
                "⠋ Waiting for the browser sign-in… · 4:59 left · Esc: cancel".to_owned(),
                "O: open browser".to_owned()
            ]
        );
        assert_eq!(
            status_rows(line, 49),
            vec![
                "⠋ Waiting for the browser sign-in… · 4:59 left".to_owned(),
                "Esc: cancel · O: open browser".to_owned()
            ]
        );
        // A label wider than the row wraps between its words.
        let rows = status_rows(
            "⠋ Creating a draft for the large attachments… · Esc: cancel",
            30,
        );
        whole(&rows, "⠋ Creating a draft for the large attachments…", 30);
        assert!(rows.iter().any(|r| r.ends_with("Esc: cancel")), "{rows:#?}");
    }

    #[test]
    fn the_spinner_keeps_its_seconds_in_one_piece() {
        assert_eq!(
            spinner_rows(1, "Renewing Reports…", 3, 79),
            vec!["⠙ Renewing Reports (3 s)".to_owned()]
        );
        let rows = spinner_rows(1, "Renewing the sign-in of Quarterly reports", 12, 30);
        whole(&rows, "⠙ Renewing the sign-in of Quarterly reports", 30);
        assert!(rows.iter().any(|r| r.ends_with("(12 s)")), "{rows:#?}");
        assert!(!rows.iter().any(|r| r.ends_with("(12")), "{rows:#?}");
    }

    #[test]
    fn rows_are_counted_at_the_width_the_terminal_has_now() {
        assert_eq!(occupied(&[], 80), 0);
        assert_eq!(occupied(&[0, 79], 80), 2);
        // 108 characters drawn at 120 columns fold onto 3 rows at 50; 100 onto 2.
        assert_eq!(occupied(&[108], 50), 3);
        assert_eq!(occupied(&[100], 50), 2);
        assert_eq!(occupied(&[40, 108], 50), 4);
    }

    #[test]
    fn a_redraw_after_the_terminal_narrowed_clears_every_row_the_old_status_folded_onto() {
        let mut live = LiveRows::new();
        let mut out = Vec::new();
        let first = vec!["x".repeat(108)];
        live.draw_on(&mut out, 120, &first);
        assert_eq!(
            String::from_utf8_lossy(&out),
            format!("\r\x1b[J{}", first[0])
        );
        out.clear();
        // Now 50 columns wide: the 108 characters take 3 rows, the cursor on the last.
        live.draw_on(&mut out, 50, &["a".to_owned(), "b".to_owned()]);
        assert_eq!(String::from_utf8_lossy(&out), "\r\x1b[2A\x1b[Ja\r\nb");
        out.clear();
        live.clear_on(&mut out, 50);
        assert_eq!(String::from_utf8_lossy(&out), "\r\x1b[1A\x1b[J");
        assert!(!live.is_shown());
    }
}

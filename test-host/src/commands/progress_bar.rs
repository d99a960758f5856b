//! A progress bar on stderr that fits the terminal's width without cutting its label;
//! drawn only when stderr is a terminal (never under `--json` or into a file).

use std::io::IsTerminal;

use crate::{
    live_line::{self, flow, LiveRows},
    present::{wrap, LongWords},
    symbols,
    terminal_text::printable_line,
};

/// The fewest cells a bar is drawn with; with less room it is left out.
const MIN_CELLS: usize = 10;
/// The most cells a bar is drawn with.
const MAX_CELLS: usize = 40;

/// The bar, or nothing when there is no terminal to draw on.
pub struct ProgressBar {
    enabled: bool,
    rows: LiveRows,
}

impl ProgressBar {
    /// A bar on stderr if `wanted` and stderr is a terminal.
    pub fn for_stderr(wanted: bool) -> Self {
        ProgressBar {
            enabled: wanted && std::io::stderr().is_terminal(),
            rows: LiveRows::new(),
        }
    }

    /// Redraw with `sent` of `total` bytes and a status line, at the terminal's width now.
    pub fn draw(&mut self, message: &str, sent: u64, total: u64) {
        if !self.enabled {
            return;
        }
        self.rows
            .draw(&render(message, sent, total, live_line::width()));
    }

    /// Remove the bar (before other output).
    pub fn clear(&mut self) {
        self.rows.clear();
    }
}

/// `[#####-----]  42%  25.2 / 60.0 MB  Uploading…` in rows of at most `width` columns.
/// The label is never cut: the bar narrows first, then is left out; when the figures and
/// the label still do not share a row, the label goes on its own rows (wrapped between
/// words) and the bar and figures on the row below.
pub fn render(message: &str, sent: u64, total: u64, width: usize) -> Vec<String> {
    let message = printable_line(message);
    let message = symbols::for_terminal(message.trim());
    let message = message.as_ref();
    let Some(percent) = sent.saturating_mul(100).checked_div(total) else {
        return wrap(message, width, LongWords::Break);
    };
    let figures = format!(
        "{percent}%  {:.1} / {:.1} MB",
        sent as f64 / 1e6,
        total as f64 / 1e6
    );
    let bar = |cells: usize| {
        let filled = (sent.min(total) as u128 * cells as u128 / total as u128) as usize;
        format!("[{}{}]", "#".repeat(filled), "-".repeat(cells - filled))
    };
    let len = |s: &str| s.chars().count();
    // Room for cells beside `others` on a row: the brackets and two spaces before each
    // of the others taken away.
    let cells_beside = |others: &[&str]| {
        let used: usize = others.iter().map(|o| len(o) + 2).sum::<usize>() + 2;
        width
            .saturating_sub(used)
            .min((width / 3).clamp(MIN_CELLS, MAX_CELLS))
    };
    let pieces: &[&str] = if message.is_empty() {
        &[&figures]
    } else {
        &[&figures, message]
    };
    let cells = cells_beside(pieces);
    if cells >= MIN_CELLS {
        return vec![std::iter::once(bar(cells))
            .chain(pieces.iter().map(|p| p.to_string()))
            .collect::<Vec<_>>()
            .join("  ")];
    }
    let one_row = pieces.join("  ");
    if len(&one_row) <= width {
        return vec![one_row];
    }
    let mut rows = wrap(message, width, LongWords::Break);
    let cells = cells_beside(&[&figures]);
    if cells >= MIN_CELLS {
        rows.push(format!("{}  {figures}", bar(cells)));
    } else {
        rows.extend(flow(&[&figures], "", width));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAFT: &str = "Creating a draft for the large attachments…";

    fn fits(rows: &[String], width: usize) {
        assert!(
            rows.iter().all(|r| r.chars().count() <= width),
            "{width}: {rows:#?}"
        );
    }

    #[test]
    fn the_bar_fits_the_width_and_shows_the_figures() {
        for width in [19, 39, 79, 199] {
            let rows = render(
                "Uploading archive.bin in fragments…",
                25_200_000,
                60_000_000,
                width,
            );
            fits(&rows, width);
            assert!(rows.join(" ").contains("42%  25.2 / 60.0 MB"), "{rows:#?}");
        }
        let wide = render("Uploading", 30, 60, 119);
        assert_eq!(wide.len(), 1);
        assert!(
            wide[0].starts_with("[#") && wide[0].contains(" 50%"),
            "{wide:?}"
        );
        assert_eq!(
            render("Sending the message…", 0, 0, 79),
            vec!["Sending the message…".to_owned()]
        );
    }

    /// Issue 23, item 21: at 80 columns the label used to read "Creating a draft for
    /// the la…".
    #[test]
    fn the_label_is_never_cut_at_50_80_or_120_columns() {
        for columns in [50, 80, 120] {
            let width = columns - 1;
            let rows = render(DRAFT, 0, 4_000_000, width);
            fits(&rows, width);
            assert!(rows.join(" ").contains(DRAFT), "{columns}: {rows:#?}");
            assert!(rows.join(" ").contains("0%  0.0 / 4.0 MB"), "{rows:#?}");
            // A bar whenever it has room for ten cells.
            assert!(rows.iter().any(|r| r.starts_with("[--")), "{rows:#?}");
        }
        // At 80 and 120 one row: the bar narrows to fit the label beside it.
        assert_eq!(render(DRAFT, 0, 4_000_000, 79).len(), 1);
        assert_eq!(render(DRAFT, 0, 4_000_000, 119).len(), 1);
        // At 50 the label has its row, the bar and figures the one below.
        assert_eq!(
            render(DRAFT, 2_000_000, 4_000_000, 49),
            vec![
                DRAFT.to_owned(),
                format!("[{}{}]  50%  2.0 / 4.0 MB", "#".repeat(8), "-".repeat(8))
            ]
        );
        // Where the bar does not fit beside the figures and label, it is left out first.
        assert_eq!(
            render("Uploading a.bin…", 1_000_000, 4_000_000, 38),
            vec!["25%  1.0 / 4.0 MB  Uploading a.bin…".to_owned()]
        );
        // A file name longer than the row wraps; nothing of it is cut.
        let long = format!(
            "Uploading {}.xlsx in fragments…",
            "quarterly-report-".repeat(4)
        );
        let rows = render(&long, 0, 4_000_000, 49);
        fits(&rows, 49);
        assert_eq!(rows.concat().replace(' ', ""), {
            let mut all = long.replace(' ', "");
            all.push_str(&format!("[{}]0%0.0/4.0MB", "-".repeat(16)));
            all
        });
    }
}

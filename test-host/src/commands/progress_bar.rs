//! A one-line progress bar on stderr that fits the terminal's width; drawn only when stderr
//! is a terminal (never under `--json` or into a file).

use std::io::{IsTerminal, Write};

/// The bar, or nothing when there is no terminal to draw on.
pub struct ProgressBar {
    enabled: bool,
    drawn: bool,
}

impl ProgressBar {
    /// A bar on stderr if `wanted` and stderr is a terminal.
    pub fn for_stderr(wanted: bool) -> Self {
        ProgressBar {
            enabled: wanted && std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    /// Redraw with `sent` of `total` bytes and a status line.
    pub fn draw(&mut self, message: &str, sent: u64, total: u64) {
        if !self.enabled {
            return;
        }
        let width = crossterm::terminal::size()
            .map(|(w, _)| w as usize)
            .unwrap_or(80);
        let line = render(message, sent, total, width);
        let _ = write!(std::io::stderr().lock(), "\r{line}\x1b[K");
        self.drawn = true;
    }

    /// Remove the bar (before other output).
    pub fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
            self.drawn = false;
        }
    }
}

/// `[#####-----]  42%  25.2 / 60.0 MB  Uploading…`, cut to `width - 1` columns.
pub fn render(message: &str, sent: u64, total: u64, width: usize) -> String {
    let message = crate::terminal_text::printable_line(message);
    let width = width.saturating_sub(1).max(10);
    let figures = match sent.saturating_mul(100).checked_div(total) {
        Some(percent) => format!(
            "{percent:>3}%  {:.1} / {:.1} MB",
            sent as f64 / 1e6,
            total as f64 / 1e6
        ),
        None => String::new(),
    };
    let cells = (width / 3).clamp(10, 40);
    let mut line = if total > 0 && width >= cells + 2 + figures.len() {
        let filled = (sent.min(total) as u128 * cells as u128 / total as u128) as usize;
        format!(
            "[{}{}]  {figures}  {message}",
            "#".repeat(filled),
            "-".repeat(cells - filled)
        )
    } else if total > 0 {
        format!("{figures}  {message}")
    } else {
        message.into_owned()
    };
    if line.chars().count() > width {
        line = line.chars().take(width - 1).collect::<String>() + "…";
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fits_the_width_and_shows_the_figures() {
        for width in [20, 40, 80, 200] {
            let line = render(
                "Uploading archive.bin in fragments…",
                25_200_000,
                60_000_000,
                width,
            );
            assert!(line.chars().count() < width, "{width}: {line}");
        }
        let wide = render("Uploading", 30, 60, 120);
        assert!(wide.starts_with("[#") && wide.contains(" 50%"), "{wide}");
        assert_eq!(
            render("Sending the message…", 0, 0, 80),
            "Sending the message…"
        );
    }
}

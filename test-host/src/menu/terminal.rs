//! The real prompter: the menu's questions drawn on the terminal (stderr) in raw mode.
//!
//! Every line it redraws (a list, a line being typed, the waiting line) fits the
//! terminal's width, measured at each draw, so a redraw replaces it in place; the
//! waiting line wraps rather than being cut (see [`crate::live_line`]). The
//! terminal is put back (cooked mode, cursor shown) after each question, when the
//! prompter is dropped (a normal end or an error), and by a panic hook. Esc backs out
//! of any question; Ctrl-C backs out of every question from then on, so the menu
//! unwinds and the command ends with "cancelled" (see [`Prompter::interrupted`]).

use std::{
    io::{Stderr, Write},
    sync::Once,
    time::Duration,
};

use crossterm::{
    cursor,
    event::{
        self, DisableBracketedPaste, EnableBracketedPaste, Event, KeyCode, KeyEvent, KeyEventKind,
        KeyModifiers,
    },
    queue,
    terminal::{self, Clear, ClearType},
};

use super::{
    line_editor::{Edit, LineEditor},
    prompter::{Back, Key, Prompter},
    wait_keys::{self, Pressed},
};
use crate::{
    interrupt::Interrupt,
    live_line::{status_rows, width, LiveRows},
    present::{fit, wrap, LongWords},
    services::Browser,
    symbols,
    terminal_text::printable,
};

/// Asks on the terminal; while a verification waits, reads single keys in raw mode.
pub struct TerminalPrompter {
    browser: Browser,
    waiting: bool,
    /// The live status line, while one is shown.
    status: LiveRows,
    interrupted: bool,
    signal: Interrupt,
}

impl TerminalPrompter {
    /// A prompter on the current terminal that opens URLs with `browser`.
    pub fn new(browser: Browser) -> Self {
        restore_on_panic();
        TerminalPrompter {
            browser,
            waiting: false,
            status: LiveRows::new(),
            interrupted: false,
            signal: Interrupt::install(),
        }
    }

    fn clear_status(&mut self) {
        self.status.clear();
    }

    /// Starts a question: `Err(Back)` at once after Ctrl-C; else raw mode is on.
    fn begin_question(&mut self) -> Result<Stderr, Back> {
        if self.interrupted() {
            return Err(Back);
        }
        self.clear_status();
        terminal::enable_raw_mode().map_err(|_| Back)?;
        Ok(std::io::stderr())
    }

    /// Ends a question: cooked mode and a visible cursor again (raw stays on while a
    /// verification waits, for its keys).
    fn end_question(&mut self, err: &mut Stderr) {
        let _ = queue!(err, cursor::Show);
        let _ = err.flush();
        if !self.waiting {
            let _ = terminal::disable_raw_mode();
        }
    }

    /// The next key press; `None` when the terminal cannot be read (treated as Esc).
    fn read_key(&mut self) -> Option<KeyEvent> {
        match self.read_key_until(&mut || false) {
            Read::Key(key) => Some(key),
            Read::Settled | Read::Closed => None,
        }
    }

    /// The next key press, or [`Read::Settled`] as soon as `settled()` holds (checked
    /// whenever no key has come for a moment).
    fn read_key_until(&mut self, settled: &mut dyn FnMut() -> bool) -> Read {
        loop {
            match event::poll(SETTLED_CHECK) {
                Ok(false) if settled() => return Read::Settled,
                Ok(false) => continue,
                Ok(true) => {}
                Err(_) => return Read::Closed,
            }
            match event::read() {
                Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => return Read::Key(key),
                Ok(_) => continue,
                Err(_) => return Read::Closed,
            }
        }
    }

    fn interrupt(&mut self) -> Back {
        self.interrupted = true;
        Back
    }

    /// Reads a line, echoing it as typed or masked; `Ok(None)` when `settled()` ended
    /// the question first.
    fn line(
        &mut self,
        prompt: &str,
        initial: &str,
        masked: bool,
        settled: &mut dyn FnMut() -> bool,
    ) -> Result<Option<String>, Back> {
        let mut err = self.begin_question()?;
        let mut editor = LineEditor::new(initial);
        let mut drawn = 1;
        let outcome = loop {
            drawn = draw_line(&mut err, drawn, prompt, &editor, masked);
            let key = match self.read_key_until(settled) {
                Read::Key(key) => key,
                Read::Settled => break Ok(None),
                Read::Closed => break Err(Back),
            };
            match editor.apply(key) {
                Edit::Continue => {}
                Edit::Submit => break Ok(Some(editor.text())),
                Edit::Back => break Err(Back),
                Edit::Interrupt => break Err(self.interrupt()),
            }
        };
        let shown = match (&outcome, masked) {
            (Ok(Some(text)), true) if !text.is_empty() => "********".to_owned(),
            (Ok(Some(text)), _) => text.clone(),
            (Ok(None), _) => "(not needed any more)".to_owned(),
            (Err(_), _) => "(back)".to_owned(),
        };
        finish(&mut err, &format!("? {prompt} › {shown}"), drawn);
        self.end_question(&mut err);
        outcome
    }
}

impl Drop for TerminalPrompter {
    fn drop(&mut self) {
        self.waiting = false;
        self.clear_status();
        restore_terminal();
    }
}

impl Prompter for TerminalPrompter {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize, Back> {
        let mut err = self.begin_question()?;
        let _ = queue!(err, cursor::Hide);
        let mut chosen = default.min(items.len().saturating_sub(1));
        let mut drawn = 0;
        // Typed letters narrow the list to the entries that contain them.
        let mut filter = String::new();
        let outcome = loop {
            let shown = ListFilter::new(items, &filter);
            let mut at = shown.position_of(chosen);
            drawn = draw_list(&mut err, drawn, prompt, &shown, at);
            let Some(key) = self.read_key() else {
                break Err(Back);
            };
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            let last = shown.len().saturating_sub(1);
            match key.code {
                KeyCode::Enter if shown.is_empty() => {}
                KeyCode::Enter => break Ok(shown.item(at)),
                KeyCode::Char('j') if ctrl && !shown.is_empty() => break Ok(shown.item(at)),
                KeyCode::Esc if !filter.is_empty() => filter.clear(),
                KeyCode::Esc => break Err(Back),
                KeyCode::Char('c' | 'd') if ctrl => break Err(self.interrupt()),
                KeyCode::Backspace => {
                    filter.pop();
                }
                KeyCode::Char(c) if !ctrl && !c.is_control() => filter.push(c),
                KeyCode::Up => at = at.checked_sub(1).unwrap_or(last),
                KeyCode::Down | KeyCode::Tab => at = if at >= last { 0 } else { at + 1 },
                KeyCode::Home => at = 0,
                KeyCode::End => at = last,
                KeyCode::PageDown => at = (at + list_rows(shown.len())).min(last),
                KeyCode::PageUp => at = at.saturating_sub(list_rows(shown.len())),
                _ => {}
            }
            if !shown.is_empty() {
                chosen = shown.item(at.min(last));
            }
        };
        let answer = match outcome {
            Ok(i) => items[i].clone(),
            Err(_) => "(back)".into(),
        };
        finish(&mut err, &format!("? {prompt} › {answer}"), drawn);
        self.end_question(&mut err);
        outcome
    }

    fn input(&mut self, prompt: &str, initial: &str) -> Result<String, Back> {
        self.line(prompt, initial, false, &mut || false)
            .map(Option::unwrap_or_default)
    }

    fn input_until(
        &mut self,
        prompt: &str,
        settled: &mut dyn FnMut() -> bool,
    ) -> Result<Option<String>, Back> {
        if settled() {
            return Ok(None);
        }
        self.line(prompt, "", false, settled)
    }

    fn secret(&mut self, prompt: &str) -> Result<String, Back> {
        self.line(prompt, "", true, &mut || false)
            .map(Option::unwrap_or_default)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool, Back> {
        let mut err = self.begin_question()?;
        let question = format!("? {prompt} {}", if default { "(Y/n)" } else { "(y/N)" });
        let mut drawn = 1;
        let outcome = loop {
            drawn = redraw(&mut err, drawn, &question_rows(&question));
            let Some(key) = self.read_key() else {
                break Err(Back);
            };
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            match key.code {
                KeyCode::Enter => break Ok(default),
                KeyCode::Char('j') if ctrl => break Ok(default),
                KeyCode::Char('y' | 'Y') => break Ok(true),
                KeyCode::Char('n' | 'N') => break Ok(false),
                KeyCode::Esc => break Err(Back),
                KeyCode::Char('c' | 'd') if ctrl => break Err(self.interrupt()),
                _ => {}
            }
        };
        let answer = match outcome {
            Ok(true) => "yes",
            Ok(false) => "no",
            Err(_) => "(back)",
        };
        finish(&mut err, &format!("? {prompt} › {answer}"), drawn);
        self.end_question(&mut err);
        outcome
    }

    fn say(&mut self, text: &str) {
        self.clear_status();
        // No control characters from plugin or server text; raw mode needs an explicit
        // carriage return at each line end.
        let width = width();
        let text = printable(text);
        let text = symbols::for_terminal(&text);
        // Each line wrapped between words (an address too long for a row stays whole),
        // then the state marks coloured on a colour terminal.
        let rows: Vec<String> = text
            .split('\n')
            .flat_map(|line| wrap(line, width, LongWords::Keep))
            .collect();
        let text = rows.join("\n");
        let text = match symbols::colour_on_stderr() {
            true => symbols::colour_marks(&text),
            false => text,
        };
        let end = if self.waiting { "\r\n" } else { "\n" };
        let _ = write!(std::io::stderr(), "{}{end}", text.replace('\n', end));
    }

    fn begin_wait(&mut self) {
        self.waiting = terminal::enable_raw_mode().is_ok();
        // A paste then arrives as one event, not as keys that each do something.
        let mut err = std::io::stderr();
        let _ = queue!(err, EnableBracketedPaste);
        let _ = err.flush();
    }

    fn end_wait(&mut self) {
        self.clear_status();
        let mut err = std::io::stderr();
        let _ = queue!(err, DisableBracketedPaste);
        let _ = err.flush();
        if self.waiting {
            let _ = terminal::disable_raw_mode();
            self.waiting = false;
        }
    }

    fn status(&mut self, line: &str) {
        self.status.draw(&status_rows(line, width()));
    }

    fn key(&mut self) -> Option<Key> {
        if self.signal.is_set() {
            self.interrupted = true;
        }
        if self.interrupted {
            return Some(Key::Cancel);
        }
        if !self.waiting {
            return None;
        }
        // Everything that arrived since the last look is read as one: a burst of keys
        // is a paste.
        let mut events = Vec::new();
        while event::poll(Duration::ZERO).unwrap_or(false) {
            match event::read() {
                Ok(event) => events.push(event),
                Err(_) => break,
            }
        }
        match wait_keys::read(&events) {
            Pressed::Nothing => None,
            Pressed::Open if self.can_open_browser() => Some(Key::Open),
            Pressed::Open => None,
            Pressed::Cancel => Some(Key::Cancel),
            Pressed::Interrupt => {
                self.interrupted = true;
                Some(Key::Cancel)
            }
            Pressed::Pasted => {
                self.say(if self.can_open_browser() {
                    "  Pasted text is not used here: press O to open the page, or Esc to cancel."
                } else {
                    "  Pasted text is not used here: press Esc to cancel."
                });
                None
            }
        }
    }

    fn reads_keys(&self) -> bool {
        true
    }

    fn can_open_browser(&self) -> bool {
        !matches!(self.browser, Browser::Disabled)
    }

    fn open_url(&mut self, url: &str) -> Result<(), String> {
        self.browser.open(url).map_err(|e| e.to_string())
    }

    fn interrupted(&self) -> bool {
        self.interrupted || self.signal.is_set()
    }
}

/// How often a question that may end by itself checks whether it has
/// ([`Prompter::input_until`]).
const SETTLED_CHECK: Duration = Duration::from_millis(100);

/// What waiting for a key brought.
enum Read {
    /// A key press.
    Key(KeyEvent),
    /// The question ended by itself.
    Settled,
    /// The terminal cannot be read.
    Closed,
}

/// Rows the list may use.
fn height() -> usize {
    terminal::size().map(|(_, h)| usize::from(h)).unwrap_or(24)
}

/// Moves to the first of the `drawn` rows last drawn and clears them.
fn rewind(err: &mut Stderr, drawn: usize) {
    let _ = queue!(err, cursor::MoveToColumn(0));
    if drawn > 1 {
        let _ = queue!(err, cursor::MoveUp((drawn - 1) as u16));
    }
    let _ = queue!(err, Clear(ClearType::FromCursorDown));
}

/// Replaces the `drawn` rows with `rows`, the cursor left at the end of the last;
/// the rows drawn.
fn redraw(err: &mut Stderr, drawn: usize, rows: &[String]) -> usize {
    rewind(err, drawn);
    let _ = write!(err, "{}", rows.join("\r\n"));
    let _ = err.flush();
    rows.len()
}

/// A question (or its answer) in rows of the terminal's width, never cut.
fn question_rows(text: &str) -> Vec<String> {
    wrap(&symbols::for_terminal(text), width(), LongWords::Break)
}

/// Replaces the `drawn` rows with the answered question, then a new line.
fn finish(err: &mut Stderr, line: &str, drawn: usize) {
    redraw(err, drawn, &question_rows(line));
    let _ = write!(err, "\r\n");
    let _ = err.flush();
}

/// Columns a line being typed keeps at least; a longer question goes on rows of its own
/// above it.
const TYPING_ROOM: usize = 20;

/// Draws the question and the line being typed (scrolled so the cursor shows) over
/// the `drawn` rows; the rows drawn.
fn draw_line(
    err: &mut Stderr,
    drawn: usize,
    prompt: &str,
    editor: &LineEditor,
    masked: bool,
) -> usize {
    let width = width();
    let inline = symbols::for_terminal(&format!("? {prompt} › ")).into_owned();
    let (mut rows, head) = if inline.chars().count() + TYPING_ROOM <= width {
        (Vec::new(), inline)
    } else {
        (
            question_rows(&format!("? {prompt}")),
            symbols::for_terminal("› ").into_owned(),
        )
    };
    let room = width.saturating_sub(head.chars().count()).max(1);
    let text: Vec<char> = if masked {
        vec![if symbols::unicode() { '•' } else { '*' }; editor.len()]
    } else {
        editor.text().chars().collect()
    };
    // Scroll so the cursor stays in view.
    let start = editor.cursor().saturating_sub(room.saturating_sub(1));
    let visible: String = text[start..].iter().take(room).collect();
    let column = head.chars().count() + editor.cursor() - start;
    rows.push(format!("{head}{visible}"));
    let drawn = redraw(err, drawn, &rows);
    let _ = queue!(err, cursor::MoveToColumn(column as u16), cursor::Show);
    let _ = err.flush();
    drawn
}

/// How many of `count` items a list shows at once (the rest scroll).
fn list_rows(count: usize) -> usize {
    height().saturating_sub(3).clamp(3, 12).min(count)
}

/// The entries of a list that contain what was typed (case ignored), in list order.
struct ListFilter<'a> {
    items: &'a [String],
    filter: String,
    /// Indexes into `items` of the entries shown.
    shown: Vec<usize>,
}

impl<'a> ListFilter<'a> {
    fn new(items: &'a [String], filter: &str) -> Self {
        let wanted = filter.to_lowercase();
        let shown = (0..items.len())
            .filter(|&i| items[i].to_lowercase().contains(&wanted))
            .collect();
        ListFilter {
            items,
            filter: filter.to_owned(),
            shown,
        }
    }

    fn len(&self) -> usize {
        self.shown.len()
    }

    fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// The list index of the `at`th entry shown.
    fn item(&self, at: usize) -> usize {
        self.shown[at]
    }

    /// Where the entry `item` of the list is shown (the first shown when it is not).
    fn position_of(&self, item: usize) -> usize {
        self.shown.iter().position(|&i| i == item).unwrap_or(0)
    }

    fn text(&self, at: usize) -> &str {
        &self.items[self.shown[at]]
    }
}

/// Draws the question and a window of its items, with a line saying where the window
/// is when not all fit (and what was typed to narrow it); returns the rows drawn.
fn draw_list(
    err: &mut Stderr,
    drawn: usize,
    prompt: &str,
    items: &ListFilter<'_>,
    chosen: usize,
) -> usize {
    let width = width();
    let rows = list_rows(items.len());
    let first = chosen
        .saturating_sub(rows.saturating_sub(1))
        .min(items.len() - rows);
    let shown = |text: String| fit(&symbols::for_terminal(&text), width);
    let mut lines = question_rows(&format!("? {prompt} (↑↓ Enter, Esc: back)"));
    if !items.filter.is_empty() {
        lines.push(shown(format!(
            "  filter: {} ({} of {} · Backspace, Esc: clear)",
            items.filter,
            items.len(),
            items.items.len()
        )));
    }
    if items.is_empty() {
        lines.push(shown("  (nothing matches)".to_owned()));
    }
    for at in first..first + rows {
        let mark = if at == chosen { "❯ " } else { "  " };
        lines.push(shown(format!("{mark}{}", items.text(at))));
    }
    if rows < items.len() {
        let above = if first > 0 { "↑" } else { " " };
        let below = if first + rows < items.len() {
            "↓"
        } else {
            " "
        };
        lines.push(shown(format!(
            "  {above}{below} {}–{} of {} · PgUp/PgDn · type to filter",
            first + 1,
            first + rows,
            items.len()
        )));
    }
    redraw(err, drawn, &lines)
}

/// Cooked mode, no bracketed paste, and a visible cursor.
fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let mut err = std::io::stderr();
    let _ = queue!(err, DisableBracketedPaste, cursor::Show);
    let _ = err.flush();
}

/// A panic puts the terminal back before its message is printed.
fn restore_on_panic() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

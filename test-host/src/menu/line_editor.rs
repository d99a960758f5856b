//! One line of text being typed at a prompt: what each key does to it.
//!
//! Printable characters are inserted at the cursor; control characters never are.
//! Ctrl-U deletes to the start, Ctrl-W the word before the cursor, Ctrl-K to the end;
//! Ctrl-A / Home and Ctrl-E / End move; Enter submits, Esc goes back, Ctrl-C interrupts.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Keep editing.
    Continue,
    /// Enter: the line is done.
    Submit,
    /// Esc: back out.
    Back,
    /// Ctrl-C: stop everything.
    Interrupt,
}

/// The text and the cursor (a character index).
#[derive(Debug, Clone, Default)]
pub struct LineEditor {
    chars: Vec<char>,
    cursor: usize,
}

impl LineEditor {
    /// Starts from `initial`, the cursor at its end.
    pub fn new(initial: &str) -> Self {
        let chars: Vec<char> = initial.chars().filter(|c| !c.is_control()).collect();
        LineEditor {
            cursor: chars.len(),
            chars,
        }
    }

    /// The text.
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    /// The number of characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// The cursor position, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Applies one key press.
    pub fn apply(&mut self, key: KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            // Ctrl-J is a line feed: Enter typed ahead while the terminal was not raw.
            KeyCode::Enter => return Edit::Submit,
            KeyCode::Char('j') if ctrl => return Edit::Submit,
            KeyCode::Esc => return Edit::Back,
            KeyCode::Char('c' | 'd') if ctrl => return Edit::Interrupt,
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('k') if ctrl => self.chars.truncate(self.cursor),
            KeyCode::Char('w') if ctrl => {
                let mut start = self.cursor;
                while start > 0 && self.chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.chars.len(),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.chars.len(),
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.chars.len()),
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.chars.remove(self.cursor);
            }
            KeyCode::Delete if self.cursor < self.chars.len() => {
                self.chars.remove(self.cursor);
            }
            KeyCode::Char(c)
                if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) && !c.is_control() =>
            {
                self.chars.insert(self.cursor, c);
                self.cursor += 1;
            }
            _ => {}
        }
        Edit::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(editor: &mut LineEditor, text: &str) {
        for c in text.chars() {
            editor.apply(KeyEvent::from(KeyCode::Char(c)));
        }
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    #[test]
    fn ctrl_w_deletes_a_word_and_ctrl_u_the_line() {
        let mut e = LineEditor::new("Sales ");
        typed(&mut e, "reports");
        assert_eq!(e.apply(ctrl('w')), Edit::Continue);
        assert_eq!(e.text(), "Sales ");
        e.apply(ctrl('w'));
        assert_eq!(e.text(), "");
        let mut e = LineEditor::new("contoso");
        e.apply(KeyEvent::from(KeyCode::Left));
        e.apply(ctrl('u'));
        assert_eq!((e.text().as_str(), e.cursor()), ("o", 0));
    }

    #[test]
    fn control_characters_are_never_inserted() {
        let mut e = LineEditor::new("a\u{1b}b");
        assert_eq!(e.text(), "ab");
        typed(&mut e, "\u{1b}\u{7}c");
        e.apply(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT));
        assert_eq!(e.text(), "abc");
    }

    #[test]
    fn esc_enter_and_ctrl_c_end_the_line() {
        let mut e = LineEditor::new("");
        assert_eq!(e.apply(KeyEvent::from(KeyCode::Esc)), Edit::Back);
        assert_eq!(e.apply(KeyEvent::from(KeyCode::Enter)), Edit::Submit);
        assert_eq!(e.apply(ctrl('c')), Edit::Interrupt);
        assert_eq!(e.text(), "");
    }

    #[test]
    fn editing_in_the_middle() {
        let mut e = LineEditor::new("ac");
        e.apply(KeyEvent::from(KeyCode::Left));
        typed(&mut e, "b");
        assert_eq!(e.text(), "abc");
        e.apply(KeyEvent::from(KeyCode::Home));
        e.apply(KeyEvent::from(KeyCode::Delete));
        e.apply(KeyEvent::from(KeyCode::End));
        e.apply(KeyEvent::from(KeyCode::Backspace));
        assert_eq!((e.text().as_str(), e.len()), ("b", 1));
    }
}

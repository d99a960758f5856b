//! What the keys that arrived together while a verification waits mean: one key press
//! is one action, and many keys at once are a paste, which does nothing (an `o` in a
//! pasted address never opens a browser).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What the events read in one go amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pressed {
    /// Nothing that means anything here.
    Nothing,
    /// O alone: open the sign-in page.
    Open,
    /// Esc: cancel the verification.
    Cancel,
    /// Ctrl-C (or Ctrl-D): stop everything.
    Interrupt,
    /// Text was pasted (a bracketed paste, or several keys at once).
    Pasted,
}

/// Reads `events`, all that arrived since the last look. Esc and Ctrl-C count even
/// inside a burst; anything else counts only as a lone key press.
pub fn read(events: &[Event]) -> Pressed {
    let presses: Vec<&KeyEvent> = events
        .iter()
        .filter_map(|e| match e {
            Event::Key(key) if key.kind == KeyEventKind::Press => Some(key),
            _ => None,
        })
        .collect();
    let ctrl = |k: &KeyEvent| k.modifiers.contains(KeyModifiers::CONTROL);
    if presses
        .iter()
        .any(|k| ctrl(k) && matches!(k.code, KeyCode::Char('c' | 'd')))
    {
        return Pressed::Interrupt;
    }
    if presses.iter().any(|k| k.code == KeyCode::Esc) {
        return Pressed::Cancel;
    }
    if presses.len() > 1 || events.iter().any(|e| matches!(e, Event::Paste(_))) {
        return Pressed::Pasted;
    }
    match presses.first() {
        Some(k) if !ctrl(k) && matches!(k.code, KeyCode::Char('o' | 'O')) => Pressed::Open,
        _ => Pressed::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<Event> {
        text.chars()
            .map(|c| Event::Key(KeyEvent::from(KeyCode::Char(c))))
            .collect()
    }

    #[test]
    fn a_lone_o_opens_and_a_pasted_address_does_nothing() {
        assert_eq!(read(&keys("o")), Pressed::Open);
        assert_eq!(read(&keys("O")), Pressed::Open);
        assert_eq!(read(&keys("x")), Pressed::Nothing);
        assert_eq!(read(&[]), Pressed::Nothing);
        assert_eq!(
            read(&keys("https://login.microsoft.com/o")),
            Pressed::Pasted
        );
        let bracketed = [Event::Paste("oooo".into())];
        assert_eq!(read(&bracketed), Pressed::Pasted);
    }

    #[test]
    fn esc_and_ctrl_c_count_even_inside_a_burst() {
        let mut events = keys("too");
        events.push(Event::Key(KeyEvent::from(KeyCode::Esc)));
        assert_eq!(read(&events), Pressed::Cancel);
        events.push(Event::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        )));
        assert_eq!(read(&events), Pressed::Interrupt);
        let ctrl_o = [Event::Key(KeyEvent::new(
            KeyCode::Char('o'),
            KeyModifiers::CONTROL,
        ))];
        assert_eq!(read(&ctrl_o), Pressed::Nothing);
    }
}

//! What each key does: `1`-`5` sort the listeners, `m` the master's workers, `/` starts the
//! filter, `q` or Ctrl-C quits.
//!
//! While the filter is being typed, printable keys go into it, Backspace deletes, Enter keeps
//! it and Esc clears it; Ctrl-C still quits.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::model::{Column, Top};

/// What the loop does after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// Keep going (and redraw).
    Continue,
    /// Restore the terminal and exit.
    Quit,
}

/// Applies `key` to `top`.
pub(super) fn handle(top: &mut Top, key: KeyEvent) -> Flow {
    if key.kind == KeyEventKind::Release {
        return Flow::Continue;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Flow::Quit,
            _ => Flow::Continue,
        };
    }
    if top.editing {
        match key.code {
            KeyCode::Char(c) => top.filter.push(c),
            KeyCode::Backspace => {
                top.filter.pop();
            }
            KeyCode::Enter => top.editing = false,
            KeyCode::Esc => {
                top.filter.clear();
                top.editing = false;
            }
            _ => {}
        }
        return Flow::Continue;
    }
    match key.code {
        KeyCode::Char('q') => return Flow::Quit,
        KeyCode::Char('/') => top.editing = true,
        KeyCode::Char('m') => top.worker_sort = top.worker_sort.next(),
        KeyCode::Esc => top.filter.clear(),
        KeyCode::Char(c @ '1'..='5') => {
            let index = usize::from(c as u8 - b'1');
            top.sort_by(Column::ALL[index]);
        }
        _ => {}
    }
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cmd::top::master::WorkerColumn;

    fn press(top: &mut Top, code: KeyCode) -> Flow {
        handle(top, KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn quit_keys() {
        let mut top = Top::new(Duration::from_secs(1), None);
        assert_eq!(press(&mut top, KeyCode::Char('x')), Flow::Continue);
        assert_eq!(press(&mut top, KeyCode::Char('q')), Flow::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(handle(&mut top, ctrl_c), Flow::Quit);
        top.editing = true;
        assert_eq!(press(&mut top, KeyCode::Char('q')), Flow::Continue, "q is typed");
        assert_eq!(handle(&mut top, ctrl_c), Flow::Quit);
    }

    #[test]
    fn sort_keys() {
        let mut top = Top::new(Duration::from_secs(1), None);
        assert_eq!((top.sort, top.descending), (Column::Queued, true));
        press(&mut top, KeyCode::Char('1'));
        assert_eq!((top.sort, top.descending), (Column::Address, false));
        press(&mut top, KeyCode::Char('4'));
        assert_eq!((top.sort, top.descending), (Column::Peak, true));
        press(&mut top, KeyCode::Char('4'));
        assert_eq!((top.sort, top.descending), (Column::Peak, false));
        press(&mut top, KeyCode::Char('2'));
        assert_eq!((top.sort, top.descending), (Column::Active, true));
        press(&mut top, KeyCode::Char('6'));
        assert_eq!((top.sort, top.descending), (Column::Active, true));
        press(&mut top, KeyCode::Char('5'));
        assert_eq!((top.sort, top.descending), (Column::Wait, true));
        assert_eq!(top.worker_sort, WorkerColumn::Uss);
        press(&mut top, KeyCode::Char('m'));
        assert_eq!(top.worker_sort, WorkerColumn::Pss);
    }

    #[test]
    fn filter_keys() {
        let mut top = Top::new(Duration::from_secs(1), None);
        press(&mut top, KeyCode::Char('/'));
        assert!(top.editing);
        for c in "127.1".chars() {
            press(&mut top, KeyCode::Char(c));
        }
        press(&mut top, KeyCode::Backspace);
        press(&mut top, KeyCode::Backspace);
        assert_eq!(top.filter, "127");
        press(&mut top, KeyCode::Enter);
        assert!(!top.editing);
        press(&mut top, KeyCode::Char('1'));
        assert_eq!((top.filter.as_str(), top.sort), ("127", Column::Address), "1 sorts again");
        press(&mut top, KeyCode::Esc);
        assert_eq!(top.filter, "");
        press(&mut top, KeyCode::Char('/'));
        press(&mut top, KeyCode::Char('9'));
        press(&mut top, KeyCode::Esc);
        assert_eq!((top.filter.as_str(), top.editing), ("", false));
        let release =
            KeyEvent::new_with_kind(KeyCode::Char('q'), KeyModifiers::NONE, KeyEventKind::Release);
        assert_eq!(handle(&mut top, release), Flow::Continue);
    }
}

//! The pad on a terminal: one key per button, as on a hardware call pad.
//! Keys that need words (a number, a reason, a target) ask for a line.

use std::io::Write;

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyModifiers};
use crossterm::terminal;
use tokio::sync::mpsc;

/// Buttons pressed, as the words `op_from_words` reads; `None` ends.
pub fn spawn() -> mpsc::UnboundedReceiver<Vec<String>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        if terminal::enable_raw_mode().is_err() {
            return;
        }
        loop {
            let Ok(Event::Key(KeyEvent {
                code, modifiers, ..
            })) = event::read()
            else {
                continue;
            };
            let words: Vec<String> = match code {
                KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => break,
                KeyCode::Char('q') | KeyCode::Esc => break,
                KeyCode::Char(k @ ('n' | 'r' | 'x' | 's' | 'f' | 'h' | 'c' | 'e')) => {
                    vec![k.to_string()]
                }
                KeyCode::Char('o') => ask("o", "工号 / clerk id: "),
                KeyCode::Char('p') => ask("p", "暂停原因 / reason: "),
                KeyCode::Char('k') => ask("k", "号码 原因 / number reason: "),
                KeyCode::Char('t') => ask("t", "转办 service|window 目标 [说明] / transfer: "),
                _ => continue,
            };
            if tx.send(words).is_err() {
                break;
            }
        }
        let _ = terminal::disable_raw_mode();
    });
    rx
}

/// Reads one line in cooked mode: the key's word and what was typed.
fn ask(key: &str, prompt: &str) -> Vec<String> {
    let _ = terminal::disable_raw_mode();
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let _ = terminal::enable_raw_mode();
    std::iter::once(key.to_owned())
        .chain(line.split_whitespace().map(String::from))
        .collect()
}

/// Prints in raw mode, where a newline does not return the carriage.
pub fn say(text: &str) {
    print!("{}\r\n", text.replace('\n', "\r\n"));
    let _ = std::io::stdout().flush();
}

//! What is said for a call, as the clip texts of a pack:
//! "请 A 零零一 号 到 三 号 窗口 办理", a recall with "再次" before "到".
//! Pure functions; the pack only answers which texts it can speak.

use hallq_contract::Call;
use serde::{Deserialize, Serialize};

use crate::pack::Pack;

/// How a ticket's number is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum NumberStyle {
    /// Digit by digit: "A 零零一" (most halls: no mishearing 十 and 四).
    #[default]
    Digits,
    /// As a number: "A 一", "A 一百零一".
    Counted,
}

const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

/// A number as it is read: 3 → 三, 12 → 十二, 101 → 一百零一, 1010 →
/// 一千零一十. Up to 9999; larger numbers digit by digit.
pub fn counted(n: u32) -> Vec<&'static str> {
    if n >= 10_000 {
        return digits(&n.to_string());
    }
    if n == 0 {
        return vec![DIGITS[0]];
    }
    let units = [(1000, "千"), (100, "百"), (10, "十"), (1, "")];
    let mut out = Vec::new();
    let mut zero_pending = false;
    let mut started = false;
    for (size, unit) in units {
        let d = (n / size) % 10;
        if d == 0 {
            if started {
                zero_pending = true;
            }
            continue;
        }
        if zero_pending {
            out.push(DIGITS[0]);
            zero_pending = false;
        }
        // 十二, not 一十二, when it leads.
        if !(size == 10 && d == 1 && !started) {
            out.push(DIGITS[d as usize]);
        }
        if !unit.is_empty() {
            out.push(unit);
        }
        started = true;
    }
    out
}

/// Each decimal digit of `s` by its word; other characters are left out.
pub fn digits(s: &str) -> Vec<&'static str> {
    s.chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| DIGITS[d as usize])
        .collect()
}

/// The ticket number's words: its letters one by one, then its digits.
pub fn ticket_words(number: &str, style: NumberStyle) -> Vec<String> {
    let letters: String = number.chars().take_while(|c| !c.is_ascii_digit()).collect();
    let rest = &number[letters.len()..];
    let mut out: Vec<String> = letters.chars().map(|c| c.to_string()).collect();
    let spoken: Vec<&str> = match (style, rest.parse::<u32>()) {
        (NumberStyle::Counted, Ok(n)) => counted(n),
        _ => digits(rest),
    };
    out.extend(spoken.into_iter().map(str::to_owned));
    out
}

/// The window's words: its name when the pack has a clip for it (a hall's
/// own recording of "VIP窗口"), else "N 号 窗口" from a name like "3号窗口"
/// or a numeric id, else the name character by character.
pub fn window_words(window: &str, name: &str, pack: &Pack) -> Vec<String> {
    if !name.is_empty() && pack.has(name) {
        return vec![name.to_owned()];
    }
    let number = name
        .strip_suffix("号窗口")
        .and_then(|n| n.parse::<u32>().ok())
        .or_else(|| window.parse::<u32>().ok());
    match number {
        Some(n) => counted(n)
            .into_iter()
            .map(str::to_owned)
            .chain(["号".to_owned(), "窗口".to_owned()])
            .collect(),
        None => name.chars().map(|c| c.to_string()).collect(),
    }
}

/// The whole sentence for a call, before the pack is asked for clips.
pub fn sentence(call: &Call, style: NumberStyle, pack: &Pack) -> Vec<String> {
    let mut w = vec!["请".to_owned()];
    w.extend(ticket_words(&call.ticket, style));
    w.push("号".to_owned());
    if call.recall {
        w.push("再次".to_owned());
    }
    w.push("到".to_owned());
    w.extend(window_words(&call.window, &call.window_name, pack));
    w.push("办理".to_owned());
    w
}

/// Words the pack cannot speak, each once, in order.
pub fn missing<'a>(words: &'a [String], pack: &Pack) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for w in words {
        if !pack.has(w) && !out.contains(&w.as_str()) {
            out.push(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::default_pack_dir;

    #[test]
    fn numbers_are_read_as_halls_read_them() {
        let s = |n| counted(n).concat();
        assert_eq!(s(0), "零");
        assert_eq!(s(3), "三");
        assert_eq!(s(10), "十");
        assert_eq!(s(12), "十二");
        assert_eq!(s(20), "二十");
        assert_eq!(s(101), "一百零一");
        assert_eq!(s(110), "一百一十");
        assert_eq!(s(1010), "一千零一十");
        assert_eq!(s(1001), "一千零一");
        assert_eq!(s(9999), "九千九百九十九");
        assert_eq!(
            ticket_words("A001", NumberStyle::Digits),
            ["A", "零", "零", "一"]
        );
        assert_eq!(ticket_words("A001", NumberStyle::Counted), ["A", "一"]);
        assert_eq!(
            ticket_words("ZB120", NumberStyle::Counted),
            ["Z", "B", "一", "百", "二", "十"]
        );
    }

    fn call(ticket: &str, window: &str, name: &str, recall: bool) -> Call {
        Call {
            seq: 1,
            ticket: ticket.into(),
            window: window.into(),
            window_name: name.into(),
            service_name: "商事登记".into(),
            recall,
            at_ms: 0,
        }
    }

    #[test]
    fn a_call_and_a_recall_are_whole_sentences() {
        let pack = Pack::load(&default_pack_dir()).unwrap();
        let s = sentence(
            &call("A001", "3", "3号窗口", false),
            NumberStyle::Digits,
            &pack,
        );
        assert_eq!(s.concat(), "请A零零一号到三号窗口办理");
        let r = sentence(
            &call("B012", "12", "12号窗口", true),
            NumberStyle::Digits,
            &pack,
        );
        assert_eq!(r.concat(), "请B零一二号再次到十二号窗口办理");
        assert!(missing(&s, &pack).is_empty() && missing(&r, &pack).is_empty());
    }

    #[test]
    fn a_window_the_pack_cannot_name_falls_back() {
        let pack = Pack::load(&default_pack_dir()).unwrap();
        // A numeric id but a name without a clip: its digits.
        assert_eq!(window_words("7", "绿色通道", &pack).concat(), "七号窗口");
        // Neither: character by character, and the pack says what it lacks.
        let w = window_words("vip", "贵宾室", &pack);
        assert_eq!(w, ["贵", "宾", "室"]);
        assert_eq!(missing(&w, &pack), ["贵", "宾", "室"]);
    }
}

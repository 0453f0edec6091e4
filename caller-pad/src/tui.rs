//! The full-screen pad (ratatui): the window's ticket large with its state,
//! service, time limit, materials and owner; the time since the call or the
//! start turning yellow and red against the limit; the window's queue; the
//! last answer; one key per button, the buttons that make no sense now
//! dimmed. Keys that need words (a number, a reason, a target, a clerk)
//! open a line at the bottom: Enter sends, Esc cancels.
//!
//! [`Ui::key`] and [`draw`] are pure, so tests drive them with ratatui's
//! `TestBackend`; [`run`] wires them to a terminal and a [`PadHandle`].

use hallq_contract::payload::Op;
use hallq_contract::{TicketRef, WindowStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::model::{Notice, PadModel, op_name, status_name};

/// A key the pad understands, as the terminal gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Backspace,
    /// Next choice from the list (held numbers, transfer targets, pause
    /// reasons).
    Tab,
}

/// What a key leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Press(Op),
    Quit,
}

/// A button that asks for words first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    Call,
    Transfer,
    Pause,
    Open,
}

impl Ask {
    fn prompt(self) -> &'static str {
        match self {
            Ask::Call => "号码 [原因] / number [reason]: ",
            Ask::Transfer => "转办 service|window 目标 [说明] / transfer to: ",
            Ask::Pause => "暂停原因 / reason: ",
            Ask::Open => "工号 密码 / clerk id and PIN: ",
        }
    }
}

/// The screen's own state: a line being typed, if any, and which choice
/// Tab showed last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ui {
    asking: Option<(Ask, String)>,
    choice: usize,
}

/// What a clerk may pick for a button that asks for words.
fn choices(ask: Ask, model: &PadModel) -> Vec<String> {
    match ask {
        Ask::Call => model
            .state
            .as_ref()
            .map(|s| s.held.clone())
            .unwrap_or_default(),
        Ask::Transfer => model.layout.as_ref().map_or_else(Vec::new, |l| {
            let services = l.services.iter().map(|s| format!("service {}", s.service));
            let windows = l
                .windows
                .iter()
                .filter(|w| w.window != model.window)
                .map(|w| format!("window {}", w.window));
            services.chain(windows).collect()
        }),
        Ask::Pause => model
            .layout
            .as_ref()
            .map(|l| l.pause_reasons.clone())
            .unwrap_or_default(),
        Ask::Open => Vec::new(),
    }
}

/// The buttons: key, what it does, a sample op to ask the model about.
const BUTTONS: [(char, &str, &str); 14] = [
    ('n', "叫号", "next"),
    ('k', "指定", "call"),
    ('r', "重呼", "recall"),
    ('x', "过号", "no-show"),
    ('s', "开始", "start"),
    ('f', "办结", "finish"),
    ('a', "受理", "accept"),
    ('h', "挂起", "hold"),
    ('t', "转办", "transfer"),
    ('p', "暂停", "pause"),
    ('c', "恢复", "resume"),
    ('o', "开窗", "open"),
    ('e', "关窗", "close"),
    ('q', "退出", "quit"),
];

fn sample(key: char) -> Option<Op> {
    Some(match key {
        'n' => Op::CallNext { service: None },
        'k' => Op::Call {
            ticket: String::new(),
            reason: None,
        },
        'r' => Op::Recall,
        'x' => Op::NoShow,
        's' => Op::Start,
        'f' => Op::Finish,
        'a' => Op::Accept,
        'h' => Op::Hold,
        't' => Op::Transfer {
            to_service: None,
            to_window: None,
            note: None,
        },
        'p' => Op::Pause {
            reason: String::new(),
        },
        'c' => Op::Resume,
        'o' => Op::Open {
            clerk: None,
            pin: None,
        },
        'e' => Op::Close,
        _ => return None,
    })
}

impl Ui {
    /// A key: maybe a button to press. Buttons that need words are refused
    /// before the words are typed if the model would refuse them anyway.
    pub fn key(&mut self, key: Key, model: &PadModel) -> Option<Action> {
        if let Some((ask, text)) = &mut self.asking {
            match key {
                Key::Tab => {
                    let all = choices(*ask, model);
                    if !all.is_empty() {
                        *text = all[self.choice % all.len()].clone();
                        self.choice += 1;
                    }
                }
                Key::Esc => self.asking = None,
                Key::Backspace => {
                    text.pop();
                }
                Key::Char(c) => text.push(c),
                Key::Enter => {
                    let (ask, text) = (*ask, text.clone());
                    self.asking = None;
                    let words: Vec<&str> = text.split_whitespace().collect();
                    let op = match ask {
                        Ask::Call => crate::op_from_words(&[&["call"][..], &words].concat()),
                        Ask::Transfer => {
                            crate::op_from_words(&[&["transfer"][..], &words].concat())
                        }
                        Ask::Pause => Some(Op::Pause {
                            reason: text.trim().to_owned(),
                        }),
                        Ask::Open => Some(Op::Open {
                            clerk: words.first().map(|c| (*c).to_owned()),
                            pin: words.get(1).map(|p| (*p).to_owned()),
                        }),
                    };
                    return op.map(Action::Press);
                }
            }
            return None;
        }
        let Key::Char(c) = key else {
            return (key == Key::Esc).then_some(Action::Quit);
        };
        let ask = match c {
            'q' => return Some(Action::Quit),
            'k' => Ask::Call,
            't' => Ask::Transfer,
            'p' => Ask::Pause,
            'o' => Ask::Open,
            _ => return sample(c).map(Action::Press),
        };
        // Ask for words only when the button could be pressed at all.
        match sample(c).and_then(|op| model.refuse(&op)) {
            Some(_) => sample(c).map(Action::Press),
            None => {
                self.asking = Some((ask, String::new()));
                self.choice = 0;
                None
            }
        }
    }
}

fn mmss(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The ticket details the pad knows: the window's state, with the service,
/// materials, limit and owner from the last reply about the same number.
fn ticket_facts(model: &PadModel) -> Option<TicketRef> {
    let state = model.state.as_ref()?;
    let mut t = state.ticket.clone()?;
    if let Some(Notice::Reply(r)) = &model.notice
        && let Some(rt) = &r.ticket
        && rt.number == t.number
    {
        t = rt.clone();
    }
    Some(t)
}

/// Draws the pad at `now_ms`.
pub fn draw(f: &mut Frame<'_>, model: &PadModel, ui: &Ui, now_ms: i64) {
    let [head, body, notice, keys, prompt] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(2),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(f.area());
    let name = model
        .state
        .as_ref()
        .map_or_else(|| format!("{}号窗口", model.window), |s| s.name.clone());
    let (link, link_style) = if model.connected {
        ("● 在线 online", Style::default().fg(Color::Green))
    } else {
        (
            "○ 离线 offline",
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        )
    };
    let clerk = model
        .state
        .as_ref()
        .and_then(|s| s.clerk.clone())
        .map(|c| format!("  工号 {c}"))
        .unwrap_or_default();
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("{name} 叫号器 / pad"),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(clerk),
            Span::raw("   "),
            Span::styled(link, link_style),
        ])),
        head,
    );
    draw_body(f, body, model, now_ms);
    let (text, style) = match &model.notice {
        None => (String::new(), Style::default()),
        Some(Notice::Refused(why)) => (format!("✗ {why}"), Style::default().fg(Color::Yellow)),
        Some(Notice::Retrying { attempts, .. }) => (
            format!("⟳ 未收到回复，原命令重发（第 {attempts} 次）/ no reply: sent again, same id"),
            Style::default().fg(Color::Yellow),
        ),
        Some(Notice::Reply(r)) => match &r.error {
            Some(e) => (
                format!("✗ {} ({})", e.message, e.code),
                Style::default().fg(Color::Red),
            ),
            // 受理: the case code, for the receipt, before anything else.
            None => (
                match &r.case {
                    Some(code) => format!("✓ 已受理，办件编号 {code} / case accepted"),
                    None => crate::describe(r).lines().next().unwrap_or("").to_owned(),
                },
                Style::default().fg(Color::Green),
            ),
        },
    };
    let in_flight = model
        .in_flight
        .as_ref()
        .map(|fl| format!("… {} 发送中 / sending", op_name(&fl.cmd.op)))
        .unwrap_or_default();
    f.render_widget(
        Paragraph::new(vec![Line::styled(text, style), Line::raw(in_flight)])
            .wrap(Wrap { trim: true }),
        notice,
    );
    let spans: Vec<Span<'_>> = BUTTONS
        .iter()
        .flat_map(|(k, zh, _)| {
            let usable = *k == 'q' || sample(*k).is_some_and(|op| model.refuse(&op).is_none());
            let style = if usable {
                Style::default().add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(Color::DarkGray)
            };
            [Span::styled(format!("{k} {zh}"), style), Span::raw("  ")]
        })
        .collect();
    f.render_widget(
        Paragraph::new(Line::from(spans)).wrap(Wrap { trim: true }),
        keys,
    );
    if let Some((ask, text)) = &ui.asking {
        // A PIN is never shown: what follows the clerk id is masked.
        let shown = match (ask, text.split_once(' ')) {
            (Ask::Open, Some((clerk, pin))) => {
                format!("{clerk} {}", "*".repeat(pin.chars().count()))
            }
            _ => text.clone(),
        };
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(ask.prompt(), Style::default().fg(Color::Cyan)),
                Span::raw(shown),
                Span::raw("▏  "),
                Span::styled(hint(*ask, model), Style::default().fg(Color::DarkGray)),
            ])),
            prompt,
        );
    }
}

/// What may be picked with Tab.
fn hint(ask: Ask, model: &PadModel) -> String {
    let all = choices(ask, model);
    if all.is_empty() {
        String::new()
    } else {
        format!("Tab: {}", all.join(" | "))
    }
}

fn draw_body(f: &mut Frame<'_>, area: Rect, model: &PadModel, now_ms: i64) {
    let block = Block::default().borders(Borders::TOP | Borders::BOTTOM);
    let Some(state) = &model.state else {
        f.render_widget(
            Paragraph::new("等待窗口状态… / waiting for the window's state…").block(block),
            area,
        );
        return;
    };
    let status = format!("{} / {}", status_name(state.status), state.status.as_str());
    let mut lines = Vec::new();
    match ticket_facts(model) {
        Some(t) => {
            let elapsed = model.since_ms.map(|s| now_ms - s).unwrap_or(0);
            let limit_ms = t.limit_min.map(|m| i64::from(m) * 60_000);
            // The hall's card rule: yellow at its share of the limit, red past it.
            let warn = model
                .layout
                .as_ref()
                .map(|l| i64::from(l.service_warn_percent))
                .filter(|p| *p > 0)
                .unwrap_or(80);
            let time_style = match (state.status, limit_ms) {
                (WindowStatus::Serving, Some(l)) if elapsed >= l => Style::default().fg(Color::Red),
                (WindowStatus::Serving, Some(l)) if elapsed * 100 >= l * warn => {
                    Style::default().fg(Color::Yellow)
                }
                _ => Style::default(),
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {}  ", t.number),
                    Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
                ),
                Span::raw(format!("   {status}   ")),
                Span::styled(mmss(elapsed), time_style),
            ]));
            let mut svc = t.service_name.clone().unwrap_or_default();
            if let Some(m) = t.limit_min {
                svc.push_str(&format!("   限时 {m} 分钟 / limit {m} min"));
            }
            if let Some(c) = &t.class {
                svc.push_str(&format!("   [{c}]"));
            }
            lines.push(Line::raw(svc));
            if !t.materials.is_empty() {
                lines.push(Line::raw(format!(
                    "材料 / materials: {}",
                    t.materials.join("；")
                )));
            }
            if let Some(o) = &t.owner {
                lines.push(Line::raw(format!("首问负责 / owner: {o}")));
            }
        }
        None => {
            let extra = state
                .pause_reason
                .as_ref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default();
            lines.push(Line::styled(
                format!("  {status}{extra}"),
                Style::default().add_modifier(Modifier::BOLD),
            ));
        }
    }
    let queues = if state.queues.is_empty() {
        format!("等候 / waiting: {}", state.waiting)
    } else {
        let each: Vec<String> = state
            .queues
            .iter()
            .map(|q| format!("{} {}", q.name, q.waiting))
            .collect();
        format!("等候 / waiting: {}   ({})", state.waiting, each.join("，"))
    };
    lines.push(Line::raw(queues));
    if let Some(c) = &state.clerk_today {
        let rating = if c.ratings > 0 {
            format!(
                "{}.{} ({})",
                c.rating_avg_x10 / 10,
                c.rating_avg_x10 % 10,
                c.ratings
            )
        } else {
            "—".to_owned()
        };
        lines.push(Line::styled(
            format!(
                "今日 / today: 办结 {}  平均 {}  评价 {}  黄红牌 {}",
                c.served,
                mmss(i64::from(c.avg_service_s) * 1000),
                rating,
                c.cards
            ),
            Style::default().fg(Color::Cyan),
        ));
    }
    f.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

/// Runs the full-screen pad on the terminal until `q`.
pub async fn run(handle: crate::session::PadHandle) -> anyhow::Result<()> {
    use crossterm::event::{Event, EventStream, KeyCode, KeyEventKind, KeyModifiers};
    use futures_util::StreamExt;

    let mut terminal = ratatui::init();
    let mut events = EventStream::new();
    let mut model_rx = handle.model;
    let mut ui = Ui::default();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    let result = loop {
        let model = model_rx.borrow().clone();
        if let Err(e) = terminal.draw(|f| draw(f, &model, &ui, hallq_client::now_ms())) {
            break Err(e.into());
        }
        tokio::select! {
            ev = events.next() => {
                let Some(Ok(Event::Key(k))) = ev else { continue };
                if k.kind != KeyEventKind::Press {
                    continue;
                }
                let key = match k.code {
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => break Ok(()),
                    KeyCode::Char(c) => Key::Char(c),
                    KeyCode::Enter => Key::Enter,
                    KeyCode::Esc => Key::Esc,
                    KeyCode::Backspace => Key::Backspace,
                    KeyCode::Tab => Key::Tab,
                    _ => continue,
                };
                match ui.key(key, &model) {
                    Some(Action::Quit) => break Ok(()),
                    Some(Action::Press(op)) => { let _ = handle.buttons.send(op); }
                    None => {}
                }
            }
            changed = model_rx.changed() => if changed.is_err() { break Ok(()) },
            _ = tick.tick() => {}
        }
    };
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallq_contract::WindowState;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen(model: &PadModel, ui: &Ui) -> String {
        let mut t = Terminal::new(TestBackend::new(90, 14)).unwrap();
        t.draw(|f| draw(f, model, ui, 125_000)).unwrap();
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    fn model(status: WindowStatus, ticket: Option<&str>) -> PadModel {
        let mut m = PadModel::new("3", "t");
        m.connection(true, 0);
        m.window_state(
            WindowState {
                window: "3".into(),
                name: "3号窗口".into(),
                status,
                ticket: ticket.map(|n| TicketRef {
                    number: n.into(),
                    service: Some("business".into()),
                    service_name: Some("商事登记".into()),
                    materials: Vec::new(),
                    class: None,
                    owner: None,
                    limit_min: None,
                }),
                waiting: 4,
                seq: 1,
                clerk: Some("zhang".into()),
                pause_reason: None,
                held: Vec::new(),
                queues: vec![hallq_contract::payload::ServiceQueue {
                    service: "business".into(),
                    name: "商事登记".into(),
                    waiting: 4,
                }],
                clerk_today: Some(hallq_contract::payload::ClerkToday {
                    served: 12,
                    avg_service_s: 510,
                    ratings: 9,
                    rating_avg_x10: 46,
                    cards: 1,
                }),
            },
            0,
        );
        m
    }

    #[test]
    fn the_screen_shows_the_ticket_its_state_time_and_queue() {
        let s = screen(&model(WindowStatus::Calling, Some("A001")), &Ui::default());
        for want in [
            "3号窗口",
            "A001",
            "叫号中",
            "02:05",
            "商事登记",
            "等候 / waiting: 4",
            "在线",
            "工号 zhang",
            "办结 12",
            "平均 08:30",
            "评价 4.6 (9)",
            "黄红牌 1",
        ] {
            assert!(
                s.replace(' ', "").contains(&want.replace(' ', "")),
                "{want} missing:\n{s}"
            );
        }
        let mut off = model(WindowStatus::Idle, None);
        off.connection(false, 0);
        let s = screen(&off, &Ui::default());
        assert!(s.replace(' ', "").contains("离线"), "{s}");
    }

    /// The colour of the first cell of `text` on the screen.
    fn colour_of(model: &PadModel, now_ms: i64, text: &str) -> Option<Color> {
        let mut t = Terminal::new(TestBackend::new(90, 14)).unwrap();
        t.draw(|f| draw(f, model, &Ui::default(), now_ms)).unwrap();
        let buf = t.backend().buffer().clone();
        let first = text.chars().next()?.to_string();
        for y in 0..buf.area.height {
            for x in 0..buf.area.width.saturating_sub(text.len() as u16) {
                let here: String = (0..text.len() as u16)
                    .map(|i| buf[(x + i, y)].symbol().to_owned())
                    .collect();
                if here == text && buf[(x, y)].symbol() == first {
                    return buf[(x, y)].fg.into();
                }
            }
        }
        None
    }

    #[test]
    fn the_service_time_turns_yellow_then_red_by_the_halls_card_rule() {
        let mut m = model(WindowStatus::Serving, Some("A001"));
        m.state.as_mut().unwrap().ticket.as_mut().unwrap().limit_min = Some(10);
        assert_eq!(colour_of(&m, 7 * 60_000, "07:00"), Some(Color::Reset));
        assert_eq!(colour_of(&m, 9 * 60_000, "09:00"), Some(Color::Yellow));
        assert_eq!(colour_of(&m, 11 * 60_000, "11:00"), Some(Color::Red));
    }

    #[test]
    fn keys_that_need_words_open_a_line_and_send_on_enter() {
        let m = model(WindowStatus::Idle, None);
        let mut ui = Ui::default();
        let mut m = m;
        m.state.as_mut().unwrap().held = vec!["A003".into()];
        assert_eq!(ui.key(Key::Char('k'), &m), None);
        let s = screen(&m, &ui);
        assert!(s.contains("number") && s.contains("A003"), "{s}");
        for c in "A005 急事".chars() {
            assert_eq!(ui.key(Key::Char(c), &m), None);
        }
        assert_eq!(
            ui.key(Key::Enter, &m),
            Some(Action::Press(Op::Call {
                ticket: "A005".into(),
                reason: Some("急事".into())
            }))
        );
        // Esc cancels; a button the window cannot take now asks for nothing.
        ui.key(Key::Char('p'), &m);
        assert_eq!(ui.key(Key::Esc, &m), None);
        assert_eq!(ui, Ui::default());
        let calling = model(WindowStatus::Calling, Some("A001"));
        assert!(matches!(
            ui.key(Key::Char('p'), &calling),
            Some(Action::Press(_))
        ));
        assert_eq!(ui, Ui::default(), "no line opened for a refused button");
        assert_eq!(ui.key(Key::Char('q'), &m), Some(Action::Quit));
        // Tab picks the hall's pause reasons, one after another.
        let mut idle = model(WindowStatus::Idle, None);
        idle.layout = Some(hallq_contract::Layout {
            hall: "h".into(),
            name: "大厅".into(),
            zones: Vec::new(),
            windows: Vec::new(),
            services: Vec::new(),
            pause_reasons: vec!["午休".into(), "业务学习".into()],
            service_warn_percent: 80,
        });
        ui.key(Key::Char('p'), &idle);
        assert!(screen(&idle, &ui).contains("Tab"), "{}", screen(&idle, &ui));
        ui.key(Key::Tab, &idle);
        ui.key(Key::Tab, &idle);
        assert_eq!(
            ui.key(Key::Enter, &idle),
            Some(Action::Press(Op::Pause {
                reason: "业务学习".into()
            }))
        );
        // Open asks for the clerk and the PIN, and never shows the PIN.
        let closed = model(WindowStatus::Closed, None);
        ui.key(Key::Char('o'), &closed);
        for c in "zhang 4321".chars() {
            ui.key(Key::Char(c), &closed);
        }
        let s = screen(&closed, &ui);
        assert!(s.contains("zhang ****") && !s.contains("4321"), "{s}");
        assert_eq!(
            ui.key(Key::Enter, &closed),
            Some(Action::Press(Op::Open {
                clerk: Some("zhang".into()),
                pin: Some("4321".into())
            }))
        );
    }
}

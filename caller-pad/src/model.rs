//! The pad's state, pure (time comes in as `now`): what the window is doing
//! (from its retained state, so changes made elsewhere show), which buttons
//! make sense now, and the one command in flight.
//!
//! It cannot misfire: a button that makes no sense in the window's state is
//! refused here, not sent; while a command is in flight nothing else is
//! sent; a command without a reply is sent again with the same id (the
//! server applies an id once); offline, nothing is sent at all.

use hallq_contract::payload::Op;
use hallq_contract::{PadCommand, Reply, WindowState, WindowStatus};

/// How long to wait for a reply before sending the same command again.
pub const RETRY_MS: i64 = 1_500;

/// The command on its way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub cmd: PadCommand,
    pub sent_ms: i64,
    pub attempts: u32,
}

/// What the clerk last heard from the pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Reply(Box<Reply>),
    /// Refused on the pad, nothing sent.
    Refused(String),
    /// Sent again (same id) after no reply.
    Retrying {
        id: String,
        attempts: u32,
    },
}

#[derive(Debug, Clone)]
pub struct PadModel {
    pub window: String,
    /// The window as the server last published it.
    pub state: Option<WindowState>,
    /// The hall's services and windows (for the transfer targets).
    pub layout: Option<hallq_contract::Layout>,
    pub connected: bool,
    pub in_flight: Option<InFlight>,
    pub notice: Option<Notice>,
    /// When the current ticket was first seen called / serving (pad's clock).
    pub since_ms: Option<i64>,
    id_prefix: String,
    next: u64,
}

impl PadModel {
    /// `id_prefix` makes command ids unique across restarts of the pad.
    pub fn new(window: &str, id_prefix: &str) -> PadModel {
        PadModel {
            window: window.to_owned(),
            state: None,
            layout: None,
            connected: false,
            in_flight: None,
            notice: None,
            since_ms: None,
            id_prefix: id_prefix.to_owned(),
            next: 0,
        }
    }

    /// Why `op` makes no sense now, if it does not.
    pub fn refuse(&self, op: &Op) -> Option<String> {
        if !self.connected {
            return Some("离线，未发送 / offline: nothing sent".into());
        }
        if let Some(f) = &self.in_flight {
            return Some(format!(
                "上一个命令处理中 / still waiting for {}",
                op_name(&f.cmd.op)
            ));
        }
        let Some(state) = &self.state else {
            return Some("等待窗口状态 / waiting for the window's state".into());
        };
        use WindowStatus as S;
        let ok = match (state.status, op) {
            (_, Op::Close) => state.status != S::Closed && state.ticket.is_none(),
            (S::Closed, Op::Open { .. }) => true,
            (S::Closed, _) | (_, Op::Open { .. }) => false,
            (S::Paused, Op::Resume) => true,
            (S::Paused, _) | (_, Op::Resume) => false,
            (S::Idle, Op::CallNext { .. } | Op::Call { .. } | Op::Pause { .. }) => true,
            (S::Calling, Op::Recall | Op::NoShow | Op::Start | Op::Hold | Op::Transfer { .. }) => {
                true
            }
            (
                S::Serving,
                Op::Finish | Op::Accept | Op::CallNext { .. } | Op::Hold | Op::Transfer { .. },
            ) => true,
            _ => false,
        };
        (!ok).then(|| {
            format!(
                "{}时不能{} / not while {}",
                status_name(state.status),
                op_name(op),
                state.status.as_str()
            )
        })
    }

    /// A button: the command to send, or why not (also kept as the notice).
    pub fn press(&mut self, op: Op, now_ms: i64) -> Result<PadCommand, String> {
        if let Some(why) = self.refuse(&op) {
            self.notice = Some(Notice::Refused(why.clone()));
            return Err(why);
        }
        self.next += 1;
        let cmd = PadCommand {
            id: format!("{}-{}", self.id_prefix, self.next),
            op,
        };
        self.in_flight = Some(InFlight {
            cmd: cmd.clone(),
            sent_ms: now_ms,
            attempts: 1,
        });
        Ok(cmd)
    }

    /// A reply: taken if it answers the command in flight.
    pub fn reply(&mut self, r: Reply) -> bool {
        if self.in_flight.as_ref().is_none_or(|f| f.cmd.id != r.id) {
            return false;
        }
        self.in_flight = None;
        self.notice = Some(Notice::Reply(Box::new(r)));
        true
    }

    /// The command in flight again, same id, when its reply is overdue and
    /// the pad is online.
    pub fn due_retry(&mut self, now_ms: i64) -> Option<PadCommand> {
        if !self.connected {
            return None;
        }
        let f = self.in_flight.as_mut()?;
        if now_ms - f.sent_ms < RETRY_MS {
            return None;
        }
        f.sent_ms = now_ms;
        f.attempts += 1;
        self.notice = Some(Notice::Retrying {
            id: f.cmd.id.clone(),
            attempts: f.attempts,
        });
        Some(f.cmd.clone())
    }

    /// The window's retained state; an older one than what is shown is
    /// ignored (a stale retained message after a reconnect).
    pub fn window_state(&mut self, s: WindowState, now_ms: i64) {
        if self.state.as_ref().is_some_and(|old| s.seq < old.seq) {
            return;
        }
        let number = |st: &Option<WindowState>| {
            st.as_ref()
                .and_then(|x| x.ticket.as_ref().map(|t| (t.number.clone(), x.status)))
        };
        let before = number(&self.state);
        self.state = Some(s);
        let after = number(&self.state);
        if after.is_none() {
            self.since_ms = None;
        } else if after != before {
            self.since_ms = Some(now_ms);
        }
    }

    /// The broker connection came or went. Going offline keeps the command
    /// in flight: it is sent again, same id, once back.
    pub fn connection(&mut self, up: bool, now_ms: i64) {
        self.connected = up;
        if up && let Some(f) = self.in_flight.as_mut() {
            // Due at once.
            f.sent_ms = now_ms - RETRY_MS;
        }
    }
}

impl PadModel {
    /// The hardware pad's 128×64 screen for this state (drawn with
    /// `hallq_render::draw_pad`, as a pad vendor's firmware would).
    pub fn screen(&self, now_ms: i64) -> hallq_render::PadScreen {
        let state = self.state.as_ref();
        let ticket = state.and_then(|s| s.ticket.as_ref());
        let message = match &self.notice {
            Some(Notice::Reply(r)) => Some(match &r.error {
                None => r
                    .case
                    .as_ref()
                    .map_or("√好".to_owned(), |c| format!("√受理{c}")),
                Some(e) => format!("×{}", e.code),
            }),
            Some(Notice::Refused(_)) => Some("×未发送".to_owned()),
            Some(Notice::Retrying { .. }) => Some("重发中".to_owned()),
            None => None,
        };
        hallq_render::PadScreen {
            window_name: state.map_or_else(|| format!("{}号窗口", self.window), |s| s.name.clone()),
            clerk: state.and_then(|s| s.clerk.clone()),
            status: state.map_or(WindowStatus::Closed, |s| s.status),
            number: ticket.map(|t| t.number.clone()),
            service_name: ticket.and_then(|t| t.service_name.clone()),
            elapsed_s: self
                .since_ms
                .filter(|_| ticket.is_some())
                .map(|s| ((now_ms - s).max(0) / 1000) as u32),
            waiting: state.map_or(0, |s| s.waiting),
            online: self.connected,
            message,
        }
    }
}

pub fn op_name(op: &Op) -> &'static str {
    match op {
        Op::CallNext { .. } => "叫号",
        Op::Call { .. } => "指定叫号",
        Op::Recall => "重呼",
        Op::NoShow => "过号",
        Op::Start => "开始办理",
        Op::Finish => "办结",
        Op::Accept => "受理",
        Op::Hold => "挂起",
        Op::Transfer { .. } => "转办",
        Op::Pause { .. } => "暂停",
        Op::Resume => "恢复",
        Op::Open { .. } => "开窗",
        Op::Close => "关窗",
    }
}

/// The window's state in Chinese, as the hardware pad's screen says it.
pub use hallq_render::status_zh as status_name;

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: WindowStatus, ticket: Option<&str>, seq: u64) -> WindowState {
        WindowState {
            waiting: 2,
            seq,
            ..WindowState::shown("3", "3号窗口", status, ticket)
        }
    }

    fn online(status: WindowStatus, ticket: Option<&str>) -> PadModel {
        let mut m = PadModel::new("3", "pad-3-x");
        m.connection(true, 0);
        m.window_state(state(status, ticket, 1), 0);
        m
    }

    #[test]
    fn a_second_press_while_one_is_in_flight_sends_nothing() {
        let mut m = online(WindowStatus::Idle, None);
        let first = m.press(Op::CallNext { service: None }, 0).unwrap();
        assert!(m.press(Op::CallNext { service: None }, 10).is_err());
        assert!(matches!(m.notice, Some(Notice::Refused(_))));
        assert!(m.reply(Reply::ok(&first.id, None)));
        // Now the window calls: call-next again makes no sense until handled.
        m.window_state(state(WindowStatus::Calling, Some("A001"), 2), 20);
        assert!(m.press(Op::CallNext { service: None }, 30).is_err());
        assert!(m.press(Op::Start, 30).is_ok());
    }

    #[test]
    fn buttons_follow_the_windows_state() {
        let closed = online(WindowStatus::Closed, None);
        assert!(
            closed
                .refuse(&Op::Open {
                    clerk: None,
                    pin: None
                })
                .is_none()
        );
        assert!(closed.refuse(&Op::CallNext { service: None }).is_some());
        let paused = online(WindowStatus::Paused, None);
        assert!(paused.refuse(&Op::Resume).is_none());
        assert!(paused.refuse(&Op::Start).is_some());
        let serving = online(WindowStatus::Serving, Some("A001"));
        assert!(serving.refuse(&Op::Finish).is_none());
        assert!(
            serving.refuse(&Op::Close).is_some(),
            "not with a ticket at the window"
        );
        assert!(serving.refuse(&Op::Recall).is_some());
        let calling = online(WindowStatus::Calling, Some("A001"));
        for op in [Op::Recall, Op::NoShow, Op::Start, Op::Hold] {
            assert!(calling.refuse(&op).is_none(), "{op:?}");
        }
        let idle = online(WindowStatus::Idle, None);
        assert!(idle.refuse(&Op::Close).is_none());
        assert!(idle.refuse(&Op::Finish).is_some());
    }

    #[test]
    fn no_reply_means_the_same_command_again_and_offline_sends_nothing() {
        let mut m = online(WindowStatus::Idle, None);
        let cmd = m.press(Op::CallNext { service: None }, 0).unwrap();
        assert_eq!(m.due_retry(RETRY_MS - 1), None);
        assert_eq!(m.due_retry(RETRY_MS), Some(cmd.clone()), "same id");
        m.connection(false, 2_000);
        assert_eq!(m.due_retry(10_000), None, "offline: nothing sent");
        assert!(m.press(Op::Pause { reason: "x".into() }, 10_000).is_err());
        m.connection(true, 10_000);
        assert_eq!(m.due_retry(10_000), Some(cmd.clone()), "at once when back");
        assert!(!m.reply(Reply::ok("someone-else", None)), "not its reply");
        assert!(m.reply(Reply::ok(&cmd.id, None)));
        assert!(m.in_flight.is_none());
    }

    #[test]
    fn the_hardware_screen_follows_the_model() {
        let mut m = online(WindowStatus::Calling, Some("A001"));
        let s = m.screen(135_000);
        assert_eq!(s.number.as_deref(), Some("A001"));
        assert_eq!(s.elapsed_s, Some(135));
        assert!(s.online);
        let mut fb = hallq_render::Framebuffer::new(128, 64);
        hallq_render::draw_pad(&mut fb, &s).unwrap();
        assert!(fb.lit() > 200);
        m.connection(false, 0);
        assert!(!m.screen(0).online);
        m.press(Op::Start, 0).unwrap_err();
        assert_eq!(m.screen(0).message.as_deref(), Some("×未发送"));
        hallq_render::draw_pad(&mut fb, &m.screen(0)).unwrap();
    }

    #[test]
    fn an_older_retained_state_does_not_replace_a_newer_one() {
        let mut m = online(WindowStatus::Idle, None);
        m.window_state(state(WindowStatus::Calling, Some("A001"), 5), 100);
        assert_eq!(m.since_ms, Some(100));
        m.window_state(state(WindowStatus::Idle, None, 4), 200);
        assert_eq!(m.state.as_ref().unwrap().status, WindowStatus::Calling);
        m.window_state(state(WindowStatus::Serving, Some("A001"), 6), 300);
        assert_eq!(m.since_ms, Some(300), "started: the clock restarts");
    }
}

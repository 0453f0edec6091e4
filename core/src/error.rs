//! Why a command was refused. These happen in normal operation (an empty
//! queue), so they are a concrete enum with stable codes and bilingual text.

/// A refused command; the hall is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("没有等候的号 / no one is waiting")]
    QueueEmpty,
    #[error("当前没有号 / no current ticket")]
    NoCurrentTicket,
    #[error("窗口未开 / the window is closed")]
    WindowClosed,
    #[error("窗口已暂停 / the window is paused")]
    WindowPaused,
    #[error("窗口未暂停 / the window is not paused")]
    WindowNotPaused,
    #[error("窗口已开 / the window is already open")]
    WindowAlreadyOpen,
    #[error("请先处理当前号 / finish the current ticket first")]
    TicketInProgress,
    #[error(
        "号已叫，请先开始办理或过号 / the called ticket must be started or marked no-show first"
    )]
    TicketCalled,
    #[error("当前号尚未开始办理 / the current ticket has not started")]
    NotStarted,
    #[error("未知事项 {0} / unknown service {0}")]
    UnknownService(String),
    #[error("本窗口不办理事项 {0} / this window does not serve {0}")]
    ServiceNotServed(String),
    #[error("未知窗口 {0} / unknown window {0}")]
    UnknownWindow(String),
    #[error("须注明原因 / a reason is required")]
    ReasonRequired,
    #[error("号码已存在 / duplicate ticket token")]
    DuplicateToken,
    #[error(
        "{field} 须不超过 {max} 个字符、不含控制字符 / {field}: at most {max} characters, no control characters"
    )]
    BadText { field: &'static str, max: usize },
    #[error("重呼次数已满 / this ticket was recalled too often")]
    RecallLimit,
    #[error("重呼过快，请稍候 / too soon to recall again")]
    RecallTooSoon,
    #[error("不在取号时间 / tickets are not issued now")]
    OutsideHours,
    #[error("今日号已取完 / today's tickets for this service are gone")]
    DailyCapReached,
    #[error("此证件今日取号已达上限 / this ID number has taken its tickets for today")]
    QuotaExceeded,
    #[error("没有这张号 / no such ticket")]
    UnknownTicket,
    #[error("此号不在等候 / this ticket is not waiting")]
    NotWaiting,
    #[error("此号由其他窗口负责 / another window holds this ticket")]
    NotOwner,
    #[error("转办须指定事项或窗口之一 / a transfer needs one service or one other window")]
    BadTransfer,
    #[error("未知优先类别 {0} / unknown priority class {0}")]
    UnknownClass(String),
    #[error("此号已评价 / this ticket was rated already")]
    AlreadyRated,
    #[error("办结后方可评价 / only a finished ticket can be rated")]
    NotFinished,
    #[error("评价须为 1 到 5 / a rating is 1 to 5")]
    BadScore,
    #[error("因多次爽约，暂停预约 / bookings are suspended after repeated no-shows")]
    BookingBanned,
    #[error("该时段已约满 / this slot is full")]
    SlotFull,
    #[error("无效的预约时段 / not a bookable slot")]
    BadSlot,
    #[error("没有这个预约 / no such booking")]
    UnknownBooking,
    #[error("预约已使用或已失效 / this booking was used or has lapsed")]
    BookingClosed,
    #[error("未到签到时间 / too early to check in")]
    TooEarly,
    #[error("工作配置无效：{0} / invalid work profile: {0}")]
    BadProfile(&'static str),
    #[error(
        "已被他人更改（您看到的是 {seen}，现在是 {now}），请刷新后再试 / changed by someone else meanwhile (you saw {seen}, it is now {now}); reload and try again"
    )]
    Stale { seen: u64, now: u64 },
    #[error("事项 {0} 为即办件，不立案 / service {0} is decided at the counter: no case")]
    NotACaseService(String),
    #[error("没有这个办件编号 / no such case code")]
    UnknownCase,
    #[error("办件状态为 {state}，不能执行 {action} / a case that is {state} cannot {action}")]
    CaseState {
        state: &'static str,
        action: &'static str,
    },
    #[error(
        "邮寄须填写快递公司和运单号 / express delivery needs the carrier and the tracking number"
    )]
    TrackingRequired,
    #[error("本厅不设统一出件 / this hall has no pick-up service")]
    NoPickup,
    #[error("此件已送达 / this case was delivered already")]
    CaseDelivered,
    #[error("此件尚未办结，暂不能取件 / this case is not ready for pick-up yet")]
    CaseNotReady,
    #[error("已取取件号 {0} / a pick-up ticket was taken already: {0}")]
    PickupTaken(String),
    #[error(
        "办件编号须为 1 到 32 位（键 64 位）字母、数字、- 或 _ / a case code (key) is 1 to 32 (64) letters, digits, - or _"
    )]
    BadCaseCode,
}

impl CoreError {
    /// The stable, lower-case code of CONTRACT.md.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::QueueEmpty => "queue_empty",
            CoreError::NoCurrentTicket => "no_current_ticket",
            CoreError::WindowClosed => "window_closed",
            CoreError::WindowPaused => "window_paused",
            CoreError::WindowNotPaused => "window_not_paused",
            CoreError::WindowAlreadyOpen => "window_open",
            CoreError::TicketInProgress => "ticket_in_progress",
            CoreError::TicketCalled => "ticket_called",
            CoreError::NotStarted => "not_started",
            CoreError::UnknownService(_) => "unknown_service",
            CoreError::ServiceNotServed(_) => "service_not_served",
            CoreError::UnknownWindow(_) => "unknown_window",
            CoreError::ReasonRequired => "reason_required",
            CoreError::DuplicateToken => "duplicate_token",
            CoreError::BadText { .. } => "bad_text",
            CoreError::RecallLimit => "recall_limit",
            CoreError::RecallTooSoon => "recall_too_soon",
            CoreError::OutsideHours => "outside_hours",
            CoreError::DailyCapReached => "daily_cap",
            CoreError::QuotaExceeded => "quota_exceeded",
            CoreError::UnknownTicket => "unknown_ticket",
            CoreError::NotWaiting => "not_waiting",
            CoreError::NotOwner => "not_owner",
            CoreError::BadTransfer => "bad_transfer",
            CoreError::UnknownClass(_) => "unknown_class",
            CoreError::AlreadyRated => "already_rated",
            CoreError::NotFinished => "not_finished",
            CoreError::BadScore => "bad_score",
            CoreError::BookingBanned => "booking_banned",
            CoreError::SlotFull => "slot_full",
            CoreError::BadSlot => "bad_slot",
            CoreError::UnknownBooking => "unknown_booking",
            CoreError::BookingClosed => "booking_closed",
            CoreError::TooEarly => "too_early",
            CoreError::BadProfile(_) => "bad_profile",
            CoreError::Stale { .. } => "stale",
            CoreError::NotACaseService(_) => "not_a_case_service",
            CoreError::UnknownCase => "unknown_case",
            CoreError::CaseState { .. } => "case_state",
            CoreError::TrackingRequired => "tracking_required",
            CoreError::NoPickup => "no_pickup",
            CoreError::CaseDelivered => "case_delivered",
            CoreError::CaseNotReady => "case_not_ready",
            CoreError::PickupTaken(_) => "pickup_taken",
            CoreError::BadCaseCode => "bad_case_code",
        }
    }
}

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
    #[error("暂停须注明原因 / a pause needs a reason")]
    ReasonRequired,
    #[error("号码已存在 / duplicate ticket token")]
    DuplicateToken,
    #[error("暂不支持 {0} / {0} is not supported yet")]
    Unsupported(&'static str),
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
            CoreError::Unsupported(_) => "not_supported",
        }
    }
}

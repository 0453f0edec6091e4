//! The hardware call pad's screen (128×64, one colour): the same facts as
//! the full-screen pad, reduced — the window and clerk, the window's state,
//! the ticket large, its service and the time since the call or the start,
//! the queue, and the last answer or the connection's loss.

use alloc::format;
use alloc::string::String;

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line, PrimitiveStyle};
use hallq_contract::WindowStatus;
use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};
use u8g2_fonts::{FontRenderer, fonts};

use crate::RenderError;

/// What the pad's screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PadScreen {
    pub window_name: String,
    pub clerk: Option<String>,
    pub status: WindowStatus,
    /// The ticket at the window.
    pub number: Option<String>,
    pub service_name: Option<String>,
    /// Seconds since the call or the start.
    pub elapsed_s: Option<u32>,
    pub waiting: u32,
    pub online: bool,
    /// The last answer, short ("√好", "×无人等候"); ASCII and GB2312 only.
    pub message: Option<String>,
}

/// The window's state in two characters or three.
pub fn status_zh(s: WindowStatus) -> &'static str {
    match s {
        WindowStatus::Closed => "关闭",
        WindowStatus::Idle => "空闲",
        WindowStatus::Calling => "叫号中",
        WindowStatus::Serving => "办理中",
        WindowStatus::Paused => "暂停",
    }
}

/// Draws the pad's screen (meant for 128×64; it scales its rows to the
/// target's height). The target is cleared first.
pub fn draw_pad<D>(target: &mut D, s: &PadScreen) -> Result<(), RenderError<D::Error>>
where
    D: DrawTarget<Color = BinaryColor>,
{
    target
        .clear(BinaryColor::Off)
        .map_err(RenderError::Display)?;
    let area = target.bounding_box();
    let (w, h) = (area.size.width as i32, area.size.height as i32);
    let small = FontRenderer::new::<fonts::u8g2_font_wqy12_t_gb2312>();
    let big = FontRenderer::new::<fonts::u8g2_font_logisoso22_tr>();
    let color = FontColor::Transparent(BinaryColor::On);
    let text = |r: &FontRenderer,
                t: &str,
                x: i32,
                y: i32,
                align: HorizontalAlignment,
                target: &mut D|
     -> Result<(), RenderError<D::Error>> {
        r.render_aligned(
            t,
            Point::new(x, y),
            VerticalPosition::Center,
            align,
            color,
            target,
        )
        .map(|_| ())
        .map_err(crate::font_error)
    };
    // Top row: the window (and clerk), the state or "离线".
    let who = match &s.clerk {
        Some(c) => format!("{} {c}", s.window_name),
        None => s.window_name.clone(),
    };
    text(&small, &who, 0, 6, HorizontalAlignment::Left, target)?;
    let state = if s.online {
        status_zh(s.status)
    } else {
        "离线"
    };
    text(&small, state, w - 1, 6, HorizontalAlignment::Right, target)?;
    Line::new(Point::new(0, 13), Point::new(w - 1, 13))
        .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
        .draw(target)
        .map_err(RenderError::Display)?;
    // The ticket, large; the service and the time under it.
    match &s.number {
        Some(n) => {
            text(
                &big,
                n,
                w / 2,
                h * 30 / 64,
                HorizontalAlignment::Center,
                target,
            )?;
            let mut line = s.service_name.clone().unwrap_or_default();
            if let Some(e) = s.elapsed_s {
                line.push_str(&format!(" {:02}:{:02}", e / 60, e % 60));
            }
            text(
                &small,
                &line,
                w / 2,
                h * 46 / 64,
                HorizontalAlignment::Center,
                target,
            )?;
        }
        None => {
            let idle = if s.online {
                status_zh(s.status)
            } else {
                "离线"
            };
            text(
                &small,
                idle,
                w / 2,
                h * 36 / 64,
                HorizontalAlignment::Center,
                target,
            )?;
        }
    }
    // Bottom row: the queue, and the last answer.
    text(
        &small,
        &format!("等候{}", s.waiting),
        0,
        h - 6,
        HorizontalAlignment::Left,
        target,
    )?;
    if let Some(m) = &s.message {
        text(&small, m, w - 1, h - 6, HorizontalAlignment::Right, target)?;
    }
    Ok(())
}

//! The picture on a window's LED display, drawn on any embedded-graphics
//! [`DrawTarget`] with one colour (LED on/off). `no_std`: the Linux
//! display-node and the microcontroller firmware share it, so a window looks
//! the same whichever drives it.
//!
//! Text comes from the GB2312 bitmap fonts of U8g2 (WenQuanYi 12/16 px),
//! which cover the hall's vocabulary. Their licence is U8g2's (see
//! `render/FONTS-LICENSE.md`), not this crate's.
#![no_std]

extern crate alloc;

mod frame;
mod pad;

use alloc::format;
use alloc::string::String;

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use hallq_contract::{WindowState, WindowStatus};
use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};
use u8g2_fonts::{FontRenderer, fonts};

pub use frame::Framebuffer;
pub use pad::{PadScreen, draw_pad, status_zh};

/// The two lines a window shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowText {
    /// Large: the ticket number, or the window's name when none is called.
    pub big: String,
    /// Small: what the citizen should do.
    pub small: String,
}

/// What a window's display says for a state.
pub fn window_text(s: &WindowState) -> WindowText {
    let number = s.ticket.as_ref().map(|t| t.number.clone());
    let (big, small) = match (s.status, number) {
        (WindowStatus::Calling, Some(n)) => (n, format!("请到{}", s.name)),
        (WindowStatus::Serving, Some(n)) => (n, String::from("正在办理")),
        (WindowStatus::Paused, _) => (s.name.clone(), String::from("暂停服务")),
        (WindowStatus::Closed, _) => (s.name.clone(), String::from("窗口关闭")),
        _ => (s.name.clone(), String::from("欢迎光临")),
    };
    WindowText { big, small }
}

/// What a display shows when it has heard nothing from the server for a
/// while: its window's name and 离线, never an old ticket.
pub fn offline_text(window_name: &str) -> WindowText {
    WindowText {
        big: String::from(window_name),
        small: String::from("离线 offline"),
    }
}

/// A font renderer's error as ours (text is always drawn on a transparent
/// background).
pub(crate) fn font_error<E>(e: u8g2_fonts::Error<E>) -> RenderError<E> {
    match e {
        u8g2_fonts::Error::GlyphNotFound(c) => RenderError::GlyphNotFound(c),
        u8g2_fonts::Error::DisplayError(e) => RenderError::Display(e),
        u8g2_fonts::Error::BackgroundColorNotSupported => unreachable!("transparent background"),
    }
}

/// A character the fonts cannot draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError<E> {
    GlyphNotFound(char),
    Display(E),
}

/// Draws a window state: the big line in the upper part, the small line
/// under it, both centred. The target is cleared first.
pub fn draw_window<D>(target: &mut D, state: &WindowState) -> Result<(), RenderError<D::Error>>
where
    D: DrawTarget<Color = BinaryColor>,
{
    draw_text(target, &window_text(state))
}

/// Draws two lines of text as [`draw_window`] lays them out.
pub fn draw_text<D>(target: &mut D, text: &WindowText) -> Result<(), RenderError<D::Error>>
where
    D: DrawTarget<Color = BinaryColor>,
{
    target
        .clear(BinaryColor::Off)
        .map_err(RenderError::Display)?;
    let area = target.bounding_box();
    let w = area.size.width as i32;
    let h = area.size.height as i32;
    let big = FontRenderer::new::<fonts::u8g2_font_wqy16_t_gb2312>();
    let small = if h >= 48 {
        FontRenderer::new::<fonts::u8g2_font_wqy16_t_gb2312>()
    } else {
        FontRenderer::new::<fonts::u8g2_font_wqy12_t_gb2312>()
    };
    let color = FontColor::Transparent(BinaryColor::On);
    let top = area.top_left;
    let draw = |r: &FontRenderer, s: &str, y: i32, t: &mut D| {
        r.render_aligned(
            s,
            top + Point::new(w / 2, y),
            VerticalPosition::Center,
            HorizontalAlignment::Center,
            color,
            t,
        )
        .map(|_| ())
        .map_err(font_error)
    };
    draw(&big, &text.big, h * 9 / 32, target)?;
    draw(&small, &text.small, h * 25 / 32, target)?;
    Ok(())
}

#[cfg(test)]
mod tests;

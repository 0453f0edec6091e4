//! The sign above a window: the called number large and where to go, or
//! the window's name and its state; 离线 when the server is silent.
//!
//! The layout follows the panel: two rows from 32 LEDs high (the number's
//! font as large as the upper row allows), one row below that (a single P10
//! module row: the number or name at the left, the rest scrolling beside
//! it). A new call blinks for [`BLINK_MS`]; text that does not fit scrolls.

use alloc::format;
use alloc::string::String;

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use hallq_contract::{WindowState, WindowStatus};

use crate::text::{Align, Line, big_font, cjk_font, cjk_scale, draw_line, draw_line_scaled, width};
use crate::{LedColor, RenderError};

/// A new call blinks this long.
pub const BLINK_MS: u64 = 4_000;
/// Within a blink, the number is lit this long, then dark as long.
const BLINK_HALF_MS: u64 = 400;

/// What a window's sign shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign<'a> {
    /// The window's state, as the server published it.
    State(&'a WindowState),
    /// Nothing heard from the server for a while: the window's name and
    /// 离线, never an old ticket.
    Offline { window_name: &'a str },
}

/// The look of a sign: its two texts and how they are coloured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignText {
    /// Large: the ticket number, or the window's name when none is called.
    pub big: String,
    /// Small: what the citizen should do, or the window's state.
    pub small: String,
    pub look: Look,
}

/// How a sign is coloured and marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// A number called: red, blinking while new.
    Calling,
    /// A number at the counter.
    Serving,
    /// Open, nobody called.
    Idle,
    /// Paused: the lower row an amber bar.
    Paused,
    /// Closed: dim.
    Closed,
    /// No word from the server: a dashed amber frame.
    Offline,
}

/// What a sign says.
pub fn sign_text(sign: Sign<'_>) -> SignText {
    let s = match sign {
        Sign::Offline { window_name } => {
            return SignText {
                big: String::from(window_name),
                small: String::from("离线 offline"),
                look: Look::Offline,
            };
        }
        Sign::State(s) => s,
    };
    let number = s.ticket.as_ref().map(|t| t.number.clone());
    let (big, small, look) = match (s.status, number) {
        (WindowStatus::Calling, Some(n)) => (n, format!("请到{}", s.name), Look::Calling),
        (WindowStatus::Serving, Some(n)) => (n, String::from("正在办理"), Look::Serving),
        (WindowStatus::Paused, _) => {
            let small = match &s.pause_reason {
                Some(r) if !r.is_empty() => format!("暂停服务 {r}"),
                _ => String::from("暂停服务"),
            };
            (s.name.clone(), small, Look::Paused)
        }
        (WindowStatus::Closed, _) => (s.name.clone(), String::from("窗口关闭"), Look::Closed),
        _ => (s.name.clone(), String::from("欢迎光临"), Look::Idle),
    };
    SignText { big, small, look }
}

/// What became of a drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drawn {
    /// The picture changes with time (scrolling or blinking): draw it again
    /// in a few tens of milliseconds.
    pub moving: bool,
}

/// Draws a sign `age_ms` after it first appeared (blinking and scrolling
/// are functions of that age, so a frame can be tested). The target is
/// cleared first.
pub fn draw_sign<D, C>(
    target: &mut D,
    sign: Sign<'_>,
    age_ms: u64,
) -> Result<Drawn, RenderError<D::Error>>
where
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    draw_sign_text(target, &sign_text(sign), age_ms)
}

/// Draws a window state as it first appears (no blink phase, no scroll).
pub fn draw_window<D, C>(target: &mut D, state: &WindowState) -> Result<(), RenderError<D::Error>>
where
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    draw_sign(target, Sign::State(state), 0).map(|_| ())
}

/// Draws sign text `age_ms` after it first appeared.
pub fn draw_sign_text<D, C>(
    target: &mut D,
    text: &SignText,
    age_ms: u64,
) -> Result<Drawn, RenderError<D::Error>>
where
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    target.clear(C::OFF).map_err(RenderError::Display)?;
    let area = target.bounding_box();
    let (w, h) = (area.size.width, area.size.height);
    let (big_color, small_color) = match text.look {
        Look::Calling | Look::Serving => (C::NUMBER, C::TEXT),
        Look::Idle => (C::TEXT, C::TEXT),
        Look::Paused => (C::TEXT, C::WARN),
        Look::Closed => (C::DIM, C::DIM),
        Look::Offline => (C::DIM, C::WARN),
    };
    let blinking = text.look == Look::Calling && age_ms < BLINK_MS;
    let big_lit = !blinking || (age_ms / BLINK_HALF_MS).is_multiple_of(2);
    // An offline sign is framed (dashed) and draws inside the frame.
    let inner = if text.look == Look::Offline {
        dashed_frame(target, area)?;
        shrink(area, 2)
    } else {
        area
    };
    let bar = (text.look == Look::Paused).then_some(C::WARN);
    let mut moving = blinking;
    if h >= 32 {
        // Two rows: the small one 12 or 16 LEDs, the big one the rest.
        let small_font = cjk_font(if h >= 48 { 16 } else { 12 });
        let small_h = if h >= 48 { 18 } else { 13 };
        let (iw, ih) = (inner.size.width, inner.size.height);
        let upper = Rectangle::new(inner.top_left, Size::new(iw, ih - small_h));
        let lower = Rectangle::new(
            inner.top_left + Point::new(0, (ih - small_h) as i32),
            Size::new(iw, small_h),
        );
        let (max_w, max_h) = (iw.saturating_sub(4), upper.size.height - 2);
        let big = big_font(&text.big, max_w, max_h)?;
        // A window's name (Chinese) doubled where the panel has room.
        let scale = if text.big.is_ascii() {
            1
        } else {
            cjk_scale(&text.big, max_w, max_h)?
        };
        if big_lit {
            let line = Line {
                text: &text.big,
                font: big,
                color: big_color,
                bar: None,
                align: Align::Centre,
            };
            moving |= draw_line_scaled(target, upper, &line, age_ms, scale)?;
        }
        let line = Line {
            text: &text.small,
            font: small_font,
            color: small_color,
            bar,
            align: Align::Centre,
        };
        moving |= draw_line(target, lower, &line, age_ms)?;
    } else {
        // One row: the big text at the left, the small one beside it,
        // scrolling in what is left when it does not fit.
        let font = cjk_font(inner.size.height);
        let big = big_font(&text.big, w / 2, inner.size.height)?;
        let big_w = width(big, &text.big)? + 3;
        let (left, rest) = if big_w <= inner.size.width * 3 / 5 {
            let left = Rectangle::new(inner.top_left, Size::new(big_w, inner.size.height));
            let rest = Rectangle::new(
                inner.top_left + Point::new(big_w as i32, 0),
                Size::new(inner.size.width - big_w, inner.size.height),
            );
            (Some(left), rest)
        } else {
            (None, inner)
        };
        let joined;
        let small = match left {
            Some(left) => {
                if big_lit {
                    let line = Line {
                        text: &text.big,
                        font: big,
                        color: big_color,
                        bar: None,
                        align: Align::Left,
                    };
                    draw_line(target, left, &line, age_ms)?;
                }
                text.small.as_str()
            }
            None => {
                joined = format!("{} {}", text.big, text.small);
                &joined
            }
        };
        let line = Line {
            text: small,
            font,
            color: small_color,
            bar,
            align: Align::Centre,
        };
        moving |= draw_line(target, rest, &line, age_ms)?;
    }
    Ok(Drawn { moving })
}

/// A rectangle `by` LEDs smaller on every side.
fn shrink(r: Rectangle, by: u32) -> Rectangle {
    Rectangle::new(
        r.top_left + Point::new(by as i32, by as i32),
        Size::new(
            r.size.width.saturating_sub(2 * by),
            r.size.height.saturating_sub(2 * by),
        ),
    )
}

/// A dashed frame around the panel's edge, in the warning colour.
fn dashed_frame<D, C>(target: &mut D, area: Rectangle) -> Result<(), RenderError<D::Error>>
where
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    let (w, h) = (area.size.width as i32, area.size.height as i32);
    let dash = |i: i32| (i / 3) % 2 == 0;
    let top = area.top_left;
    let pixels = (0..w)
        .filter(|x| dash(*x))
        .flat_map(|x| [Point::new(x, 0), Point::new(x, h - 1)])
        .chain(
            (0..h)
                .filter(|y| dash(*y))
                .flat_map(|y| [Point::new(0, y), Point::new(w - 1, y)]),
        )
        .map(|p| Pixel(top + p, C::WARN));
    target.draw_iter(pixels).map_err(RenderError::Display)
}

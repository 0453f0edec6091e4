//! The hall's LED wall (综合屏): the last calls with their windows, the
//! newest highlighted; how many wait for each service; and the manager's
//! notice scrolling along the bottom.
//!
//! Rows are 16 LEDs: the bottom row is the notice, the rows above it the
//! calls, newest first. From 192 LEDs wide the right part lists the
//! services and their waiting counts, a page at a time when there are
//! more services than rows.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Line as Segment, PrimitiveStyle, Rectangle};

use crate::sign::{BLINK_MS, Drawn};
use crate::text::{Align, Line, cjk_font, draw_line, width};
use crate::{LedColor, RenderError};

/// One call on the wall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallCall {
    pub number: String,
    pub window_name: String,
}

/// One service's queue on the wall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallQueue {
    pub service_name: String,
    pub waiting: u32,
}

/// What the wall shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wall {
    /// Newest first.
    pub calls: Vec<WallCall>,
    pub queues: Vec<WallQueue>,
    /// The manager's notice; empty for the standing line.
    pub notice: String,
}

/// The notice row when the manager has set none.
pub const STANDING_NOTICE: &str = "请留意叫号 Please watch for your number";
/// Each page of service queues stays this long.
pub const PAGE_MS: u64 = 5_000;
const ROW: u32 = 16;
/// From this width the wall also lists the queues.
const QUEUES_FROM_WIDTH: u32 = 192;

/// Draws the wall at `now_ms` (the notice scrolls and the queue pages turn
/// with it); the newest call blinks while `newest_age_ms` < [`BLINK_MS`].
pub fn draw_wall<D, C>(
    target: &mut D,
    wall: &Wall,
    now_ms: u64,
    newest_age_ms: u64,
) -> Result<Drawn, RenderError<D::Error>>
where
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    target.clear(C::OFF).map_err(RenderError::Display)?;
    let area = target.bounding_box();
    let (w, h) = (area.size.width, area.size.height);
    let rows = (h / ROW).max(1);
    let font = cjk_font(ROW);
    // Free text (the manager's notice, names from the hall file): a
    // character the font lacks is left out rather than the wall going dark.
    let lenient = font.clone().with_ignore_unknown_chars(true);
    let row = |i: u32, x: u32, width: u32| {
        Rectangle::new(
            area.top_left + Point::new(x as i32, (i * ROW) as i32),
            Size::new(width, ROW.min(h)),
        )
    };
    let mut moving = false;
    let call_rows = if rows > 1 { rows - 1 } else { 1 };
    if rows > 1 {
        let notice = if wall.notice.is_empty() {
            STANDING_NOTICE
        } else {
            wall.notice.as_str()
        };
        let line = Line {
            text: notice,
            font: &lenient,
            color: C::WARN,
            bar: None,
            align: Align::Centre,
        };
        moving |= draw_line(target, row(rows - 1, 0, w), &line, now_ms)?;
    }
    let calls_w = if w >= QUEUES_FROM_WIDTH && !wall.queues.is_empty() {
        w * 5 / 8
    } else {
        w
    };
    let blinking = newest_age_ms < BLINK_MS;
    moving |= blinking;
    for (i, call) in wall.calls.iter().take(call_rows as usize).enumerate() {
        let r = row(i as u32, 0, calls_w);
        let newest = i == 0;
        let lit = !blinking || (newest_age_ms / 400).is_multiple_of(2);
        let text = format!("{}  {}", call.number, call.window_name);
        let line = Line {
            text: &text,
            font: &lenient,
            color: if newest { C::NUMBER } else { C::TEXT },
            bar: (newest && lit).then_some(C::NUMBER),
            align: Align::Left,
        };
        moving |= draw_line(target, r, &line, now_ms)?;
    }
    if calls_w < w {
        let x = calls_w as i32 + area.top_left.x;
        Segment::new(
            Point::new(x + 1, area.top_left.y),
            Point::new(x + 1, area.top_left.y + (call_rows * ROW) as i32 - 1),
        )
        .into_styled(PrimitiveStyle::with_stroke(C::DIM, 1))
        .draw(target)
        .map_err(RenderError::Display)?;
        let qx = calls_w + 4;
        let qw = w - qx;
        let pages = wall.queues.len().div_ceil(call_rows as usize);
        let page = ((now_ms / PAGE_MS) % pages as u64) as usize;
        moving |= pages > 1;
        let shown = wall.queues.iter().skip(page * call_rows as usize);
        for (i, q) in shown.take(call_rows as usize).enumerate() {
            let count = format!("{}", q.waiting);
            let cw = width(font, &count)?;
            let r = row(i as u32, qx, qw);
            let name_w = qw.saturating_sub(cw + 4);
            let name = Line {
                text: &q.service_name,
                font: &lenient,
                color: C::TEXT,
                bar: None,
                align: Align::Left,
            };
            moving |= draw_line(target, row(i as u32, qx, name_w), &name, now_ms)?;
            let n = Line {
                text: &count,
                font,
                color: C::WARN,
                bar: None,
                align: Align::Right,
            };
            // One dark column at the panel's edge: a digit's ink reaches
            // the end of its advance.
            let count_area = Rectangle::new(r.top_left, Size::new(qw - 1, ROW));
            draw_line(target, count_area, &n, now_ms)?;
        }
    }
    Ok(Drawn { moving })
}

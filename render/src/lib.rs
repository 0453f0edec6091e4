//! Every LED picture of the hall — the sign above a window, the hall's LED
//! wall, the call pad's screen — drawn on any embedded-graphics
//! `DrawTarget`, one-colour or RGB ([`LedColor`]: `BinaryColor`, `Rgb565`,
//! `Rgb888`), any size from one P10 module row (64×16) up. `no_std`: the
//! Linux display-node and the microcontroller firmware share it, so a
//! window looks the same whichever drives it.
//!
//! Text comes from the GB2312 bitmap fonts of U8g2 (WenQuanYi 12/16 px),
//! which cover the hall's vocabulary. Their licence is U8g2's (see
//! `render/FONTS-LICENSE.md`), not this crate's.
#![no_std]

extern crate alloc;

mod color;
mod frame;
mod pad;
mod sign;
mod text;
mod wall;

pub use color::LedColor;
pub use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888};
pub use frame::Framebuffer;
pub use pad::{PadScreen, draw_pad, status_zh};
pub use sign::{
    BLINK_MS, Drawn, Look, Sign, SignText, draw_sign, draw_sign_text, draw_window, sign_text,
};
pub use text::SCROLL_PX_PER_S;
pub use wall::{PAGE_MS, STANDING_NOTICE, Wall, WallCall, WallQueue, draw_wall};

/// A font renderer's error as ours (text is always drawn on a transparent
/// background).
pub(crate) fn font_error<E>(e: u8g2_fonts::Error<E>) -> RenderError<E> {
    match e {
        u8g2_fonts::Error::GlyphNotFound(c) => RenderError::GlyphNotFound(c),
        u8g2_fonts::Error::DisplayError(e) => RenderError::Display(e),
        u8g2_fonts::Error::BackgroundColorNotSupported => unreachable!("transparent background"),
    }
}

/// A character the fonts cannot draw, or the panel's own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError<E> {
    GlyphNotFound(char),
    Display(E),
}

#[cfg(test)]
mod tests;

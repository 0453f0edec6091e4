//! Fonts and lines of text: the font that fills a space, a line centred
//! when it fits and scrolling when it does not, as functions of time.

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};
use u8g2_fonts::{FontRenderer, fonts};

use crate::{LedColor, RenderError, font_error};

/// Scrolling speed: 32 LED columns a second, readable on a P10 board.
pub const SCROLL_PX_PER_S: u64 = 32;
/// Dark columns between the end of a scrolling text and its start again.
const SCROLL_GAP: i32 = 24;

/// GB2312 fonts (WenQuanYi, U8g2), smallest first: for Chinese text. Two
/// sizes only: each is 200–300 KB of a microcontroller's flash (larger
/// text is the 16 px font doubled, see [`Scaled`]).
const CJK: [FontRenderer; 2] = [
    FontRenderer::new::<fonts::u8g2_font_wqy12_t_gb2312>(),
    FontRenderer::new::<fonts::u8g2_font_wqy16_t_gb2312>(),
];

/// ASCII fonts for ticket numbers (Logisoso, U8g2), largest first.
const NUMBERS: [FontRenderer; 16] = [
    FontRenderer::new::<fonts::u8g2_font_logisoso58_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso54_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso50_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso46_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso42_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso38_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso34_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso32_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso30_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso28_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso26_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso24_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso22_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso20_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso18_tr>(),
    FontRenderer::new::<fonts::u8g2_font_logisoso16_tr>(),
];

/// Where a font's glyphs reach, from the baseline: `(top, height)` of a
/// full Chinese glyph (国) for the Chinese fonts, of a digit for the number
/// fonts. Lines are centred by this box, so the glyphs of a row line up
/// whatever the text.
fn ink_box(f: &FontRenderer) -> (i32, u32) {
    ["国", "0"]
        .iter()
        .find_map(|r| {
            let d = f
                .get_rendered_dimensions(*r, Point::zero(), VerticalPosition::Baseline)
                .ok()?;
            d.bounding_box.map(|b| (b.top_left.y, b.size.height))
        })
        .unwrap_or((-i32::from(f.get_ascent()), 0))
}

/// The largest Chinese font not taller than `max_h` (the smallest if none is).
pub(crate) fn cjk_font(max_h: u32) -> &'static FontRenderer {
    CJK.iter()
        .rev()
        .find(|f| ink_box(f).1 <= max_h)
        .unwrap_or(&CJK[0])
}

/// The font for the big line: for an ASCII ticket number the largest
/// number font whose glyphs fit `max_h` and whose text fits `max_w`; for
/// Chinese (a window's name) the largest Chinese font that fits.
pub(crate) fn big_font<E>(
    text: &str,
    max_w: u32,
    max_h: u32,
) -> Result<&'static FontRenderer, RenderError<E>> {
    if !text.is_ascii() {
        return Ok(cjk_font(max_h));
    }
    for f in &NUMBERS {
        let d = f
            .get_rendered_dimensions(text, Point::zero(), VerticalPosition::Top)
            .map_err(lookup_error)?;
        let h = d.bounding_box.map_or(0, |b| b.size.height);
        if h <= max_h && d.advance.x as u32 <= max_w {
            return Ok(f);
        }
    }
    Ok(cjk_font(max_h))
}

/// How wide `text` is in `font`.
pub(crate) fn width<E>(font: &FontRenderer, text: &str) -> Result<u32, RenderError<E>> {
    let d = font
        .get_rendered_dimensions(text, Point::zero(), VerticalPosition::Top)
        .map_err(lookup_error)?;
    Ok(d.advance.x.max(0) as u32)
}

fn lookup_error<E>(e: u8g2_fonts::LookupError) -> RenderError<E> {
    match e {
        u8g2_fonts::LookupError::GlyphNotFound(c) => RenderError::GlyphNotFound(c),
    }
}

/// One line of text in a box of the panel.
pub(crate) struct Line<'a, C> {
    pub text: &'a str,
    pub font: &'a FontRenderer,
    pub color: C,
    /// Lit behind the text (the text then in this colour's dark): a bar.
    pub bar: Option<C>,
    pub align: Align,
}

/// Where a line that fits sits in its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Centre,
    Right,
}

/// Draws a line in `area`: centred (or left) when it fits; otherwise
/// scrolling leftwards, `t_ms` after it first appeared, starting with its
/// beginning at the left edge. Returns whether it moves with time.
pub(crate) fn draw_line<D, C>(
    target: &mut D,
    area: Rectangle,
    line: &Line<'_, C>,
    t_ms: u64,
) -> Result<bool, RenderError<D::Error>>
where
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    let color = match line.bar {
        Some(bar) => {
            area.into_styled(PrimitiveStyle::with_fill(bar))
                .draw(target)
                .map_err(RenderError::Display)?;
            C::OFF
        }
        None => line.color,
    };
    let d = line
        .font
        .get_rendered_dimensions(line.text, Point::zero(), VerticalPosition::Top)
        .map_err(lookup_error)?;
    let w = d.advance.x;
    // Centred by the ink, not by the advance (which ends in spacing).
    let (ink_x, ink_w) = d
        .bounding_box
        .map_or((0, w), |b| (b.top_left.x, b.size.width as i32));
    let aw = area.size.width as i32;
    let (top, ink_h) = ink_box(line.font);
    let baseline = area.top_left.y + (area.size.height as i32 - ink_h as i32) / 2 - top;
    let mut clipped = target.clipped(&area);
    let mut put = |x: i32| {
        line.font
            .render_aligned(
                line.text,
                Point::new(x, baseline),
                VerticalPosition::Baseline,
                HorizontalAlignment::Left,
                FontColor::Transparent(color),
                &mut clipped,
            )
            .map(|_| ())
            .map_err(font_error)
    };
    if w <= aw {
        let x = match line.align {
            Align::Left => 0,
            Align::Centre => (aw - ink_w) / 2 - ink_x,
            Align::Right => aw - ink_w - ink_x,
        };
        put(area.top_left.x + x)?;
        return Ok(false);
    }
    let period = w + SCROLL_GAP;
    let offset = ((t_ms * SCROLL_PX_PER_S / 1000) % period as u64) as i32;
    let x = area.top_left.x - offset;
    put(x)?;
    put(x + period)?;
    Ok(true)
}

/// A target seen `s` times smaller: every pixel drawn is an `s`×`s`
/// block. Chinese bitmap fonts stop at 16 px; a large panel draws them
/// doubled.
pub(crate) struct Scaled<'a, D> {
    pub inner: &'a mut D,
    pub s: u32,
}

impl<D: DrawTarget> OriginDimensions for Scaled<'_, D> {
    fn size(&self) -> Size {
        let b = self.inner.bounding_box();
        Size::new(b.size.width / self.s, b.size.height / self.s)
    }
}

impl<D: DrawTarget> DrawTarget for Scaled<'_, D> {
    type Color = D::Color;
    type Error = D::Error;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        let s = self.s as i32;
        self.inner
            .draw_iter(pixels.into_iter().flat_map(|Pixel(p, c)| {
                (0..s * s).map(move |i| Pixel(Point::new(p.x * s + i % s, p.y * s + i / s), c))
            }))
    }
}

/// Draws a line `scale` times enlarged in `area` (in the target's pixels).
pub(crate) fn draw_line_scaled<D, C>(
    target: &mut D,
    area: Rectangle,
    line: &Line<'_, C>,
    t_ms: u64,
    scale: u32,
) -> Result<bool, RenderError<D::Error>>
where
    D: DrawTarget<Color = C>,
    C: LedColor,
{
    if scale <= 1 {
        return draw_line(target, area, line, t_ms);
    }
    let s = scale as i32;
    let small = Rectangle::new(
        Point::new(area.top_left.x.div_euclid(s), area.top_left.y.div_euclid(s)),
        Size::new(area.size.width / scale, area.size.height / scale),
    );
    draw_line(
        &mut Scaled {
            inner: target,
            s: scale,
        },
        small,
        line,
        t_ms / u64::from(scale),
    )
}

/// The scale at which Chinese `text` in the largest Chinese font best
/// fills `max_w × max_h`: 2 on a large panel when it fits, else 1.
pub(crate) fn cjk_scale<E>(text: &str, max_w: u32, max_h: u32) -> Result<u32, RenderError<E>> {
    let f = &CJK[CJK.len() - 1];
    let (_, h) = ink_box(f);
    let w = width(f, text)?;
    Ok(if 2 * h <= max_h && 2 * w <= max_w {
        2
    } else {
        1
    })
}

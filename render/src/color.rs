//! The colours of an LED panel. A one-colour panel lights every LED the
//! same; an RGB panel (Rgb565 driver chips, Rgb888 for HDMI and previews)
//! gives each kind of text its colour, the way halls paint their boards:
//! the number red, what to do green, a pause amber, a closed window dim.

use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888};
use embedded_graphics::prelude::*;

/// A pixel colour the renderer can draw with.
pub trait LedColor: PixelColor {
    /// Dark.
    const OFF: Self;
    /// A called number.
    const NUMBER: Self;
    /// Ordinary text: where to go, the window's name, a notice.
    const TEXT: Self;
    /// A paused window, offline, a warning.
    const WARN: Self;
    /// A closed window: there, but not asking for attention.
    const DIM: Self;

    /// The colour as 8-bit RGB, for pictures of the panel (PNG, framebuffer).
    fn to_rgb888(self) -> Rgb888;

    /// One character for the text pictures of the golden tests: `.` dark,
    /// `#` lit (one colour), `R G Y w` for the four RGB colours, `?` else.
    fn letter(self) -> char {
        if self == Self::OFF {
            '.'
        } else if Self::NUMBER == Self::TEXT {
            '#'
        } else if self == Self::NUMBER {
            'R'
        } else if self == Self::TEXT {
            'G'
        } else if self == Self::WARN {
            'Y'
        } else if self == Self::DIM {
            'w'
        } else {
            '?'
        }
    }
}

/// A lit LED of a one-colour board in pictures: the red of a P10 module.
const MONO_LIT: Rgb888 = Rgb888::new(255, 40, 20);
/// An unlit LED in pictures: not quite black, as a real board looks.
const UNLIT: Rgb888 = Rgb888::new(20, 0, 0);

impl LedColor for BinaryColor {
    const OFF: Self = BinaryColor::Off;
    const NUMBER: Self = BinaryColor::On;
    const TEXT: Self = BinaryColor::On;
    const WARN: Self = BinaryColor::On;
    const DIM: Self = BinaryColor::On;

    fn to_rgb888(self) -> Rgb888 {
        if self.is_on() { MONO_LIT } else { UNLIT }
    }
}

impl LedColor for Rgb888 {
    const OFF: Self = Rgb888::BLACK;
    const NUMBER: Self = Rgb888::new(255, 32, 16);
    const TEXT: Self = Rgb888::new(32, 224, 64);
    const WARN: Self = Rgb888::new(255, 176, 0);
    const DIM: Self = Rgb888::new(96, 96, 96);

    fn to_rgb888(self) -> Rgb888 {
        if self == Self::OFF { UNLIT } else { self }
    }
}

impl LedColor for Rgb565 {
    const OFF: Self = Rgb565::BLACK;
    // The same colours, 5-6-5 bits.
    const NUMBER: Self = Rgb565::new(31, 8, 2);
    const TEXT: Self = Rgb565::new(4, 56, 8);
    const WARN: Self = Rgb565::new(31, 44, 0);
    const DIM: Self = Rgb565::new(12, 24, 12);

    fn to_rgb888(self) -> Rgb888 {
        if self == Self::OFF {
            UNLIT
        } else {
            self.into()
        }
    }
}

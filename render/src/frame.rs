//! A framebuffer any size and colour, for hosts that have memory to spare
//! (the display-node, tests, the firmware's host board). Firmware on a
//! microcontroller draws straight into its panel driver.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use embedded_graphics::Pixel;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;

use crate::LedColor;

/// `width × height` pixels of colour `C` (one-colour by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framebuffer<C = BinaryColor> {
    width: u32,
    height: u32,
    pixels: Vec<C>,
}

impl<C: LedColor> Framebuffer<C> {
    pub fn new(width: u32, height: u32) -> Self {
        Framebuffer {
            width,
            height,
            pixels: vec![C::OFF; (width * height) as usize],
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// A pixel's colour; dark outside the frame.
    pub fn pixel(&self, x: u32, y: u32) -> C {
        if x < self.width && y < self.height {
            self.pixels[(y * self.width + x) as usize]
        } else {
            C::OFF
        }
    }

    /// Whether a pixel is lit; dark outside the frame.
    pub fn get(&self, x: u32, y: u32) -> bool {
        self.pixel(x, y) != C::OFF
    }

    /// How many pixels are lit.
    pub fn lit(&self) -> usize {
        self.pixels.iter().filter(|p| **p != C::OFF).count()
    }

    /// One character per pixel ([`LedColor::letter`]); lines end with `\n`.
    pub fn to_ascii(&self) -> String {
        let mut s = String::with_capacity(((self.width + 1) * self.height) as usize);
        for y in 0..self.height {
            for x in 0..self.width {
                s.push(self.pixel(x, y).letter());
            }
            s.push('\n');
        }
        s
    }

    /// A terminal preview: one character per two pixel rows (`▀ ▄ █`).
    pub fn to_halfblocks(&self) -> String {
        let mut s = String::new();
        for y in (0..self.height).step_by(2) {
            for x in 0..self.width {
                s.push(match (self.get(x, y), self.get(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            s.push('\n');
        }
        s
    }

    /// The picture as 8-bit RGB rows, each LED `scale`×`scale` pixels (for
    /// PNG files and framebuffer devices).
    pub fn to_rgb(&self, scale: u32) -> Vec<[u8; 3]> {
        let (w, h) = (self.width * scale, self.height * scale);
        let mut out = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            for x in 0..w {
                let c = self.pixel(x / scale, y / scale).to_rgb888();
                out.push([c.r(), c.g(), c.b()]);
            }
        }
        out
    }
}

impl<C: LedColor> OriginDimensions for Framebuffer<C> {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl<C: LedColor> DrawTarget for Framebuffer<C> {
    type Color = C;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < self.width && (p.y as u32) < self.height {
                self.pixels[(p.y as u32 * self.width + p.x as u32) as usize] = c;
            }
        }
        Ok(())
    }
}

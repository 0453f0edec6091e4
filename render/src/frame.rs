//! A one-bit framebuffer any size, for hosts that have memory to spare (the
//! display-node, tests). Firmware draws straight into its panel driver.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use embedded_graphics::Pixel;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;

/// `width × height` pixels, on or off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framebuffer {
    width: u32,
    height: u32,
    on: Vec<bool>,
}

impl Framebuffer {
    pub fn new(width: u32, height: u32) -> Framebuffer {
        Framebuffer {
            width,
            height,
            on: vec![false; (width * height) as usize],
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Whether a pixel is lit; off outside the frame.
    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.on[(y * self.width + x) as usize]
    }

    /// How many pixels are lit.
    pub fn lit(&self) -> usize {
        self.on.iter().filter(|p| **p).count()
    }

    /// One character per pixel: `#` lit, `.` dark; lines end with `\n`.
    pub fn to_ascii(&self) -> String {
        let mut s = String::with_capacity(((self.width + 1) * self.height) as usize);
        for y in 0..self.height {
            for x in 0..self.width {
                s.push(if self.get(x, y) { '#' } else { '.' });
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
}

impl OriginDimensions for Framebuffer {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Framebuffer {
    type Color = BinaryColor;
    type Error = core::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < self.width && (p.y as u32) < self.height {
                self.on[(p.y as u32 * self.width + p.x as u32) as usize] = c.is_on();
            }
        }
        Ok(())
    }
}

//! Output to a Linux framebuffer device (`/dev/fb0`): an HDMI TV on the
//! board, or an LED controller card that shows up as a framebuffer.
//!
//! The device's size and pixel format come from sysfs
//! (`/sys/class/graphics/fbN/{virtual_size,bits_per_pixel,stride}`), which
//! needs no ioctl and no `unsafe`; a given geometry overrides it (a device
//! without sysfs, or a plain file in tests). The picture is scaled by the
//! largest whole factor that fits, centred, and written with one `pwrite`
//! per frame; 16-bit (RGB565), 24-bit and 32-bit (XRGB8888) formats.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use embedded_graphics::pixelcolor::RgbColor;
use hallq_render::{Framebuffer, LedColor};

/// A framebuffer's size and pixel format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    /// 16, 24 or 32.
    pub bits_per_pixel: u32,
    /// Bytes per line (at least `width × bytes per pixel`).
    pub stride: u32,
}

impl Geometry {
    /// `WIDTHxHEIGHT@BPP`, e.g. `1920x1080@32`; the stride is the width's.
    pub fn parse(s: &str) -> Result<Geometry, String> {
        let (size, bpp) = s
            .split_once('@')
            .ok_or("expected WIDTHxHEIGHT@BPP, e.g. 1920x1080@32")?;
        let (w, h) = size.split_once('x').ok_or("expected WIDTHxHEIGHT@BPP")?;
        let width: u32 = w.parse().map_err(|_| "bad width")?;
        let height: u32 = h.parse().map_err(|_| "bad height")?;
        let bits_per_pixel: u32 = bpp.parse().map_err(|_| "bad bits per pixel")?;
        let g = Geometry {
            width,
            height,
            bits_per_pixel,
            stride: width * bits_per_pixel / 8,
        };
        g.check().map_err(|e| e.to_string())?;
        Ok(g)
    }

    /// Reads a device's geometry from its sysfs folder
    /// (`/sys/class/graphics/fb0`).
    pub fn from_sysfs(dir: &Path) -> anyhow::Result<Geometry> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .with_context(|| format!("cannot read {}", dir.join(name).display()))
                .map(|s| s.trim().to_owned())
        };
        let size = read("virtual_size")?;
        let (w, h) = size.split_once(',').context("virtual_size is not W,H")?;
        let g = Geometry {
            width: w.parse()?,
            height: h.parse()?,
            bits_per_pixel: read("bits_per_pixel")?.parse()?,
            stride: read("stride")?.parse()?,
        };
        g.check()?;
        Ok(g)
    }

    fn check(&self) -> anyhow::Result<()> {
        if ![16, 24, 32].contains(&self.bits_per_pixel) {
            bail!(
                "{} bits per pixel is not supported (16, 24 or 32)",
                self.bits_per_pixel
            );
        }
        if self.width == 0 || self.height == 0 || self.stride < self.width * self.bits_per_pixel / 8
        {
            bail!("bad framebuffer geometry {self:?}");
        }
        Ok(())
    }

    /// The frame's bytes for a picture: scaled by the largest whole factor
    /// that fits, centred, the rest black.
    pub fn encode<C: LedColor>(&self, fb: &Framebuffer<C>) -> Vec<u8> {
        let scale = (self.width / fb.width())
            .min(self.height / fb.height())
            .max(1);
        let (pw, ph) = (fb.width() * scale, fb.height() * scale);
        let x0 = self.width.saturating_sub(pw) / 2;
        let y0 = self.height.saturating_sub(ph) / 2;
        let bpp = (self.bits_per_pixel / 8) as usize;
        let mut out = vec![0u8; (self.stride * self.height) as usize];
        for y in 0..ph.min(self.height) {
            let row = ((y0 + y) * self.stride) as usize;
            for x in 0..pw.min(self.width) {
                let c = fb.pixel(x / scale, y / scale).to_rgb888();
                let at = row + (x0 + x) as usize * bpp;
                let px = &mut out[at..at + bpp];
                match bpp {
                    2 => {
                        let v = (u16::from(c.r() >> 3) << 11)
                            | (u16::from(c.g() >> 2) << 5)
                            | u16::from(c.b() >> 3);
                        px.copy_from_slice(&v.to_le_bytes());
                    }
                    // Little-endian BGR(X), as Linux framebuffers lay it out.
                    _ => {
                        px[0] = c.b();
                        px[1] = c.g();
                        px[2] = c.r();
                    }
                }
            }
        }
        out
    }
}

/// An open framebuffer device.
#[derive(Debug)]
pub struct FbDevice {
    file: File,
    geometry: Geometry,
    path: PathBuf,
}

impl FbDevice {
    /// Opens `path` with the given geometry, or the one sysfs has for it.
    pub fn open(path: &Path, geometry: Option<Geometry>) -> anyhow::Result<FbDevice> {
        let geometry = match geometry {
            Some(g) => g,
            None => {
                let name = path.file_name().context("no device name")?;
                Geometry::from_sysfs(&Path::new("/sys/class/graphics").join(name))
                    .context("give the geometry with --fb-geometry WIDTHxHEIGHT@BPP")?
            }
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        Ok(FbDevice {
            file,
            geometry,
            path: path.to_owned(),
        })
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Shows a picture.
    pub fn show<C: LedColor>(&self, fb: &Framebuffer<C>) -> anyhow::Result<()> {
        self.file
            .write_all_at(&self.geometry.encode(fb), 0)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallq_render::{BinaryColor, Rgb888};

    #[test]
    fn geometry_from_text_and_from_sysfs() {
        assert_eq!(
            Geometry::parse("1920x1080@32"),
            Ok(Geometry {
                width: 1920,
                height: 1080,
                bits_per_pixel: 32,
                stride: 7680
            })
        );
        for bad in ["1920x1080", "1920x1080@8", "0x10@16", "axb@16"] {
            assert!(Geometry::parse(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("virtual_size"), "800,480\n").unwrap();
        std::fs::write(dir.path().join("bits_per_pixel"), "16\n").unwrap();
        std::fs::write(dir.path().join("stride"), "1664\n").unwrap();
        let g = Geometry::from_sysfs(dir.path()).unwrap();
        assert_eq!(
            (g.width, g.height, g.bits_per_pixel, g.stride),
            (800, 480, 16, 1664)
        );
        std::fs::write(dir.path().join("bits_per_pixel"), "8\n").unwrap();
        assert!(Geometry::from_sysfs(dir.path()).is_err(), "8 bpp refused");
    }

    /// The picture is scaled by a whole factor, centred, in the device's
    /// byte order; the stride's padding stays black.
    #[test]
    fn encodes_scaled_centred_and_in_the_device_format() {
        let mut fb: Framebuffer<Rgb888> = Framebuffer::new(4, 2);
        fb.draw_iter([embedded_graphics::Pixel(
            embedded_graphics::prelude::Point::new(0, 0),
            Rgb888::NUMBER,
        )])
        .unwrap();
        use embedded_graphics::prelude::DrawTarget;
        let g = Geometry {
            width: 10,
            height: 5,
            bits_per_pixel: 32,
            stride: 48,
        };
        let out = g.encode(&fb);
        assert_eq!(out.len(), 48 * 5);
        // Scale 2 (10/4, 5/2): 8×4 at (1, 0); LED (0,0) covers x 1..3, y 0..2.
        let px = |x: usize, y: usize| &out[y * 48 + x * 4..y * 48 + x * 4 + 3];
        let c = Rgb888::NUMBER.to_rgb888();
        use embedded_graphics::pixelcolor::RgbColor;
        assert_eq!(px(1, 0), [c.b(), c.g(), c.r()]);
        assert_eq!(px(2, 1), [c.b(), c.g(), c.r()]);
        assert_ne!(px(3, 0), [c.b(), c.g(), c.r()]);
        assert_eq!(px(0, 0), [0, 0, 0], "outside the picture: black");
        assert!(out[40..48].iter().all(|b| *b == 0), "stride padding");
        // 16 bits: RGB565 little-endian; a one-colour board's lit LED red.
        let mut mono: Framebuffer<BinaryColor> = Framebuffer::new(2, 1);
        mono.draw_iter([embedded_graphics::Pixel(
            embedded_graphics::prelude::Point::new(1, 0),
            BinaryColor::On,
        )])
        .unwrap();
        let g16 = Geometry::parse("2x1@16").unwrap();
        let out = g16.encode(&mono);
        let v = u16::from_le_bytes([out[2], out[3]]);
        assert_eq!(v >> 11, 31, "{v:#06x}");
    }

    #[test]
    fn writes_whole_frames_to_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fb0");
        std::fs::write(&path, []).unwrap();
        let dev = FbDevice::open(&path, Some(Geometry::parse("64x16@24").unwrap())).unwrap();
        let fb: Framebuffer = Framebuffer::new(64, 16);
        dev.show(&fb).unwrap();
        dev.show(&fb).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            64 * 16 * 3,
            "written in place"
        );
        let missing = FbDevice::open(&dir.path().join("fb9"), None).unwrap_err();
        assert!(
            format!("{missing:#}").contains("--fb-geometry"),
            "{missing:#}"
        );
    }
}

//! The printed ticket (凭条) for the kiosk's thermal printer: ESC/POS for
//! 58 mm and 80 mm paper, Chinese in GB18030 (the printers' Chinese code
//! page), the number large, and a QR code to the phone page.
//!
//! Text, sizes, alignment and the cut come from the `escpos` crate; the QR
//! code's modules from the `qrcode` crate, printed as a raster image (GS v
//! 0) rather than with the printer's own QR command, which older printers
//! lack. The printer is a device file (`/dev/usb/lp0`), a network printer
//! (`tcp:HOST:9100`) or a plain file (`file:PATH`, for tests and previews).

use std::cell::RefCell;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::rc::Rc;
use std::str::FromStr;
use std::time::Duration;

use escpos::driver::Driver;
use escpos::errors::PrinterError;
use escpos::printer::Printer;
use escpos::utils::{JustifyMode, Protocol};
use qrcode::{Color, EcLevel, QrCode};

/// Where a kiosk's printer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A device or plain file, written from the start each time.
    File(PathBuf),
    /// A network printer (raw TCP, usually port 9100).
    Tcp(String),
}

impl FromStr for Target {
    type Err = String;

    /// `tcp:HOST:PORT`, `file:PATH`, or a path such as `/dev/usb/lp0`.
    fn from_str(s: &str) -> Result<Target, String> {
        if let Some(addr) = s.strip_prefix("tcp:") {
            if addr
                .rsplit_once(':')
                .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            {
                return Err(format!("printer {s:?}: expected tcp:HOST:PORT"));
            }
            return Ok(Target::Tcp(addr.to_owned()));
        }
        let path = s.strip_prefix("file:").unwrap_or(s);
        if path.is_empty() {
            return Err("printer: empty path".into());
        }
        Ok(Target::File(PathBuf::from(path)))
    }
}

/// The kiosks' printers and what every ticket prints besides itself.
#[derive(Debug, Clone, Default)]
pub struct Printing {
    pub hall_name: String,
    pub utc_offset_minutes: i32,
    pub public_url: Option<String>,
    /// Kiosk device id → its printer and paper width (mm).
    pub printers: std::collections::HashMap<String, (Target, u32)>,
}

impl Printing {
    /// From the hall file: every kiosk with a `printer`.
    pub fn from_hall(hall: &hallq_core::HallConfig) -> Result<Printing, String> {
        let mut printers = std::collections::HashMap::new();
        for d in &hall.devices {
            if let Some(p) = &d.printer {
                let paper = d.paper_mm.unwrap_or(58);
                if paper != 58 && paper != 80 {
                    return Err(format!("device {}: paper_mm must be 58 or 80", d.id));
                }
                printers.insert(d.id.to_string(), (p.parse::<Target>()?, paper));
            }
        }
        Ok(Printing {
            hall_name: hall.hall.name.clone(),
            utc_offset_minutes: hall.hall.utc_offset_minutes,
            public_url: hall.hall.public_url.clone(),
            printers,
        })
    }
}

/// What a printed ticket says.
#[derive(Debug, Clone)]
pub struct Slip<'a> {
    pub hall_name: &'a str,
    pub service_name: &'a str,
    pub number: &'a str,
    /// Local time of issue, `2026-11-28 09:05`.
    pub issued: &'a str,
    pub ahead: u32,
    pub estimate_min: u32,
    pub materials: &'a [String],
    /// The phone page, for the QR code.
    pub url: &'a str,
}

/// Collects what the printer would be sent.
#[derive(Debug, Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Driver for Buffer {
    fn name(&self) -> String {
        "buffer".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// Dots across the printable width: 384 on 58 mm paper, 576 on 80 mm.
fn dots(paper_mm: u32) -> u32 {
    if paper_mm >= 80 { 576 } else { 384 }
}

/// The ESC/POS bytes of a ticket for `paper_mm` (58 or 80) paper.
pub fn render(slip: &Slip<'_>, paper_mm: u32) -> Result<Vec<u8>, PrinterError> {
    let out = Buffer::default();
    let encoder = escpos::utils::Encoder::new(encoding_rs::GB18030).allow_unencodable(true);
    let mut p = Printer::new(out.clone(), Protocol::new(encoder), None);
    let rule = "-".repeat(if paper_mm >= 80 { 48 } else { 32 });
    p.init()?
        // FS &: the printer's Chinese (double-byte) mode.
        .custom(&[0x1c, 0x26])?
        .justify(JustifyMode::CENTER)?
        .bold(true)?
        .size(2, 2)?
        .writeln(slip.hall_name)?
        .size(1, 1)?
        .bold(false)?
        .writeln(slip.service_name)?
        .feed()?
        .size(4, 4)?
        .bold(true)?
        .writeln(slip.number)?
        .size(1, 1)?
        .bold(false)?
        .feed()?
        .writeln(&format!(
            "前面还有 {} 人  约 {} 分钟",
            slip.ahead, slip.estimate_min
        ))?
        .writeln(&format!(
            "{} people ahead, about {} min",
            slip.ahead, slip.estimate_min
        ))?
        .writeln(slip.issued)?
        .justify(JustifyMode::LEFT)?
        .writeln(&rule)?;
    if !slip.materials.is_empty() {
        p.writeln("请备齐材料 / Bring:")?;
        for m in slip.materials {
            p.writeln(&format!("· {m}"))?;
        }
        p.writeln(&rule)?;
    }
    p.justify(JustifyMode::CENTER)?
        .custom(&qr_raster(slip.url, dots(paper_mm) / 2))?
        .writeln("扫码查看排队进度 / Scan to follow your turn")?
        .feeds(3)?
        .print_cut()?;
    let bytes = out.0.borrow().clone();
    Ok(bytes)
}

/// A QR code of `data` as one ESC/POS raster image (GS v 0), about `width`
/// dots wide, with its quiet zone.
fn qr_raster(data: &str, width: u32) -> Vec<u8> {
    let code = QrCode::with_error_correction_level(data, EcLevel::M)
        .or_else(|_| QrCode::new(data))
        .expect("a URL fits a QR code");
    let n = code.width() as u32;
    let quiet = 4;
    let modules = n + 2 * quiet;
    let scale = (width / modules).max(2);
    let side = modules * scale;
    let bytes_per_row = side.div_ceil(8);
    let colors = code.to_colors();
    let dark = |x: u32, y: u32| {
        let (mx, my) = (x / scale, y / scale);
        mx >= quiet
            && my >= quiet
            && mx < quiet + n
            && my < quiet + n
            && colors[((my - quiet) * n + (mx - quiet)) as usize] == Color::Dark
    };
    let mut out = vec![
        0x1d,
        0x76,
        0x30,
        0,
        (bytes_per_row & 0xff) as u8,
        (bytes_per_row >> 8) as u8,
        (side & 0xff) as u8,
        (side >> 8) as u8,
    ];
    for y in 0..side {
        for bx in 0..bytes_per_row {
            let mut byte = 0u8;
            for bit in 0..8 {
                let x = bx * 8 + bit;
                if x < side && dark(x, y) {
                    byte |= 0x80 >> bit;
                }
            }
            out.push(byte);
        }
    }
    out
}

/// Sends the bytes to the printer; an error says why (off-line, no paper
/// path, refused).
pub fn send(target: &Target, bytes: &[u8]) -> std::io::Result<()> {
    match target {
        Target::File(path) => {
            // A device exists already; a plain file is written anew.
            let device = path.starts_with("/dev");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(!device)
                .truncate(!device)
                .open(path)?;
            f.write_all(bytes)?;
            f.flush()
        }
        Target::Tcp(addr) => {
            let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
            let first = addrs
                .first()
                .ok_or_else(|| std::io::Error::other(format!("{addr}: no address")))?;
            let mut s = TcpStream::connect_timeout(first, Duration::from_secs(2))?;
            s.set_write_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(bytes)?;
            s.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip(materials: &[String]) -> Slip<'_> {
        Slip {
            hall_name: "许昌市民之家",
            service_name: "商事登记",
            number: "A012",
            issued: "2026-11-28 09:05",
            ahead: 3,
            estimate_min: 27,
            materials,
            url: "https://hall.example/t/3f9c2a7be1d04c55",
        }
    }

    /// The QR raster (GS v 0) in the bytes: its width in dots, height, bits.
    fn raster(bytes: &[u8]) -> (usize, usize, &[u8]) {
        let at = bytes
            .windows(4)
            .position(|w| w == [0x1d, 0x76, 0x30, 0])
            .expect("a raster image");
        let h = &bytes[at + 4..at + 8];
        let (bpr, rows) = (
            usize::from(h[0]) | usize::from(h[1]) << 8,
            usize::from(h[2]) | usize::from(h[3]) << 8,
        );
        (bpr * 8, rows, &bytes[at + 8..at + 8 + bpr * rows])
    }

    /// The bytes decoded as the printer would: the GB18030 text, the number
    /// enlarged, the cut, and the QR code read back to the phone page's URL.
    #[test]
    fn the_printed_ticket_decodes_to_its_text_and_url() {
        let materials = vec!["公司章程".to_owned(), "身份证".to_owned()];
        for paper in [58, 80] {
            let bytes = render(&slip(&materials), paper).unwrap();
            assert!(bytes.starts_with(&[0x1b, 0x40]), "ESC @ first");
            assert!(bytes.windows(2).any(|w| w == [0x1c, 0x26]), "Chinese mode");
            assert!(
                bytes.windows(3).any(|w| w == [0x1d, 0x21, 0x33]),
                "the number at 4×4"
            );
            assert!(bytes.windows(2).any(|w| w == [0x1d, 0x56]), "a cut");
            // Commands and the raster are not text: decoded lossily around them.
            let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
            for want in [
                "许昌市民之家",
                "商事登记",
                "A012",
                "前面还有 3 人  约 27 分钟",
                "· 公司章程",
                "2026-11-28 09:05",
            ] {
                assert!(text.contains(want), "{want} not in {text}");
            }
            let (w, h, bits) = raster(&bytes);
            let dots = if paper == 80 { 576 } else { 384 };
            assert!(w <= dots && w >= dots / 3, "{w} dots wide on {paper} mm");
            let bpr = w / 8;
            let img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
                if bits[y * bpr + x / 8] & (0x80 >> (x % 8)) != 0 {
                    0
                } else {
                    255
                }
            });
            let mut img = img;
            let grids = img.detect_grids();
            assert_eq!(grids.len(), 1, "one QR code");
            let (_, content) = grids[0].decode().unwrap();
            assert_eq!(content, "https://hall.example/t/3f9c2a7be1d04c55");
        }
    }

    #[test]
    fn printers_by_file_and_network_and_an_offline_one() {
        let materials: Vec<String> = Vec::new();
        let bytes = render(&slip(&materials), 58).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ticket.bin");
        let target: Target = format!("file:{}", file.display()).parse().unwrap();
        send(&target, &bytes).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), bytes);
        // A network printer: a local listener stands in for port 9100.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let got = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut s, &mut v).unwrap();
            v
        });
        send(&format!("tcp:{addr}").parse().unwrap(), &bytes).unwrap();
        assert_eq!(got.join().unwrap(), bytes);
        // Nobody listening: an error, not a hang.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(send(&format!("tcp:{closed}").parse().unwrap(), &bytes).is_err());
        for bad in ["tcp:", "tcp:host", "tcp:host:x", ""] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }
}

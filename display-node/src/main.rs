//! `hallq-display`: a window's LED sign, or the hall's LED wall.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use embedded_graphics::pixelcolor::{BinaryColor, Rgb888};
use hallq_client::{LoginArgs, Presence};
use hallq_display::fbdev::{FbDevice, Geometry};
use hallq_display::{Frame, Model, PngOut, Shown, WallModel, WindowModel};
use hallq_render::{Framebuffer, LedColor};

#[derive(Debug, Parser)]
#[command(
    name = "hallq-display",
    about = "hallq 窗口显示屏与综合屏 / window LED sign and hall LED wall"
)]
struct Args {
    /// `--user` defaults to led-{window}, or led-wall with --wall.
    #[command(flatten)]
    login: LoginArgs,
    /// The window this sign hangs above.
    #[arg(long, required_unless_present = "wall", conflicts_with = "wall")]
    window: Option<String>,
    /// The hall's LED wall: the last calls, waiting per service, the notice.
    #[arg(long)]
    wall: bool,
    /// LED matrix size: WIDTHxHEIGHT (64x16 … 1024x512), or chained P10
    /// modules (32x16 each) as p10:COLUMNSxROWS, e.g. p10:4x2 for 128x32.
    #[arg(long, default_value = "128x32", value_parser = parse_size)]
    size: (u32, u32),
    /// One-colour LEDs (mono) or full colour (rgb).
    #[arg(long, value_enum, default_value_t = Colors::Mono)]
    colors: Colors,
    /// Rewrite this PNG on every change (and once a second while moving).
    #[arg(long)]
    png: Option<PathBuf>,
    /// Show the picture on a Linux framebuffer device, e.g. /dev/fb0.
    #[arg(long)]
    fb: Option<PathBuf>,
    /// The framebuffer's WIDTHxHEIGHT@BPP, when sysfs does not say it.
    #[arg(long, value_parser = Geometry::parse, requires = "fb")]
    fb_geometry: Option<Geometry>,
    /// No terminal preview.
    #[arg(long)]
    quiet: bool,
    /// Show 离线 after this many seconds without a word from the server
    /// (it says something at least every 5 s).
    #[arg(long, default_value_t = 15)]
    offline_after: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Colors {
    Mono,
    Rgb,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    if let Some(modules) = s.strip_prefix("p10:") {
        let (c, r) = modules
            .split_once('x')
            .ok_or("expected p10:COLUMNSxROWS, e.g. p10:4x2")?;
        let c: u32 = c.parse().map_err(|_| "bad module columns")?;
        let r: u32 = r.parse().map_err(|_| "bad module rows")?;
        return check_size(c * 32, r * 16);
    }
    let (w, h) = s
        .split_once('x')
        .ok_or("expected WIDTHxHEIGHT, e.g. 128x32, or p10:4x2")?;
    let w: u32 = w.parse().map_err(|_| "bad width")?;
    let h: u32 = h.parse().map_err(|_| "bad height")?;
    check_size(w, h)
}

fn check_size(w: u32, h: u32) -> Result<(u32, u32), String> {
    if !(32..=1024).contains(&w) || !(16..=512).contains(&h) {
        return Err(format!("size {w}x{h} out of range (32..1024 x 16..512)"));
    }
    Ok((w, h))
}

/// Where pictures go.
struct Outputs {
    quiet: bool,
    png: Option<PngOut>,
    fb: Option<FbDevice>,
    last_preview: Option<Instant>,
}

impl Outputs {
    fn show<C: LedColor, M: Model>(
        &mut self,
        fb: &Framebuffer<C>,
        frame: Frame,
        shown: Shown,
        model: &M,
    ) {
        let due = |last: Option<Instant>, every: Duration| {
            frame == Frame::Changed || last.is_none_or(|t| t.elapsed() >= every)
        };
        if let Some(dev) = &self.fb
            && let Err(e) = dev.show(fb)
        {
            eprintln!("{e:#}");
        }
        if !self.quiet && due(self.last_preview, Duration::from_millis(100)) {
            self.last_preview = Some(Instant::now());
            let what = match shown {
                Shown::Live => model.caption(),
                Shown::Offline => "离线 / offline: nothing from the server".into(),
            };
            print!("\x1b[2J\x1b[H{what}\n{}", fb.to_halfblocks());
        }
        if let Some(png) = &mut self.png {
            png.show(fb, frame);
        }
    }
}

async fn run<M: Model, C: LedColor>(
    size: (u32, u32),
    offline_after: u64,
    login: hallq_client::Login,
    presence: Presence,
    model: M,
    mut out: Outputs,
) -> anyhow::Result<()> {
    let offline_after = Duration::from_secs(offline_after);
    hallq_display::follow::<M, C>(
        login,
        presence,
        model,
        size,
        offline_after,
        |fb, frame, shown, m| out.show(fb, frame, shown, m),
    )
    .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let fb = match &a.fb {
        Some(path) => Some(FbDevice::open(path, a.fb_geometry)?),
        None => None,
    };
    let out = Outputs {
        quiet: a.quiet,
        png: a.png.clone().map(PngOut::new),
        fb,
        last_preview: None,
    };
    let (size, offline) = (a.size, a.offline_after);
    match (a.window.clone(), a.colors) {
        (Some(window), colors) => {
            let login = a.login.login(|| format!("led-{window}"))?;
            let presence = Presence {
                role: "display",
                window: Some(window.clone()),
            };
            let model = WindowModel::new(window);
            match colors {
                Colors::Mono => {
                    run::<_, BinaryColor>(size, offline, login, presence, model, out).await
                }
                Colors::Rgb => run::<_, Rgb888>(size, offline, login, presence, model, out).await,
            }
        }
        (None, colors) => {
            let login = a.login.login(|| "led-wall".to_owned())?;
            let presence = Presence {
                role: "display",
                window: None,
            };
            let model = WallModel::new();
            match colors {
                Colors::Mono => {
                    run::<_, BinaryColor>(size, offline, login, presence, model, out).await
                }
                Colors::Rgb => run::<_, Rgb888>(size, offline, login, presence, model, out).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_and_chained_p10_modules() {
        assert_eq!(parse_size("128x32"), Ok((128, 32)));
        assert_eq!(parse_size("p10:2x1"), Ok((64, 16)));
        assert_eq!(parse_size("p10:8x4"), Ok((256, 64)));
        for bad in ["128", "p10:0x1", "p10:2", "16x16", "64x8", "2048x32"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}

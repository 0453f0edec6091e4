//! `hallq-display`: one window's LED display.

use std::path::PathBuf;

use clap::Parser;
use hallq_client::LoginArgs;

#[derive(Debug, Parser)]
#[command(
    name = "hallq-display",
    about = "hallq 窗口显示屏 / window LED display"
)]
struct Args {
    /// `--user` defaults to led-{window}.
    #[command(flatten)]
    login: LoginArgs,
    /// The window this display hangs above.
    #[arg(long)]
    window: String,
    /// LED matrix size, WIDTHxHEIGHT.
    #[arg(long, default_value = "128x32", value_parser = parse_size)]
    size: (u32, u32),
    /// Rewrite this PNG on every change.
    #[arg(long)]
    png: Option<PathBuf>,
    /// No terminal preview.
    #[arg(long)]
    quiet: bool,
    /// Show 离线 after this many seconds without a word from the server
    /// (it says something at least every 5 s).
    #[arg(long, default_value_t = 15)]
    offline_after: u64,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or("expected WIDTHxHEIGHT, e.g. 128x32")?;
    let w: u32 = w.parse().map_err(|_| "bad width")?;
    let h: u32 = h.parse().map_err(|_| "bad height")?;
    if !(16..=1024).contains(&w) || !(16..=512).contains(&h) {
        return Err("size out of range (16..1024 x 16..512)".into());
    }
    Ok((w, h))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    let window = a.window.clone();
    let login = a.login.login(|| format!("led-{window}"))?;
    let (w, h) = a.size;
    let offline_after = std::time::Duration::from_secs(a.offline_after);
    hallq_display::follow(login, a.window, w, h, offline_after, |shown, fb| {
        if !a.quiet {
            let what = match shown {
                hallq_display::Shown::State(s) => {
                    format!("{} seq={} status={:?}", s.name, s.seq, s.status)
                }
                hallq_display::Shown::Offline => "离线 / offline: nothing from the server".into(),
            };
            print!("\x1b[2J\x1b[H{what}\n{}", fb.to_halfblocks());
        }
        if let Some(path) = &a.png
            && let Err(e) = hallq_display::write_png(fb, path, 4)
        {
            eprintln!("cannot write {}: {e}", path.display());
        }
    })
    .await
}

//! `hallq-announcer`: the hall's voice.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use hallq_announcer::output::WavDir;
use hallq_announcer::pack::{Pack, default_pack_dir};
use hallq_announcer::queue::Settings;
use hallq_announcer::speech::NumberStyle;
use hallq_client::LoginArgs;

#[derive(Debug, Parser)]
#[command(
    name = "hallq-announcer",
    about = "hallq 语音叫号 / the hall's voice: a chime and each call in Mandarin, in order, never cut off"
)]
struct Args {
    /// `--user` defaults to voice-1.
    #[command(flatten)]
    login: LoginArgs,
    /// The clip pack's folder (pack.toml and its WAV files); default: the
    /// Mandarin pack shipped with hallq.
    #[arg(long)]
    pack: Option<PathBuf>,
    /// How ticket numbers are read: digits ("A 零零一") or counted ("A 一").
    #[arg(long, value_enum, default_value_t = NumberStyle::Digits)]
    numbers: NumberStyle,
    /// How many times each call is said.
    #[arg(long, default_value_t = 2)]
    repeats: u32,
    /// More calls than this waiting: each is said once until it clears.
    #[arg(long, default_value_t = 3)]
    backlog: usize,
    /// Calls older than this (seconds) when they arrive are not said.
    #[arg(long, default_value_t = 60)]
    max_age_s: i64,
    /// 0.0 to 1.0.
    #[arg(long, default_value_t = 1.0)]
    volume: f32,
    /// Hours without sound, hall time, e.g. 12:00-13:30 or 20:00-07:00.
    #[arg(long, value_parser = parse_span)]
    quiet: Option<(u32, u32)>,
    /// Another volume for a span of the day, e.g. 12:00-13:30=0.4 (repeat
    /// the option for more spans; the first that holds wins).
    #[arg(long = "volume-at", value_parser = parse_volume_span)]
    volume_at: Vec<((u32, u32), f32)>,
    /// Only calls to windows of these zones (comma-separated zone ids, from
    /// the hall's layout).
    #[arg(long, value_delimiter = ',')]
    zones: Vec<String>,
    /// Only calls to these windows (comma-separated window ids).
    #[arg(long, value_delimiter = ',')]
    windows: Vec<String>,
    /// Headless: write each announcement to a WAV file in this folder (and
    /// a line to announcements.jsonl) instead of playing it on the sound
    /// card (the default, in a build with `--features sound`).
    #[arg(long)]
    wav_dir: Option<PathBuf>,
}

fn parse_span(s: &str) -> Result<(u32, u32), String> {
    let minute = |t: &str| -> Result<u32, String> {
        let (h, m) = t.split_once(':').ok_or("expected HH:MM")?;
        let (h, m): (u32, u32) = (
            h.parse().map_err(|_| "bad hour")?,
            m.parse().map_err(|_| "bad minute")?,
        );
        if h > 23 || m > 59 {
            return Err("no such time".into());
        }
        Ok(h * 60 + m)
    };
    let (a, b) = s.split_once('-').ok_or("expected HH:MM-HH:MM")?;
    Ok((minute(a)?, minute(b)?))
}

fn parse_volume_span(s: &str) -> Result<((u32, u32), f32), String> {
    let (span, v) = s.split_once('=').ok_or("expected HH:MM-HH:MM=VOLUME")?;
    let v: f32 = v.parse().map_err(|_| "bad volume")?;
    if !(0.0..=1.0).contains(&v) {
        return Err("a volume is 0.0 to 1.0".into());
    }
    Ok((parse_span(span)?, v))
}

#[cfg(feature = "sound")]
fn sound_card() -> anyhow::Result<Box<dyn hallq_announcer::output::Output>> {
    Ok(Box::new(hallq_announcer::output::SoundCard::open()?))
}

#[cfg(not(feature = "sound"))]
fn sound_card() -> anyhow::Result<Box<dyn hallq_announcer::output::Output>> {
    anyhow::bail!(
        "this build has no sound output (build with `--features sound`, which needs libasound2-dev): \
         give --wav-dir DIR to write each announcement to a WAV file"
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let a = Args::parse();
    let pack_dir = a.pack.unwrap_or_else(default_pack_dir);
    let pack = Pack::load(&pack_dir).context("the clip pack")?;
    let output: Box<dyn hallq_announcer::output::Output> = match a.wav_dir {
        Some(dir) => Box::new(WavDir::new(&dir)?),
        None => sound_card()?,
    };
    let opts = hallq_announcer::Options {
        login: a.login.login(|| "voice-1".to_owned())?,
        pack,
        style: a.numbers,
        settings: Settings {
            repeats: a.repeats,
            backlog: a.backlog,
            max_age_ms: a.max_age_s * 1000,
        },
        volume: a.volume.clamp(0.0, 1.0),
        volume_spans: a.volume_at,
        quiet: a.quiet,
        zones: a.zones,
        windows: a.windows,
        realtime: true,
    };
    hallq_announcer::run(opts, output).await
}

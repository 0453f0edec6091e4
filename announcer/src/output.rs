//! Where the sound goes. The headless output writes each announcement to a
//! WAV file and a line to `announcements.jsonl` (when it started and ended,
//! what it said), for machines without a sound card: the tests and the demo.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One announcement as it was handed to the output.
#[derive(Debug, Clone, Serialize)]
pub struct Played {
    /// 1, 2, … in the order they were said.
    pub n: u64,
    pub seq: u64,
    pub ticket: String,
    pub window: String,
    pub recall: bool,
    pub times: u32,
    pub words: Vec<String>,
    /// Wall-clock milliseconds when its first sample went to the output,
    /// and when its last one is done.
    pub start_ms: i64,
    pub end_ms: i64,
    /// From the call message received to the first sample handed over.
    pub latency_us: u64,
    /// The WAV file, for the headless output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// A sink for announcements; `play` returns once the samples are handed
/// over (the caller waits out their duration before the next).
pub trait Output: Send {
    fn play(
        &mut self,
        samples: &[i16],
        sample_rate: u32,
        played: &mut Played,
    ) -> anyhow::Result<()>;
}

/// The headless output: a folder of WAV files and a log.
#[derive(Debug)]
pub struct WavDir {
    dir: PathBuf,
}

impl WavDir {
    pub fn new(dir: &Path) -> anyhow::Result<WavDir> {
        std::fs::create_dir_all(dir)?;
        Ok(WavDir {
            dir: dir.to_owned(),
        })
    }

    /// The log of what was said, one JSON object per line.
    pub fn log_path(dir: &Path) -> PathBuf {
        dir.join("announcements.jsonl")
    }
}

impl Output for WavDir {
    fn play(
        &mut self,
        samples: &[i16],
        sample_rate: u32,
        played: &mut Played,
    ) -> anyhow::Result<()> {
        let name = format!(
            "{:05}-{}-{}-window-{}.wav",
            played.n, played.start_ms, played.ticket, played.window
        );
        let path = self.dir.join(&name);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec)?;
        for s in samples {
            w.write_sample(*s)?;
        }
        w.finalize()?;
        played.file = Some(name);
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(WavDir::log_path(&self.dir))?;
        writeln!(log, "{}", serde_json::to_string(played)?)?;
        Ok(())
    }
}

/// The hall PC's sound card (rodio, feature `sound`). The device lives on a
/// thread of its own (an audio stream is not `Send`); announcements are
/// handed to it in order and played back to back.
#[cfg(feature = "sound")]
#[derive(Debug)]
pub struct SoundCard {
    tx: std::sync::mpsc::Sender<(Vec<i16>, u32)>,
}

#[cfg(feature = "sound")]
impl SoundCard {
    /// Opens the default output device, or says why it cannot.
    pub fn open() -> anyhow::Result<SoundCard> {
        use std::num::{NonZeroU16, NonZeroU32};
        let (tx, rx) = std::sync::mpsc::channel::<(Vec<i16>, u32)>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("hallq-sound".into())
            .spawn(move || {
                let sink = match rodio::DeviceSinkBuilder::open_default_sink() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let player = rodio::Player::connect_new(sink.mixer());
                let _ = ready_tx.send(Ok(()));
                for (samples, rate) in rx {
                    let data: Vec<f32> = samples.iter().map(|s| f32::from(*s) / 32768.0).collect();
                    let (Some(one), Some(rate)) = (NonZeroU16::new(1), NonZeroU32::new(rate))
                    else {
                        continue;
                    };
                    player.append(rodio::buffer::SamplesBuffer::new(one, rate, data));
                }
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(SoundCard { tx }),
            Ok(Err(e)) => anyhow::bail!(
                "no sound card to play on ({e}): give --wav-dir DIR to write WAV files instead"
            ),
            Err(_) => anyhow::bail!(
                "the sound thread stopped: give --wav-dir DIR to write WAV files instead"
            ),
        }
    }
}

#[cfg(feature = "sound")]
impl Output for SoundCard {
    fn play(
        &mut self,
        samples: &[i16],
        sample_rate: u32,
        _played: &mut Played,
    ) -> anyhow::Result<()> {
        self.tx
            .send((samples.to_vec(), sample_rate))
            .map_err(|_| anyhow::anyhow!("the sound thread stopped"))
    }
}

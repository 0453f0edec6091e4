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

//! A clip pack: a folder of WAV files and a manifest (`pack.toml`) saying
//! which text each clip speaks. All clips share one sample rate, mono,
//! 16-bit. The default Mandarin pack (`packs/cmn`) is made by
//! `packs/make-cmn-pack.sh`; a hall's own recordings are another folder with
//! the same kind of manifest.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The text of the chime clip.
pub const CHIME: &str = "叮咚";

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

fn err(path: &Path, message: impl Into<String>) -> PackError {
    PackError::File {
        path: path.to_owned(),
        message: message.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    name: String,
    sample_rate: u32,
    /// Text → file in the pack's folder.
    clips: BTreeMap<String, String>,
}

/// The clips, decoded.
#[derive(Debug, Clone)]
pub struct Pack {
    pub name: String,
    pub sample_rate: u32,
    clips: HashMap<String, Vec<i16>>,
}

impl Pack {
    /// Loads `dir/pack.toml` and every clip it names; the error names the
    /// file and what is wrong with it.
    pub fn load(dir: &Path) -> Result<Pack, PackError> {
        let manifest_path = dir.join("pack.toml");
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| err(&manifest_path, format!("cannot read: {e}")))?;
        let m: Manifest =
            toml::from_str(&text).map_err(|e| err(&manifest_path, e.message().to_owned()))?;
        if !m.clips.contains_key(CHIME) {
            return Err(err(&manifest_path, format!("no chime clip (\"{CHIME}\")")));
        }
        let mut clips = HashMap::new();
        for (text, file) in &m.clips {
            let path = dir.join(file);
            let mut r = hound::WavReader::open(&path)
                .map_err(|e| err(&path, format!("cannot read the clip for {text:?}: {e}")))?;
            let spec = r.spec();
            if spec.channels != 1
                || spec.bits_per_sample != 16
                || spec.sample_format != hound::SampleFormat::Int
                || spec.sample_rate != m.sample_rate
            {
                return Err(err(
                    &path,
                    format!(
                        "the clip for {text:?} is {} Hz, {} channel(s), {} bit; the pack is {} Hz mono 16-bit",
                        spec.sample_rate, spec.channels, spec.bits_per_sample, m.sample_rate
                    ),
                ));
            }
            let samples = r
                .samples::<i16>()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err(&path, e.to_string()))?;
            clips.insert(text.clone(), samples);
        }
        Ok(Pack {
            name: m.name,
            sample_rate: m.sample_rate,
            clips,
        })
    }

    /// The clip that speaks `text`.
    pub fn clip(&self, text: &str) -> Option<&[i16]> {
        self.clips.get(text).map(Vec::as_slice)
    }

    pub fn has(&self, text: &str) -> bool {
        self.clips.contains_key(text)
    }

    /// Samples for a span of milliseconds.
    pub fn samples_for_ms(&self, ms: u32) -> usize {
        (self.sample_rate as usize * ms as usize) / 1000
    }
}

/// The default pack shipped in the repository.
pub fn default_pack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packs/cmn")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_pack_loads_and_speaks_the_call_words() {
        let p = Pack::load(&default_pack_dir()).unwrap();
        assert_eq!(p.sample_rate, 16_000);
        for w in [
            CHIME, "请", "号", "到", "窗口", "办理", "再次", "零", "九", "十", "A", "Z",
        ] {
            let clip = p.clip(w).unwrap_or_else(|| panic!("no clip for {w}"));
            assert!(clip.len() > 800, "{w}: {} samples", clip.len());
            assert!(
                clip.iter().any(|s| s.unsigned_abs() > 1000),
                "{w} is silent"
            );
        }
    }

    #[test]
    fn a_broken_pack_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pack.toml"),
            "name = \"x\"\nsample_rate = 16000\n[clips]\n\"叮咚\" = \"missing.wav\"\n",
        )
        .unwrap();
        let e = Pack::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("missing.wav") && e.contains("叮咚"), "{e}");
    }
}

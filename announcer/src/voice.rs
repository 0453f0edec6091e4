//! An announcement's audio: the chime, then the sentence, `times` times,
//! clips joined with short silences. Words the pack lacks are left out (and
//! named), so a call is always said in its generic form rather than not at
//! all.

use hallq_contract::Call;

use crate::pack::{CHIME, Pack};
use crate::speech::{self, NumberStyle};

/// Silences between the parts, in milliseconds.
pub const AFTER_CHIME_MS: u32 = 250;
pub const BETWEEN_WORDS_MS: u32 = 40;
pub const BETWEEN_REPEATS_MS: u32 = 700;

#[derive(Debug, Clone)]
pub struct Voice {
    pub pack: Pack,
    pub style: NumberStyle,
}

/// A call made audible.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub samples: Vec<i16>,
    /// The words said, in order (the chime first), once per repeat.
    pub words: Vec<String>,
    /// Words of the sentence the pack could not say.
    pub unspoken: Vec<String>,
}

impl Voice {
    pub fn render(&self, call: &Call, times: u32, volume: f32) -> Rendered {
        let sentence = speech::sentence(call, self.style, &self.pack);
        let unspoken: Vec<String> = speech::missing(&sentence, &self.pack)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let mut samples = Vec::new();
        let mut words = vec![CHIME.to_owned()];
        samples.extend_from_slice(self.pack.clip(CHIME).expect("a pack has its chime"));
        self.silence(&mut samples, AFTER_CHIME_MS);
        for i in 0..times.max(1) {
            if i > 0 {
                self.silence(&mut samples, BETWEEN_REPEATS_MS);
            }
            let mut first = true;
            for w in &sentence {
                let Some(clip) = self.pack.clip(w) else {
                    continue;
                };
                if !first {
                    self.silence(&mut samples, BETWEEN_WORDS_MS);
                }
                first = false;
                samples.extend_from_slice(clip);
                words.push(w.clone());
            }
        }
        if volume < 1.0 {
            let v = volume.max(0.0);
            for s in &mut samples {
                *s = (f32::from(*s) * v) as i16;
            }
        }
        Rendered {
            samples,
            words,
            unspoken,
        }
    }

    fn silence(&self, samples: &mut Vec<i16>, ms: u32) {
        samples.extend(std::iter::repeat_n(0, self.pack.samples_for_ms(ms)));
    }

    /// Milliseconds of audio.
    pub fn duration_ms(&self, samples: usize) -> i64 {
        (samples as i64 * 1000) / i64::from(self.pack.sample_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::default_pack_dir;

    #[test]
    fn the_audio_is_the_chime_then_the_clips_in_order() {
        let pack = Pack::load(&default_pack_dir()).unwrap();
        let voice = Voice {
            pack: pack.clone(),
            style: NumberStyle::Digits,
        };
        let call = Call {
            seq: 1,
            ticket: "A001".into(),
            window: "3".into(),
            window_name: "3号窗口".into(),
            service_name: String::new(),
            recall: false,
            at_ms: 0,
        };
        let r = voice.render(&call, 2, 1.0);
        assert_eq!(r.words.len(), 1 + 2 * 11);
        assert!(r.unspoken.is_empty());
        // Exact samples: every clip where the words say, in order.
        let mut at = 0;
        for w in &r.words {
            let clip = pack.clip(w).unwrap();
            let found = r.samples[at..]
                .windows(clip.len())
                .position(|x| x == clip)
                .unwrap_or_else(|| panic!("{w} not found after sample {at}"));
            at += found + clip.len();
        }
        let half = voice.render(&call, 1, 0.5);
        assert!(
            half.samples
                .iter()
                .zip(&r.samples)
                .all(|(h, f)| i32::from(*h).abs() <= i32::from(*f).abs())
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::pack::default_pack_dir;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Whatever a call holds — letters, digits, Chinese, symbols, empty —
        /// it is said: the chime, then what the pack can say of it.
        #[test]
        fn any_call_is_said_in_some_form(
            ticket in "\\PC{0,12}",
            window in "[a-z0-9]{1,4}",
            name in "\\PC{0,10}",
            recall: bool,
            counted: bool,
            times in 1u32..4,
        ) {
            static PACK: std::sync::OnceLock<Pack> = std::sync::OnceLock::new();
            let voice = Voice {
                pack: PACK.get_or_init(|| Pack::load(&default_pack_dir()).unwrap()).clone(),
                style: if counted { NumberStyle::Counted } else { NumberStyle::Digits },
            };
            let call = Call { seq: 1, ticket, window, window_name: name, service_name: String::new(), recall, at_ms: 0 };
            let r = voice.render(&call, times, 1.0);
            prop_assert_eq!(r.words[0].as_str(), CHIME);
            prop_assert!(r.words.iter().any(|w| w == "请") && r.words.iter().any(|w| w == "办理"));
            prop_assert!(r.samples.len() > voice.pack.clip(CHIME).unwrap().len());
        }
    }
}

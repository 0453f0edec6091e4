//! The hall's voice: for every call on `calls`, a chime and the sentence
//! "请 A001 号 到 3 号窗口 办理" from a clip pack, in arrival order, one at a
//! time, never cut off.
//!
//! # Layout
//!
//! - [`pack`]: clip packs (a folder of WAV files and `pack.toml`).
//! - [`speech`]: what is said for a call, as clip texts (pure).
//! - [`queue`]: calls waiting to be said: order, redeliveries, age, backlog (pure).
//! - [`voice`]: an announcement's samples.
//! - [`output`]: where they go (headless WAV files; see the README for sound).
//! - [`run`]: the MQTT side and the player that says one announcement at a
//!   time and waits out its length before the next.

pub mod output;
pub mod pack;
pub mod queue;
pub mod speech;
pub mod voice;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallq_client::{Login, Presence, now_ms};
use hallq_contract::{Call, Layout, Topic};
use rumqttc::{Event, Packet, QoS};
use tokio::sync::Notify;

use crate::output::{Output, Played};
use crate::pack::Pack;
use crate::queue::{Pushed, Queue, Settings};
use crate::speech::NumberStyle;
use crate::voice::Voice;

/// `((from, to), volume)`: a volume for minutes `from..to` of the hall's day.
pub type VolumeSpan = ((u32, u32), f32);

/// How the announcer behaves.
#[derive(Debug, Clone)]
pub struct Options {
    pub login: Login,
    pub pack: Pack,
    pub style: NumberStyle,
    pub settings: Settings,
    /// 0.0 … 1.0.
    pub volume: f32,
    /// Other volumes for spans of the hall's day, minutes as for `quiet`;
    /// the first span that holds wins.
    pub volume_spans: Vec<VolumeSpan>,
    /// Minutes of the hall's local day (UTC+8) when nothing is said,
    /// `(from, to)`; may wrap midnight.
    pub quiet: Option<(u32, u32)>,
    /// Only windows of these zones (from the hall's `layout`); empty: all.
    pub zones: Vec<String>,
    /// Only these windows; empty: all (with `zones`, both must hold).
    pub windows: Vec<String>,
    /// Wait out each announcement's length before the next, as a loudspeaker
    /// does. Off only for measuring (`hallq-bench`).
    pub realtime: bool,
}

/// Whether the hall's local time (UTC+8) of `at_ms` is within a span of
/// minutes of the day; a span may wrap midnight.
pub fn within(span: (u32, u32), at_ms: i64) -> bool {
    let (from, to) = span;
    let minute = ((at_ms / 60_000 + 8 * 60).rem_euclid(24 * 60)) as u32;
    if from <= to {
        (from..to).contains(&minute)
    } else {
        minute >= from || minute < to
    }
}

/// Whether the hall's local time of `at_ms` is within the quiet span.
pub fn is_quiet(quiet: Option<(u32, u32)>, at_ms: i64) -> bool {
    quiet.is_some_and(|q| within(q, at_ms))
}

/// The volume at `at_ms`: the first span that holds, else `base`.
pub fn volume_at(base: f32, spans: &[VolumeSpan], at_ms: i64) -> f32 {
    spans
        .iter()
        .find(|(span, _)| within(*span, at_ms))
        .map_or(base, |(_, v)| *v)
}

/// What the MQTT side and the player share.
#[derive(Debug, Default)]
struct Shared {
    queue: Queue,
    received: HashMap<u64, Instant>,
    layout: Option<Layout>,
    /// Kinds of bad input already logged (each once).
    warned: Vec<&'static str>,
}

/// Says what the pack cannot say of the hall: each window's name (or the
/// digits it falls back to), every ticket prefix, every digit. Logged at
/// start, never discovered mid-call.
pub fn check_pack(pack: &Pack, layout: &Layout, style: NumberStyle) -> Vec<String> {
    let mut problems = Vec::new();
    for w in &layout.windows {
        let words = speech::window_words(&w.window, &w.name, pack);
        let missing = speech::missing(&words, pack);
        if !missing.is_empty() {
            problems.push(format!(
                "window {} ({}): no clip for {}",
                w.window,
                w.name,
                missing.join(" ")
            ));
        }
    }
    for s in &layout.services {
        for c in s.prefix.chars() {
            if !pack.has(&c.to_string()) {
                problems.push(format!(
                    "service {} ({}): no clip for its letter {c}",
                    s.service, s.name
                ));
            }
        }
    }
    let numbers: Vec<String> = match style {
        NumberStyle::Digits => speech::digits("0123456789")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        NumberStyle::Counted => [
            "零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "百", "千",
        ]
        .map(str::to_owned)
        .to_vec(),
    };
    for n in speech::missing(&numbers, pack) {
        problems.push(format!("numbers: no clip for {n}"));
    }
    for w in ["请", "号", "到", "窗口", "办理", "再次"] {
        if !pack.has(w) {
            problems.push(format!("the sentence: no clip for {w}"));
        }
    }
    problems
}

/// Runs the announcer until the process ends: listens for calls and says
/// them through `output`.
pub async fn run(opts: Options, output: Box<dyn Output>) -> anyhow::Result<()> {
    let shared = Arc::new(Mutex::new(Shared {
        queue: Queue::new(opts.settings),
        ..Shared::default()
    }));
    let wake = Arc::new(Notify::new());
    let voice = Voice {
        pack: opts.pack.clone(),
        style: opts.style,
    };
    tokio::spawn(player(
        voice,
        output,
        shared.clone(),
        wake.clone(),
        (opts.volume, opts.volume_spans.clone()),
        opts.quiet,
        opts.realtime,
    ));

    let login = opts.login.clone();
    let presence = Presence {
        role: "announcer",
        window: None,
    };
    let (client, mut events) = login.connect(
        &login.client_id(format_args!("{}", std::process::id())),
        Some(&presence),
    );
    let calls = Topic::Calls.to_string(&login.hall);
    let layout_topic = Topic::Layout.to_string(&login.hall);
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                tracing::info!("announcer connected");
                client.subscribe(&layout_topic, QoS::AtLeastOnce).await?;
                client.subscribe(&calls, QoS::AtLeastOnce).await?;
                login.announce(&client, &presence).await?;
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == layout_topic => {
                match serde_json::from_slice::<Layout>(&p.payload) {
                    Ok(layout) => {
                        let problems = check_pack(&opts.pack, &layout, opts.style);
                        if problems.is_empty() {
                            tracing::info!(pack = %opts.pack.name, windows = layout.windows.len(), "the pack can say every window, number and ticket letter of the hall");
                        }
                        for p in problems {
                            tracing::warn!(pack = %opts.pack.name, "{p}");
                        }
                        shared.lock().expect("lock").layout = Some(layout);
                    }
                    Err(e) => warn_once(&shared, "layout", &e.to_string()),
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == calls => {
                let received = Instant::now();
                let call = match serde_json::from_slice::<Call>(&p.payload) {
                    Ok(c) => c,
                    Err(e) => {
                        warn_once(&shared, "call", &e.to_string());
                        continue;
                    }
                };
                let mut s = shared.lock().expect("lock");
                if !opts.windows.is_empty() && !opts.windows.contains(&call.window) {
                    continue;
                }
                if !opts.zones.is_empty() {
                    let zone = s.layout.as_ref().and_then(|l| {
                        l.windows
                            .iter()
                            .find(|w| w.window == call.window)
                            .and_then(|w| w.zone.clone())
                    });
                    if !zone.is_some_and(|z| opts.zones.contains(&z)) {
                        tracing::debug!(window = %call.window, "call for a window outside this announcer's zones");
                        continue;
                    }
                }
                let seq = call.seq;
                match s.queue.push(call, now_ms()) {
                    Pushed::Queued => {
                        s.received.insert(seq, received);
                        drop(s);
                        wake.notify_one();
                    }
                    Pushed::Duplicate => tracing::debug!(seq, "call heard twice: said once"),
                    Pushed::TooOld => {
                        tracing::info!(seq, "call too old to be said now (after a reconnect?)")
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "announcer lost the broker; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

fn warn_once(shared: &Arc<Mutex<Shared>>, kind: &'static str, error: &str) {
    let mut s = shared.lock().expect("lock");
    if !s.warned.contains(&kind) {
        s.warned.push(kind);
        tracing::warn!(
            kind,
            error,
            "unreadable message skipped (logged once per kind)"
        );
    }
}

/// Says one announcement at a time: renders it, hands it to the output,
/// waits out its length, then takes the next.
async fn player(
    voice: Voice,
    mut output: Box<dyn Output>,
    shared: Arc<Mutex<Shared>>,
    wake: Arc<Notify>,
    (volume, spans): (f32, Vec<VolumeSpan>),
    quiet: Option<(u32, u32)>,
    realtime: bool,
) {
    let mut n = 0;
    loop {
        let next = {
            let mut s = shared.lock().expect("lock");
            s.queue.pop().map(|job| {
                let received = s.received.remove(&job.call.seq);
                (job, received)
            })
        };
        let Some((job, received)) = next else {
            wake.notified().await;
            continue;
        };
        let start_ms = now_ms();
        if is_quiet(quiet, start_ms) {
            tracing::info!(ticket = %job.call.ticket, "quiet hours: call not said");
            continue;
        }
        let r = voice.render(&job.call, job.times, volume_at(volume, &spans, start_ms));
        if !r.unspoken.is_empty() {
            tracing::warn!(ticket = %job.call.ticket, window = %job.call.window, missing = ?r.unspoken, "said without the words the pack lacks");
        }
        let duration = voice.duration_ms(r.samples.len());
        n += 1;
        let mut played = Played {
            n,
            seq: job.call.seq,
            ticket: job.call.ticket.clone(),
            window: job.call.window.clone(),
            recall: job.call.recall,
            times: job.times,
            words: r.words,
            start_ms,
            end_ms: start_ms + duration,
            latency_us: received.map_or(0, |t| t.elapsed().as_micros() as u64),
            file: None,
        };
        if let Err(e) = output.play(&r.samples, voice.pack.sample_rate, &mut played) {
            tracing::error!(error = %e, "the output refused an announcement");
        }
        tracing::info!(ticket = %played.ticket, window = %played.window, recall = played.recall, times = played.times, "said");
        // Nothing else is said until this one is over.
        if realtime {
            tokio::time::sleep(Duration::from_millis(duration as u64)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallq_contract::payload::{LayoutService, LayoutWindow};

    #[test]
    fn the_pack_check_names_what_the_hall_needs_and_the_pack_lacks() {
        let pack = Pack::load(&pack::default_pack_dir()).unwrap();
        let window = |w: &str, n: &str| LayoutWindow {
            window: w.into(),
            name: n.into(),
            zone: None,
        };
        let mut layout = Layout {
            hall: "h".into(),
            name: "大厅".into(),
            zones: Vec::new(),
            windows: vec![window("3", "3号窗口"), window("12", "12号窗口")],
            services: vec![LayoutService {
                service: "business".into(),
                name: "商事登记".into(),
                prefix: "A".into(),
            }],
            pause_reasons: Vec::new(),
            service_warn_percent: 80,
        };
        assert!(check_pack(&pack, &layout, NumberStyle::Digits).is_empty());
        assert!(check_pack(&pack, &layout, NumberStyle::Counted).is_empty());
        layout.windows.push(window("vip", "贵宾室"));
        layout.services[0].prefix = "甲".into();
        let problems = check_pack(&pack, &layout, NumberStyle::Digits);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("贵宾室") && problems[1].contains("甲"),
            "{problems:?}"
        );
    }

    #[test]
    fn quiet_hours_are_the_halls_local_time_and_may_wrap_midnight() {
        // 2026-11-27 14:30 UTC is 22:30 in Beijing.
        let t = 1_795_789_800_000;
        assert!(is_quiet(Some((22 * 60, 7 * 60)), t));
        assert!(!is_quiet(Some((8 * 60, 18 * 60)), t));
        assert!(is_quiet(Some((22 * 60, 23 * 60)), t));
        assert!(!is_quiet(None, t));
        let spans = [((12 * 60, 14 * 60), 0.3), ((22 * 60, 7 * 60), 0.5)];
        assert_eq!(volume_at(1.0, &spans, t), 0.5);
        assert_eq!(volume_at(1.0, &spans[..1], t), 1.0);
    }
}

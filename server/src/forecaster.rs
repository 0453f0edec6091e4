//! Every waiting ticket's forecast wait, kept fresh off the owner (issue 14,
//! part 3): a task per hall takes the latest copy of the hall, runs
//! [`hallq_core::forecast`] on a blocking thread with the model the hall's
//! log taught ([`hallq_core::learn`], refreshed hourly), and publishes the
//! result. Ticket replies and look-ups read it.
//!
//! Cost is bounded: a forecast runs at most every [`EVERY_MIN`], and never
//! more often than four times its own duration (a fifth of one core at
//! most, whatever the hall's size); a hall with more than [`MAX_WAITING`]
//! tickets waiting is not forecast; a new ticket's reply waits for the
//! next forecast (at most [`WAIT_FOR_NEW`]) only while forecasts are quick
//! enough to come by then.
//!
//! Once a minute the same thread also asks the rebalancing advisor
//! ([`hallq_core::advice`]) which one change to the windows would cut the
//! waits most; the dashboard shows it, and the manager takes it with one
//! click (an ordinary `profile` action).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallq_core::forecast::{Calibration, Model, Spread, forecast};
use hallq_core::{HallConfig, Millis};
use tokio::sync::{Notify, watch};

use crate::engine::{EngineHandle, now_ms};
use crate::lease::Lease;

/// Runs per forecast: enough for a 20th and an 80th percentile.
pub const RUNS: u32 = 60;
/// The most often a forecast runs, and the least often (the hall moves
/// even when nothing is logged: the current services go on).
pub const EVERY_MIN: Duration = Duration::from_millis(100);
pub const EVERY_MAX: Duration = Duration::from_secs(10);
/// How long a new ticket's reply waits for its first forecast at most:
/// only while the next forecast can come that soon (one that took a
/// fifth of this or less: it also waits four times its duration).
pub const WAIT_FOR_NEW: Duration = Duration::from_millis(250);
/// A hall with more tickets waiting than this is not forecast (each run
/// would call them all; no real hall has so many waiting): its tickets
/// get the plain estimate.
pub const MAX_WAITING: usize = 300;
/// How often the model is learned again from the log.
const LEARN_EVERY: Duration = Duration::from_secs(3600);

/// The last forecast: each waiting ticket's wait from `at_ms`.
#[derive(Debug, Default)]
pub struct Forecasts {
    pub at_ms: Millis,
    /// By the ticket's public handle, every ticket waiting then: (20th
    /// percentile, mean, 80th), in seconds, or none when most runs did not
    /// call it (no window open for it, or not before the day ends).
    pub by_token: HashMap<String, Option<(u32, u32, u32)>>,
    /// How long it took.
    pub took: Duration,
    /// Too many waiting to forecast: every ticket gets the plain estimate.
    pub skipped: bool,
}

/// The calibration before the hall has [`Calibration::MIN_SAMPLES`] real
/// waits of its own: what simulated days of the demo hall needed
/// (`hallq-day --forecast 60 --calibrate 3`: ×1.35–1.55).
pub const PRIOR: Calibration = Calibration {
    widen: 1.4,
    pad_s: Calibration::PAD_S,
};
/// Real waits kept for the calibration (the newest).
const SAMPLES: usize = 2000;

/// Notes each waiting ticket's first range (as the runs gave it), and
/// turns those since called into samples (real wait, range): how many.
fn learn_calibration(
    told: &mut HashMap<String, (Millis, Spread)>,
    samples: &mut std::collections::VecDeque<(f64, Spread)>,
    now: Millis,
    raw: Vec<(String, Spread)>,
    outcomes: Vec<(String, Outcome)>,
) -> usize {
    let mut added = 0;
    for (token, outcome) in outcomes {
        match outcome {
            Outcome::Waiting => {}
            Outcome::Called(called) => {
                if let Some((at, s)) = told.remove(&token) {
                    added += 1;
                    samples.push_back(((called - at).max(0) as f64 / 1000.0, s));
                    if samples.len() > SAMPLES {
                        samples.pop_front();
                    }
                }
            }
            Outcome::Gone => {
                told.remove(&token);
            }
        }
    }
    for (token, s) in raw {
        told.entry(token).or_insert((now, s));
    }
    added
}

/// What became of a ticket told a range.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Waiting,
    Called(Millis),
    /// Unknown now, or ended without a call.
    Gone,
}

/// How often the rebalancing advisor looks at the hall: at least this
/// often, and after a change in the hall no sooner than [`ADVISE_MIN`].
pub const ADVISE_EVERY: Duration = Duration::from_secs(60);
pub const ADVISE_MIN: Duration = Duration::from_secs(10);

/// The advisor's latest word ([`hallq_core::advice`]), for the dashboard.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Advised {
    pub at_ms: Millis,
    #[serde(flatten)]
    pub advice: hallq_core::advice::Advice,
    /// The window's seq when advised: the manager's one-click action
    /// carries it, so it is refused as stale if the window changed since.
    pub seen: u64,
    /// "把 8 号窗口改为 商事登记 优先：预计平均等候 −6 分钟".
    pub text: String,
    /// How far ahead the prediction looked, in minutes.
    pub horizon_min: i64,
}

/// The advice in the manager's words.
fn advice_text(hall: &hallq_core::Hall, a: &hallq_core::advice::Advice) -> String {
    let c = hall.config();
    let window = c
        .windows
        .iter()
        .find(|w| w.id == a.change.window)
        .map_or(a.change.window.as_str(), |w| w.name.as_str());
    let name = |s: &hallq_core::Id| {
        c.service(s.as_str())
            .map_or_else(|| s.to_string(), |x| x.name.clone())
    };
    let what = if a.change.home {
        "恢复原配置 / back to its own profile".to_owned()
    } else {
        let names: Vec<String> = a.change.serves.iter().map(name).collect();
        match a.change.policy {
            hallq_core::config::Policy::Strict => {
                format!("改为 {} 优先（{}）", names[0], names.join("、"))
            }
            _ => format!(
                "兼办 {}（{}）",
                name(a.change.serves.last().expect("a service")),
                names.join("、")
            ),
        }
    };
    let minutes = (a.gain_s() / 60.0).round().max(1.0);
    format!(
        "{}{window} {what}：预计平均等候 −{minutes:.0} 分钟 / mean wait −{minutes:.0} min predicted",
        if a.change.open { "开放 " } else { "把 " }
    )
}

/// A hall's forecasts, for the edges.
#[derive(Debug, Clone)]
pub struct Forecaster {
    latest: watch::Receiver<Arc<Forecasts>>,
    advice: watch::Receiver<Option<Arc<Advised>>>,
    wanted: Arc<Notify>,
    /// When the forecast now running began (ms since the epoch), 0 when
    /// none runs: a reply does not wait behind a slow one.
    running_since: Arc<std::sync::atomic::AtomicI64>,
}

impl Forecaster {
    /// Starts the hall's forecasting task.
    pub fn spawn(
        engine: EngineHandle,
        lease: Arc<Lease>,
        config: HallConfig,
        log: Option<crate::http::LogSource>,
        stream: tokio::sync::broadcast::Sender<Arc<crate::stream::Line>>,
    ) -> Forecaster {
        let (tx, latest) = watch::channel(Arc::new(Forecasts::default()));
        let (advice_tx, advice) = watch::channel(None);
        let wanted = Arc::new(Notify::new());
        let running_since = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let me = Forecaster {
            latest,
            advice,
            wanted: wanted.clone(),
            running_since: running_since.clone(),
        };
        tokio::spawn(async move {
            let mut model = Arc::new(Model::from_config(&config));
            let mut learned_at: Option<Instant> = None;
            let mut next_allowed = tokio::time::Instant::now();
            let mut last_seq = None;
            let mut advised_at: Option<(Instant, u64)> = None;
            let mut advise_took = Duration::ZERO;
            // The range shown: the runs' own, calibrated on this hall's
            // real waits once there are enough of them.
            let mut calibration_now = PRIOR;
            let mut new_waits = 0usize;
            // The advisor's own changes (automatic mode): when, which window.
            let mut auto_changes: Vec<(Instant, hallq_core::Id)> = Vec::new();
            let mut to_apply: Option<Advised> = None;
            let mut told: HashMap<String, (Millis, Spread)> = HashMap::new();
            let mut samples: std::collections::VecDeque<(f64, Spread)> =
                std::collections::VecDeque::new();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(EVERY_MAX) => {}
                    _ = wanted.notified() => {}
                }
                tokio::time::sleep_until(next_allowed).await;
                if !lease.held() {
                    continue;
                }
                if let Some(log) = &log
                    && learned_at.is_none_or(|t| t.elapsed() >= LEARN_EVERY)
                {
                    learned_at = Some(Instant::now());
                    let (log, cfg) = (log.clone(), config.clone());
                    let today =
                        hallq_core::calendar::local(now_ms(), cfg.hall.utc_offset_minutes).0;
                    let learned = tokio::task::spawn_blocking(move || {
                        crate::report::learned(&log, &cfg, today)
                    })
                    .await;
                    match learned {
                        Ok(Ok(l)) => model = Arc::new(Model::from_config(&config).with_learned(&l)),
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "cannot learn from the log; the forecast uses the hall file's typical times")
                        }
                        Err(_) => {}
                    }
                }
                let Some((hall, now)) = engine.snapshot().await else {
                    if engine.tx.is_closed() {
                        return;
                    }
                    continue;
                };
                // Nothing logged since the last one, and it is recent:
                // it still holds (its times count from its own `at_ms`).
                let fresh = now - tx.borrow().at_ms < EVERY_MAX.as_millis() as Millis;
                if last_seq == Some(hall.seq()) && fresh {
                    continue;
                }
                last_seq = Some(hall.seq());
                let waiting = hall
                    .tickets()
                    .filter(|t| t.state == hallq_core::TicketState::Waiting)
                    .count();
                if waiting > MAX_WAITING {
                    let _ = tx.send(Arc::new(Forecasts {
                        at_ms: now,
                        skipped: true,
                        ..Forecasts::default()
                    }));
                    continue;
                }
                // The advisor, on the same thread and copy: when the hall
                // moved and [`ADVISE_MIN`] has passed, and every
                // [`ADVISE_EVERY`] anyway (services go on).
                // Never more than a tenth of the forecasting thread (one
                // thread for every hall): no sooner than ten times the last
                // advice's own duration.
                let advise_min = ADVISE_MIN.max(advise_took * 10);
                let advise_now = advised_at.is_none_or(|(t, seq): (Instant, u64)| {
                    t.elapsed() >= ADVISE_EVERY.max(advise_min)
                        || (seq != hall.seq() && t.elapsed() >= advise_min)
                });
                if advise_now {
                    advised_at = Some((Instant::now(), hall.seq()));
                }
                let m = model.clone();
                let asked: Vec<String> = told.keys().cloned().collect();
                let calibration = calibration_now;
                // In automatic mode, a window the advisor changed rests.
                let rules = &config.advisor;
                let rest = Duration::from_secs(u64::from(rules.rest_min) * 60);
                let bounds = hallq_core::advice::Bounds {
                    max_services: rules.max_services,
                    frozen: auto_changes
                        .iter()
                        .filter(|(t, _)| t.elapsed() < rest)
                        .map(|(_, w)| w.clone())
                        .collect(),
                    ..hallq_core::advice::Bounds::default()
                };
                let began = Instant::now();
                running_since.store(now_ms(), std::sync::atomic::Ordering::Release);
                let done = on_forecast_thread(move || {
                    let spreads = forecast(&hall, now, &m, RUNS, hall.seq());
                    let raw: Vec<(String, Spread)> = hall
                        .tickets()
                        .filter(|t| t.state == hallq_core::TicketState::Waiting)
                        .filter_map(|t| Some((t.token.clone(), *spreads.get(&t.id)?)))
                        .collect();
                    let by_token = hall
                        .tickets()
                        .filter(|t| t.state == hallq_core::TicketState::Waiting)
                        .map(|t| {
                            let s = spreads.get(&t.id).map(|s| {
                                let c = calibration.apply(*s);
                                (c.low_s, c.mean_s, c.high_s)
                            });
                            (t.token.clone(), s)
                        })
                        .collect::<HashMap<_, _>>();
                    // What became of the tickets told a range before: the
                    // real waits the calibration learns from.
                    let outcomes: Vec<(String, Outcome)> = asked
                        .into_iter()
                        .map(|token| {
                            let outcome = match hall.ticket_by_token(&token) {
                                Some(t) if t.state == hallq_core::TicketState::Waiting => {
                                    Outcome::Waiting
                                }
                                Some(t) => t.called_ms.map_or(Outcome::Gone, Outcome::Called),
                                None => Outcome::Gone,
                            };
                            (token, outcome)
                        })
                        .collect();
                    let advising = Instant::now();
                    let advice = advise_now
                        .then(|| hallq_core::advice::advise(&hall, now, &m, &bounds, hall.seq()))
                        .map(|a| {
                            a.map(|a| Advised {
                                at_ms: now,
                                seen: hall
                                    .window(a.change.window.as_str())
                                    .map_or(0, |w| w.changed),
                                text: advice_text(&hall, &a),
                                horizon_min: bounds.horizon_ms / 60_000,
                                advice: a,
                            })
                        });
                    // The copy goes back to be let go of here, not on the
                    // low-priority thread: its memory is the owner's, and
                    // freeing it takes the owner's allocator lock, which a
                    // preempted low-priority thread would hold (priority
                    // inversion: the owner stalled for hundreds of ms).
                    let advise_took = advise_now.then(|| advising.elapsed());
                    (by_token, (advice, advise_took), (raw, outcomes), hall)
                })
                .await
                .map(|(by_token, (advice, took), (raw, outcomes), hall)| {
                    drop(hall);
                    if let Some(t) = took {
                        advise_took = t;
                    }
                    new_waits += learn_calibration(&mut told, &mut samples, now, raw, outcomes);
                    // Fitted again every 20 new waits.
                    if new_waits >= 20 {
                        new_waits = 0;
                        let all: Vec<(f64, Spread)> = samples.iter().copied().collect();
                        if let Some(c) = Calibration::fit(&all, Calibration::SHARE) {
                            calibration_now = c;
                        }
                    }
                    if let Some(a) = advice {
                        to_apply = a.clone();
                        // The dashboards read again when the advice changes.
                        let changed = advice_tx.borrow().as_ref().map(|x| &x.advice)
                            != a.as_ref().map(|x| &x.advice);
                        if changed {
                            let _ = stream.send(crate::stream::Line::staff_only("advice", &a));
                        }
                        let _ = advice_tx.send(a.map(Arc::new));
                    }
                    by_token
                });
                let took = began.elapsed();
                running_since.store(0, std::sync::atomic::Ordering::Release);
                if let Some(a) = to_apply.take()
                    && config.advisor.auto
                {
                    auto_changes.retain(|(t, _)| t.elapsed() < Duration::from_secs(3600).max(rest));
                    let last_hour = auto_changes
                        .iter()
                        .filter(|(t, _)| t.elapsed() < Duration::from_secs(3600))
                        .count();
                    if last_hour < config.advisor.changes_per_hour as usize && !a.advice.change.open
                    {
                        let c = &a.advice.change;
                        let cmd = hallq_core::Command::Manage {
                            by: "advisor".into(),
                            seen: Some(a.seen),
                            action: hallq_core::ManagerAction::Profile {
                                window: c.window.clone(),
                                serves: c.serves.clone(),
                                policy: c.policy,
                                weights: c.weights.clone(),
                            },
                        };
                        match engine.command(cmd, |v, _| v.hall.seq()).await {
                            Some(Ok(_)) => {
                                tracing::info!(window = %c.window, text = %a.text, "the advisor changed a window's profile (automatic, [advisor] auto = true)");
                                auto_changes.push((Instant::now(), c.window.clone()));
                            }
                            Some(Err(e)) => {
                                tracing::info!(error = %e, "the advisor's change was refused")
                            }
                            None => {}
                        }
                    }
                }
                next_allowed = tokio::time::Instant::from_std(began) + (took * 4).max(EVERY_MIN);
                if let Some(by_token) = done {
                    let _ = tx.send(Arc::new(Forecasts {
                        at_ms: now,
                        by_token,
                        took,
                        skipped: false,
                    }));
                }
            }
        });
        me
    }

    /// The advisor's latest word, if it has one now.
    pub fn advice(&self) -> Option<Arc<Advised>> {
        self.advice.borrow().clone()
    }

    /// `token`'s forecast as of now: (20th percentile, mean, 80th), in
    /// seconds. A ticket the last forecast did not know (a new one) waits
    /// for the next, briefly, while forecasts are quick.
    pub async fn of(&self, token: &str) -> Option<(u32, u32, u32)> {
        let mut latest = self.latest.clone();
        let deadline = tokio::time::Instant::now() + WAIT_FOR_NEW;
        loop {
            let f = latest.borrow_and_update().clone();
            if let Some(known) = f.by_token.get(token) {
                let gone = ((now_ms() - f.at_ms).max(0) / 1000) as u32;
                return known.map(|(low, mean, high)| {
                    (
                        low.saturating_sub(gone),
                        mean.saturating_sub(gone),
                        high.saturating_sub(gone),
                    )
                });
            }
            let running = self
                .running_since
                .load(std::sync::atomic::Ordering::Acquire);
            let slow_now = running > 0 && now_ms() - running > WAIT_FOR_NEW.as_millis() as i64;
            if f.skipped || f.took * 5 > WAIT_FOR_NEW || slow_now {
                return None;
            }
            self.wanted.notify_one();
            match tokio::time::timeout_at(deadline, latest.changed()).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `f` on the server's one forecasting thread and waits for it. One
/// thread for every hall, at a lower priority than the halls' owners: a
/// forecast never takes a core from a commit. `None` if the thread is gone.
async fn on_forecast_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    static JOBS: std::sync::OnceLock<std::sync::mpsc::Sender<Job>> = std::sync::OnceLock::new();
    let jobs = JOBS.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("hallq-forecast".into())
            .spawn(move || {
                // Nice 10: the owners (nice 0) come first.
                let me = rustix::thread::gettid();
                if let Err(e) = rustix::process::setpriority_process(Some(me), 10) {
                    tracing::debug!(error = %e, "cannot lower the forecasting thread's priority");
                }
                while let Ok(job) = rx.recv() {
                    job();
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the forecasting thread");
        }
        tx
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    jobs.send(job).ok()?;
    rx.await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_called_ticket_becomes_a_sample_and_a_gone_one_is_forgotten() {
        let s = Spread {
            low_s: 60,
            mean_s: 120,
            high_s: 180,
        };
        let (mut told, mut samples) = (HashMap::new(), std::collections::VecDeque::new());
        let raw = vec![
            ("a".to_owned(), s),
            ("b".to_owned(), s),
            ("c".to_owned(), s),
        ];
        assert_eq!(
            learn_calibration(&mut told, &mut samples, 1_000, raw, Vec::new()),
            0
        );
        assert_eq!(told.len(), 3);
        // Later forecasts do not replace the first range told.
        let later = Spread { mean_s: 5, ..s };
        learn_calibration(
            &mut told,
            &mut samples,
            9_000,
            vec![("a".into(), later)],
            Vec::new(),
        );
        assert_eq!(told["a"], (1_000, s));
        let outcomes = vec![
            ("a".to_owned(), Outcome::Called(301_000)),
            ("b".to_owned(), Outcome::Waiting),
            ("c".to_owned(), Outcome::Gone),
        ];
        assert_eq!(
            learn_calibration(&mut told, &mut samples, 10_000, Vec::new(), outcomes),
            1
        );
        assert_eq!(samples, [(300.0, s)]);
        assert_eq!(told.keys().collect::<Vec<_>>(), ["b"]);
    }
}

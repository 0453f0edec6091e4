//! Every waiting ticket's forecast wait, kept fresh off the owner (issue 14,
//! part 3): a task per hall takes the latest copy of the hall, runs
//! [`hallq_core::forecast`] on a blocking thread with the model the hall's
//! log taught ([`hallq_core::learn`], refreshed hourly), and publishes the
//! result. Ticket replies and look-ups read it.
//!
//! Cost is bounded: a forecast runs at most every [`EVERY_MIN`], and never
//! more often than four times its own duration (a fifth of one core at
//! most, whatever the hall's size); a new ticket waits for the next
//! forecast (at most [`WAIT_FOR_NEW`]) only while forecasts are quick.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallq_core::forecast::{Model, forecast};
use hallq_core::{HallConfig, Millis};
use tokio::sync::{Notify, watch};

use crate::engine::{EngineHandle, now_ms};
use crate::lease::Lease;

/// Runs per forecast: enough for a 20th and an 80th percentile.
pub const RUNS: u32 = 60;
/// The most often a forecast runs, and the least often (the hall moves
/// even when nothing is logged: the current services go on).
pub const EVERY_MIN: Duration = Duration::from_millis(20);
pub const EVERY_MAX: Duration = Duration::from_secs(10);
/// How long a new ticket's reply waits for its first forecast.
pub const WAIT_FOR_NEW: Duration = Duration::from_secs(1);
/// Forecasts slower than this are not waited for.
const QUICK: Duration = Duration::from_millis(250);
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
}

/// A hall's forecasts, for the edges.
#[derive(Debug, Clone)]
pub struct Forecaster {
    latest: watch::Receiver<Arc<Forecasts>>,
    wanted: Arc<Notify>,
}

impl Forecaster {
    /// Starts the hall's forecasting task.
    pub fn spawn(
        engine: EngineHandle,
        lease: Arc<Lease>,
        config: HallConfig,
        log: Option<crate::http::LogSource>,
    ) -> Forecaster {
        let (tx, latest) = watch::channel(Arc::new(Forecasts::default()));
        let wanted = Arc::new(Notify::new());
        let me = Forecaster {
            latest,
            wanted: wanted.clone(),
        };
        tokio::spawn(async move {
            let mut model = Arc::new(Model::from_config(&config));
            let mut learned_at: Option<Instant> = None;
            let mut next_allowed = tokio::time::Instant::now();
            let mut last_seq = None;
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
                let m = model.clone();
                let began = Instant::now();
                let done = tokio::task::spawn_blocking(move || {
                    let spreads = forecast(&hall, now, &m, RUNS, hall.seq());
                    hall.tickets()
                        .filter(|t| t.state == hallq_core::TicketState::Waiting)
                        .map(|t| {
                            let s = spreads.get(&t.id).map(|s| (s.low_s, s.mean_s, s.high_s));
                            (t.token.clone(), s)
                        })
                        .collect::<HashMap<_, _>>()
                })
                .await;
                let took = began.elapsed();
                next_allowed = tokio::time::Instant::from_std(began) + (took * 4).max(EVERY_MIN);
                if let Ok(by_token) = done {
                    let _ = tx.send(Arc::new(Forecasts {
                        at_ms: now,
                        by_token,
                        took,
                    }));
                }
            }
        });
        me
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
            if f.took > QUICK {
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

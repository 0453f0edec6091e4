//! The calls waiting to be spoken, in arrival order. Pure: time comes in as
//! `now`. A call delivered twice (MQTT QoS 1 after a reconnect) is spoken
//! once; a call older than the configured age is not spoken late; when more
//! than the backlog wait, repeats are dropped first — never a whole call.

use std::collections::VecDeque;

use hallq_contract::Call;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How many times each call is said (at least once).
    pub repeats: u32,
    /// Calls waiting beyond this lose their repeats, oldest first.
    pub backlog: usize,
    /// A call this much older than `now` when it arrives is not spoken.
    pub max_age_ms: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            repeats: 2,
            backlog: 3,
            max_age_ms: 60_000,
        }
    }
}

/// A call to say, and how many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub call: Call,
    pub times: u32,
}

/// What became of a pushed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// Its `seq` was heard already.
    Duplicate,
    /// Older than `max_age_ms`.
    TooOld,
}

#[derive(Debug, Default)]
pub struct Queue {
    pub settings: Settings,
    jobs: VecDeque<Job>,
    /// Recent call seqs, to drop redeliveries.
    seen: VecDeque<u64>,
    /// Repeats dropped because of the backlog, all told.
    pub shortened: u32,
}

impl Queue {
    pub fn new(settings: Settings) -> Queue {
        Queue {
            settings,
            ..Queue::default()
        }
    }

    pub fn push(&mut self, call: Call, now_ms: i64) -> Pushed {
        if self.seen.contains(&call.seq) {
            return Pushed::Duplicate;
        }
        self.seen.push_back(call.seq);
        if self.seen.len() > 1024 {
            self.seen.pop_front();
        }
        if now_ms - call.at_ms > self.settings.max_age_ms {
            return Pushed::TooOld;
        }
        self.jobs.push_back(Job {
            call,
            times: self.settings.repeats.max(1),
        });
        // Over the backlog: the oldest waiting call with repeats loses them.
        while self.jobs.len() > self.settings.backlog {
            let Some(job) = self.jobs.iter_mut().find(|j| j.times > 1) else {
                break;
            };
            tracing::info!(
                ticket = %job.call.ticket,
                window = %job.call.window,
                dropped = job.times - 1,
                "backlog: a call is said once instead of repeated"
            );
            self.shortened += job.times - 1;
            job.times = 1;
        }
        Pushed::Queued
    }

    pub fn pop(&mut self) -> Option<Job> {
        self.jobs.pop_front()
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(seq: u64, at_ms: i64) -> Call {
        Call {
            seq,
            ticket: format!("A{seq:03}"),
            window: "3".into(),
            window_name: "3号窗口".into(),
            service_name: String::new(),
            recall: false,
            at_ms,
        }
    }

    #[test]
    fn calls_keep_their_order_and_a_redelivery_is_said_once() {
        let mut q = Queue::new(Settings::default());
        assert_eq!(q.push(call(1, 0), 0), Pushed::Queued);
        assert_eq!(q.push(call(2, 0), 0), Pushed::Queued);
        assert_eq!(q.push(call(1, 0), 0), Pushed::Duplicate);
        assert_eq!(q.pop().unwrap().call.seq, 1);
        assert_eq!(q.pop().unwrap().call.seq, 2);
        assert!(q.pop().is_none());
    }

    #[test]
    fn an_old_call_is_not_said_late() {
        let mut q = Queue::new(Settings::default());
        assert_eq!(q.push(call(1, 0), 60_001), Pushed::TooOld);
        assert_eq!(q.push(call(2, 0), 60_000), Pushed::Queued);
    }

    #[test]
    fn a_backlog_drops_repeats_first_never_calls() {
        let mut q = Queue::new(Settings {
            repeats: 3,
            backlog: 2,
            max_age_ms: 60_000,
        });
        for s in 1..=5 {
            q.push(call(s, 0), 0);
        }
        let jobs: Vec<(u64, u32)> = std::iter::from_fn(|| q.pop())
            .map(|j| (j.call.seq, j.times))
            .collect();
        // Over the backlog every waiting call is said once; all five are said.
        assert_eq!(jobs, [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1)]);
        assert_eq!(q.shortened, 10);
        // Once the queue is short again, calls get their repeats back.
        q.push(call(6, 0), 0);
        assert_eq!(q.pop().unwrap().times, 3);
    }
}

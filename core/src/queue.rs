//! Queues and who is called next.
//!
//! Each service has one ordered set of waiting tickets. A ticket's key is
//! `(rank, pos, id)`: its priority class's rank first (so classes come in
//! their precedence), then its position — its issue order, `id << 20`, so
//! FIFO within a class. A no-show put back "after N places" takes the
//! position just behind the N-th ticket of its class; a transferred ticket
//! keeps its original position (it does not queue again). A ticket sent to a
//! window waits in that window's own set, called before the window's services.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use crate::config::Policy;
use crate::error::CoreError;
use crate::hall::Hall;
use crate::id::{Id, TicketId};

/// A waiting ticket's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    pub rank: usize,
    pub pos: u64,
    pub ticket: TicketId,
}

/// Room between two issued tickets for put-back positions.
const POS_SHIFT: u32 = 20;

/// Where a waiting ticket waits: its service's queue, or the queue of a
/// window it was sent to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Line {
    Service(Id),
    Window(Id),
}

/// Every waiting ticket's place: an ordered set of keys per line and each
/// ticket's own key. Both change here only, together, so they cannot drift
/// apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Queues {
    lines: BTreeMap<Line, BTreeSet<QueueKey>>,
    keys: HashMap<TicketId, (Line, QueueKey)>,
}

impl Queues {
    /// The keys of a line, in calling order.
    pub(crate) fn line(&self, line: &Line) -> Option<&BTreeSet<QueueKey>> {
        self.lines.get(line)
    }

    /// Puts a ticket in a line (out of any other first).
    pub(crate) fn insert(&mut self, line: Line, key: QueueKey) {
        self.remove(key.ticket);
        self.lines.entry(line.clone()).or_default().insert(key);
        self.keys.insert(key.ticket, (line, key));
    }

    /// Takes a ticket out of whatever line holds it.
    pub(crate) fn remove(&mut self, ticket: TicketId) {
        if let Some((line, key)) = self.keys.remove(&ticket)
            && let Some(set) = self.lines.get_mut(&line)
        {
            set.remove(&key);
            if set.is_empty() {
                self.lines.remove(&line);
            }
        }
    }

    /// How many tickets are ahead of a waiting one in its line.
    pub(crate) fn ahead_of(&self, ticket: TicketId) -> usize {
        self.keys
            .get(&ticket)
            .and_then(|(line, key)| Some(rank_in(self.lines.get(line)?, key)))
            .unwrap_or(0)
    }

    pub(crate) fn first(&self, line: &Line) -> Option<&QueueKey> {
        self.lines.get(line)?.first()
    }

    pub(crate) fn len(&self, line: &Line) -> usize {
        self.lines.get(line).map_or(0, BTreeSet::len)
    }

    /// Every waiting ticket: the services' lines, then the windows'.
    pub(crate) fn all(&self) -> impl Iterator<Item = &QueueKey> {
        self.lines.values().flatten()
    }
}

impl Hall {
    /// Puts a waiting ticket into its queue (its service's, or the window it
    /// was sent to); `put_back` places it behind that many tickets.
    pub(crate) fn enqueue(&mut self, id: TicketId, put_back: Option<u32>) {
        let Some(t) = self.tickets.get(&id).map(Arc::as_ref) else {
            return;
        };
        let rank = self.config.rank(t.class.as_ref());
        let line = match &t.sent_to {
            Some(w) => Line::Window(w.clone()),
            None => Line::Service(t.service.clone()),
        };
        let pos = match (put_back, self.queues.line(&line)) {
            (Some(places), Some(q)) => {
                let mut same_class = q.iter().filter(|k| k.rank == rank);
                match same_class.clone().nth(places.saturating_sub(1) as usize) {
                    Some(k) if places > 0 => k.pos + 1,
                    Some(_) => same_class
                        .clone()
                        .next()
                        .map_or(0, |k| k.pos.saturating_sub(1)),
                    None => same_class
                        .next_back()
                        .map_or(id.0 << POS_SHIFT, |k| k.pos + 1),
                }
            }
            _ => id.0 << POS_SHIFT,
        };
        self.queues.insert(
            line,
            QueueKey {
                rank,
                pos,
                ticket: id,
            },
        );
    }

    /// Takes a ticket out of whatever queue holds it.
    pub(crate) fn dequeue(&mut self, id: TicketId) {
        self.queues.remove(id);
    }

    /// How many tickets are ahead of a waiting ticket in its queue. Counts
    /// from both ends at once, so a new ticket at the back costs nothing.
    pub fn ahead_of(&self, id: TicketId) -> usize {
        self.queues.ahead_of(id)
    }

    /// The ticket a window calls next by its work profile.
    pub(crate) fn pick_next(&self, window: &Id, only: Option<&Id>) -> Result<TicketId, CoreError> {
        let rt = self
            .windows
            .get(window)
            .ok_or_else(|| CoreError::UnknownWindow(window.to_string()))?;
        if let Some(s) = only {
            if self.config.service(s.as_str()).is_none() {
                return Err(CoreError::UnknownService(s.to_string()));
            }
            if !rt.serves.contains(s) {
                return Err(CoreError::ServiceNotServed(s.to_string()));
            }
        }
        // Tickets sent to this window by a colleague come first.
        if let Some(k) = self
            .queues
            .line(&Line::Window(window.clone()))
            .into_iter()
            .flatten()
            .find(|k| {
                only.is_none_or(|s| {
                    self.tickets
                        .get(&k.ticket)
                        .map(Arc::as_ref)
                        .is_some_and(|t| &t.service == s)
                })
            })
        {
            return Ok(k.ticket);
        }
        let heads: Vec<(usize, &QueueKey)> = rt
            .serves
            .iter()
            .enumerate()
            .filter(|(_, s)| only.is_none_or(|o| o == *s))
            .filter_map(|(i, s)| Some((i, self.queues.first(&Line::Service(s.clone()))?)))
            .collect();
        let best_rank = heads
            .iter()
            .map(|(_, k)| k.rank)
            .min()
            .ok_or(CoreError::QueueEmpty)?;
        let mut eligible = heads.into_iter().filter(|(_, k)| k.rank == best_rank);
        let chosen = match rt.policy {
            Policy::LongestWait => eligible.min_by_key(|(_, k)| k.pos),
            Policy::Strict => eligible.next(),
            Policy::Weighted => {
                // Fewest calls relative to weight; the profile's order breaks ties.
                let share = |i: usize| {
                    let s = &rt.serves[i];
                    let calls = rt.calls.get(s).copied().unwrap_or(0) + 1;
                    let weight = u64::from(rt.weights.get(i).copied().unwrap_or(1).max(1));
                    (calls, weight)
                };
                eligible.min_by(|(a, _), (b, _)| {
                    let ((ca, wa), (cb, wb)) = (share(*a), share(*b));
                    (ca * wb).cmp(&(cb * wa)).then(a.cmp(b))
                })
            }
        };
        chosen.map(|(_, k)| k.ticket).ok_or(CoreError::QueueEmpty)
    }
}

/// The number of keys before `key` in `set`.
fn rank_in(set: &BTreeSet<QueueKey>, key: &QueueKey) -> usize {
    let mut front = set.range(..key);
    let mut back = set.range((Bound::Excluded(key), Bound::Unbounded)).rev();
    let mut n = 0;
    loop {
        match (front.next(), back.next()) {
            (None, _) => return n,
            (_, None) => return set.len() - 1 - n,
            _ => n += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_counts_from_either_end() {
        let key = |p: u64| QueueKey {
            rank: 0,
            pos: p,
            ticket: TicketId(p),
        };
        let set: BTreeSet<QueueKey> = (1..=9).map(key).collect();
        for p in 1..=9 {
            assert_eq!(rank_in(&set, &key(p)), (p - 1) as usize);
        }
    }
}

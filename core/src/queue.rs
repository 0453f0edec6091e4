//! Queues and who is called next.
//!
//! Each service has one ordered set of waiting tickets. A ticket's key is
//! `(rank, pos, id)`: its priority class's rank first (so classes come in
//! their precedence), then its position — its issue order, `id << 20`, so
//! FIFO within a class. A no-show put back "after N places" takes the
//! position just behind the N-th ticket of its class; a transferred ticket
//! keeps its original position (it does not queue again). A ticket sent to a
//! window waits in that window's own set, called before the window's services.

use std::collections::BTreeSet;
use std::ops::Bound;

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

impl Hall {
    /// Puts a waiting ticket into its queue (its service's, or the window it
    /// was sent to); `put_back` places it behind that many tickets.
    pub(crate) fn enqueue(&mut self, id: TicketId, put_back: Option<u32>) {
        let Some(t) = self.tickets.get(&id) else {
            return;
        };
        let rank = self.config.rank(t.class.as_ref());
        let queue = match &t.sent_to {
            Some(w) => self.windows.get(w).map(|w| &w.direct),
            None => self.queues.get(&t.service),
        };
        let pos = match (put_back, queue) {
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
        let key = QueueKey {
            rank,
            pos,
            ticket: id,
        };
        let sent_to = t.sent_to.clone();
        let service = t.service.clone();
        let set = match &sent_to {
            Some(w) => self.windows.get_mut(w).map(|w| &mut w.direct),
            None => Some(self.queues.entry(service).or_default()),
        };
        if let Some(set) = set {
            set.insert(key);
        }
        if let Some(t) = self.tickets.get_mut(&id) {
            t.key = Some(key);
        }
    }

    /// Takes a ticket out of whatever queue holds it.
    pub(crate) fn dequeue(&mut self, id: TicketId) {
        let Some(t) = self.tickets.get_mut(&id) else {
            return;
        };
        let Some(key) = t.key.take() else { return };
        let set = match &t.sent_to {
            Some(w) => self.windows.get_mut(w).map(|w| &mut w.direct),
            None => self.queues.get_mut(&t.service),
        };
        if let Some(set) = set {
            set.remove(&key);
        }
    }

    /// How many tickets are ahead of a waiting ticket in its queue. Counts
    /// from both ends at once, so a new ticket at the back costs nothing.
    pub fn ahead_of(&self, id: TicketId) -> usize {
        let Some(t) = self.tickets.get(&id) else {
            return 0;
        };
        let Some(key) = t.key else { return 0 };
        let set = match &t.sent_to {
            Some(w) => self.windows.get(w).map(|w| &w.direct),
            None => self.queues.get(&t.service),
        };
        let Some(set) = set else { return 0 };
        rank_in(set, &key)
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
        if let Some(k) = rt.direct.iter().find(|k| {
            only.is_none_or(|s| self.tickets.get(&k.ticket).is_some_and(|t| &t.service == s))
        }) {
            return Ok(k.ticket);
        }
        let heads: Vec<(usize, &QueueKey)> = rt
            .serves
            .iter()
            .enumerate()
            .filter(|(_, s)| only.is_none_or(|o| o == *s))
            .filter_map(|(i, s)| Some((i, self.queues.get(s)?.first()?)))
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

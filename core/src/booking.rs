//! Bookings (网上预约) and what the hall remembers of a citizen — by the hash
//! of the ID number only: tickets per day (against touts) and no-shows
//! (信用: repeated no-shows suspend booking for a while).

use serde::Serialize;

use crate::Millis;
use crate::calendar::Day;
use crate::config::BookingRules;
use crate::id::{Id, TicketId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingState {
    Booked,
    CheckedIn,
    /// Nobody checked in before the slot ended.
    Missed,
    /// Called off by the citizen before the slot: no mark on their credit.
    Cancelled,
}

/// One booked slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booking {
    pub service: Id,
    /// Start of the slot.
    pub slot_ms: Millis,
    #[serde(skip)]
    pub citizen: String,
    pub state: BookingState,
    /// The ticket it became at check-in.
    pub ticket: Option<TicketId>,
}

/// A citizen's record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Citizen {
    /// Days of their no-shows (bookings missed, called tickets not answered).
    pub no_shows: Vec<Day>,
    ticket_day: Day,
    tickets_that_day: u32,
}

impl Citizen {
    pub(crate) fn took_ticket(&mut self, day: Day) {
        if self.ticket_day != day {
            self.ticket_day = day;
            self.tickets_that_day = 0;
        }
        self.tickets_that_day += 1;
    }

    pub(crate) fn no_show(&mut self, day: Day) {
        self.no_shows.push(day);
    }

    /// Forgets no-shows before `day` (no rule reads them: a suspension
    /// counts `no_show_days` back from the last and lasts `ban_days`);
    /// whether anything is left to keep on `today`.
    pub(crate) fn forget_before(&mut self, day: Day, today: Day) -> bool {
        self.no_shows.retain(|d| *d >= day);
        !self.no_shows.is_empty() || self.ticket_day >= today
    }

    /// Tickets taken on a day.
    pub fn tickets_on(&self, day: Day) -> u32 {
        if self.ticket_day == day {
            self.tickets_that_day
        } else {
            0
        }
    }

    /// The first day they may book again, when booking is suspended on `today`.
    pub fn banned_until(&self, today: Day, rules: &BookingRules) -> Option<Day> {
        if rules.no_show_limit == 0 {
            return None;
        }
        let last = *self.no_shows.last()?;
        let recent = self
            .no_shows
            .iter()
            .filter(|d| **d > last - i64::from(rules.no_show_days))
            .count();
        let until = last + i64::from(rules.ban_days);
        (recent >= rules.no_show_limit as usize && today < until).then_some(until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_no_shows_in_thirty_days_suspend_booking_for_thirty() {
        let rules = BookingRules::default();
        let mut c = Citizen::default();
        c.no_show(100);
        c.no_show(110);
        assert_eq!(c.banned_until(111, &rules), None);
        c.no_show(125);
        assert_eq!(c.banned_until(126, &rules), Some(155));
        assert_eq!(c.banned_until(155, &rules), None);
        let mut spread = Citizen::default();
        for d in [100, 140, 180] {
            spread.no_show(d);
        }
        assert_eq!(spread.banned_until(181, &rules), None, "not within 30 days");
    }

    #[test]
    fn tickets_are_counted_per_day() {
        let mut c = Citizen::default();
        c.took_ticket(5);
        c.took_ticket(5);
        assert_eq!(c.tickets_on(5), 2);
        c.took_ticket(6);
        assert_eq!((c.tickets_on(5), c.tickets_on(6)), (0, 1));
    }
}

//! Failed logins, counted per address: after [`MAX_FAILURES`] failures
//! within [`WINDOW`], every login from that address is refused for
//! [`LOCKOUT`], right password or not. Shared by the MQTT broker and the
//! HTTP routes that take credentials, so a stranger cannot try passwords
//! faster there than here.
//!
//! Counted per IP address, not per username: a per-user lock would let a
//! stranger lock a real pad out by failing on purpose. Behind a reverse
//! proxy every client has the proxy's address; run hallq in front instead.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed within [`WINDOW`] before the address is locked out.
pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(60);
pub const LOCKOUT: Duration = Duration::from_secs(60);
/// Addresses remembered at most; older entries are dropped first.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    first: Instant,
    failures: u32,
    locked_until: Option<Instant>,
}

/// Failed logins per address.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    by_ip: Mutex<HashMap<IpAddr, Entry>>,
}

impl LoginThrottle {
    /// May `ip` try to log in at `now`?
    pub fn allowed(&self, ip: IpAddr, now: Instant) -> bool {
        let map = self.by_ip.lock().expect("throttle lock");
        map.get(&ip)
            .and_then(|e| e.locked_until)
            .is_none_or(|until| now >= until)
    }

    /// Counts a failure; returns true when it locks the address out.
    pub fn failed(&self, ip: IpAddr, now: Instant) -> bool {
        let mut map = self.by_ip.lock().expect("throttle lock");
        if map.len() >= MAX_ADDRESSES && !map.contains_key(&ip) {
            map.retain(|_, e| {
                now.duration_since(e.first) < WINDOW || e.locked_until.is_some_and(|u| now < u)
            });
            if map.len() >= MAX_ADDRESSES {
                // Still full of fresh entries: forget the oldest.
                if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.first).map(|(k, _)| *k) {
                    map.remove(&oldest);
                }
            }
        }
        let e = map.entry(ip).or_insert(Entry {
            first: now,
            failures: 0,
            locked_until: None,
        });
        if now.duration_since(e.first) >= WINDOW {
            *e = Entry {
                first: now,
                failures: 0,
                locked_until: None,
            };
        }
        e.failures += 1;
        if e.failures >= MAX_FAILURES && e.locked_until.is_none() {
            e.locked_until = Some(now + LOCKOUT);
            return true;
        }
        false
    }

    /// A good login forgets the address's failures.
    pub fn succeeded(&self, ip: IpAddr) {
        self.by_ip.lock().expect("throttle lock").remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_failures_lock_the_address_out_for_a_minute() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let other: IpAddr = "10.1.2.4".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..MAX_FAILURES - 1 {
            assert!(!t.failed(ip, t0 + Duration::from_secs(i.into())));
            assert!(t.allowed(ip, t0));
        }
        assert!(
            t.failed(ip, t0 + Duration::from_secs(20)),
            "the tenth locks"
        );
        assert!(!t.allowed(ip, t0 + Duration::from_secs(21)));
        assert!(
            t.allowed(other, t0 + Duration::from_secs(21)),
            "only that address"
        );
        assert!(!t.allowed(ip, t0 + Duration::from_secs(79)));
        assert!(t.allowed(ip, t0 + Duration::from_secs(81)));
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_lock() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..30u64 {
            assert!(!t.failed(ip, t0 + Duration::from_secs(i * 7)));
        }
        assert!(t.allowed(ip, t0 + Duration::from_secs(300)));
    }

    #[test]
    fn a_good_login_forgets_failures() {
        let t = LoginThrottle::default();
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed(ip, t0);
        }
        t.succeeded(ip);
        assert!(!t.failed(ip, t0));
        assert!(t.allowed(ip, t0));
    }
}

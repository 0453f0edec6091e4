//! Who is asking: HTTP Basic with a device's id and password from the hall
//! file (a manager for the manager's routes, a kiosk for tickets without the
//! public rate limit), and the public rate limits for everyone else.
//!
//! Failed logins count against the address like failed MQTT logins (one
//! [`LoginThrottle`](crate::throttle::LoginThrottle)); a locked-out address
//! gets 429 whatever it sends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use base64::Engine as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hallq_core::DeviceRole;

use super::{ApiError, AppState};

/// Device id → (role, password), for HTTP logins.
pub type Accounts = HashMap<String, (DeviceRole, String)>;

/// The public routes' limits, per client address.
#[derive(Debug)]
pub struct Limits {
    /// Ticket issue without a kiosk login, bookings, check-ins, ratings.
    writes: DefaultKeyedRateLimiter<IpAddr>,
    /// Looking a ticket or a booking up (the phone page polls).
    reads: DefaultKeyedRateLimiter<IpAddr>,
}

/// Which public limit a route counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Write,
    Read,
}

impl Limits {
    /// `writes` and `reads` per minute and address; a burst of half that.
    pub fn per_minute(writes: u32, reads: u32) -> Limits {
        let quota = |n: u32| {
            let n = NonZeroU32::new(n.max(1)).expect("at least one");
            let burst = NonZeroU32::new((n.get() / 2).max(1)).expect("at least one");
            Quota::per_minute(n).allow_burst(burst)
        };
        Limits {
            writes: RateLimiter::keyed(quota(writes)),
            reads: RateLimiter::keyed(quota(reads)),
        }
    }

    /// Counts a request; 429 with `Retry-After` when over the limit.
    pub fn check(&self, class: Class, ip: IpAddr) -> Result<(), ApiError> {
        let limiter = match class {
            Class::Write => &self.writes,
            Class::Read => &self.reads,
        };
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until
                .wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ))
                .as_secs()
                + 1;
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "请求过于频繁，请 {wait} 秒后再试 / too many requests; try again in {wait} s"
                ),
            );
            e.retry_after = Some(wait);
            e
        })
    }
}

/// The device that logged in with `Authorization: Basic …` in `role`, or
/// `None` without that header. Wrong credentials are 401, never a
/// downgrade to the public rules.
pub fn device(
    state: &AppState,
    ip: IpAddr,
    headers: &HeaderMap,
    role: DeviceRole,
) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    if !state.throttle.allowed(ip, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked_out",
            "登录失败次数过多，请稍后再试 / too many failed logins from this address; try again in a minute",
        ));
    }
    let refuse = || {
        if state.throttle.failed(ip, Instant::now()) {
            tracing::warn!(%ip, "too many failed logins: address locked out for a minute");
        }
        let (code, message) = match role {
            DeviceRole::Manager => ("unauthorized", "需要值班经理登录 / manager login required"),
            _ => ("unauthorized", "设备账号或密码错误 / wrong device login"),
        };
        let mut r = ApiError::new(StatusCode::UNAUTHORIZED, code, message);
        r.basic_realm = true;
        r
    };
    let decoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|e| {
            base64::engine::general_purpose::STANDARD
                .decode(e.trim())
                .ok()
        })
        .and_then(|d| String::from_utf8(d).ok());
    let Some((user, password)) = decoded.as_deref().and_then(|t| t.split_once(':')) else {
        return Err(refuse());
    };
    match state.accounts.get(user) {
        Some((r, p))
            if *r == role && crate::broker::constant_time_eq(p.as_bytes(), password.as_bytes()) =>
        {
            state.throttle.succeeded(ip);
            Ok(Some(user.to_owned()))
        }
        _ => {
            tracing::warn!(user, %ip, ?role, "HTTP login refused");
            Err(refuse())
        }
    }
}

/// A manager's login, required.
pub fn manager(state: &AppState, ip: IpAddr, headers: &HeaderMap) -> Result<String, ApiError> {
    device(state, ip, headers, DeviceRole::Manager)?.ok_or_else(|| {
        let mut r = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "需要值班经理登录 / manager login required",
        );
        r.basic_realm = true;
        r
    })
}

/// `Retry-After: n`.
pub fn retry_after(secs: u64) -> HeaderValue {
    HeaderValue::from(secs)
}

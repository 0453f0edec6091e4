//! Clerk logins: when the hall file keeps a staff list, a window opens only
//! with a listed clerk id and that clerk's PIN. The PIN is checked here, at
//! the edge, off the owner thread (Argon2 is slow on purpose), and the
//! command goes on without it: it is never stored, logged or published.
//! Five wrong PINs at one window within ten minutes lock that window's
//! logins for five minutes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hallq_core::HallConfig;

/// Wrong PINs at a window before its logins are locked.
pub const MAX_PIN_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(600);
const PIN_LOCKOUT: Duration = Duration::from_secs(300);

/// Why a login was refused: a reply code and its message.
pub type Refusal = (&'static str, &'static str);

#[derive(Debug)]
pub struct StaffLogin {
    /// Clerk id → PIN hash.
    hashes: HashMap<String, String>,
    failures: Mutex<HashMap<String, Failures>>,
}

/// A window's wrong PINs: (how many, the first, locked until).
type Failures = (u32, Instant, Option<Instant>);

impl StaffLogin {
    /// `None` when the hall keeps no staff list (any clerk id opens).
    pub fn from_hall(hall: &HallConfig) -> Option<Arc<StaffLogin>> {
        (!hall.staff.is_empty()).then(|| {
            Arc::new(StaffLogin {
                hashes: hall
                    .staff
                    .iter()
                    .map(|s| (s.id.clone(), s.pin_hash.clone()))
                    .collect(),
                failures: Mutex::default(),
            })
        })
    }

    /// Checks a clerk's PIN for opening `window`.
    pub async fn check(
        self: &Arc<Self>,
        window: &str,
        clerk: Option<&str>,
        pin: Option<&str>,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        if let Some((_, _, Some(until))) = self.failures.lock().expect("lock").get(window)
            && now < *until
        {
            return Err((
                "pin_locked",
                "密码错误次数过多，请五分钟后再试 / too many wrong PINs: try again in five minutes",
            ));
        }
        let (Some(clerk), Some(pin)) = (clerk, pin) else {
            return Err((
                "pin_required",
                "请输入工号和密码开窗 / open with your clerk id and PIN",
            ));
        };
        let hash = self.hashes.get(clerk).cloned();
        let pin = pin.to_owned();
        let ok = tokio::task::spawn_blocking(move || hash.is_some_and(|h| verify(&pin, &h)))
            .await
            .unwrap_or(false);
        let mut failures = self.failures.lock().expect("lock");
        if ok {
            failures.remove(window);
            return Ok(());
        }
        let e = failures.entry(window.to_owned()).or_insert((0, now, None));
        if now.duration_since(e.1) > FAILURE_WINDOW {
            *e = (0, now, None);
        }
        e.0 += 1;
        tracing::warn!(window, clerk, failures = e.0, "wrong clerk id or PIN");
        if e.0 >= MAX_PIN_FAILURES {
            e.2 = Some(now + PIN_LOCKOUT);
            tracing::warn!(
                window,
                "too many wrong PINs: logins at this window locked for five minutes"
            );
        }
        Err(("bad_pin", "工号或密码错误 / wrong clerk id or PIN"))
    }
}

/// Whether a PIN or a password matches its Argon2 hash.
pub(crate) fn verify(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    })
}

/// The Argon2id hash of a PIN, for the hall file's `pin_hash`, or of a
/// staff member's web password (OWASP's 7 MiB, 5 passes; a PIN is short,
/// the lockouts do the rest).
pub fn hash_pin(pin: &str) -> String {
    let params = Params::new(7 * 1024, 5, 1, None).expect("valid Argon2 parameters");
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(pin.as_bytes(), &salt)
        .expect("hashing a PIN")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_pin_only() {
        let h = hash_pin("4321");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("4321", &h));
        assert!(!verify("1234", &h));
        assert!(!verify("4321", "not a hash"));
    }
}

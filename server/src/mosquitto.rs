//! The hall's permissions as Mosquitto files, for halls that run an external
//! broker: an ACL file (from the same rules the embedded broker enforces,
//! [`hallq_contract::Identity`]) and a password file.
//!
//! The password file is written in Mosquitto's plain `user:password` form;
//! `mosquitto_passwd -U FILE` hashes it in place (done for you when
//! `mosquitto_passwd` is on the PATH).

use std::fmt::Write;

use hallq_contract::{Identity, Role};
use hallq_core::HallConfig;

use crate::broker::role_of;

/// Mosquitto `acl_file` contents for the halls one server runs: one
/// `user` block per device and one for the server (every hall's topics).
/// Mosquitto checks a will against the same write rules, so a device's
/// will can only be its own status.
pub fn acl_file(halls: &[HallConfig], server_user: &str) -> String {
    let mut out = String::new();
    for hall in halls {
        let _ = writeln!(
            out,
            "# hallq ACL for hall {} ({}), generated from the hall file.",
            hall.hall.id, hall.hall.name
        );
    }
    let server = halls.iter().map(|hall| Identity {
        hall: hall.hall.id.as_str(),
        device: server_user,
        role: Role::Server,
        window: None,
    });
    block(&mut out, server_user, server);
    for hall in halls {
        for d in &hall.devices {
            let Some(role) = role_of(d.role) else {
                continue;
            };
            let id = Identity {
                hall: hall.hall.id.as_str(),
                device: d.id.as_str(),
                role,
                window: d.window.as_ref().map(|w| w.as_str()),
            };
            block(&mut out, d.id.as_str(), std::iter::once(id));
        }
    }
    out
}

/// One user's block: what each of its identities may write and read.
fn block<'a>(out: &mut String, user: &str, ids: impl Iterator<Item = Identity<'a>>) {
    let _ = writeln!(out, "\nuser {user}");
    for id in ids {
        let (read, write) = (id.readable(), id.writable());
        for t in &write {
            let access = if read.contains(t) {
                "readwrite"
            } else {
                "write"
            };
            let _ = writeln!(out, "topic {access} {t}");
        }
        for t in read.iter().filter(|t| !write.contains(t)) {
            let _ = writeln!(out, "topic read {t}");
        }
    }
}

/// Mosquitto password file in plain text (`user:password` lines).
pub fn password_file(halls: &[HallConfig], server_user: &str, server_password: &str) -> String {
    let mut out = format!("{server_user}:{server_password}\n");
    for d in halls.iter().flat_map(|h| &h.devices) {
        let _ = writeln!(out, "{}:{}", d.id, d.password);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> HallConfig {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml");
        crate::config::load_hall(&path).unwrap()
    }

    #[test]
    fn a_pad_block_allows_its_window_only() {
        let acl = acl_file(&[demo()], "hallq-server");
        let block: Vec<&str> = acl
            .split("\n\n")
            .find(|b| b.starts_with("user pad-3\n"))
            .unwrap()
            .lines()
            .collect();
        assert_eq!(
            block,
            [
                "user pad-3",
                "topic readwrite hallq/v1/xuchang/device/pad-3/status",
                "topic write hallq/v1/xuchang/pad/3/cmd",
                "topic read hallq/v1/xuchang/calls",
                "topic read hallq/v1/xuchang/window/+/state",
                "topic read hallq/v1/xuchang/layout",
                "topic read hallq/v1/xuchang/heartbeat",
                "topic read hallq/v1/xuchang/pad/3/reply",
            ]
        );
        assert!(acl.contains("user hallq-server\ntopic readwrite hallq/v1/xuchang/#\n"));
    }

    #[test]
    fn every_device_has_a_password_line() {
        let c = demo();
        let p = password_file(std::slice::from_ref(&c), "hallq-server", "s3cret-server");
        assert_eq!(p.lines().count(), c.devices.len() + 1);
        assert!(p.contains("\npad-3:demo-pad-3-pass\n"));
    }
}

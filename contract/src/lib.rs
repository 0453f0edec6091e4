//! The hallq wire contract, version 1 (see CONTRACT.md): topics, payloads and
//! who may publish or subscribe what.
//!
//! Every module is `no_std` + `alloc`, so the microcontroller firmware speaks
//! exactly what the server speaks. Nobody formats a topic string by hand
//! outside this crate.
//!
//! - [`topic`]: building and parsing `hallq/v1/{hall}/…` topics.
//! - [`payload`]: the JSON messages (serde).
//! - [`acl`]: the per-role permissions of the contract's Security section.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod acl;
pub mod payload;
pub mod topic;

pub use acl::{Identity, Role};
pub use payload::{
    Call, DeviceStatus, ErrorBody, Heartbeat, Layout, Metrics, Notice, PadCommand, Rating, Reply,
    TicketRef, WindowState, WindowStatus,
};
pub use topic::Topic;

/// The server's own MQTT username; no device may be called so.
pub const SERVER_USER: &str = "hallq-server";

/// The contract version in every topic.
pub const VERSION: &str = "v1";

/// Checks the id rule `[a-z0-9][a-z0-9_-]{0,31}` shared by halls, windows,
/// devices and services.
pub fn valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

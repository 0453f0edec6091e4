//! The hall's queue rules, as a pure state machine.
//!
//! This crate is the heart of hallq. It never reads the clock, never does IO and
//! never spawns: every input carries `now` (milliseconds since the Unix epoch)
//! and every change comes out as [`Event`]s wrapped in [`Record`]s.
//!
//! # Calling rule
//!
//! ```text
//! let records = hall.handle(now_ms, command)?;   // decides, applies, returns the records
//! store.append(&records)?;                        // the edge makes them durable
//! // only then: reply, publish window states and calls
//! ```
//!
//! On start the edge rebuilds the state with [`Hall::replay`] from the stored
//! records. A refused command returns a [`CoreError`] and changes nothing.
//!
//! # Layout
//!
//! - [`config`]: the hall's layout (services, windows, zones, devices,
//!   classes, rules, hours, bookings) as data; [`calendar`]: days and hours.
//! - [`id`]: validated identifiers.
//! - [`command`], [`event`]: what goes in, what comes out.
//! - [`hall`]: the state; `apply.rs`: how events change it; `decide.rs`: the rules.
//! - [`queue`]: queues, classes, work profiles: who is called next.
//! - [`supervision`]: cards and deadlines (the edge wakes the core with `Tick`).
//! - [`booking`]: bookings and citizens' records (hashed ID numbers only).
//! - [`view`]: read-only projections (ticket place, window state, metrics).

pub mod advice;
mod apply;
pub mod booking;
pub mod calendar;
pub mod case;
pub mod command;
pub mod config;
mod decide;
pub mod error;
pub mod event;
pub mod forecast;
pub mod hall;
pub mod id;
pub mod learn;
pub mod queue;
pub mod supervision;
pub mod view;

pub use case::{Case, CaseAction, CaseState};
pub use command::{Command, ManagerAction};
pub use config::{ConfigError, DeviceRole, HallConfig, NoShowPolicy, Policy, Staff};
pub use error::CoreError;
pub use event::{CardKind, CardLevel, Event, Record};
pub use hall::{Hall, KEEP_DAYS, Ticket, TicketState, WindowRuntime, WindowStatus};
pub use id::{Id, TicketId};

/// Milliseconds since the Unix epoch, as carried by every input.
pub type Millis = i64;

/// One day in milliseconds.
pub const DAY_MS: Millis = 86_400_000;

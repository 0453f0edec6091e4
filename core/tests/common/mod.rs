//! A simulated hall: the core plus a clock that the test moves by hand.
#![allow(dead_code)]

use hallq_core::{Command, CoreError, Hall, HallConfig, Id, Millis, Record};

/// 2026-11-27 08:30 in Beijing time (UTC+8).
pub const MORNING: Millis = 1_795_739_400_000;

pub fn small_hall() -> HallConfig {
    let c: HallConfig = toml::from_str(include_str!("../data/small-hall.toml")).unwrap();
    c.validate().unwrap();
    c
}

pub fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

/// The hall, its log as the edge would store it, and simulated time.
pub struct Sim {
    pub hall: Hall,
    pub log: Vec<Record>,
    pub now: Millis,
    tokens: u64,
}

/// The hall with hours, classes, bookings and limits.
pub fn day_hall() -> HallConfig {
    let c: HallConfig = toml::from_str(include_str!("../data/day-hall.toml")).unwrap();
    c.validate().unwrap();
    c
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with(small_hall())
    }

    pub fn with(config: HallConfig) -> Sim {
        Sim {
            hall: Hall::new(config),
            log: Vec::new(),
            now: MORNING,
            tokens: 0,
        }
    }

    pub fn minutes(&mut self, m: i64) {
        self.now += m * 60_000;
    }

    pub fn run(&mut self, cmd: Command) -> Result<Vec<Record>, CoreError> {
        let records = self.hall.handle(self.now, cmd)?;
        self.log.extend(records.iter().cloned());
        Ok(records)
    }

    /// Takes a ticket with a class and a citizen; returns the result.
    pub fn take_as(
        &mut self,
        service: &str,
        class: Option<&str>,
        citizen: Option<&str>,
    ) -> Result<String, CoreError> {
        self.tokens += 1;
        let token = format!("tok{}", self.tokens);
        self.run(Command::IssueTicket {
            service: id(service),
            token: token.clone(),
            class: class.map(id),
            citizen: citizen.map(String::from),
        })?;
        Ok(self.hall.ticket_by_token(&token).unwrap().number.clone())
    }

    /// Jumps to a local time of the current day ("HH:MM").
    pub fn at(&mut self, hhmm: &str) {
        let (h, m) = hhmm.split_once(':').unwrap();
        let minute: i64 = h.parse::<i64>().unwrap() * 60 + m.parse::<i64>().unwrap();
        let day = (self.now + 8 * 3_600_000).div_euclid(hallq_core::DAY_MS);
        self.now = day * hallq_core::DAY_MS + minute * 60_000 - 8 * 3_600_000;
    }

    /// The ticket with a number today.
    pub fn ticket(&self, number: &str) -> &hallq_core::Ticket {
        self.hall.ticket_by_number(number).unwrap()
    }

    /// Sends `Tick` and returns the events it caused.
    pub fn tick(&mut self) -> Vec<hallq_core::Event> {
        self.run(Command::Tick)
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect()
    }

    /// Takes a ticket and returns its number.
    pub fn take(&mut self, service: &str) -> String {
        self.tokens += 1;
        let token = format!("tok{}", self.tokens);
        self.run(Command::IssueTicket {
            service: id(service),
            token: token.clone(),
            class: None,
            citizen: None,
        })
        .unwrap();
        self.hall.ticket_by_token(&token).unwrap().number.clone()
    }

    pub fn open(&mut self, window: &str) {
        self.run(Command::Open {
            window: id(window),
            clerk: Some(format!("clerk{window}")),
        })
        .unwrap();
    }

    /// Calls next at a window and returns the called number.
    pub fn call(&mut self, window: &str) -> Result<String, CoreError> {
        self.run(Command::CallNext {
            window: id(window),
            service: None,
        })?;
        let w = self.hall.window(window).unwrap();
        Ok(self.hall.ticket(w.current.unwrap()).unwrap().number.clone())
    }

    pub fn win(&mut self, window: &str, make: fn(Id) -> Command) -> Result<Vec<Record>, CoreError> {
        self.run(make(id(window)))
    }
}

/// Opens `windows` (no clerk) at `at`.
pub fn open_windows(hall: &mut Hall, at: Millis, windows: &[&str]) {
    for w in windows {
        hall.handle(
            at,
            Command::Open {
                window: id(w),
                clerk: None,
            },
        )
        .unwrap();
    }
}

/// `n` tickets of `service`, a millisecond apart from `at`.
pub fn issue_n(hall: &mut Hall, at: Millis, service: &str, n: usize) {
    let before = hall.tickets().count();
    for i in 0..n {
        hall.handle(
            at + i as i64,
            Command::IssueTicket {
                service: id(service),
                token: format!("t-{service}-{}", before + i),
                class: None,
                citizen: None,
            },
        )
        .unwrap();
    }
}

/// Calls the next ticket at `window` at `at` and starts it 10 ms later.
pub fn serve_next(hall: &mut Hall, at: Millis, window: &str) {
    hall.handle(
        at,
        Command::CallNext {
            window: id(window),
            service: None,
        },
    )
    .unwrap();
    hall.handle(at + 10, Command::Start { window: id(window) })
        .unwrap();
}

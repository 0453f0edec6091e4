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

impl Sim {
    pub fn new() -> Sim {
        Sim {
            hall: Hall::new(small_hall()),
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

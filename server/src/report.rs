//! The day report: per clerk, window and service — tickets, waits (average,
//! p90), walk-up (call → start), service time, idle time, no-shows,
//! transfers, ratings, cards, overtime; and the day hour by hour. As JSON,
//! as CSV (UTF-8 with a BOM, so that Excel reads the Chinese), and as the
//! printable page `/manager/report`.

use crate::store::OnBreak;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use hallq_core::calendar::{self, Date, Day};
use hallq_core::{CardLevel, Millis, Ticket, TicketState};
use serde::Serialize;

use crate::dashboard::{avg_p90, service_s, wait_s};
use crate::views::Views;

#[derive(Debug, Clone, Serialize)]
pub struct DayReport {
    pub hall: String,
    pub name: String,
    /// `2026-11-28`.
    pub date: String,
    pub at_ms: Millis,
    pub totals: Row,
    pub by_clerk: Vec<Row>,
    pub by_window: Vec<Row>,
    pub by_service: Vec<Row>,
    pub hours: Vec<Hour>,
    /// Cases after the counter per department, as of the report (the
    /// cases in memory: open ones and those delivered in the last 92 days).
    pub cases: Vec<crate::cases::CaseFigures>,
}

/// One line of the report. Times in seconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    pub key: String,
    pub name: String,
    /// Issued (services) or called (clerks, windows).
    pub tickets: u32,
    pub served: u32,
    pub no_shows: u32,
    pub transfers: u32,
    pub avg_wait_s: Option<u32>,
    pub p90_wait_s: Option<u32>,
    /// Call → start: how long citizens take to come to the counter.
    pub avg_walkup_s: Option<u32>,
    pub avg_service_s: Option<u32>,
    pub service_s_total: u64,
    /// Open and not serving (clerks and windows).
    pub idle_s: Option<u64>,
    pub ratings: u32,
    pub avg_rating: Option<f64>,
    pub yellow_cards: u32,
    pub red_cards: u32,
    pub overtime_s: u64,
}

/// One hour of the day (local time).
#[derive(Debug, Clone, Serialize)]
pub struct Hour {
    pub hour: u32,
    pub issued: u32,
    pub called: u32,
    pub avg_wait_s: Option<u32>,
}

fn row(key: String, name: String, tickets: &[&Ticket]) -> Row {
    let waits: Vec<u32> = tickets.iter().filter_map(|t| wait_s(t)).collect();
    let walkups: Vec<u32> = tickets
        .iter()
        .filter_map(|t| match (t.called_ms, t.started_ms) {
            (Some(c), Some(s)) => Some(((s - c).max(0) / 1000) as u32),
            _ => None,
        })
        .collect();
    let services: Vec<u32> = tickets.iter().filter_map(|t| service_s(t)).collect();
    let ratings: Vec<u8> = tickets.iter().filter_map(|t| t.rating).collect();
    let (avg_wait_s, p90_wait_s) = avg_p90(waits);
    let level = |t: &Ticket| t.wait_card.max(t.service_card);
    Row {
        key,
        name,
        tickets: tickets.len() as u32,
        served: tickets
            .iter()
            .filter(|t| t.state == TicketState::Done)
            .count() as u32,
        no_shows: tickets
            .iter()
            .filter(|t| t.state == TicketState::NoShow || t.put_back)
            .count() as u32,
        transfers: tickets.iter().map(|t| t.transfers).sum(),
        avg_wait_s,
        p90_wait_s,
        avg_walkup_s: avg_p90(walkups).0,
        service_s_total: services.iter().map(|s| u64::from(*s)).sum(),
        avg_service_s: avg_p90(services).0,
        idle_s: None,
        ratings: ratings.len() as u32,
        avg_rating: (!ratings.is_empty())
            .then(|| ratings.iter().map(|r| f64::from(*r)).sum::<f64>() / ratings.len() as f64),
        yellow_cards: tickets
            .iter()
            .filter(|t| level(t) == Some(CardLevel::Yellow))
            .count() as u32,
        red_cards: tickets
            .iter()
            .filter(|t| level(t) == Some(CardLevel::Red))
            .count() as u32,
        overtime_s: tickets.iter().map(|t| u64::from(t.overtime_s)).sum(),
    }
}

/// The report of a day the hall no longer holds in memory (see
/// [`hallq_core::KEEP_DAYS`]): the log replayed, on a reader of its own,
/// up to the start of the next service day.
pub fn from_log(
    log: &crate::http::LogSource,
    config: hallq_core::HallConfig,
    day: Day,
) -> Result<DayReport, crate::store::StoreError> {
    let mut store = open_log(log, config.hall.id.as_str())?;
    let mut hall = hallq_core::Hall::new(config);
    let mut end = None;
    store.for_each_record(&mut |r| {
        if end.is_some() {
            return;
        }
        if matches!(r.event, hallq_core::Event::DayStarted { day: d } if d > day) {
            end = Some(r.at_ms);
            return;
        }
        hall.apply(&r);
    })?;
    let now = end.unwrap_or_else(|| hall.clock());
    Ok(Views { hall: &hall, now }.day_report(day))
}

/// A reader of the hall's log of its own (never the owner's); the owner
/// checked the chain when it started.
pub(crate) fn open_log(
    log: &crate::http::LogSource,
    hall: &str,
) -> Result<Box<dyn crate::store::EventStore>, crate::store::StoreError> {
    Ok(match log {
        crate::http::LogSource::Sqlite(path) => {
            Box::new(crate::store::SqliteStore::open(path)?.on_break(OnBreak::Skip))
        }
        crate::http::LogSource::Postgres(url) => {
            Box::new(crate::store_pg::PgStore::open(url, hall)?.on_break(OnBreak::Skip))
        }
    })
}

/// What the whole log says about the hall's work ([`hallq_core::learn`]),
/// weighed as of `today`: read on a reader of its own, off the owner.
pub fn learned(
    log: &crate::http::LogSource,
    config: &hallq_core::HallConfig,
    today: Day,
) -> Result<hallq_core::learn::Learned, crate::store::StoreError> {
    let mut store = open_log(log, config.hall.id.as_str())?;
    let mut learner = hallq_core::learn::Learner::new(config.hall.utc_offset_minutes, today);
    store.for_each_record(&mut |r| learner.record(&r))?;
    let services: Vec<hallq_core::Id> = config.services.iter().map(|s| s.id.clone()).collect();
    Ok(learner.finish(&services))
}

impl Views<'_> {
    /// The report of a service day the hall holds (the last
    /// [`hallq_core::KEEP_DAYS`]; older ones: [`from_log`]).
    pub fn day_report(&self, day: Day) -> DayReport {
        let cfg = self.hall.config();
        let offset = cfg.hall.utc_offset_minutes;
        let tickets: Vec<&Ticket> = self.hall.tickets().filter(|t| t.day == day).collect();
        let open = self.hall.open_time(day, self.now);
        let group = |key: &dyn Fn(&Ticket) -> Option<String>| {
            let mut m: BTreeMap<String, Vec<&Ticket>> = BTreeMap::new();
            for t in &tickets {
                if let Some(k) = key(t) {
                    m.entry(k).or_default().push(t);
                }
            }
            m
        };
        let idle = |open_ms: Millis, r: &Row| {
            Some(((open_ms / 1000).max(0) as u64).saturating_sub(r.service_s_total))
        };
        let by_clerk = group(&|t| t.called_ms.and(t.clerk.clone()))
            .into_iter()
            .map(|(clerk, ts)| {
                let mut r = row(clerk.clone(), clerk.clone(), &ts);
                let open_ms: Millis = open
                    .iter()
                    .filter(|((_, c), _)| c.as_deref() == Some(clerk.as_str()))
                    .map(|(_, ms)| *ms)
                    .sum();
                r.idle_s = idle(open_ms, &r);
                r
            })
            .collect();
        let by_window = cfg
            .windows
            .iter()
            .map(|w| {
                let ts: Vec<&Ticket> = tickets
                    .iter()
                    .copied()
                    .filter(|t| t.called_ms.is_some() && t.window.as_ref() == Some(&w.id))
                    .collect();
                let mut r = row(w.id.to_string(), w.name.clone(), &ts);
                let open_ms: Millis = open
                    .iter()
                    .filter(|((id, _), _)| *id == w.id)
                    .map(|(_, ms)| *ms)
                    .sum();
                r.idle_s = idle(open_ms, &r);
                r
            })
            .collect();
        let by_service = cfg
            .services
            .iter()
            .map(|s| {
                let ts: Vec<&Ticket> = tickets
                    .iter()
                    .copied()
                    .filter(|t| t.service == s.id)
                    .collect();
                row(s.id.to_string(), s.name.clone(), &ts)
            })
            .collect();
        let mut hours: BTreeMap<u32, (u32, Vec<u32>)> = BTreeMap::new();
        for t in &tickets {
            hours
                .entry(calendar::local(t.issued_ms, offset).1 / 60)
                .or_default()
                .0 += 1;
            if let (Some(c), Some(w)) = (t.called_ms, wait_s(t)) {
                hours
                    .entry(calendar::local(c, offset).1 / 60)
                    .or_default()
                    .1
                    .push(w);
            }
        }
        DayReport {
            hall: cfg.hall.id.to_string(),
            name: cfg.hall.name.clone(),
            date: Date(day).to_string(),
            at_ms: self.now,
            totals: row("total".into(), "合计 Total".into(), &tickets),
            by_clerk,
            by_window,
            by_service,
            hours: hours
                .into_iter()
                .map(|(hour, (issued, waits))| Hour {
                    hour,
                    issued,
                    called: waits.len() as u32,
                    avg_wait_s: avg_p90(waits).0,
                })
                .collect(),
            cases: self.case_report(),
        }
    }
}

/// The report as CSV: one table, a column saying which part a line is of.
pub fn to_csv(r: &DayReport) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(
        "部分 part,键 key,名称 name,号数 tickets,办结 served,未到 no-shows,转办 transfers,\
         平均等候秒 avg wait s,P90等候秒 p90 wait s,平均到窗秒 avg walk-up s,平均办理秒 avg service s,\
         办理总秒 service s total,空闲秒 idle s,评价数 ratings,平均评价 avg rating,黄牌 yellow,红牌 red,超时秒 overtime s\r\n",
    );
    let opt = |v: Option<u32>| v.map_or(String::new(), |v| v.to_string());
    let mut line = |part: &str, r: &Row| {
        let cells = [
            part.to_owned(),
            r.key.clone(),
            r.name.clone(),
            r.tickets.to_string(),
            r.served.to_string(),
            r.no_shows.to_string(),
            r.transfers.to_string(),
            opt(r.avg_wait_s),
            opt(r.p90_wait_s),
            opt(r.avg_walkup_s),
            opt(r.avg_service_s),
            r.service_s_total.to_string(),
            r.idle_s.map_or(String::new(), |v| v.to_string()),
            r.ratings.to_string(),
            r.avg_rating.map_or(String::new(), |v| format!("{v:.2}")),
            r.yellow_cards.to_string(),
            r.red_cards.to_string(),
            r.overtime_s.to_string(),
        ];
        let cells: Vec<String> = cells.into_iter().map(|c| csv_cell(&c)).collect();
        let _ = write!(out, "{}\r\n", cells.join(","));
    };
    line("total", &r.totals);
    for x in &r.by_clerk {
        line("clerk", x);
    }
    for x in &r.by_window {
        line("window", x);
    }
    for x in &r.by_service {
        line("service", x);
    }
    if !r.cases.is_empty() {
        out.push_str(
            "\r\n部分 part,部门 department,名称 name,受理 accepted,在办 open,办结 decided,\
             按时 on time,逾期 late,默许 deemed,按时率% on time %,平均工作日 avg days,黄牌在办 yellow open,红牌在办 red open\r\n",
        );
        for f in &r.cases {
            let cells = [
                "cases".to_owned(),
                f.department.clone().unwrap_or_default(),
                f.department_name.clone(),
                f.accepted.to_string(),
                f.open.to_string(),
                f.decided.to_string(),
                f.on_time.to_string(),
                f.late.to_string(),
                f.deemed.to_string(),
                f.on_time_percent
                    .map_or(String::new(), |v| format!("{v:.1}")),
                f.avg_days.map_or(String::new(), |v| format!("{v:.1}")),
                f.yellow_open.to_string(),
                f.red_open.to_string(),
            ];
            let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            let _ = write!(out, "{}\r\n", cells.join(","));
        }
    }
    out
}

/// A CSV cell: quoted when it holds a comma, quote or line break; a leading
/// `= + - @` is neutralised (a spreadsheet would run it as a formula).
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `YYYY-MM-DD` → the day.
pub fn parse_date(s: &str) -> Option<Day> {
    Date::try_from(s.to_owned()).ok().map(|d| d.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("-12"), "-12");
        assert_eq!(
            parse_date("2026-11-28").map(|d| Date(d).to_string()),
            Some("2026-11-28".into())
        );
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }
}

#[cfg(test)]
mod from_the_log {
    use super::*;
    use crate::store::{Batch, EventStore, SqliteStore};
    use hallq_core::{Command, DAY_MS, Hall, Id, KEEP_DAYS};

    /// Twenty days of five tickets each, served at window 1, in a log.
    fn twenty_days(path: &std::path::Path) -> (hallq_core::HallConfig, Hall, Vec<Day>) {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../halls/demo.toml");
        let mut cfg = crate::config::load_hall(&file).unwrap();
        cfg.hours = None;
        let mut hall = Hall::new(cfg.clone());
        let mut store = SqliteStore::open(path).unwrap();
        let (w, business) = (Id::parse("2").unwrap(), Id::parse("business").unwrap());
        let mut days = Vec::new();
        let mut now = 1_800_000_000_000 / DAY_MS * DAY_MS + 9 * 3_600_000;
        for d in 0..20 {
            now += DAY_MS;
            let mut records = hall.handle(now, Command::Tick).unwrap();
            let open = Command::Open {
                window: w.clone(),
                clerk: Some("li".into()),
            };
            records.extend(hall.handle(now, open).unwrap_or_default());
            for i in 0..5 {
                let t = now + i * 60_000;
                let issue = Command::IssueTicket {
                    service: business.clone(),
                    token: format!("t{d}-{i}"),
                    class: None,
                    citizen: None,
                };
                records.extend(hall.handle(t, issue).unwrap());
                for (k, cmd) in [
                    Command::CallNext {
                        window: w.clone(),
                        service: None,
                    },
                    Command::Start { window: w.clone() },
                    Command::Finish { window: w.clone() },
                ]
                .into_iter()
                .enumerate()
                {
                    records.extend(hall.handle(t + 1_000 * (k as i64 + 1), cmd).unwrap());
                }
            }
            days.push(hall.day().unwrap());
            store
                .append(&Batch {
                    records,
                    ..Batch::default()
                })
                .unwrap();
        }
        (cfg, hall, days)
    }

    #[test]
    fn finished_days_leave_memory_and_their_report_comes_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hall.db");
        let (cfg, hall, days) = twenty_days(&path);
        // Today and the KEEP_DAYS before it are in memory; the rest is not.
        assert_eq!(hall.tickets_in_memory(), 5 * (KEEP_DAYS as usize + 1));
        assert!(hall.ticket_by_token("t0-0").is_none());
        assert!(hall.ticket_by_token("t19-4").is_some());
        // The log rebuilds the same hall.
        let mut store = SqliteStore::open(&path).unwrap();
        let mut again = Hall::new(cfg.clone());
        store.for_each_record(&mut |r| again.apply(&r)).unwrap();
        assert_eq!(again, hall);

        let old = days[2];
        let now = hall.clock();
        let in_memory = Views { hall: &hall, now }.day_report(old);
        assert_eq!(
            in_memory.totals.tickets, 0,
            "day {old} is no longer in memory"
        );
        let log = crate::http::LogSource::Sqlite(path.clone());
        let from_log = from_log(&log, cfg, old).unwrap();
        assert_eq!(from_log.totals.tickets, 5);
        assert_eq!(from_log.totals.served, 5);
        assert_eq!(from_log.by_clerk.len(), 1);
        // A recent day reads the same from memory and from the log.
        let recent = days[18];
        let a = Views { hall: &hall, now }.day_report(recent);
        let b = super::from_log(&log, hall.config().clone(), recent).unwrap();
        assert_eq!(
            (a.totals.tickets, a.totals.served),
            (b.totals.tickets, b.totals.served)
        );
    }
}

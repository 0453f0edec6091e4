//! `hallq verify`: checks a hall's log against its hash chain and against
//! signed digests ([`crate::digest`]), and says what was changed, where,
//! and on which days — without writing anything.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hallq_core::calendar::Date;

use crate::chain::{self, Change, Row};
use crate::digest::Signed;
use crate::store::{EventStore, SqliteStore};

/// Where a digest came from.
#[derive(Debug, Clone)]
pub struct Given {
    pub from: String,
    pub signed: Signed,
}

/// What `hallq verify` found.
#[derive(Debug)]
pub struct Report {
    pub log: String,
    pub records: usize,
    pub first_seq: u64,
    pub last_seq: u64,
    /// Records chained when an older log was first opened by a hallq with
    /// the chain: (up to seq, at ms).
    pub sealed: Option<(u64, i64)>,
    pub changes: Vec<Change>,
    pub days: Vec<i64>,
    pub digests: Vec<(Given, Verdict)>,
    /// Whose key the digests were checked with.
    pub key: KeyUsed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUsed {
    /// The key given on the command line (the supervisor's copy).
    Given(String),
    /// Each digest's own key (no key given): proves little against someone
    /// who holds the signing key.
    Own,
}

/// What a digest says of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The log holds exactly what the digest signed.
    Matches,
    /// The signature does not hold: the digest itself is not genuine.
    BadSignature(String),
    /// A digest of another hall.
    OtherHall(String),
    /// The log ends before the digest's last record.
    Truncated { log_ends: u64 },
    /// The chain's hash after the digest's last record is not the one
    /// signed: what it covers was changed (rewritten, hashes and all, if
    /// the chain itself is whole).
    Differs {
        chain_whole: bool,
        /// Event types whose count differs: (type, signed, now).
        counts: Vec<(String, u64, u64)>,
    },
    /// The head is as signed, but the chain breaks inside the digest's
    /// range (see the changes).
    BrokenInside,
    /// Records dated the digest's (finished) day come after its last one.
    AddedAfter { from: u64, to: u64 },
}

impl Report {
    pub fn clean(&self) -> bool {
        self.changes.is_empty() && self.digests.iter().all(|(_, v)| *v == Verdict::Matches)
    }
}

/// The log file of a data folder: `DIR/hall.db`, or `DIR/{hall}/hall.db`
/// (several halls), or the file itself.
pub fn log_file(data: &Path, hall: Option<&str>) -> anyhow::Result<PathBuf> {
    if data.is_file() {
        return Ok(data.to_owned());
    }
    if let Some(h) = hall {
        let p = data.join(h).join("hall.db");
        if p.is_file() {
            return Ok(p);
        }
    }
    let p = data.join("hall.db");
    if p.is_file() {
        return Ok(p);
    }
    let halls: Vec<String> = std::fs::read_dir(data)
        .with_context(|| format!("data folder {}", data.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("hall.db").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    match (halls.as_slice(), hall) {
        ([one], None) => Ok(data.join(one).join("hall.db")),
        ([], _) => anyhow::bail!("no hall.db in {}", data.display()),
        (_, Some(h)) => anyhow::bail!(
            "no log of hall {h} in {}; it holds: {}",
            data.display(),
            halls.join(", ")
        ),
        (_, None) => anyhow::bail!(
            "{} holds several halls' logs ({}): name one with --hall",
            data.display(),
            halls.join(", ")
        ),
    }
}

/// Reads a digest file: one signed digest, or a list of them (as
/// `GET …/digests` gives).
pub fn read_digests(path: &Path) -> anyhow::Result<Vec<Given>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("digest {}", path.display()))?;
    let from = path.display().to_string();
    let list: Vec<Signed> = match serde_json::from_str::<Signed>(&text) {
        Ok(one) => vec![one],
        Err(_) => serde_json::from_str(&text)
            .with_context(|| format!("{from} is neither a signed digest nor a list of them"))?,
    };
    Ok(list
        .into_iter()
        .map(|signed| Given {
            from: from.clone(),
            signed,
        })
        .collect())
}

/// Checks an SQLite log (opened read-only).
pub fn verify_file(
    path: &Path,
    hall: Option<&str>,
    given: Vec<Given>,
    key: Option<&str>,
) -> anyhow::Result<Report> {
    let mut store = SqliteStore::open_read_only(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    anyhow::ensure!(
        store.chained()?,
        "{} was written before hallq chained its records, and no hallq with the chain has \
         opened it since: there is nothing to check it against",
        path.display()
    );
    let sealed = store.sealed()?;
    let mut report = verify(&mut store, (path.display().to_string(), hall), given, key)?;
    report.sealed = sealed;
    Ok(report)
}

/// Where the digests kept in the log's own database come from.
const KEPT: &str = "kept in the log's database";

/// Checks a log against its chain, the digests given and those kept in it.
pub fn verify(
    store: &mut dyn EventStore,
    (log, hall): (String, Option<&str>),
    mut given: Vec<Given>,
    key: Option<&str>,
) -> anyhow::Result<Report> {
    let key_bytes = match key {
        Some(k) => Some(chain::unhex(k).filter(|b| b.len() == 32).context(
            "--public-key must be the 64 hex digits of an Ed25519 public key (sign.pub)",
        )?),
        None => None,
    };
    let mut rows = Vec::new();
    let mut day = None;
    store.raw_rows(0, &mut |r| {
        let row = Row::read(r.seq, r.at_ms, r.body, r.hash, day);
        day = row.day;
        rows.push(row);
        Ok(())
    })?;
    for (k, s) in store.digests()?.iter().enumerate() {
        match serde_json::from_str::<Signed>(s) {
            Ok(signed) => given.push(Given {
                from: KEPT.into(),
                signed,
            }),
            Err(e) => tracing::warn!(n = k, error = %e, "a digest kept in the log cannot be read"),
        }
    }
    let changes = chain::analyse(&rows);
    let days = chain::days_touched(&rows, &changes);
    // The hall: as named, or as its own kept digests say.
    let hall = hall.map(str::to_owned).or_else(|| {
        given
            .iter()
            .find(|g| g.from == KEPT)
            .map(|g| g.signed.digest.hall.clone())
    });
    let digests = given
        .into_iter()
        .map(|g| {
            let v = match &hall {
                Some(h) if *h != g.signed.digest.hall => {
                    Verdict::OtherHall(g.signed.digest.hall.clone())
                }
                _ => check(&rows, &changes, &g.signed, key_bytes.as_deref()),
            };
            (g, v)
        })
        .collect();
    Ok(Report {
        log,
        records: rows.len(),
        first_seq: rows.first().map_or(0, |r| r.seq),
        last_seq: rows.last().map_or(0, |r| r.seq),
        sealed: None,
        changes,
        days,
        digests,
        key: match key {
            Some(k) => KeyUsed::Given(k.to_owned()),
            None => KeyUsed::Own,
        },
    })
}

/// What one digest says of the log.
fn check(rows: &[Row], changes: &[Change], s: &Signed, key: Option<&[u8]>) -> Verdict {
    if let Err(e) = s.check(key) {
        return Verdict::BadSignature(e);
    }
    let d = &s.digest;
    let log_ends = rows.last().map_or(0, |r| r.seq);
    let Ok(at) = rows.binary_search_by_key(&d.last_seq, |r| r.seq) else {
        return if log_ends < d.last_seq {
            Verdict::Truncated { log_ends }
        } else {
            Verdict::Differs {
                chain_whole: changes.is_empty(),
                counts: recount(rows, s),
            }
        };
    };
    if rows[at].stored.map(|h| chain::hex(&h)) != Some(d.head.clone()) {
        let chain_whole = !changes.iter().any(|c| c.first_seq() <= d.last_seq);
        return Verdict::Differs {
            chain_whole,
            counts: recount(rows, s),
        };
    }
    if changes.iter().any(|c| {
        c.seqs()
            .iter()
            .any(|&q| q >= d.first_seq && q <= d.last_seq)
    }) {
        return Verdict::BrokenInside;
    }
    if d.complete
        && let Ok(day) = Date::try_from(d.day.clone())
    {
        let late: Vec<u64> = rows[at + 1..]
            .iter()
            .take_while(|r| r.day == Some(day.0))
            .map(|r| r.seq)
            .collect();
        if let (Some(&from), Some(&to)) = (late.first(), late.last()) {
            return Verdict::AddedAfter { from, to };
        }
    }
    Verdict::Matches
}

/// The event types whose count in the digest's range differs from what it
/// signed.
fn recount(rows: &[Row], s: &Signed) -> Vec<(String, u64, u64)> {
    let d = &s.digest;
    let mut now = std::collections::BTreeMap::<String, u64>::new();
    for r in rows
        .iter()
        .filter(|r| r.seq >= d.first_seq && r.seq <= d.last_seq)
    {
        *now.entry(r.kind.clone()).or_default() += 1;
    }
    let mut kinds: Vec<&String> = d.counts.keys().chain(now.keys()).collect();
    kinds.sort();
    kinds.dedup();
    kinds
        .into_iter()
        .filter_map(|k| {
            let (a, b) = (
                d.counts.get(k).copied().unwrap_or(0),
                now.get(k).copied().unwrap_or(0),
            );
            (a != b).then(|| (k.clone(), a, b))
        })
        .collect()
}

fn day(d: i64) -> String {
    Date(d).to_string()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "log: {}", self.log)?;
        writeln!(
            f,
            "records: {} (seq {}–{})",
            self.records, self.first_seq, self.last_seq
        )?;
        if let Some((seq, at)) = self.sealed {
            writeln!(
                f,
                "note: records 1–{seq} were written before hallq chained its records; they were \
                 chained as they stood on {} (UTC): the chain vouches for them from then on only",
                Date(at.div_euclid(hallq_core::DAY_MS))
            )?;
        }
        if self.changes.is_empty() {
            writeln!(
                f,
                "chain: whole — every record is as it was written (链完整)"
            )?;
        } else {
            writeln!(
                f,
                "chain: BROKEN — {} change(s) found (日志被篡改):",
                self.changes.len()
            )?;
            for c in &self.changes {
                writeln!(f, "  [{}] from record {}: {c}", c.kind(), c.first_seq())?;
            }
            let days: Vec<String> = self.days.iter().map(|&d| day(d)).collect();
            writeln!(f, "days affected: {}", days.join(", "))?;
        }
        match &self.key {
            KeyUsed::Given(k) => writeln!(f, "digests checked with the key given ({k})")?,
            KeyUsed::Own if !self.digests.is_empty() => writeln!(
                f,
                "digests checked with their own keys (no --public-key given: this proves \
                 nothing against someone who holds the hall's signing key)"
            )?,
            KeyUsed::Own => {}
        }
        for (g, v) in &self.digests {
            let d = &g.signed.digest;
            let what = match v {
                Verdict::Matches => "matches: the log holds what was signed".to_owned(),
                Verdict::BadSignature(e) => format!("NOT GENUINE: {e}"),
                Verdict::OtherHall(h) => format!("a digest of hall {h}, not this one"),
                Verdict::Truncated { log_ends } => format!(
                    "DELETED: the log ends at record {log_ends}, the digest signed records up to {}",
                    d.last_seq
                ),
                Verdict::Differs { chain_whole, counts } => {
                    let mut s = format!(
                        "CHANGED: record {} is not what was signed{}",
                        d.last_seq,
                        if *chain_whole {
                            " although the chain is whole: the log was rewritten with its hashes recomputed"
                        } else {
                            ""
                        }
                    );
                    for (k, a, b) in counts {
                        s.push_str(&format!("; {k}: {a} signed, {b} now"));
                    }
                    s
                }
                Verdict::BrokenInside => {
                    "CHANGED: its last record is as signed, but records it covers were changed (above)"
                        .to_owned()
                }
                Verdict::AddedAfter { from, to } => format!(
                    "INSERTED: records {from}–{to} are dated {} but come after the day's digest was signed",
                    d.day
                ),
            };
            writeln!(
                f,
                "digest {} (records {}–{}, {}{}): {what}",
                d.day,
                d.first_seq,
                d.last_seq,
                g.from,
                if d.complete { "" } else { ", day not over" }
            )?;
        }
        // A rewrite the chain cannot see: the first digest that differs
        // bounds where it is.
        if let Some((g, _)) = self
            .digests
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Differs { .. } | Verdict::Truncated { .. }))
            .min_by_key(|(g, _)| g.signed.digest.last_seq)
        {
            let d = &g.signed.digest;
            writeln!(
                f,
                "changed at or before record {} (the earliest digest that no longer matches, {}); \
                 the digests before it still match",
                d.last_seq, d.day
            )?;
        }
        let untrusted = self
            .digests
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::BadSignature(_) | Verdict::OtherHall(_)))
            .count();
        let log_changed = !self.changes.is_empty()
            || self.digests.iter().any(|(_, v)| {
                !matches!(
                    v,
                    Verdict::Matches | Verdict::BadSignature(_) | Verdict::OtherHall(_)
                )
            });
        if log_changed {
            writeln!(f, "result: CHANGED (发现篡改)")
        } else if untrusted > 0 {
            writeln!(
                f,
                "result: the log is unchanged, but {untrusted} digest(s) given are not genuine \
                 or not this hall's (摘要不可信)"
            )
        } else {
            writeln!(f, "result: unchanged (未发现篡改)")
        }
    }
}

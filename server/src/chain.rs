//! The event log's hash chain: evidence for supervision (电子监察) that
//! nobody — including whoever holds the database file — changed or deleted
//! a record afterwards without leaving a trace.
//!
//! Every stored record carries
//!
//! ```text
//! hash(n) = SHA-256( "hallq-log-v1" ‖ hash(n−1) ‖ seq as 8 bytes big-endian
//!                    ‖ at_ms as 8 bytes big-endian ‖ SHA-256(body) )
//! hash(0) = 32 zero bytes
//! ```
//!
//! where `body` is the record's JSON exactly as stored. It is computed when
//! the record is appended, inside the same commit. The chain alone shows an
//! edit, a deletion, an insertion or a swap by someone who does not bother
//! to recompute the hashes after it; someone who does (the formula is no
//! secret) is caught by the signed daily digests ([`crate::digest`]) kept
//! elsewhere.
//!
//! [`Follower`] checks a log as it is read (every replay at start);
//! [`analyse`] names what changed, for `hallq verify`.

use std::collections::BTreeMap;
use std::fmt;

use ring::digest::{Context, SHA256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// What the first record chains on.
pub const GENESIS: Hash = [0; 32];

/// SHA-256 of a record's stored body.
pub fn body_hash(body: &str) -> Hash {
    sha256(body.as_bytes())
}

fn sha256(bytes: &[u8]) -> Hash {
    ring::digest::digest(&SHA256, bytes)
        .as_ref()
        .try_into()
        .expect("SHA-256 is 32 bytes")
}

/// The hash of a record that follows `prev`.
pub fn link(prev: &Hash, seq: u64, at_ms: i64, body: &str) -> Hash {
    link_body(prev, seq, at_ms, &body_hash(body))
}

/// [`link`], with the body already hashed.
pub fn link_body(prev: &Hash, seq: u64, at_ms: i64, body: &Hash) -> Hash {
    let mut c = Context::new(&SHA256);
    c.update(b"hallq-log-v1");
    c.update(prev);
    c.update(&seq.to_be_bytes());
    c.update(&at_ms.to_be_bytes());
    c.update(body);
    c.finish().as_ref().try_into().expect("SHA-256 is 32 bytes")
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Parses hex (either case); `None` unless it is whole bytes of hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where a log read in seq order stops following its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// Records `from..=to` are not there: the next stored one is `to + 1`.
    Missing { from: u64, to: u64 },
    /// The record has no hash: it was written around the server.
    NoHash { seq: u64 },
    /// The record's content, or the one before it, is not what was hashed.
    Mismatch { seq: u64 },
    /// The chain holds, but the record's hash is not the one a day's digest
    /// kept in the log signed: the log up to it was rewritten, hashes and
    /// all.
    Rewritten { seq: u64 },
}

impl Break {
    /// The first seq concerned.
    pub fn seq(&self) -> u64 {
        match self {
            Break::Missing { from, .. } => *from,
            Break::NoHash { seq } | Break::Mismatch { seq } | Break::Rewritten { seq } => *seq,
        }
    }
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Break::Missing { from, to } if from == to => write!(f, "record {from} is missing"),
            Break::Missing { from, to } => write!(f, "records {from}–{to} are missing"),
            Break::NoHash { seq } => write!(f, "record {seq} has no hash"),
            Break::Mismatch { seq } => write!(
                f,
                "record {seq} does not match its hash (it, or the record before it, was changed)"
            ),
            Break::Rewritten { seq } => write!(
                f,
                "record {seq} is not what the day's digest signed: the log up to it was rewritten, its hashes recomputed"
            ),
        }
    }
}

/// Follows a log's chain record by record, as it is read.
#[derive(Debug, Clone)]
pub struct Follower {
    seq: u64,
    head: Hash,
}

impl Default for Follower {
    fn default() -> Self {
        Follower::after(0, GENESIS)
    }
}

impl Follower {
    /// Follows on from record `seq` whose hash is `head` (0 and
    /// [`GENESIS`] for a whole log).
    pub fn after(seq: u64, head: Hash) -> Follower {
        Follower { seq, head }
    }

    /// Checks the next stored record. After a break it follows on from what
    /// is stored, so each change is reported once.
    pub fn next(
        &mut self,
        seq: u64,
        at_ms: i64,
        body: &str,
        hash: Option<&[u8]>,
    ) -> Result<(), Break> {
        let stored: Option<Hash> = hash.and_then(|h| h.try_into().ok());
        let computed = link(&self.head, seq, at_ms, body);
        let result = if seq != self.seq + 1 {
            Err(Break::Missing {
                from: self.seq + 1,
                to: seq.saturating_sub(1),
            })
        } else {
            match stored {
                None => Err(Break::NoHash { seq }),
                Some(h) if h != computed => Err(Break::Mismatch { seq }),
                Some(_) => Ok(()),
            }
        };
        self.seq = seq;
        self.head = stored.unwrap_or(computed);
        result
    }

    /// The last record followed and its hash.
    pub fn head(&self) -> (u64, Hash) {
        (self.seq, self.head)
    }
}

/// A stored record as `hallq verify` looks at it.
#[derive(Debug, Clone)]
pub struct Row {
    pub seq: u64,
    pub at_ms: i64,
    pub body: Hash,
    pub stored: Option<Hash>,
    /// The event's `type`.
    pub kind: String,
    /// The hall's day the record belongs to (its last `day_started`).
    pub day: Option<i64>,
}

impl Row {
    /// Reads a stored record; `day` is the day of the records before it.
    pub fn read(seq: u64, at_ms: i64, body: &str, hash: Option<&[u8]>, day: Option<i64>) -> Row {
        let (kind, started) = kind_of(body);
        Row {
            seq,
            at_ms,
            body: body_hash(body),
            stored: hash.and_then(|h| h.try_into().ok()),
            kind,
            day: started.or(day),
        }
    }

    fn fits(&self, prev: &Hash, seq: u64, hash: &Hash) -> bool {
        link_body(prev, seq, self.at_ms, &self.body) == *hash
    }
}

/// An event's `type`, and its day if it starts one (`day_started`).
pub fn kind_of(body: &str) -> (String, Option<i64>) {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "type")]
        kind: String,
        day: Option<i64>,
    }
    match serde_json::from_str::<Head>(body) {
        Ok(h) => {
            let day = (h.kind == "day_started").then_some(h.day).flatten();
            (h.kind, day)
        }
        Err(_) => ("unreadable".into(), None),
    }
}

/// What `hallq verify` found changed in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The record's content was changed and its hash left as it was — or
    /// (the chain cannot tell which) the record before it was changed with
    /// its hash recomputed.
    Edited { seq: u64 },
    /// The record's content and its hash were both changed.
    EditedAndHash { seq: u64 },
    /// Records `from..=to` were deleted (a gap in the numbers).
    Deleted { from: u64, to: u64 },
    /// `count` records were deleted just before the record stored as
    /// `before`, and the later records renumbered to close the gap.
    DeletedRenumbered { before: u64, count: u64 },
    /// `count` records were inserted from `seq` on, the later records
    /// renumbered to make room.
    Inserted { seq: u64, count: u64 },
    /// A record stored without a hash (written around the server).
    NoHash { seq: u64 },
    /// The records stored as `a` and `b` belong at each other's place.
    Reordered { a: u64, b: u64 },
    /// The last record does not match its hash: it was edited, or added
    /// afterwards with a made-up hash.
    LastChanged { seq: u64 },
}

impl Change {
    /// The seqs concerned, as stored (a deletion: its neighbours').
    pub fn seqs(&self) -> Vec<u64> {
        match *self {
            Change::Edited { seq } => vec![seq.saturating_sub(1), seq],
            Change::EditedAndHash { seq }
            | Change::NoHash { seq }
            | Change::LastChanged { seq } => {
                vec![seq]
            }
            Change::Deleted { from, to } => vec![from.saturating_sub(1), to + 1],
            Change::DeletedRenumbered { before, .. } => vec![before.saturating_sub(1), before],
            Change::Inserted { seq, count } => (seq..seq + count).collect(),
            Change::Reordered { a, b } => vec![a, b],
        }
    }

    /// The first record that differs from what was written.
    pub fn first_seq(&self) -> u64 {
        match *self {
            Change::Edited { seq }
            | Change::EditedAndHash { seq }
            | Change::NoHash { seq }
            | Change::LastChanged { seq }
            | Change::Inserted { seq, .. } => seq,
            Change::Deleted { from, .. } => from,
            Change::DeletedRenumbered { before, .. } => before,
            Change::Reordered { a, b } => a.min(b),
        }
    }

    /// One word for scripts: edited, deleted, inserted or reordered.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Edited { .. } | Change::EditedAndHash { .. } | Change::LastChanged { .. } => {
                "edited"
            }
            Change::Deleted { .. } | Change::DeletedRenumbered { .. } => "deleted",
            Change::Inserted { .. } | Change::NoHash { .. } => "inserted",
            Change::Reordered { .. } => "reordered",
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Change::Edited { seq } => write!(
                f,
                "edited: record {seq} is not what was written (or record {} was, with its hash recomputed)",
                seq.saturating_sub(1)
            ),
            Change::EditedAndHash { seq } => {
                write!(f, "edited: record {seq} and its hash were both changed")
            }
            Change::Deleted { from, to } if from == to => {
                write!(f, "deleted: record {from} is missing")
            }
            Change::Deleted { from, to } => write!(
                f,
                "deleted: records {from}–{to} are missing ({} records)",
                to - from + 1
            ),
            Change::DeletedRenumbered { before, count } => write!(
                f,
                "deleted: {count} record(s) before the one now numbered {before}, \
                 the later records renumbered to hide the gap"
            ),
            Change::Inserted { seq, count } => write!(
                f,
                "inserted: {count} record(s) at {seq}, the later records renumbered to make room"
            ),
            Change::NoHash { seq } => write!(
                f,
                "inserted: record {seq} has no hash (written around the server)"
            ),
            Change::Reordered { a, b } => {
                write!(
                    f,
                    "reordered: records {a} and {b} are in each other's place"
                )
            }
            Change::LastChanged { seq } => write!(
                f,
                "edited: the last record, {seq}, does not match its hash \
                 (edited, or added afterwards)"
            ),
        }
    }
}

/// How far back [`analyse`] looks for a hash to pick the chain up on
/// after a change it named.
const BACK: usize = 16;
/// How far around a break [`analyse`] looks for a record's true place.
const NEAR: usize = 64;
/// The most records one insertion or renumbered deletion may span to be
/// named as such.
const SPAN: u64 = 1000;

/// A row [`analyse`] has already accounted for.
#[derive(Debug, Clone, Copy)]
enum Known {
    /// Taken as it is stored.
    AsStored,
    /// Holds the content of this other row (a swap).
    HoldsContentOf(usize),
}

/// Names the changes in a log read whole, in stored seq order.
pub fn analyse(rows: &[Row]) -> Vec<Change> {
    let mut out = Vec::new();
    let mut prev = GENESIS;
    // Original seq = stored seq + shift (after renumbering).
    let mut shift: i64 = 0;
    let mut expect: u64 = 1;
    let mut known: BTreeMap<usize, Known> = BTreeMap::new();
    let mut i = 0;
    while i < rows.len() {
        let r = &rows[i];
        let orig = (r.seq as i64 + shift).max(0) as u64;
        match known.remove(&i) {
            Some(Known::AsStored) => {
                prev = r.stored.unwrap_or(prev);
                expect = orig + 1;
                i += 1;
                continue;
            }
            Some(Known::HoldsContentOf(other)) => {
                let o = &rows[other];
                prev = link_body(&prev, orig, o.at_ms, &o.body);
                expect = orig + 1;
                i += 1;
                continue;
            }
            None => {}
        }
        let Some(stored) = r.stored else {
            out.push(Change::NoHash { seq: r.seq });
            match rows.get(i + 1) {
                // Inserted, the later records renumbered.
                Some(n)
                    if n.stored.is_some_and(|h| {
                        n.fits(&prev, (n.seq as i64 + shift - 1).max(0) as u64, &h)
                    }) =>
                {
                    shift -= 1
                }
                // A record whose hash was wiped: the next is taken as it is.
                Some(_) => {
                    known.insert(i + 1, Known::AsStored);
                    expect = orig + 1;
                }
                None => {}
            }
            i += 1;
            continue;
        };
        if orig == expect && r.fits(&prev, orig, &stored) {
            prev = stored;
            expect = orig + 1;
            i += 1;
            continue;
        }
        if orig > expect {
            out.push(Change::Deleted {
                from: (expect as i64 - shift).max(1) as u64,
                to: r.seq - 1,
            });
            prev = stored;
            expect = orig + 1;
            i += 1;
            continue;
        }
        // After a change already named, the chain may pick up on a hash
        // stored a little further back.
        let back = i.saturating_sub(BACK)..i.saturating_sub(1);
        if rows[back]
            .iter()
            .any(|b| b.stored.is_some_and(|h| r.fits(&h, orig, &stored)))
        {
            prev = stored;
            expect = orig + 1;
            i += 1;
            continue;
        }
        // Inserted with a hash made to fit, the later records renumbered:
        // this record chains on one further back under a smaller number.
        let late = (1..=(i as u64).min(SPAN)).find(|&k| {
            let before = i - k as usize;
            let p = if before == 0 {
                Some(GENESIS)
            } else {
                rows[before - 1].stored
            };
            p.is_some_and(|p| r.fits(&p, orig.saturating_sub(k), &stored))
        });
        if let Some(k) = late {
            out.push(Change::Inserted {
                seq: rows[i - k as usize].seq,
                count: k,
            });
            shift -= k as i64;
            prev = stored;
            expect = orig - k + 1;
            i += 1;
            continue;
        }
        if let Some(j) = true_place(rows, i, prev, shift) {
            out.push(Change::Reordered {
                a: r.seq.min(rows[j].seq),
                b: r.seq.max(rows[j].seq),
            });
            known.insert(j, Known::HoldsContentOf(i));
            // This place's true hash: the partner's content, chained here.
            let o = &rows[j];
            prev = link_body(&prev, orig, o.at_ms, &o.body);
            expect = orig + 1;
            i += 1;
            continue;
        }
        // Inserted, the later records renumbered: a record further on
        // chains on `prev` under a smaller number.
        let inserted = (1..=SPAN).find(|&k| {
            rows.get(i + k as usize).is_some_and(|n| {
                n.stored.is_some_and(|h| {
                    n.fits(&prev, (n.seq as i64 + shift - k as i64).max(0) as u64, &h)
                })
            })
        });
        if let Some(k) = inserted {
            out.push(Change::Inserted {
                seq: r.seq,
                count: k,
            });
            shift -= k as i64;
            i += k as usize;
            continue;
        }
        let next = rows.get(i + 1);
        // Deleted, the later records renumbered: the next record chains on
        // this one under a larger number.
        let deleted = next.and_then(|n| {
            let h = n.stored?;
            let at = (n.seq as i64 + shift).max(0) as u64;
            (1..=SPAN).find(|&k| n.fits(&stored, at + k, &h))
        });
        if let Some(k) = deleted {
            out.push(Change::DeletedRenumbered {
                before: r.seq,
                count: k,
            });
            shift += k as i64;
            prev = stored;
            expect = orig + k + 1;
            i += 1;
            continue;
        }
        match next {
            None => out.push(Change::LastChanged { seq: r.seq }),
            Some(n) if n.stored.is_some_and(|h| n.fits(&stored, orig + 1, &h)) => {
                out.push(Change::Edited { seq: r.seq })
            }
            Some(_) => {
                // Neither this record nor the link to the next holds: its
                // hash was changed too. The next record is taken as it is.
                out.push(Change::EditedAndHash { seq: r.seq });
                known.insert(i + 1, Known::AsStored);
            }
        }
        prev = stored;
        expect = orig + 1;
        i += 1;
    }
    out
}

/// Whether row `i`'s content belongs at another place nearby (a swap,
/// with or without the hashes): the index of that place.
fn true_place(rows: &[Row], i: usize, prev: Hash, shift: i64) -> Option<usize> {
    let r = &rows[i];
    let own = r.stored?;
    let lo = i.saturating_sub(NEAR);
    let hi = (i + NEAR + 1).min(rows.len());
    (lo..hi).filter(|&j| j != i).find(|&j| {
        let seq = (rows[j].seq as i64 + shift).max(0) as u64;
        let at_j = rows[j].stored;
        // Where the hash of the record before place j may be now: where it
        // was, moved into place j (an adjacent swap of whole rows), or the
        // chain's head here.
        let before_j = if j == 0 {
            Some(GENESIS)
        } else {
            rows[j - 1].stored
        };
        [before_j, at_j, Some(prev)].into_iter().flatten().any(|p| {
            let h = link_body(&p, seq, r.at_ms, &r.body);
            h == own || Some(h) == at_j
        })
    })
}

/// The days a list of changes touches, from the rows' days.
pub fn days_touched(rows: &[Row], changes: &[Change]) -> Vec<i64> {
    let by_seq: BTreeMap<u64, Option<i64>> = rows.iter().map(|r| (r.seq, r.day)).collect();
    let mut days: Vec<i64> = changes
        .iter()
        .flat_map(Change::seqs)
        .filter_map(|s| by_seq.range(..=s).next_back().and_then(|(_, d)| *d))
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chained log of `n` records, as the server writes it.
    fn log(n: u64) -> Vec<(u64, i64, String, Hash)> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let body = if seq % 10 == 1 {
                    format!(r#"{{"type":"day_started","day":{}}}"#, 20_000 + seq / 10)
                } else {
                    format!(r#"{{"type":"ticket_issued","n":{seq}}}"#)
                };
                let at = seq as i64 * 1000;
                prev = link(&prev, seq, at, &body);
                (seq, at, body, prev)
            })
            .collect()
    }

    fn rows(log: &[(u64, i64, String, Hash)]) -> Vec<Row> {
        let mut day = None;
        log.iter()
            .map(|(s, a, b, h)| {
                let r = Row::read(*s, *a, b, Some(h), day);
                day = r.day;
                r
            })
            .collect()
    }

    #[test]
    fn a_whole_log_follows_and_analyses_clean() {
        let l = log(50);
        let mut f = Follower::default();
        for (s, a, b, h) in &l {
            f.next(*s, *a, b, Some(h)).unwrap();
        }
        assert_eq!(f.head(), (50, l[49].3));
        assert!(analyse(&rows(&l)).is_empty());
    }

    #[test]
    fn an_edit_is_named_and_dated() {
        let mut l = log(50);
        l[24].2 = l[24].2.replace("25", "26");
        let r = rows(&l);
        let c = analyse(&r);
        assert_eq!(c, vec![Change::Edited { seq: 25 }]);
        assert_eq!(days_touched(&r, &c), vec![20_002]);
        let mut f = Follower::default();
        let breaks: Vec<_> = l
            .iter()
            .filter_map(|(s, a, b, h)| f.next(*s, *a, b, Some(h)).err())
            .collect();
        assert_eq!(breaks, vec![Break::Mismatch { seq: 25 }]);
    }

    #[test]
    fn an_edit_with_a_garbage_hash_is_one_change() {
        let mut l = log(50);
        l[24].2 = l[24].2.replace("25", "26");
        l[24].3 = [7; 32];
        assert_eq!(analyse(&rows(&l)), vec![Change::EditedAndHash { seq: 25 }]);
    }

    #[test]
    fn an_edit_with_the_hash_recomputed_breaks_at_the_next_record() {
        let mut l = log(50);
        l[24].2 = l[24].2.replace("25", "26");
        l[24].3 = link(&l[23].3, 25, l[24].1, &l[24].2);
        assert_eq!(analyse(&rows(&l)), vec![Change::Edited { seq: 26 }]);
    }

    #[test]
    fn deletions_are_named_with_and_without_renumbering() {
        let mut l = log(50);
        l.drain(19..22); // seq 20, 21, 22
        assert_eq!(
            analyse(&rows(&l)),
            vec![Change::Deleted { from: 20, to: 22 }]
        );
        for (k, row) in l.iter_mut().enumerate().skip(19) {
            row.0 = k as u64 + 1;
        }
        assert_eq!(
            analyse(&rows(&l)),
            vec![Change::DeletedRenumbered {
                before: 20,
                count: 3
            }]
        );
    }

    #[test]
    fn insertions_are_named() {
        let mut l = log(50);
        // Made to look right: chained on its predecessor.
        let body = r#"{"type":"ticket_issued","n":999}"#.to_owned();
        let h = link(&l[29].3, 31, 30_500, &body);
        l.insert(30, (31, 30_500, body, h));
        for row in l.iter_mut().skip(31) {
            row.0 += 1;
        }
        assert_eq!(
            analyse(&rows(&l)),
            vec![Change::Inserted { seq: 31, count: 1 }]
        );
        // Added at the end with no hash.
        let mut l = log(50);
        l.push((51, 51_000, "{}".into(), GENESIS));
        let mut r = rows(&l);
        r[50].stored = None;
        assert_eq!(analyse(&r), vec![Change::NoHash { seq: 51 }]);
    }

    #[test]
    fn swaps_are_named_with_and_without_their_hashes() {
        for (a, b) in [(10, 30), (20, 21)] {
            // Contents swapped, hashes where they were.
            let mut l = log(50);
            let (x, y) = (l[a - 1].clone(), l[b - 1].clone());
            (l[a - 1].1, l[a - 1].2) = (y.1, y.2.clone());
            (l[b - 1].1, l[b - 1].2) = (x.1, x.2.clone());
            assert_eq!(
                analyse(&rows(&l)),
                vec![Change::Reordered {
                    a: a as u64,
                    b: b as u64
                }],
                "contents of {a} and {b}"
            );
            // Whole rows swapped, their numbers kept.
            let mut l = log(50);
            l.swap(a - 1, b - 1);
            (l[a - 1].0, l[b - 1].0) = (a as u64, b as u64);
            assert_eq!(
                analyse(&rows(&l)),
                vec![Change::Reordered {
                    a: a as u64,
                    b: b as u64
                }],
                "rows {a} and {b}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever single change is made to a log of any length — an
        /// edit, a deletion, a swap, with or without renumbering — the
        /// replay stops at it and the analysis names at least one change.
        #[test]
        fn any_single_change_is_seen(n in 3u64..120, at in 0usize..1000, other in 0usize..1000, how in 0u8..5) {
            let mut l = log(n);
            let at = at % l.len();
            let other = other % l.len();
            match how {
                0 => l[at].2.push(' '),
                1 => { l.remove(at); }
                2 => {
                    l.remove(at);
                    for (k, row) in l.iter_mut().enumerate() {
                        row.0 = k as u64 + 1;
                    }
                }
                3 if at != other && l[at].2 != l[other].2 => {
                    let (x, y) = (l[at].clone(), l[other].clone());
                    (l[at].1, l[at].2) = (y.1, y.2);
                    (l[other].1, l[other].2) = (x.1, x.2);
                }
                _ => l[at].1 += 1,
            }
            let untouched = log(n);
            // A deleted last record leaves a whole (shorter) chain: only a
            // digest shows that.
            let tail_cut = matches!(how, 1 | 2) && at == untouched.len() - 1;
            let changed = l != untouched && !tail_cut;
            let mut f = Follower::default();
            let breaks = l.iter().filter(|(s, a, b, h)| f.next(*s, *a, b, Some(h)).is_err()).count();
            let found = analyse(&rows(&l));
            proptest::prop_assert_eq!(breaks > 0, changed);
            proptest::prop_assert_eq!(!found.is_empty(), changed, "{:?}", found);
        }
    }

    #[test]
    fn a_changed_last_record_and_hex() {
        let mut l = log(20);
        l[19].2.push(' ');
        assert_eq!(analyse(&rows(&l)), vec![Change::LastChanged { seq: 20 }]);
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000FfF"), Some(vec![0, 15, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}

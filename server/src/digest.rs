//! Signed daily digests of a hall's log: at the end of each service day the
//! server signs, with the hall's Ed25519 key, what the day's records were
//! — first and last `seq`, the chain's head after the last one, how many of
//! each kind — and keeps the digest in the log's database, publishes it
//! (retained) on `hallq/v1/{hall}/digest` and serves it over HTTP, so a
//! supervisor's system can keep copies elsewhere. `hallq verify` checks a
//! log against them: a log rewritten whole, hashes and all, no longer
//! matches a digest signed before.
//!
//! The signature covers the bytes `hallq-digest-v1\n` followed by the
//! `digest` object exactly as hallq writes it (compact JSON, the fields in
//! the order of [`Digest`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hallq_core::calendar::Date;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::chain::{self, Break, Follower, GENESIS, Hash};
use crate::store::{EventStore, StoreError};

/// What one digest says of a day of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub hall: String,
    /// The hall's service day, `2026-11-27`.
    pub day: String,
    /// `false` for a digest made on demand before the day was over.
    pub complete: bool,
    pub first_seq: u64,
    pub last_seq: u64,
    /// The chain's hash after `last_seq` (hex).
    pub head: String,
    pub records: u64,
    /// Records by event type.
    pub counts: BTreeMap<String, u64>,
    pub made_ms: i64,
    /// The signing key's public half (hex).
    pub key: String,
}

/// A digest and its Ed25519 signature (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    pub digest: Digest,
    pub signature: String,
}

fn signed_bytes(d: &Digest) -> Vec<u8> {
    let mut bytes = b"hallq-digest-v1\n".to_vec();
    serde_json::to_writer(&mut bytes, d).expect("digests serialize");
    bytes
}

impl Signed {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("digests serialize")
    }

    /// Checks the signature with `key` (the supervisor's copy of the
    /// hall's public key), or with the key the digest names.
    pub fn check(&self, key: Option<&[u8]>) -> Result<(), String> {
        let own = chain::unhex(&self.digest.key).ok_or("its key is not hex")?;
        let key = key.unwrap_or(&own);
        if key != own.as_slice() {
            return Err(format!(
                "signed by another key ({}…), not the one given",
                &self.digest.key.get(..16).unwrap_or(&self.digest.key)
            ));
        }
        let sig = chain::unhex(&self.signature).ok_or("its signature is not hex")?;
        UnparsedPublicKey::new(&ED25519, key)
            .verify(&signed_bytes(&self.digest), &sig)
            .map_err(|_| "the signature does not match the digest".to_owned())
    }
}

/// The hall's signing key: `sign.key` (PKCS#8) in the hall's data folder,
/// made on first start; its public half in `sign.pub` (hex).
pub struct Signer {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("public", &self.public_hex())
            .finish_non_exhaustive()
    }
}

impl Signer {
    pub fn load_or_create(dir: &Path) -> anyhow::Result<Signer> {
        let path = dir.join("sign.key");
        let pkcs8 = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let doc = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                    .map_err(|_| anyhow::anyhow!("cannot make a signing key"))?;
                crate::write_secret(&path, doc.as_ref())?;
                tracing::info!(path = %path.display(), "made the hall's key for signing its log's digests");
                doc.as_ref().to_vec()
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the signing key {}", path.display()));
            }
        };
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| {
            anyhow::anyhow!(
                "{} is not an Ed25519 key: it is damaged. Restore it from a backup; \
                 only if it is lost for good, delete it (a new key is made, and the \
                 supervisor must be given its public half)",
                path.display()
            )
        })?;
        let signer = Signer { pair };
        let public = dir.join("sign.pub");
        if std::fs::read_to_string(&public)
            .map(|s| s.trim().to_owned())
            .ok()
            != Some(signer.public_hex())
        {
            std::fs::write(&public, format!("{}\n", signer.public_hex()))
                .with_context(|| format!("cannot write {}", public.display()))?;
        }
        Ok(signer)
    }

    pub fn public_hex(&self) -> String {
        chain::hex(self.pair.public_key().as_ref())
    }

    pub fn sign(&self, digest: Digest) -> Signed {
        let signature = chain::hex(self.pair.sign(&signed_bytes(&digest)).as_ref());
        Signed { digest, signature }
    }
}

/// One day's part of the log, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayPart {
    pub day: i64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub head: Hash,
    pub counts: BTreeMap<String, u64>,
    /// A later day has started in the log.
    pub complete: bool,
}

impl DayPart {
    pub fn digest(&self, hall: &str, made_ms: i64, signer: &Signer) -> Signed {
        signer.sign(Digest {
            hall: hall.to_owned(),
            day: Date(self.day).to_string(),
            complete: self.complete,
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            head: chain::hex(&self.head),
            records: self.last_seq - self.first_seq + 1,
            counts: self.counts.clone(),
            made_ms,
            key: signer.public_hex(),
        })
    }
}

/// Where the last kept digest left off.
#[derive(Debug, Clone, Copy)]
pub struct After {
    pub seq: u64,
    pub head: Hash,
}

impl After {
    pub const START: After = After {
        seq: 0,
        head: GENESIS,
    };

    /// After the newest kept digest (a digest that cannot be read is
    /// skipped: the next one made covers from the one before).
    pub fn last_kept(store: &mut dyn EventStore) -> Result<After, StoreError> {
        Ok(store
            .digests()?
            .iter()
            .rev()
            .filter_map(|s| serde_json::from_str::<Signed>(s).ok())
            .find(|s| s.digest.complete)
            .and_then(|s| {
                let head = chain::unhex(&s.digest.head)?.try_into().ok()?;
                Some(After {
                    seq: s.digest.last_seq,
                    head,
                })
            })
            .unwrap_or(After::START))
    }
}

/// The days of the log after `after`, split where a day starts
/// (`day_started`), its chain followed on from `after`'s head. Stops at a
/// break in the chain: what follows it is not signed.
pub fn day_parts(
    store: &mut dyn EventStore,
    after: After,
    utc_offset_minutes: i32,
) -> Result<(Vec<DayPart>, Option<Break>), StoreError> {
    let mut chain = Follower::after(after.seq, after.head);
    let mut parts: Vec<DayPart> = Vec::new();
    let mut broken = None;
    store.raw_rows(after.seq, &mut |row| {
        if broken.is_some() {
            return Ok(());
        }
        if let Err(b) = chain.next(row.seq, row.at_ms, row.body, row.hash) {
            broken = Some(b);
            return Ok(());
        }
        let (kind, started) = chain::kind_of(row.body);
        let head = chain.head().1;
        match (parts.last_mut(), started) {
            (Some(p), Some(day)) if day != p.day => {
                p.complete = true;
                parts.push(DayPart::new(day, row.seq, head));
            }
            (Some(p), _) => {
                p.last_seq = row.seq;
                p.head = head;
            }
            (None, _) => {
                let day = started.unwrap_or_else(|| {
                    hallq_core::calendar::local(row.at_ms, utc_offset_minutes).0
                });
                parts.push(DayPart::new(day, row.seq, head));
            }
        }
        *parts
            .last_mut()
            .expect("a part was just made")
            .counts
            .entry(kind)
            .or_default() += 1;
        Ok(())
    })?;
    Ok((parts, broken))
}

impl DayPart {
    fn new(day: i64, seq: u64, head: Hash) -> DayPart {
        DayPart {
            day,
            first_seq: seq,
            last_seq: seq,
            head,
            counts: BTreeMap::new(),
            complete: false,
        }
    }
}

/// What a hall's digests need.
pub struct Digests {
    pub hall: String,
    pub signer: Signer,
    pub log: crate::http::LogSource,
    pub utc_offset_minutes: i32,
    /// Where the newest digest is published (retained).
    pub mqtt: Option<crate::engine::MqttOut>,
}

impl std::fmt::Debug for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digests")
            .field("hall", &self.hall)
            .finish_non_exhaustive()
    }
}

impl Digests {
    /// A hall's digests: its signing key from (or made in) `dir`, its log.
    pub fn new(
        dir: &Path,
        config: &hallq_core::HallConfig,
        log: crate::http::LogSource,
        mqtt: Option<crate::engine::MqttOut>,
    ) -> anyhow::Result<Digests> {
        Ok(Digests {
            hall: config.hall.id.to_string(),
            signer: Signer::load_or_create(dir)?,
            log,
            utc_offset_minutes: config.hall.utc_offset_minutes,
            mqtt,
        })
    }

    fn open(&self) -> Result<Box<dyn EventStore>, StoreError> {
        crate::report::open_log(&self.log, &self.hall)
    }

    /// Signs and keeps the digest of every finished day not yet signed;
    /// returns the new ones. A break in the chain stops it there.
    pub fn sign_finished_days(&self) -> Result<(Vec<Signed>, Option<Break>), StoreError> {
        let mut store = self.open()?;
        let after = After::last_kept(store.as_mut())?;
        let (parts, broken) = day_parts(store.as_mut(), after, self.utc_offset_minutes)?;
        let mut made = Vec::new();
        for p in parts.iter().filter(|p| p.complete) {
            let signed = p.digest(&self.hall, crate::engine::now_ms(), &self.signer);
            store.put_digest(p.day, p.last_seq, &signed.to_json())?;
            tracing::info!(hall = %self.hall, day = %signed.digest.day, last_seq = p.last_seq, "signed the day's digest of the log");
            made.push(signed);
        }
        if let Some(newest) = made.last() {
            self.publish(newest);
        }
        Ok((made, broken))
    }

    /// Publishes a digest on the hall's `digest` topic, retained.
    pub fn publish(&self, signed: &Signed) {
        if let Some(mqtt) = &self.mqtt {
            mqtt.send(crate::engine::Outgoing {
                topic: hallq_contract::Topic::Digest.to_string(&self.hall),
                payload: signed.to_json().into_bytes(),
                retain: true,
                qos: 1,
            });
        }
    }

    /// On demand: signs the finished days not yet signed, then a digest of
    /// the day so far (not kept).
    pub fn today(&self) -> Result<Option<Signed>, StoreError> {
        if let (_, Some(b)) = self.sign_finished_days()? {
            return Err(StoreError::Broken(b));
        }
        let mut store = self.open()?;
        let after = After::last_kept(store.as_mut())?;
        let (parts, broken) = day_parts(store.as_mut(), after, self.utc_offset_minutes)?;
        if let Some(b) = broken {
            return Err(StoreError::Broken(b));
        }
        let now = crate::engine::now_ms();
        Ok(parts
            .last()
            .map(|p| p.digest(&self.hall, now, &self.signer)))
    }

    /// The kept digests, oldest first.
    pub fn kept(&self) -> Result<Vec<Signed>, StoreError> {
        Ok(self
            .open()?
            .digests()?
            .iter()
            .filter_map(|s| serde_json::from_str(s).ok())
            .collect())
    }
}

/// How often the server looks for a finished day to sign.
pub const EVERY: Duration = Duration::from_secs(60);

/// Signs each finished day's digest within [`EVERY`] of its end (while
/// this node runs the hall), and publishes the newest, retained.
pub fn spawn(digests: Arc<Digests>, lease: Arc<crate::lease::Lease>) {
    let run = move || {
        let mut reported: Option<Break> = None;
        let mut published = false;
        loop {
            if lease.held() {
                match digests.sign_finished_days() {
                    Ok((made, broken)) => {
                        // Once this node runs the hall, the newest kept
                        // digest is on the topic even if none was made.
                        if made.is_empty()
                            && !published
                            && let Some(newest) =
                                digests.kept().ok().and_then(|k| k.into_iter().last())
                        {
                            digests.publish(&newest);
                        }
                        published = true;
                        if broken != reported {
                            if let Some(b) = &broken {
                                tracing::error!(hall = %digests.hall, seq = b.seq(), what = %b, "the log's chain breaks: no digest is signed from here on until it is looked into (`hallq verify`)");
                            }
                            reported = broken;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(hall = %digests.hall, error = %e, "cannot sign the log's digests now")
                    }
                }
            } else {
                published = false;
            }
            std::thread::sleep(EVERY);
        }
    };
    // A plain thread: the PostgreSQL client blocks on a runtime of its own.
    if let Err(e) = std::thread::Builder::new()
        .name("hallq-digests".into())
        .spawn(run)
    {
        tracing::error!(error = %e, "cannot start the digest signer");
    }
}

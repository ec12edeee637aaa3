//! The tamper-evident chain over the global log. Each event's hash is
//! SHA-256(previous hash ‖ canonical bytes), the canonical bytes being its
//! stream id, sequence (decimal), event type, payload and metadata exactly as
//! stored, each prefixed by its length (u64 big-endian). The first event
//! follows 32 zero bytes. Anyone holding a signed head and the raw events can
//! recompute it; an edit to a stored event changes every hash from there on.

use crate::db::Db;
use crate::log::{self, LogError, RawEvent};
use crate::projector::{advance_checkpoint, load_checkpoint};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

const CONSUMER: &str = "hashes";
const BATCH: i64 = 500;

pub const GENESIS: [u8; 32] = [0; 32];

/// The hash of `event` following `prev`.
pub fn link(prev: &[u8; 32], event: &RawEvent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    let sequence = event.sequence.to_string();
    for field in [
        event.aggregate_id.as_str(),
        sequence.as_str(),
        event.event_type.as_str(),
        event.payload.as_str(),
        event.metadata.as_str(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().into()
}

pub fn to_hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The newest chained event: (position, hex hash); (0, 64 zeros) when none.
pub async fn head(db: &Db) -> Result<(i64, String), sqlx::Error> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT position, hash FROM event_hashes ORDER BY ordinal DESC LIMIT 1")
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.unwrap_or_else(|| (0, to_hex(&GENESIS))))
}

/// Every stored hash by position, for `verify`.
pub async fn stored(db: &Db) -> Result<HashMap<i64, String>, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT position, hash FROM event_hashes")
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Where a segment of the chain starting at `from` begins: the chained event
/// just before the first one (in chain order) whose position is `from` or
/// more, as (position, hex hash); (0, 64 zeros) when that is the first
/// event. None when no chained event is at or after `from`.
///
/// In chain order, because on PostgreSQL a later position can commit
/// earlier: the segment is every event after the returned one, so an event
/// of a lower position that committed later is in it, never skipped.
pub async fn before(db: &Db, from: i64) -> Result<Option<(i64, String)>, sqlx::Error> {
    let first: Option<i64> =
        sqlx::query_scalar("SELECT min(ordinal) FROM event_hashes WHERE position >= $1")
            .bind(from)
            .fetch_one(&db.pool)
            .await?;
    let Some(first) = first else {
        return Ok(None);
    };
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT position, hash FROM event_hashes WHERE ordinal = $1")
            .bind(first - 1)
            .fetch_optional(&db.pool)
            .await?;
    Ok(Some(row.unwrap_or_else(|| (0, to_hex(&GENESIS)))))
}

/// The stored hashes of the positions from `low` to `high`, for one batch
/// of an export.
pub async fn stored_between(
    db: &Db,
    low: i64,
    high: i64,
) -> Result<HashMap<i64, String>, sqlx::Error> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT position, hash FROM event_hashes WHERE position BETWEEN $1 AND $2")
            .bind(low)
            .bind(high)
            .fetch_all(&db.pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Chains the next batch of events; returns how many.
pub async fn run_once(db: &Db) -> Result<usize, LogError> {
    let from = load_checkpoint(db, CONSUMER).await?;
    let events = log::read_raw_after(db, from, BATCH).await?;
    let Some(last) = events.last().map(|e| e.at_log) else {
        return Ok(0);
    };
    let (mut ordinal, mut prev) = if from.position == 0 {
        (0, GENESIS)
    } else {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT ordinal, hash FROM event_hashes WHERE position = $1")
                .bind(from.position)
                .fetch_optional(&db.pool)
                .await?;
        let corrupt = |reason: &str| LogError::Corrupt {
            position: from.position,
            reason: reason.into(),
        };
        let (ordinal, hash) = row.ok_or_else(|| corrupt("its hash is missing"))?;
        let hash = from_hex(&hash).ok_or_else(|| corrupt("its stored hash is not hex"))?;
        (ordinal, hash)
    };
    let mut tx = db.begin_write().await?;
    if !advance_checkpoint(&mut tx, CONSUMER, from, last).await? {
        tx.rollback().await?;
        return Ok(0);
    }
    for event in &events {
        prev = link(&prev, event);
        ordinal += 1;
        sqlx::query("INSERT INTO event_hashes (position, ordinal, hash) VALUES ($1, $2, $3)")
            .bind(event.at_log.position)
            .bind(ordinal)
            .bind(to_hex(&prev))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(events.len())
}

/// Chains everything the log holds now.
pub async fn drain(db: &Db) -> Result<usize, LogError> {
    let mut total = 0;
    loop {
        let n = run_once(db).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}

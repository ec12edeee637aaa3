//! The tamper-evident chain over the global log. Each event's hash is
//! SHA-256(previous hash ‖ canonical bytes), the canonical bytes being its
//! stream id, sequence (decimal), event type, payload and metadata exactly as
//! stored, each prefixed by its length (u64 big-endian). The first event
//! follows 32 zero bytes. Anyone holding a signed head and the raw events can
//! recompute it; an edit to a stored event changes every hash from there on.

use crate::db::{Backend, Column, Db};
use crate::log::{self, LogError, LogPosition, LogRows, RawEvent};
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
    crate::hex(hash)
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
    if events.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    let tip = tip(&mut tx).await?;
    if tip.at != from {
        // Another process chained these first.
        tx.rollback().await?;
        return Ok(0);
    }
    if !extend(&mut tx, db.backend, tip, &events).await? {
        tx.rollback().await?;
        return Ok(0);
    }
    tx.commit().await?;
    Ok(events.len())
}

/// Chains the batch the projector has just applied inside the projector's
/// own transaction, when the chain is where that batch starts: one commit
/// for both, and a waiter told of an event finds its hash too. Runs in a
/// savepoint, so a chain that cannot be extended leaves the views' batch to
/// commit; that is logged here, and the caller catches the chain up on its
/// own (`drain`). True when the batch was chained.
pub async fn extend_inline(
    tx: &mut crate::db::WriteTx,
    backend: Backend,
    from: LogPosition,
    rows: &LogRows,
) -> bool {
    let attempt = async {
        let mut savepoint = sqlx::Connection::begin(&mut **tx).await?;
        let tip = tip(&mut savepoint).await?;
        if tip.at != from {
            // Behind (a log older than the chain), ahead (a replay of the
            // views) or moved by another process: not this batch's to chain.
            savepoint.rollback().await?;
            return Ok(false);
        }
        let outcome = match rows.raw() {
            Ok(events) => extend(&mut savepoint, backend, tip, &events).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(true) => {
                savepoint.commit().await?;
                Ok(true)
            }
            Ok(false) => {
                savepoint.rollback().await?;
                Ok(false)
            }
            Err(e) => {
                savepoint.rollback().await?;
                Err(e)
            }
        }
    };
    match attempt.await {
        Ok(chained) => chained,
        Err(e) => {
            tracing::error!(error = %e, "hash chain failed inside the views' batch; retrying on its own");
            false
        }
    }
}

/// Where the chain ends: its checkpoint, and the ordinal and hash of the
/// event there (0 and the genesis hash before the first).
struct Tip {
    at: LogPosition,
    ordinal: i64,
    hash: [u8; 32],
}

async fn tip(conn: &mut sqlx::AnyConnection) -> Result<Tip, LogError> {
    let (transaction_id, position, ordinal, hash): (i64, i64, Option<i64>, Option<String>) =
        sqlx::query_as(
            "SELECT c.transaction_id, c.position, h.ordinal, h.hash
               FROM log_checkpoints c LEFT JOIN event_hashes h ON h.position = c.position
              WHERE c.consumer = $1",
        )
        .bind(CONSUMER)
        .fetch_one(&mut *conn)
        .await?;
    let at = LogPosition {
        transaction_id,
        position,
    };
    if position == 0 {
        return Ok(Tip {
            at,
            ordinal: 0,
            hash: GENESIS,
        });
    }
    let corrupt = |reason: &str| LogError::Corrupt {
        position,
        reason: reason.into(),
    };
    let (ordinal, hash) = ordinal
        .zip(hash)
        .ok_or_else(|| corrupt("its hash is missing"))?;
    let hash = from_hex(&hash).ok_or_else(|| corrupt("its stored hash is not hex"))?;
    Ok(Tip { at, ordinal, hash })
}

/// Moves the chain from `tip` over `events`, the log's next ones; false
/// when another process moved it first (the caller drops its work).
async fn extend(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    tip: Tip,
    events: &[RawEvent],
) -> Result<bool, LogError> {
    let Some(last) = events.last().map(|e| e.at_log) else {
        return Ok(true);
    };
    if !advance_checkpoint(conn, CONSUMER, tip.at, last).await? {
        return Ok(false);
    }
    let (mut ordinal, mut prev) = (tip.ordinal, tip.hash);
    let mut links = Vec::with_capacity(events.len());
    for event in events {
        prev = link(&prev, event);
        ordinal += 1;
        links.push(Link {
            position: event.at_log.position,
            ordinal,
            hash: to_hex(&prev),
        });
    }
    // In as few statements as the views' rows: one a link cost a replay
    // one round trip per event.
    crate::views::insert_rows(conn, backend, &links).await?;
    Ok(true)
}

/// A row of `event_hashes`.
#[derive(serde::Serialize)]
struct Link {
    position: i64,
    ordinal: i64,
    hash: String,
}

impl crate::views::Row for Link {
    const TABLE: &'static str = "event_hashes";
    const COLUMNS: &'static [(&'static str, Column)] = &[
        ("position", Column::Int),
        ("ordinal", Column::Int),
        ("hash", Column::Text),
    ];
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

//! Reading the global event log in commit order.

use crate::db::{Backend, Db};
use aggregates::LedgerEvent;
use serde::Deserialize;
use sqlx::Row;
use std::collections::HashMap;

/// A place in the global log: events are consumed in (transaction_id,
/// position) order. On SQLite transaction_id is always 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogPosition {
    pub transaction_id: i64,
    pub position: i64,
}

#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub at_log: LogPosition,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event: LedgerEvent,
    pub actor: Option<String>,
    /// RFC 3339 time the event was recorded.
    pub at: String,
}

impl StoredEvent {
    pub fn position(&self) -> i64 {
        self.at_log.position
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("event at position {position} cannot be read: {reason}")]
    Corrupt { position: i64, reason: String },
}

#[derive(Deserialize, Default)]
struct Metadata {
    actor: Option<String>,
    at: Option<String>,
}

const COLUMNS_PG: &str = "global_position, transaction_id::text::bigint AS transaction_id, aggregate_type, \
     aggregate_id, sequence, payload::text AS payload, metadata::text AS metadata";
const COLUMNS_SQLITE: &str =
    "global_position, transaction_id, aggregate_type, aggregate_id, sequence, payload, metadata";

/// Up to `limit` events after `after`, only from transactions that can no
/// longer be overtaken by one still running.
pub async fn read_after(
    db: &Db,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<StoredEvent>, LogError> {
    let rows = match db.backend {
        Backend::Postgres => {
            sqlx::query(&format!(
                "SELECT {COLUMNS_PG} FROM events
                  WHERE (transaction_id, global_position) > ($1::bigint::text::xid8, $2)
                    AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                  ORDER BY transaction_id, global_position LIMIT $3"
            ))
            .bind(after.transaction_id)
            .bind(after.position)
            .bind(limit)
            .fetch_all(&db.pool)
            .await?
        }
        Backend::Sqlite => {
            sqlx::query(&format!(
                "SELECT {COLUMNS_SQLITE} FROM events WHERE global_position > $1
                  ORDER BY global_position LIMIT $2"
            ))
            .bind(after.position)
            .bind(limit)
            .fetch_all(&db.pool)
            .await?
        }
    };
    rows.iter().map(decode).collect()
}

/// Every event of one aggregate, in stream order.
pub async fn read_stream(db: &Db, aggregate_id: &str) -> Result<Vec<StoredEvent>, LogError> {
    let columns = match db.backend {
        Backend::Postgres => COLUMNS_PG,
        Backend::Sqlite => COLUMNS_SQLITE,
    };
    let rows = sqlx::query(&format!(
        "SELECT {columns} FROM events WHERE aggregate_id = $1 ORDER BY sequence"
    ))
    .bind(aggregate_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(decode).collect()
}

/// The log position of an aggregate's latest event: what a caller waits for
/// to read its own writes.
pub async fn stream_head(db: &Db, aggregate_id: &str) -> Result<Option<LogPosition>, sqlx::Error> {
    let sql = match db.backend {
        Backend::Postgres => {
            "SELECT transaction_id::text::bigint AS transaction_id, global_position FROM events
              WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1"
        }
        Backend::Sqlite => {
            "SELECT transaction_id, global_position FROM events
              WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1"
        }
    };
    let row = sqlx::query(sql)
        .bind(aggregate_id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| {
        Ok(LogPosition {
            transaction_id: r.try_get("transaction_id")?,
            position: r.try_get("global_position")?,
        })
    })
    .transpose()
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
}

fn decode(row: &sqlx::any::AnyRow) -> Result<StoredEvent, LogError> {
    let position: i64 = row.try_get("global_position")?;
    let corrupt = |reason: String| LogError::Corrupt { position, reason };
    let payload: String = row.try_get("payload")?;
    let metadata: String = row.try_get("metadata")?;
    let event: LedgerEvent = serde_json::from_str(&payload).map_err(|e| corrupt(e.to_string()))?;
    let metadata: HashMap<String, String> =
        serde_json::from_str(&metadata).map_err(|e| corrupt(e.to_string()))?;
    let metadata = Metadata {
        actor: metadata.get("actor").cloned(),
        at: metadata.get("at").cloned(),
    };
    Ok(StoredEvent {
        at_log: LogPosition {
            transaction_id: row.try_get("transaction_id")?,
            position,
        },
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: row.try_get("sequence")?,
        event,
        actor: metadata.actor,
        at: metadata
            .at
            .ok_or_else(|| corrupt("no time in its metadata".into()))?,
    })
}

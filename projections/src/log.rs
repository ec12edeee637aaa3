//! Reading the global event log in commit order.

use crate::db::{Backend, Db, SqlBuilder};
use aggregates::LedgerEvent;
use serde::Deserialize;
use sqlx::Row;
use sqlx::any::AnyRow;
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

/// An event as its row holds it, undecoded: what the hash chain covers, so
/// that even an edit which breaks the JSON is caught.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub at_log: LogPosition,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub payload: String,
    pub metadata: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("event at position {position} cannot be read: {reason}")]
    Corrupt { position: i64, reason: String },
    /// The database refused a view row for this event (a constraint, a
    /// full disk): the event itself was read.
    #[error("event at position {position} could not be written to the views: {error}")]
    Apply { position: i64, error: sqlx::Error },
}

impl LogError {
    /// The database could not be reached (or the pool gave up waiting for a
    /// connection): nothing is wrong with the log or the views.
    pub fn is_connection(&self) -> bool {
        let error = match self {
            LogError::Db(e) | LogError::Apply { error: e, .. } => e,
            LogError::Corrupt { .. } => return false,
        };
        matches!(
            error,
            sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
        )
    }
}

#[derive(Deserialize, Default)]
struct Metadata {
    actor: Option<String>,
    at: Option<String>,
}

/// The columns `decode` reads, as each backend must select them.
fn columns(backend: Backend) -> String {
    format!(
        "global_position, {} AS transaction_id, aggregate_type, aggregate_id, sequence, \
         event_type, {} AS payload, {} AS metadata",
        backend.log_transaction_id(),
        backend.json_text("payload"),
        backend.json_text("metadata"),
    )
}

/// Up to `limit` events after `after`, only from transactions that can no
/// longer be overtaken by one still running.
pub async fn read_after(
    db: &Db,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<StoredEvent>, LogError> {
    rows_after(db, after, limit).await?.events()
}

/// As `read_after`, without decoding the payloads.
pub async fn read_raw_after(
    db: &Db,
    after: LogPosition,
    limit: i64,
) -> Result<Vec<RawEvent>, LogError> {
    rows_after(db, after, limit).await?.raw()
}

/// Rows of the log as read, decoded on demand: the projector applies a
/// batch and chains the same batch from one read.
pub struct LogRows(Vec<AnyRow>);

impl LogRows {
    pub fn events(&self) -> Result<Vec<StoredEvent>, LogError> {
        self.0.iter().map(decode).collect()
    }

    pub fn raw(&self) -> Result<Vec<RawEvent>, LogError> {
        self.0
            .iter()
            .map(|row| {
                Ok(RawEvent {
                    at_log: log_position(row)?,
                    aggregate_id: row.try_get("aggregate_id")?,
                    sequence: row.try_get("sequence")?,
                    event_type: row.try_get("event_type")?,
                    payload: row.try_get("payload")?,
                    metadata: row.try_get("metadata")?,
                })
            })
            .collect()
    }
}

/// The rows of up to `limit` events after `after`, as `read_after` reads
/// them.
pub async fn rows_after(db: &Db, after: LogPosition, limit: i64) -> Result<LogRows, LogError> {
    let mut q = SqlBuilder::new(&format!(
        "SELECT {} FROM events WHERE ",
        columns(db.backend)
    ));
    let horizon = horizon(db).await?;
    db.backend.log_after(&mut q, after, horizon);
    q.push(" ORDER BY ")
        .push(db.backend.log_order())
        .push(" LIMIT ")
        .bind_int(limit);
    Ok(LogRows(q.query().fetch_all(&db.pool).await?))
}

/// PostgreSQL: the transaction id below which every transaction of this
/// database has ended, so that no event below it can still appear; 0 on
/// SQLite, which does not need one.
///
/// The server-wide `pg_snapshot_xmin` would do, but it counts transactions
/// of every database on the server: one left open next door (a report, a
/// migration, another service) would hold these views back. Events can only
/// be written by transactions connected to this database, so the horizon is
/// the oldest transaction the snapshot saw running that `pg_stat_activity`
/// (or `pg_prepared_xacts`) places here, else the snapshot's `xmax`. The
/// snapshot is taken when the statement starts and the activity read while
/// it runs: a transaction the snapshot saw running and the activity no
/// longer shows has ended, and the next statement, which reads the events,
/// sees what it committed. Transactions that start later get ids at or
/// above `xmax`.
pub async fn horizon(db: &Db) -> Result<i64, sqlx::Error> {
    if db.backend != Backend::Postgres {
        return Ok(0);
    }
    // Every projector and consumer pass asks this, so it is written for
    // cost: the functions behind `pg_stat_activity` and `pg_prepared_xacts`
    // without those views' joins to the role and database catalogs, and
    // neither looked at when the snapshot saw no transaction running (then
    // the horizon is `xmax` whatever they hold). 0.84 → 0.23 ms a call.
    let row = sqlx::query(
        "SELECT s::text AS snapshot,
                CASE WHEN pg_snapshot_xmin(s) = pg_snapshot_xmax(s) THEN '' ELSE
                  (SELECT coalesce(string_agg(a.backend_xid::text, ','), '')
                     FROM pg_stat_get_activity(NULL) a
                    WHERE a.datid = d.oid AND a.backend_xid IS NOT NULL) END AS running,
                CASE WHEN pg_snapshot_xmin(s) = pg_snapshot_xmax(s) THEN '' ELSE
                  (SELECT coalesce(string_agg(p.transaction::text, ','), '')
                     FROM pg_prepared_xact() p WHERE p.dbid = d.oid) END AS prepared
           FROM pg_current_snapshot() s,
                (SELECT oid FROM pg_database WHERE datname = current_database()) d",
    )
    .fetch_one(&db.pool)
    .await?;
    let snapshot: String = row.try_get("snapshot")?;
    let running: String = row.try_get("running")?;
    let prepared: String = row.try_get("prepared")?;
    let ours: Vec<u64> = running
        .split(',')
        .chain(prepared.split(','))
        .filter_map(|x| x.parse().ok())
        .collect();
    horizon_of(&snapshot, &ours).ok_or_else(|| {
        sqlx::Error::Protocol(format!("unreadable snapshot from PostgreSQL: {snapshot}"))
    })
}

/// The horizon of a snapshot's text (`xmin:xmax:xip,…`, 64-bit ids) given
/// the 32-bit ids of this database's running transactions.
fn horizon_of(snapshot: &str, ours: &[u64]) -> Option<i64> {
    let mut parts = snapshot.split(':');
    let (_xmin, xmax, xip) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    let xmax: i64 = xmax.parse().ok()?;
    let oldest_here = xip
        .split(',')
        .filter_map(|x| x.parse::<u64>().ok())
        .filter(|x| ours.contains(&(x & 0xFFFF_FFFF)))
        .min();
    match oldest_here {
        Some(x) => i64::try_from(x).ok(),
        None => Some(xmax),
    }
}

/// Every event of one aggregate, in stream order.
pub async fn read_stream(db: &Db, aggregate_id: &str) -> Result<Vec<StoredEvent>, LogError> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM events WHERE aggregate_id = $1 ORDER BY sequence",
        columns(db.backend)
    ))
    .bind(aggregate_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(decode).collect()
}

/// The log position of an aggregate's latest event: what a caller waits for
/// to read its own writes.
pub async fn stream_head(db: &Db, aggregate_id: &str) -> Result<Option<LogPosition>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {} AS transaction_id, global_position FROM events
          WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
        db.backend.log_transaction_id()
    ))
    .bind(aggregate_id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(log_position).transpose()
}

/// The log position of the event stored at `global_position`: where a
/// reader resumes after it. None when no event is there.
pub async fn position_of(
    db: &Db,
    global_position: i64,
) -> Result<Option<LogPosition>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {} AS transaction_id, global_position FROM events WHERE global_position = $1",
        db.backend.log_transaction_id()
    ))
    .bind(global_position)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(log_position).transpose()
}

/// A row of `transaction_id` and `global_position` as a log position.
fn log_position(r: &AnyRow) -> Result<LogPosition, sqlx::Error> {
    Ok(LogPosition {
        transaction_id: r.try_get("transaction_id")?,
        position: r.try_get("global_position")?,
    })
}

/// The events after `after` the projector has not applied yet, visible or
/// not (an event of a transaction still running on PostgreSQL counts), and
/// the time the oldest of them was recorded (RFC 3339).
pub async fn pending(db: &Db, after: LogPosition) -> Result<(i64, Option<String>), sqlx::Error> {
    let mut q = SqlBuilder::new(&format!(
        "SELECT count(*) AS n, min({}) AS oldest FROM events WHERE ",
        db.backend.json_field("metadata", "at")
    ));
    // Unlike `read_after`, no visibility condition: this measures the lag.
    match db.backend {
        Backend::Postgres => {
            q.push("(transaction_id, global_position) > (")
                .bind_int(after.transaction_id)
                .push("::bigint::text::xid8, ")
                .bind_int(after.position)
                .push(")");
        }
        Backend::Sqlite => {
            q.push("global_position > ").bind_int(after.position);
        }
    }
    let row = q.query().fetch_one(&db.pool).await?;
    Ok((row.try_get("n")?, row.try_get("oldest")?))
}

/// PostgreSQL: the backend of this database whose open transaction is the
/// oldest one with a transaction id, which is what keeps newer events from being read: (pid,
/// state, seconds since its transaction began).
pub async fn oldest_writer(db: &Db) -> Result<Option<(i32, String, i64)>, sqlx::Error> {
    if db.backend != Backend::Postgres {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT pid, coalesce(state, '') AS state,
                coalesce(extract(epoch FROM now() - xact_start), 0)::bigint AS seconds
           FROM pg_stat_activity
          WHERE backend_xid IS NOT NULL AND datname = current_database()
          ORDER BY age(backend_xid) DESC LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("pid")?,
            r.try_get("state")?,
            r.try_get("seconds")?,
        ))
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

#[cfg(test)]
mod tests {
    use super::horizon_of;

    #[test]
    fn the_horizon_is_the_oldest_transaction_of_this_database() {
        // 100 and 104 run here, 102 in another database.
        let ours = [100, 104];
        assert_eq!(horizon_of("100:110:100,102,104", &ours), Some(100));
        assert_eq!(horizon_of("102:110:102,104", &ours), Some(104));
    }

    #[test]
    fn with_none_of_ours_running_the_horizon_is_xmax() {
        assert_eq!(horizon_of("102:110:102", &[7]), Some(110));
        assert_eq!(horizon_of("110:110:", &[]), Some(110));
    }

    #[test]
    fn ids_are_matched_on_their_low_32_bits() {
        // Epoch 1: the 64-bit id is 2^32 + 5, pg_stat_activity shows 5.
        let id = (1u64 << 32) + 5;
        let snapshot = format!("{id}:{}:{id}", id + 3);
        assert_eq!(horizon_of(&snapshot, &[5]), Some(id as i64));
    }

    #[test]
    fn an_unreadable_snapshot_is_refused() {
        assert_eq!(horizon_of("garbage", &[]), None);
    }
}

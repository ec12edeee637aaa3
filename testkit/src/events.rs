//! Events appended straight to the log, as the service would have written
//! them: for histories no mutation can make (supports bought in the past) or
//! that would take hours through the API (100,000 licenses).

use projections::Backend;
use serde_json::json;

/// The INSERT of one event; binds: aggregate type, aggregate id, sequence,
/// event type, payload (JSON text), metadata (JSON text).
pub fn insert_event_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES ($1, $2, $3, $4, '1', $5::json, $6::json)"
        }
        Backend::Sqlite => {
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES ($1, $2, $3, $4, '1', $5, $6)"
        }
    }
}

/// The metadata the service records with an event `actor` caused now.
pub fn metadata(actor: &str) -> String {
    json!({
        "actor": actor,
        "at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
    .to_string()
}

/// The sequence number of a stream's last event (0 for an empty stream).
pub async fn stream_head(
    db: &projections::Db,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<i64, String> {
    sqlx::query_scalar(
        "SELECT coalesce(max(sequence), 0) FROM events WHERE aggregate_type = $1 AND aggregate_id = $2",
    )
    .bind(aggregate_type)
    .bind(aggregate_id)
    .fetch_one(&db.pool)
    .await
    .map_err(|e| e.to_string())
}

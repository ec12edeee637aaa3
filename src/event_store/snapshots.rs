//! The `snapshots` table: one row per stream (two, briefly, when writers
//! race), holding the state a command ended with as JSON. It is reached
//! through the event store's own pool, so the trait is implemented by the
//! two pools, with the same SQL (the column is text on both).

use projections::write_gate::WriteGate;
use std::future::Future;

/// The snapshot table of the database a pool is open on.
pub trait SnapshotTable: Clone + Send + Sync + 'static {
    /// The newest snapshot of a stream: (last sequence it includes, state).
    fn read(
        &self,
        kind: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<(i64, String)>, sqlx::Error>> + Send;

    /// Replaces the stream's snapshot with a newer one. Two writers racing
    /// may both leave a row; each is a true state at its sequence and the
    /// reader takes the newest.
    fn write(
        &self,
        kind: &str,
        id: &str,
        sequence: i64,
        count: i64,
        payload: &str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send;

    /// The queue this process's writers of the database take turns in, if
    /// its backend needs one (see `projections::write_gate`).
    fn write_gate(&self) -> Option<WriteGate>;
}

const READ: &str = "SELECT last_sequence, payload FROM snapshots \
     WHERE aggregate_type = $1 AND aggregate_id = $2 \
     ORDER BY last_sequence DESC LIMIT 1";

const DELETE_OLDER: &str = "DELETE FROM snapshots \
     WHERE aggregate_type = $1 AND aggregate_id = $2 AND last_sequence < $3";

const INSERT: &str = "INSERT INTO snapshots \
     (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload) \
     SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS \
     (SELECT 1 FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2)";

/// `read` and `write`, the same statements on either pool: sqlx's
/// executors are typed by their database, so the bodies are spelled out
/// once here rather than written generically over `sqlx::Database`.
macro_rules! snapshot_statements {
    () => {
        async fn read(&self, kind: &str, id: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
            sqlx::query_as(READ)
                .bind(kind)
                .bind(id)
                .fetch_optional(self)
                .await
        }

        async fn write(
            &self,
            kind: &str,
            id: &str,
            sequence: i64,
            count: i64,
            payload: &str,
        ) -> Result<(), sqlx::Error> {
            let mut tx = self.begin().await?;
            sqlx::query(DELETE_OLDER)
                .bind(kind)
                .bind(id)
                .bind(sequence)
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT)
                .bind(kind)
                .bind(id)
                .bind(sequence)
                .bind(count)
                .bind(payload)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        }
    };
}

impl SnapshotTable for sqlx::SqlitePool {
    fn write_gate(&self) -> Option<WriteGate> {
        WriteGate::for_file(self.connect_options().get_filename())
    }

    snapshot_statements!();
}

impl SnapshotTable for sqlx::PgPool {
    fn write_gate(&self) -> Option<WriteGate> {
        None
    }

    snapshot_statements!();
}

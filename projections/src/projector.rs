//! Feeds the read models from the global log. The checkpoint moves in the same
//! transaction as the view rows, so after any crash the projector resumes at
//! the first event it had not committed: nothing skipped, nothing twice.

use crate::db::Db;
use crate::log::{self, LogError, LogPosition, StoredEvent};
use crate::views;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

const CONSUMER: &str = "views";
const BATCH: i64 = 500;
/// How often the log is polled when nobody signals a new event (another
/// process may be writing to the same database).
const POLL: Duration = Duration::from_millis(200);

pub struct Projector {
    db: Db,
    wake: Notify,
    progress: watch::Sender<LogPosition>,
}

pub async fn load_checkpoint(db: &Db, consumer: &str) -> Result<LogPosition, sqlx::Error> {
    let row: (i64, i64) =
        sqlx::query_as("SELECT transaction_id, position FROM log_checkpoints WHERE consumer = $1")
            .bind(consumer)
            .fetch_one(&db.pool)
            .await?;
    Ok(LogPosition {
        transaction_id: row.0,
        position: row.1,
    })
}

/// Moves a consumer's checkpoint from `from` to `to` inside `tx`; false when
/// another process moved it first (the caller then drops its work).
pub async fn advance_checkpoint(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    consumer: &str,
    from: LogPosition,
    to: LogPosition,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE log_checkpoints SET transaction_id = $1, position = $2
          WHERE consumer = $3 AND transaction_id = $4 AND position = $5",
    )
    .bind(to.transaction_id)
    .bind(to.position)
    .bind(consumer)
    .bind(from.transaction_id)
    .bind(from.position)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl Projector {
    pub fn new(db: Db) -> Arc<Projector> {
        let (progress, _) = watch::channel(LogPosition::default());
        Arc::new(Projector {
            db,
            wake: Notify::new(),
            progress,
        })
    }

    /// Applies the next batch of events; returns how many it applied.
    pub async fn run_once(&self) -> Result<usize, LogError> {
        let from = load_checkpoint(&self.db, CONSUMER).await?;
        self.progress.send_if_modified(|p| {
            let newer = *p < from;
            if newer {
                *p = from;
            }
            newer
        });
        let events = log::read_after(&self.db, from, BATCH).await?;
        let Some(last) = events.last().map(|e| e.at_log) else {
            // Nothing new for the views, but the chain may still be behind
            // (a database that held events before it existed).
            chain(&self.db).await;
            return Ok(0);
        };
        let mut tx = self.db.begin_write().await?;
        if !advance_checkpoint(&mut tx, CONSUMER, from, last).await? {
            tx.rollback().await?;
            return Ok(0);
        }
        let mut batch = views::Batch::default();
        for event in &events {
            apply_logged(&mut tx, &mut batch, event).await?;
        }
        batch.finish(&mut tx).await?;
        tx.commit().await?;
        // Read after the views' batch, so every event a waiter is told about
        // has its hash too.
        chain(&self.db).await;
        self.progress.send_replace(last);
        Ok(events.len())
    }

    /// Runs until `shutdown` resolves. Errors are logged and retried: a view
    /// that cannot be written must not be skipped.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = POLL;
        loop {
            match self.run_once().await {
                Ok(n) if n > 0 => {
                    backoff = POLL;
                    continue;
                }
                Ok(_) => backoff = POLL,
                Err(e) => {
                    tracing::error!(error = %e, "projector failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Catches up with the whole log now; returns the events applied.
    pub async fn drain(&self) -> Result<usize, LogError> {
        let mut total = 0;
        loop {
            let n = self.run_once().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// Waits until the views include the event at `position`: the caller of a
    /// mutation then reads its own writes. Gives up after `timeout`.
    pub async fn wait_for(&self, position: LogPosition, timeout: Duration) -> bool {
        let mut rx = self.progress.subscribe();
        self.nudge();
        let reached = async {
            loop {
                if *rx.borrow_and_update() >= position {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(timeout, reached).await.is_ok()
    }

    pub fn position(&self) -> LogPosition {
        *self.progress.borrow()
    }
}

/// A chain that cannot be extended must not stop the views: it is logged and
/// retried at the next batch, and `verify` reports what is wrong.
async fn chain(db: &Db) {
    if let Err(e) = crate::chain::drain(db).await {
        tracing::error!(error = %e, "hash chain failed; retrying");
    }
}

async fn apply_logged(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    batch: &mut views::Batch,
    event: &StoredEvent,
) -> Result<(), LogError> {
    views::apply(tx, batch, event)
        .await
        .map_err(|e| LogError::Corrupt {
            position: event.position(),
            reason: format!("cannot be projected: {e}"),
        })
}

/// Empties every view and moves the checkpoint back to the start, in one
/// transaction; the projector then rebuilds them from the log.
pub async fn reset_views(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for table in views::VIEW_TABLES {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE log_checkpoints SET transaction_id = 0, position = 0 WHERE consumer = $1")
        .bind(CONSUMER)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

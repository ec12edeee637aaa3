//! Feeds the read models from the global log. The checkpoint moves in the same
//! transaction as the view rows, so after any crash the projector resumes at
//! the first event it had not committed: nothing skipped, nothing twice.

use crate::db::Db;
use crate::log::{self, LogError, LogPosition, StoredEvent};
use crate::pacing::Pacing;
use crate::views;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

const CONSUMER: &str = "views";
/// Events per batch of the running projector: small, so that a mutation
/// waiting for its own event is not held behind a long batch.
const BATCH: i64 = 500;
/// Events per batch of a full replay, where only the total time counts.
const REPLAY_BATCH: i64 = 5_000;
/// How often the log is polled when nobody signals a new event (another
/// process may be writing to the same database).
const POLL: Duration = Duration::from_millis(200);
/// How long the projector may find newer events it cannot read yet before
/// it says so, and how often it says so again.
const HELD_BACK: Duration = Duration::from_secs(5);
const HELD_BACK_REPEAT: Duration = Duration::from_secs(60);
/// How often a projector that is not held back looks whether it is.
const HELD_BACK_PROBE: Duration = Duration::from_secs(1);

/// How far the views are behind the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lag {
    /// The events written that the views do not include yet.
    pub events: i64,
    /// Seconds since the oldest of them was recorded (0 when none).
    pub seconds: i64,
    /// The views' checkpoint.
    pub position: LogPosition,
}

pub struct Projector {
    db: Db,
    wake: Notify,
    progress: watch::Sender<LogPosition>,
    /// The hash chain may be behind the views: true at start (a database
    /// that held events before the chain existed) and after a batch it
    /// could not chain; an idle pass then catches it up.
    chain_behind: AtomicBool,
    /// The checkpoint as this projector last committed it, so that a pass
    /// need not read it back: None until read, and after a pass found it
    /// moved elsewhere. Moving it is still a compare-and-set on the stored
    /// one, so a stale copy costs a pass, never an event.
    checkpoint: std::sync::Mutex<Option<LogPosition>>,
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
    tx: &mut sqlx::AnyConnection,
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
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How long a log consumer's stored checkpoint may lag behind events that
/// gave it nothing to write. Writing it after every batch doubled the write
/// transactions on SQLite, where writers queue for one lock.
const LAZY_CHECKPOINT: Duration = Duration::from_secs(5);

/// How far a log consumer (transfers, webhooks) has read past its stored
/// checkpoint. The events in between gave it nothing to write, so reading
/// them again after a restart is harmless; the checkpoint is written with
/// the consumer's next work, or every `LAZY_CHECKPOINT` without.
#[derive(Default)]
pub struct LazyCheckpoint(std::sync::Mutex<Read>);

#[derive(Default)]
struct Read {
    position: LogPosition,
    written: Option<Instant>,
}

impl LazyCheckpoint {
    /// Where to read from, given the stored checkpoint.
    pub fn from(&self, stored: LogPosition) -> LogPosition {
        stored.max(self.read().position)
    }

    /// Whether the stored checkpoint should be written though nothing else is.
    pub fn due(&self) -> bool {
        self.read()
            .written
            .is_none_or(|at| at.elapsed() >= LAZY_CHECKPOINT)
    }

    /// Every event up to `last` was read; `written` says whether the stored
    /// checkpoint was moved there too.
    pub fn read_to(&self, last: LogPosition, written: bool) {
        let mut read = self.read();
        read.position = last;
        if written {
            read.written = Some(Instant::now());
        }
    }

    /// Another process moved the stored checkpoint: read from there.
    pub fn forget(&self) {
        *self.read() = Read::default();
    }

    /// A write transaction in which `consumer`'s checkpoint has moved from
    /// `stored` to `last`, for what the consumer writes of the events it
    /// read. The checkpoint goes first: on PostgreSQL a second process waits
    /// there for the first to commit, then finds it moved. None when another
    /// process moved it: the transaction is rolled back and this forgets
    /// where it was, so the next pass starts again from the stored one.
    pub async fn advance(
        &self,
        db: &Db,
        consumer: &str,
        stored: LogPosition,
        last: LogPosition,
    ) -> Result<Option<crate::db::WriteTx>, sqlx::Error> {
        let mut tx = db.begin_write().await?;
        if !advance_checkpoint(&mut tx, consumer, stored, last).await? {
            tx.rollback().await?;
            self.forget();
            return Ok(None);
        }
        Ok(Some(tx))
    }

    fn read(&self) -> std::sync::MutexGuard<'_, Read> {
        // Two plain values, each changed in one step: a panic elsewhere
        // cannot leave them half-written, so a poisoned lock is still good.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Projector {
    pub fn new(db: Db) -> Arc<Projector> {
        let (progress, _) = watch::channel(LogPosition::default());
        Arc::new(Projector {
            db,
            wake: Notify::new(),
            progress,
            chain_behind: AtomicBool::new(true),
            checkpoint: std::sync::Mutex::new(None),
        })
    }

    /// Applies the next batch of events; returns how many it applied.
    pub async fn run_once(&self) -> Result<usize, LogError> {
        self.run_batch(BATCH).await
    }

    /// Applies up to `limit` events in one transaction.
    async fn run_batch(&self, limit: i64) -> Result<usize, LogError> {
        if let Some(from) = self.known_checkpoint()
            && let Some(n) = self.batch_from(from, limit).await?
        {
            return Ok(n);
        }
        // Not known yet, or moved by another process since this one moved
        // it: read it, and go on from there in this same pass.
        let from = load_checkpoint(&self.db, CONSUMER).await?;
        self.progress.send_if_modified(|p| {
            let newer = *p < from;
            if newer {
                *p = from;
            }
            newer
        });
        Ok(self.batch_from(from, limit).await?.unwrap_or(0))
    }

    /// Applies up to `limit` events after `from`; None when the stored
    /// checkpoint is not at `from` (the batch is then dropped).
    async fn batch_from(&self, from: LogPosition, limit: i64) -> Result<Option<usize>, LogError> {
        let read = LogBatch::after(&self.db, from, limit).await?;
        self.apply_read(from, read).await
    }

    /// Applies `read`, the events after `from`; None when the stored
    /// checkpoint is not at `from`.
    async fn apply_read(
        &self,
        from: LogPosition,
        read: LogBatch,
    ) -> Result<Option<usize>, LogError> {
        let LogBatch { rows, events } = read;
        let Some(last) = events.last().map(|e| e.at_log) else {
            // Idle: the next pass reads the stored checkpoint again, so a
            // reset made elsewhere (a replay) is seen without a new event.
            self.remember_checkpoint(None);
            if self.chain_behind.load(Ordering::Relaxed) {
                self.chain().await;
            }
            return Ok(Some(0));
        };
        let mut tx = self.db.begin_write().await?;
        if !advance_checkpoint(&mut tx, CONSUMER, from, last).await? {
            tx.rollback().await?;
            self.remember_checkpoint(None);
            return Ok(None);
        }
        let mut batch = views::Batch::new(self.db.backend);
        for event in &events {
            apply_logged(&mut tx, &mut batch, event).await?;
        }
        finish(&mut tx, batch, &events).await?;
        let chained = crate::chain::extend_inline(&mut tx, self.db.backend, from, &rows).await;
        tx.commit().await?;
        self.remember_checkpoint(Some(last));
        if chained {
            self.chain_behind.store(false, Ordering::Relaxed);
        } else {
            // Before the waiters are told, so every event they are told
            // about has its hash too.
            self.chain().await;
        }
        self.progress.send_replace(last);
        Ok(Some(events.len()))
    }

    fn known_checkpoint(&self) -> Option<LogPosition> {
        *self.checkpoint.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remember_checkpoint(&self, at: Option<LogPosition>) {
        *self.checkpoint.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// Catches the hash chain up with the log on its own. A chain that
    /// cannot be extended must not stop the views: it is logged and retried
    /// at the next pass, and `verify` reports what is wrong.
    async fn chain(&self) {
        match crate::chain::drain(&self.db).await {
            Ok(_) => self.chain_behind.store(false, Ordering::Relaxed),
            Err(e) => {
                self.chain_behind.store(true, Ordering::Relaxed);
                tracing::error!(error = %e, "hash chain failed; retrying");
            }
        }
    }

    /// Runs until `shutdown` resolves. Errors are logged and retried: a view
    /// that cannot be written must not be skipped.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut pacing = Pacing::new(POLL);
        let mut held = HeldBack::default();
        loop {
            match self.run_once().await {
                Ok(n) if n > 0 => {
                    pacing.worked();
                    held.clear();
                    // A full batch leaves more to read. A shorter one took
                    // all there was: a writer that wants its event seen
                    // sooner than the next poll nudges (`wait_for`).
                    if n >= BATCH as usize {
                        continue;
                    }
                }
                Ok(_) => {
                    pacing.worked();
                    self.watch_held_back(&mut held).await;
                }
                Err(e) if e.is_connection() => {
                    tracing::error!(error = %e, "projector: cannot reach the database; retrying");
                    pacing.failed();
                }
                Err(e) => {
                    tracing::error!(error = %e, "projector failed; retrying");
                    pacing.failed();
                }
            }
            if !pacing.wait(Some(&self.wake), &mut shutdown).await {
                return;
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

    /// Empties every view and rebuilds it from the whole log, in batches
    /// of `REPLAY_BATCH`, each committed with its checkpoint (a replay cut
    /// short resumes where it stopped, at the projector's next run), the
    /// views' secondary indexes built once at the end (see
    /// `reset_views_for_replay`). Returns the events applied.
    pub async fn replay(
        &self,
        mut progress: impl FnMut(ReplayProgress),
    ) -> Result<usize, LogError> {
        reset_views_for_replay(&self.db).await?;
        self.remember_checkpoint(None);
        let mut total = 0;
        // The next batch is read and decoded while this one is written: on
        // another connection and another thread.
        let mut from = load_checkpoint(&self.db, CONSUMER).await?;
        let mut next = LogBatch::after(&self.db, from, REPLAY_BATCH).await?;
        while let Some(last) = next.events.last().map(|e| e.at_log) {
            let db = self.db.clone();
            let ahead = tokio::spawn(async move { LogBatch::after(&db, last, REPLAY_BATCH).await });
            let Some(n) = self.apply_read(from, next).await? else {
                // Another process moved the checkpoint: go on below, from
                // wherever it is.
                break;
            };
            total += n;
            progress(ReplayProgress::Applied(total));
            next = match ahead.await {
                Ok(read) => read?,
                // The read ahead panicked: read it here instead.
                Err(_) => LogBatch::after(&self.db, last, REPLAY_BATCH).await?,
            };
            from = last;
        }
        loop {
            let n = self.run_batch(REPLAY_BATCH).await?;
            if n == 0 {
                break;
            }
            total += n;
            progress(ReplayProgress::Applied(total));
        }
        progress(ReplayProgress::BuildingIndexes);
        build_deferred_indexes(&self.db).await?;
        Ok(total)
    }

    /// How far the views are behind the log now.
    pub async fn lag(&self) -> Result<Lag, sqlx::Error> {
        let position = load_checkpoint(&self.db, CONSUMER).await?;
        let (events, oldest) = log::pending(&self.db, position).await?;
        let seconds = oldest
            .as_deref()
            .and_then(crate::db::parse_time)
            .map_or(0, |t| (chrono::Utc::now() - t).num_seconds().max(0));
        Ok(Lag {
            events,
            seconds,
            position,
        })
    }

    /// After a pass that applied nothing: on PostgreSQL, newer events that
    /// cannot be read yet mean an older transaction is still open (events
    /// are read only below the oldest running one). Past `HELD_BACK` that is
    /// logged, at most once per `HELD_BACK_REPEAT`, with the backend to look
    /// at. SQLite has no such wait.
    async fn watch_held_back(&self, held: &mut HeldBack) {
        if self.db.backend != crate::db::Backend::Postgres {
            return;
        }
        // Under load most passes that find nothing follow a nudge whose
        // event an earlier pass took; counting the pending events after
        // each would be a query per command. Once a second is enough to
        // start the `HELD_BACK` clock.
        if held.since.is_none() && held.probed.is_some_and(|at| at.elapsed() < HELD_BACK_PROBE) {
            return;
        }
        held.probed = Some(Instant::now());
        let pending = match log::pending(&self.db, self.position()).await {
            Ok((n, _)) => n,
            Err(_) => return,
        };
        if pending == 0 {
            held.clear();
            return;
        }
        let since = *held.since.get_or_insert_with(Instant::now);
        if since.elapsed() < HELD_BACK
            || held
                .logged
                .is_some_and(|at| at.elapsed() < HELD_BACK_REPEAT)
        {
            return;
        }
        held.logged = Some(Instant::now());
        match log::oldest_writer(&self.db).await {
            Ok(Some((pid, state, open_for))) => tracing::warn!(
                pending,
                held_for_s = since.elapsed().as_secs(),
                blocking_pid = pid,
                blocking_state = %state,
                blocking_open_for_s = open_for,
                "projector held back: an older transaction is still open; the views, transfers and read-your-writes wait for it to end"
            ),
            Ok(None) => tracing::warn!(
                pending,
                held_for_s = since.elapsed().as_secs(),
                "projector held back: newer events are not readable yet"
            ),
            Err(e) => tracing::warn!(
                pending,
                held_for_s = since.elapsed().as_secs(),
                error = %e,
                "projector held back; the blocking transaction could not be looked up"
            ),
        }
    }

    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// Waits until the views include the event at `position`: the caller of a
    /// mutation then reads its own writes. Gives up after `timeout`.
    pub async fn wait_for(&self, position: LogPosition, timeout: Duration) -> bool {
        let rx = self.progress.subscribe();
        if *rx.borrow() >= position {
            return true;
        }
        self.nudge();
        reached(rx, position, timeout).await
    }

    pub fn position(&self) -> LogPosition {
        *self.progress.borrow()
    }
}

/// A batch as read from the log: its rows, which the chain hashes as
/// stored, and their events.
struct LogBatch {
    rows: log::LogRows,
    events: Vec<StoredEvent>,
}

impl LogBatch {
    async fn after(db: &Db, from: LogPosition, limit: i64) -> Result<LogBatch, LogError> {
        let rows = log::rows_after(db, from, limit).await?;
        let events = rows.events()?;
        Ok(LogBatch { rows, events })
    }
}

/// When the projector first found events it could not read yet, when it
/// last said so, and when it last looked.
#[derive(Default)]
struct HeldBack {
    since: Option<Instant>,
    logged: Option<Instant>,
    probed: Option<Instant>,
}

impl HeldBack {
    /// Not held back (any more); the last look still counts.
    fn clear(&mut self) {
        self.since = None;
        self.logged = None;
    }
}

/// Writes what a batch gathered. A row refused here belongs to one of the
/// batch's events; the first is named.
async fn finish(
    tx: &mut crate::db::WriteTx,
    batch: views::Batch,
    events: &[StoredEvent],
) -> Result<(), LogError> {
    batch.finish(tx).await.map_err(|error| LogError::Apply {
        position: events.first().map_or(0, StoredEvent::position),
        error,
    })
}

async fn apply_logged(
    tx: &mut crate::db::WriteTx,
    batch: &mut views::Batch,
    event: &StoredEvent,
) -> Result<(), LogError> {
    views::apply(tx, batch, event)
        .await
        .map_err(|error| LogError::Apply {
            position: event.position(),
            error,
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

/// What a full replay reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayProgress {
    /// The events applied so far.
    Applied(usize),
    /// Every event is applied; the indexes dropped for the replay are being
    /// built again.
    BuildingIndexes,
}

/// Empties every view for a full replay and drops their secondary indexes
/// and triggers, saving each definition in `deferred_indexes`, all in one
/// transaction with the checkpoint's move back to the start. Writing rows
/// into bare tables and building each index once at the end is what
/// pg_restore does. SQLite's search index is emptied (made again) and,
/// without the trigger that fed it, filled from the licenses at the end: a
/// search meanwhile finds nothing, as the views it searches are being
/// rebuilt anyway. A crash in between leaves the definitions saved, and
/// `build_deferred_indexes` (run at every start) builds them; building them
/// early, while a replay still runs, is correct too, only slower.
pub async fn reset_views_for_replay(db: &Db) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let mut tx = db.begin_write().await?;
    let mut deferred: Vec<(String, String)> = Vec::new();
    let mut drops: Vec<String> = Vec::new();
    if let Some((table, fill)) = db.backend.search_table() {
        let sql: Option<String> =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(table)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(sql) = sql {
            // Dropping an FTS5 table and making it again is how it is
            // emptied at once; a DELETE takes every row's trigrams out.
            drops.push(format!("DROP TABLE {table}"));
            drops.push(sql);
            deferred.push((format!("{table}: filled"), fill.to_string()));
        }
    }
    let rows = sqlx::query(&db.backend.deferrable_indexes(views::VIEW_TABLES))
        .fetch_all(&mut *tx)
        .await?;
    for row in &rows {
        let name: String = row.try_get("name")?;
        let kind: String = row.try_get("kind")?;
        let sql: String = row.try_get("sql")?;
        drops.push(format!("DROP {} {name}", kind.to_uppercase()));
        deferred.push((name, sql));
    }
    let saved: i64 = sqlx::query_scalar("SELECT count(*) FROM deferred_indexes")
        .fetch_one(&mut *tx)
        .await?;
    for (ord, (name, sql)) in deferred.iter().enumerate() {
        // After what an earlier replay cut short left saved.
        let ord = saved + i64::try_from(ord).unwrap_or(i64::MAX - saved);
        // A definition already saved (a replay cut short) stays as it was.
        sqlx::query(
            "INSERT INTO deferred_indexes (name, ord, sql) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(ord)
        .bind(sql)
        .execute(&mut *tx)
        .await?;
    }
    for statement in &drops {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    for empty in db.backend.empty_tables(views::VIEW_TABLES) {
        sqlx::query(&empty).execute(&mut *tx).await?;
    }
    sqlx::query("UPDATE log_checkpoints SET transaction_id = 0, position = 0 WHERE consumer = $1")
        .bind(CONSUMER)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Builds the indexes a full replay dropped (see `reset_views_for_replay`),
/// in one transaction; nothing to do unless a replay is under way or was
/// cut short. Returns how many statements it ran.
pub async fn build_deferred_indexes(db: &Db) -> Result<usize, sqlx::Error> {
    // Read first: at a start there is nearly always nothing, and SQLite's
    // write transaction would wait for any writer.
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM deferred_indexes")
        .fetch_one(&db.pool)
        .await?;
    if waiting == 0 {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    let saved: Vec<(String, String)> =
        sqlx::query_as("SELECT name, sql FROM deferred_indexes ORDER BY ord")
            .fetch_all(&mut *tx)
            .await?;
    if saved.is_empty() {
        tx.rollback().await?;
        return Ok(0);
    }
    sqlx::query(db.backend.index_build_settings())
        .execute(&mut *tx)
        .await?;
    for (name, sql) in &saved {
        tracing::debug!(index = %name, "building an index a replay deferred");
        sqlx::query(sql).execute(&mut *tx).await?;
    }
    sqlx::query("DELETE FROM deferred_indexes")
        .execute(&mut *tx)
        .await?;
    if let Some(reset) = db.backend.index_build_reset() {
        sqlx::query(reset).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    // The views only: the whole database's ANALYZE took twice as long,
    // most of it on the events.
    for table in views::VIEW_TABLES {
        db.analyze(Some(table)).await?;
    }
    Ok(saved.len())
}

/// One view table as it is and as a replay of the log makes it.
#[derive(Debug, Default)]
pub struct TableComparison {
    pub table: &'static str,
    pub live_rows: usize,
    pub replayed_rows: usize,
    /// Rows (as text) only the live table has, and only the replay has.
    pub only_live: Vec<String>,
    pub only_replayed: Vec<String>,
}

impl TableComparison {
    pub fn equal(&self) -> bool {
        self.only_live.is_empty() && self.only_replayed.is_empty()
    }
}

/// Rebuilds every view from the log, up to the views' checkpoint, inside
/// one transaction that is rolled back, and compares the result with the
/// views table by table. The checkpoint row is held meanwhile, so the
/// projector (of a running service too) waits and the views cannot move
/// under the comparison; on SQLite every writer waits.
pub async fn compare_with_replay(db: &Db) -> Result<Vec<TableComparison>, LogError> {
    let mut tx = db.begin_write().await?;
    let lock = match db.backend {
        crate::db::Backend::Postgres => " FOR UPDATE",
        crate::db::Backend::Sqlite => "",
    };
    let (transaction_id, position): (i64, i64) = sqlx::query_as(&format!(
        "SELECT transaction_id, position FROM log_checkpoints WHERE consumer = $1{lock}"
    ))
    .bind(CONSUMER)
    .fetch_one(&mut *tx)
    .await?;
    let checkpoint = LogPosition {
        transaction_id,
        position,
    };
    let mut live = Vec::new();
    for table in views::VIEW_TABLES {
        live.push(dump(&mut tx, db.backend, table).await?);
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    let mut at = LogPosition::default();
    'log: loop {
        let events = log::read_after(db, at, REPLAY_BATCH).await?;
        if events.is_empty() {
            break;
        }
        let mut batch = views::Batch::new(db.backend);
        for event in &events {
            if event.at_log > checkpoint {
                finish(&mut tx, batch, &events).await?;
                break 'log;
            }
            apply_logged(&mut tx, &mut batch, event).await?;
            at = event.at_log;
        }
        finish(&mut tx, batch, &events).await?;
    }
    let mut report = Vec::new();
    for (table, live) in views::VIEW_TABLES.iter().zip(live) {
        let replayed = dump(&mut tx, db.backend, table).await?;
        report.push(compare(table, live, replayed));
    }
    tx.rollback().await?;
    Ok(report)
}

/// Every row of `table` as one text each, sorted.
async fn dump(
    tx: &mut crate::db::WriteTx,
    backend: crate::db::Backend,
    table: &str,
) -> Result<Vec<String>, sqlx::Error> {
    use sqlx::{Column, Row};
    let mut rows: Vec<String> = match backend {
        // Its own rendering covers every column type (json, dates, booleans)
        // the Any driver cannot decode.
        crate::db::Backend::Postgres => {
            sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM {table} t"))
                .fetch_all(&mut **tx)
                .await?
        }
        crate::db::Backend::Sqlite => {
            let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                .fetch_all(&mut **tx)
                .await?;
            rows.iter()
                .map(|row| {
                    row.columns()
                        .iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                                v.map_or("null".to_string(), |v| v.to_string())
                            } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                                v.map_or("null".to_string(), |v| v.to_string())
                            } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                                v.map_or("null".to_string(), |v| format!("{v:?}"))
                            } else {
                                "?".to_string()
                            };
                            format!("{}={value}", c.name())
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        }
    };
    rows.sort();
    Ok(rows)
}

/// The rows two sorted multisets do not share.
fn compare(table: &'static str, live: Vec<String>, replayed: Vec<String>) -> TableComparison {
    let mut c = TableComparison {
        table,
        live_rows: live.len(),
        replayed_rows: replayed.len(),
        ..Default::default()
    };
    let (mut l, mut r) = (live.into_iter().peekable(), replayed.into_iter().peekable());
    loop {
        match (l.peek(), r.peek()) {
            (None, None) => break,
            (Some(_), None) => c.only_live.extend(l.next()),
            (None, Some(_)) => c.only_replayed.extend(r.next()),
            (Some(a), Some(b)) => match a.cmp(b) {
                std::cmp::Ordering::Equal => {
                    l.next();
                    r.next();
                }
                std::cmp::Ordering::Less => c.only_live.extend(l.next()),
                std::cmp::Ordering::Greater => c.only_replayed.extend(r.next()),
            },
        }
    }
    c
}

/// Whether the position `progress` announces reaches `position` within
/// `timeout`: how a caller waits for a log consumer (the projector, the
/// transfers' second steps) to catch up with its own write.
pub async fn reached(
    mut progress: watch::Receiver<LogPosition>,
    position: LogPosition,
    timeout: Duration,
) -> bool {
    let reached = async {
        loop {
            if *progress.borrow_and_update() >= position {
                return;
            }
            if progress.changed().await.is_err() {
                return;
            }
        }
    };
    tokio::time::timeout(timeout, reached).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_finds_the_rows_either_side_lacks() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let c = compare("t", s(&["a", "b", "b", "d"]), s(&["b", "c", "d"]));
        assert_eq!(c.only_live, s(&["a", "b"]));
        assert_eq!(c.only_replayed, s(&["c"]));
        assert!(!c.equal());
        assert!(compare("t", s(&["x"]), s(&["x"])).equal());
    }
}

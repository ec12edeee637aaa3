//! The event store behind the cqrs-es frameworks: postgres-es / sqlite-es
//! persist and read the events; the snapshots are kept here.
//!
//! Why not cqrs-es's own snapshot store: in cqrs-es 0.5 the aggregate a
//! command was handled on already holds the command's events (EventSink
//! applies them as they are written), and `PersistedEventStore::commit`
//! applies them a second time before saving the snapshot; it also saves only
//! the events up to the snapshot boundary while recording the sequence of the
//! last one. Either way the snapshot disagreed with the log: a partner whose
//! 100th event was a grant of 1 credit was loaded with 1 credit it never had.
//!
//! Here the snapshot is the state the command ended with, written after its
//! events committed. A snapshot is only a cache of the log: one that cannot
//! be written or read is logged and the state is replayed from the events.
//!
//! The states this process last committed are also kept in memory, so a
//! partner with 100,000 licenses is not read and parsed from its snapshot on
//! every command. A cached state is only a starting point: the events written
//! after it (by another process, say) are always read and applied, and a
//! stale one loses the optimistic-concurrency race at commit like any other.

use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The cache's budget, counted in events the cached states hold (a proxy
/// for their size that needs no measuring).
const CACHE_EVENTS: usize = 2_000_000;

/// States by stream id: (state, last sequence it includes).
struct Cache<A> {
    states: HashMap<String, (A, usize)>,
    events: usize,
}

impl<A: Clone> Cache<A> {
    fn get(&self, id: &str) -> Option<(A, usize)> {
        self.states.get(id).cloned()
    }

    fn put(&mut self, id: String, state: A, sequence: usize) {
        if let Some((_, old)) = self.states.insert(id, (state, sequence)) {
            self.events -= old;
        }
        self.events += sequence;
        if self.events > CACHE_EVENTS {
            // Any order will do: a dropped state is read from its snapshot.
            let mut over = self.events - CACHE_EVENTS / 2;
            self.states.retain(|_, (_, n)| {
                if over == 0 {
                    return true;
                }
                over = over.saturating_sub(*n);
                false
            });
            self.events = self.states.values().map(|(_, n)| n).sum();
        }
    }

    fn forget(&mut self, id: &str) {
        if let Some((_, n)) = self.states.remove(id) {
            self.events -= n;
        }
    }
}

/// Where the snapshots table lives; the SQL differs only in the JSON column.
#[derive(Clone)]
pub enum SnapshotTable {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl SnapshotTable {
    /// The newest snapshot of a stream: (last sequence it includes, state).
    async fn read(&self, kind: &str, id: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
        const SQLITE: &str = "SELECT last_sequence, payload FROM snapshots \
             WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY last_sequence DESC LIMIT 1";
        const POSTGRES: &str = "SELECT last_sequence, payload::text FROM snapshots \
             WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY last_sequence DESC LIMIT 1";
        match self {
            SnapshotTable::Sqlite(pool) => {
                sqlx::query_as(SQLITE)
                    .bind(kind)
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
            SnapshotTable::Postgres(pool) => {
                sqlx::query_as(POSTGRES)
                    .bind(kind)
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
        }
    }

    /// Replaces the stream's snapshot with a newer one. Two writers racing
    /// may both leave a row; each is a true state at its sequence and the
    /// reader takes the newest.
    async fn write(
        &self,
        kind: &str,
        id: &str,
        sequence: i64,
        count: i64,
        payload: &str,
    ) -> Result<(), sqlx::Error> {
        const DELETE: &str = "DELETE FROM snapshots \
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND last_sequence < $3";
        const SQLITE: &str = "INSERT INTO snapshots \
             (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload) \
             SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS \
             (SELECT 1 FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2)";
        const POSTGRES: &str = "INSERT INTO snapshots \
             (aggregate_type, aggregate_id, last_sequence, current_snapshot, payload) \
             SELECT $1, $2, $3, $4, $5::json WHERE NOT EXISTS \
             (SELECT 1 FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2)";
        match self {
            SnapshotTable::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for (sql, with_payload) in [(DELETE, false), (SQLITE, true)] {
                    let mut q = sqlx::query(sql).bind(kind).bind(id).bind(sequence);
                    if with_payload {
                        q = q.bind(count).bind(payload);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await
            }
            SnapshotTable::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for (sql, with_payload) in [(DELETE, false), (POSTGRES, true)] {
                    let mut q = sqlx::query(sql).bind(kind).bind(id).bind(sequence);
                    if with_payload {
                        q = q.bind(count).bind(payload);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await
            }
        }
    }
}

/// cqrs-es's event store for the events, this module's snapshots for the
/// state: one snapshot every `every` events of a stream.
pub struct LedgerStore<R: PersistedEventRepository, A: Aggregate> {
    events: PersistedEventStore<R, A>,
    repo: R,
    snapshots: SnapshotTable,
    every: usize,
    cache: Arc<Mutex<Cache<A>>>,
}

impl<R: PersistedEventRepository, A: Aggregate + Clone> LedgerStore<R, A> {
    /// `events_repo` and `reads_repo` are two handles on the same database:
    /// cqrs-es's store keeps the one it is given to itself.
    pub fn new(events_repo: R, reads_repo: R, snapshots: SnapshotTable, every: usize) -> Self {
        LedgerStore {
            events: PersistedEventStore::new_event_store(events_repo),
            repo: reads_repo,
            snapshots,
            every: every.max(1),
            cache: Arc::new(Mutex::new(Cache {
                states: HashMap::new(),
                events: 0,
            })),
        }
    }

    /// This store, reading from the same cache as `other`: the framework
    /// owns one store, and reads for quotes go through a second.
    pub fn sharing_cache_with(mut self, other: &Self) -> Self {
        self.cache = other.cache.clone();
        self
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache<A>> {
        // A panic elsewhere while holding the lock leaves a consistent map.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn snapshot(&self, id: &str) -> Option<(A, usize)> {
        let (sequence, payload) = match self.snapshots.read(A::TYPE, id).await {
            Ok(found) => found?,
            Err(e) => {
                tracing::warn!(aggregate_id = id, error = %e, "snapshot unreadable; replaying the events");
                return None;
            }
        };
        match serde_json::from_str::<A>(&payload) {
            Ok(state) => Some((state, usize::try_from(sequence).ok()?)),
            // A state whose shape changed since the snapshot was written.
            Err(e) => {
                tracing::info!(aggregate_id = id, error = %e, "snapshot of another shape; replaying the events");
                None
            }
        }
    }
}

impl<R, A> EventStore<A> for LedgerStore<R, A>
where
    R: PersistedEventRepository,
    A: Aggregate + Clone + Send + Sync,
{
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        self.events.load_events(aggregate_id).await
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<EventStoreAggregateContext<A>, AggregateError<A::Error>> {
        let cached = self.cache().get(aggregate_id);
        let (aggregate, current_sequence) = match cached {
            Some(found) => found,
            None => self
                .snapshot(aggregate_id)
                .await
                .unwrap_or_else(|| (A::default(), 0)),
        };
        let mut context = EventStoreAggregateContext {
            aggregate_id: aggregate_id.to_string(),
            aggregate,
            current_sequence,
            current_snapshot: None,
        };
        let newer: Vec<SerializedEvent> = self
            .repo
            .get_last_events::<A>(aggregate_id, current_sequence)
            .await?;
        for serialized in newer {
            let envelope = EventEnvelope::<A>::try_from(serialized)?;
            context.current_sequence = envelope.sequence;
            context.aggregate.apply(envelope.payload);
        }
        Ok(context)
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        mut context: EventStoreAggregateContext<A>,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let before = context.current_sequence;
        let after = before + events.len();
        let aggregate_id = context.aggregate_id.clone();
        // The framework handed the command this same aggregate, so it already
        // holds the new events: it is the state at `after`.
        let state = std::mem::take(&mut context.aggregate);
        let committed = match self.events.commit(events, context, metadata).await {
            Ok(committed) => committed,
            Err(e) => {
                // Most likely another writer got there first.
                self.cache().forget(&aggregate_id);
                return Err(e);
            }
        };
        if after / self.every > before / self.every {
            let written = match serde_json::to_string(&state) {
                Ok(payload) => {
                    let count = i64::try_from(after / self.every).unwrap_or(i64::MAX);
                    let sequence = i64::try_from(after).unwrap_or(i64::MAX);
                    self.snapshots
                        .write(A::TYPE, &aggregate_id, sequence, count, &payload)
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = written {
                tracing::warn!(aggregate_id, error = %e, "snapshot not written; the events are");
            }
        }
        self.cache().put(aggregate_id, state, after);
        Ok(committed)
    }
}

//! The event store behind the cqrs-es frameworks (`LedgerStore`):
//! postgres-es / sqlite-es persist and read the events; the snapshots
//! (`snapshots`) and the in-memory states (`cache`) are kept here.
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
//! So it is written in the background: turning a large state into JSON and
//! writing it takes tens of milliseconds (a partner with 100,000 licenses:
//! 16 MB) that the command's answer need not wait for, and
//! one lost to a crash costs only a longer replay at the next load.
//!
//! The states this process last committed are also kept in memory; see
//! `cache` for why a stale one is harmless.

mod cache;
mod snapshots;

pub use snapshots::SnapshotTable;

pub use cache::{Footprint, set_limit as set_cache_limit, used as cache_bytes};

use aggregates::ledger::decoding;
use cache::Cache;
use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use postgres_es::PostgresEventRepository;
use projections::write_gate::{WriteGate, turn};
use sqlite_es::SqliteEventRepository;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A snapshot larger than this is decoded on a blocking thread, so that a
/// large account's first load does not hold up the requests sharing its
/// async worker; a state whose estimate is larger is freed on one.
const DECODE_INLINE_BYTES: usize = 256 * 1024;

/// A cqrs-es event repository and the pool it is built on: the snapshots
/// are kept in the same database, through the same pool.
pub trait Repository: PersistedEventRepository + Sized + 'static {
    type Pool: SnapshotTable;
    fn on(pool: &Self::Pool) -> Self;
}

impl Repository for SqliteEventRepository {
    type Pool = sqlx::SqlitePool;
    fn on(pool: &Self::Pool) -> Self {
        SqliteEventRepository::new(pool.clone())
    }
}

impl Repository for PostgresEventRepository {
    type Pool = sqlx::PgPool;
    fn on(pool: &Self::Pool) -> Self {
        PostgresEventRepository::new(pool.clone())
    }
}

/// cqrs-es's event store for the events, this module's snapshots for the
/// state: one snapshot every `every` events of a stream, or fewer for a long
/// one (`snapshot_interval`).
pub struct LedgerStore<R: Repository, A: Aggregate> {
    events: PersistedEventStore<R, A>,
    repo: R,
    snapshots: R::Pool,
    every: usize,
    cache: Arc<Mutex<Cache<A>>>,
    /// Streams whose snapshot is being written: one write per stream at a
    /// time; a boundary passed meanwhile is left to the next one.
    writing: Arc<Mutex<HashSet<String>>>,
    /// SQLite: appends and snapshot writes wait their turn with the
    /// process's other writers instead of in SQLite's busy handler.
    gate: Option<WriteGate>,
    /// Streams whose last load read more events than their interval past
    /// their snapshot (or had none): their next commit writes one, so the
    /// next cold load does not read them all again.
    far_behind: Arc<Mutex<HashSet<String>>>,
}

/// Events between two snapshots of a stream of `events`: `every`, or for a
/// long stream about a 64th of it (a power of two, so the boundaries stay
/// put while it grows). Writing a snapshot costs in proportion to the state
/// (16 MB for 100,000 licenses, held up the stream's commands for tens of
/// milliseconds on SQLite); reading the events after one costs a few
/// microseconds each. So a large account is snapshotted every 1,024 events
/// instead of every 100, and its cold load reads at most that many more.
fn snapshot_interval(every: usize, events: usize) -> usize {
    let scaled = events / 64;
    let scaled = if scaled == 0 { 0 } else { 1 << scaled.ilog2() };
    every.max(scaled)
}

impl<R: Repository, A: Aggregate + Clone + Footprint + 'static> LedgerStore<R, A> {
    pub fn new(pool: &R::Pool, every: usize) -> Self {
        LedgerStore {
            // cqrs-es's store keeps the repository it is given to itself;
            // the newer events are read through a second one.
            events: PersistedEventStore::new_event_store(R::on(pool)),
            repo: R::on(pool),
            snapshots: pool.clone(),
            every: every.max(1),
            cache: Arc::new(Mutex::new(Cache::new())),
            writing: Arc::default(),
            gate: pool.write_gate(),
            far_behind: Arc::default(),
        }
    }

    /// This store, reading from the same cache as `other`: the framework
    /// owns one store, and reads for quotes go through a second.
    pub fn sharing_cache_with(mut self, other: &Self) -> Self {
        self.cache = other.cache.clone();
        // A stream that second store found far behind is snapshotted at
        // the first store's next commit of it.
        self.far_behind = other.far_behind.clone();
        self
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache<A>> {
        lock(&self.cache)
    }

    async fn snapshot(&self, id: &str) -> Option<(A, usize)> {
        let (sequence, payload) = match self.snapshots.read(A::TYPE, id).await {
            Ok(found) => found?,
            Err(e) => {
                tracing::warn!(aggregate_id = id, error = %e, "snapshot unreadable; replaying the events");
                return None;
            }
        };
        // `decoding`: the texts a large state repeats are allocated once.
        let inline = payload.len() <= DECODE_INLINE_BYTES;
        let decode = move || decoding(|| serde_json::from_str::<A>(&payload));
        let decoded = if inline {
            decode()
        } else {
            match tokio::task::spawn_blocking(decode).await {
                Ok(decoded) => decoded,
                Err(e) => {
                    tracing::warn!(aggregate_id = id, error = %e, "snapshot decoding stopped; replaying the events");
                    return None;
                }
            }
        };
        match decoded {
            Ok(state) => Some((state, usize::try_from(sequence).ok()?)),
            // A state whose shape changed since the snapshot was written.
            Err(e) => {
                tracing::info!(aggregate_id = id, error = %e, "snapshot of another shape; replaying the events");
                None
            }
        }
    }
}

impl<R: Repository, A: Aggregate + Clone + Footprint + 'static> LedgerStore<R, A> {
    /// Writes `state`, the stream's state at event `after`, as its snapshot
    /// in the background (see the module's comment).
    fn snapshot_later(&self, id: &str, state: A, after: usize) {
        let first = lock(&self.writing).insert(id.to_string());
        if !first {
            return;
        }
        let (pool, writing, id) = (self.snapshots.clone(), self.writing.clone(), id.to_string());
        let gate = self.gate.clone();
        let count = i64::try_from(after / self.every).unwrap_or(i64::MAX);
        let sequence = i64::try_from(after).unwrap_or(i64::MAX);
        tokio::spawn(async move {
            let encoded = tokio::task::spawn_blocking(move || serde_json::to_string(&state)).await;
            let written = match encoded {
                Ok(Ok(payload)) => async {
                    let _turn = turn(gate.as_ref()).await?;
                    pool.write(A::TYPE, &id, sequence, count, &payload).await
                }
                .await
                .map_err(|e| e.to_string()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = written {
                tracing::warn!(aggregate_id = id, error = %e, "snapshot not written; the events are");
            }
            lock(&writing).remove(&id);
        });
    }
}

/// Frees states the cache let go. A large one is freed on a blocking
/// thread: the command that let it go has its answer to give, and freeing
/// 100,000 licenses' entries took ~70 ms.
fn release<A: Footprint + Send + 'static>(states: Vec<A>) {
    if states.iter().any(|s| s.footprint() > DECODE_INLINE_BYTES) {
        tokio::task::spawn_blocking(move || drop(states));
    }
}

/// A panic elsewhere while holding one of these locks leaves a consistent
/// set or map: every change under them is one call.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<R, A> EventStore<A> for LedgerStore<R, A>
where
    R: Repository,
    A: Aggregate + Clone + Footprint + Send + Sync + 'static,
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
        let read = newer.len();
        for serialized in newer {
            let envelope = EventEnvelope::<A>::try_from(serialized)?;
            context.current_sequence = envelope.sequence;
            context.aggregate.apply(envelope.payload);
        }
        if read > snapshot_interval(self.every, context.current_sequence) {
            lock(&self.far_behind).insert(aggregate_id.to_string());
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
        let turn = turn(self.gate.as_ref())
            .await
            .map_err(|e| AggregateError::UnexpectedError(Box::new(e)))?;
        let committed = self.events.commit(events, context, metadata).await;
        drop(turn);
        let committed = match committed {
            Ok(committed) => committed,
            // Most likely another writer got there first. The cached state
            // stays: it is a true state at its sequence, and the retry reads
            // the winner's events on top of it instead of the snapshot.
            Err(e) => return Err(e),
        };
        let interval = snapshot_interval(self.every, after);
        let behind = lock(&self.far_behind).remove(&aggregate_id);
        if after / interval > before / interval || behind {
            self.snapshot_later(&aggregate_id, state.clone(), after);
        }
        let released = self.cache().put(aggregate_id, state, after);
        release(released);
        Ok(committed)
    }
}

#[cfg(test)]
mod tests {
    use super::snapshot_interval;

    #[test]
    fn a_long_stream_is_snapshotted_at_a_64th_of_its_length_a_short_one_every_100() {
        assert_eq!(snapshot_interval(100, 0), 100);
        assert_eq!(snapshot_interval(100, 6_400), 100);
        assert_eq!(snapshot_interval(100, 16_384), 256);
        assert_eq!(snapshot_interval(100, 100_000), 1_024);
        // Within a power of two the interval holds still, so its boundaries do.
        assert_eq!(snapshot_interval(100, 131_071), 1_024);
        assert_eq!(snapshot_interval(100, 131_072), 2_048);
    }
}

//! The states this process last committed, by stream, so a partner with
//! 100,000 licenses is not read and parsed from its snapshot on every
//! command. A cached state is only a starting point: `LedgerStore` always
//! reads and applies the events written after it (by another process, say),
//! and a stale one loses the optimistic-concurrency race at commit like any
//! other.
//!
//! The cache is bounded by an estimate of the bytes its states hold, one
//! budget for the whole process (`set_limit`, from AGGREGATE_CACHE_MB): a
//! bound in events let a few large accounts keep hundreds of MB resident
//! after a load had passed.

use aggregates::ledger::{LicenseState, SupportState};
use aggregates::{Admin, Ledger, Partner, Reseller};
use std::collections::HashMap;
use std::mem::size_of;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The bytes every cache of the process may hold together.
static LIMIT: AtomicUsize = AtomicUsize::new(256 * 1024 * 1024);
/// The bytes they hold now (the sum of their entries' estimates).
static USED: AtomicUsize = AtomicUsize::new(0);

/// Sets the process-wide bound, in bytes (0: nothing is cached).
pub fn set_limit(bytes: usize) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// The bytes the cached states are estimated to hold, all caches together.
pub fn used() -> usize {
    USED.load(Ordering::Relaxed)
}

/// An estimate of the heap and inline bytes a state holds, computed from
/// its collections' lengths without walking them (a partner's state is put
/// in the cache after every command).
pub trait Footprint {
    fn footprint(&self) -> usize;
}

/// A heap string of an id ("lic_" and 32 hex digits) or a short name, with
/// the allocator's rounding.
const STRING_HEAP: usize = 48;

/// The state's maps are imbl's hash array mapped tries: each entry inline
/// in a node, the nodes (shared on clone, counted once here) about half
/// as large again as the entries they hold.
fn map_bytes<K, V>(len: usize, heap_per_entry: usize) -> usize {
    len * (size_of::<(K, V)>() * 3 / 2 + heap_per_entry)
}

impl Footprint for Ledger {
    fn footprint(&self) -> usize {
        size_of::<Ledger>()
            + map_bytes::<String, ()>(self.resellers.len(), STRING_HEAP)
            + map_bytes::<String, i64>(self.grants.len(), STRING_HEAP)
            + map_bytes::<String, ()>(self.transfers_in.len(),
                STRING_HEAP,
            )
            + map_bytes::<String, ()>(self.transfers_out.len(),
                STRING_HEAP,
            )
            + map_bytes::<String, Option<String>>(self.keys.len(),
                2 * STRING_HEAP,
            )
            // Key id, product and edition besides the id: at most, as those
            // read from a snapshot are shared (`SharedText`).
            + map_bytes::<String, LicenseState>(self.licenses.len(),
                4 * STRING_HEAP,
            )
            + map_bytes::<String, SupportState>(self.supports.len(),
                4 * STRING_HEAP,
            )
            + map_bytes::<String, ()>(self.subscriptions.len(),
                STRING_HEAP,
            )
            + map_bytes::<String, String>(self.idempotency.len(),
                2 * STRING_HEAP,
            )
            + self
                .allowed_products
                .as_ref()
                .map_or(0, |p| p.capacity() * (size_of::<String>() + STRING_HEAP))
    }
}

impl Footprint for Partner {
    fn footprint(&self) -> usize {
        self.0.footprint()
    }
}

impl Footprint for Reseller {
    fn footprint(&self) -> usize {
        self.0.footprint()
    }
}

impl Footprint for Admin {
    fn footprint(&self) -> usize {
        self.0.footprint()
    }
}

struct Entry<A> {
    state: A,
    /// The last sequence the state includes.
    sequence: usize,
    bytes: usize,
}

/// States by stream id.
pub(super) struct Cache<A> {
    states: HashMap<String, Entry<A>>,
    /// What this cache's entries add to `USED`.
    bytes: usize,
}

impl<A: Clone + Footprint> Cache<A> {
    pub(super) fn new() -> Self {
        Cache {
            states: HashMap::new(),
            bytes: 0,
        }
    }

    pub(super) fn get(&self, id: &str) -> Option<(A, usize)> {
        self.states.get(id).map(|e| (e.state.clone(), e.sequence))
    }

    /// Keeps `state` as the stream's at `sequence`, unless a later one is
    /// kept already (two commits' answers can arrive out of order). Returns
    /// the states it let go, `state` among them if it was not kept: freeing
    /// a large one takes tens of milliseconds (100,000 licenses: ~70 ms),
    /// which must not be spent under the cache's lock.
    #[must_use = "the states let go are the caller's to drop"]
    pub(super) fn put(&mut self, id: String, state: A, sequence: usize) -> Vec<A> {
        if self.states.get(&id).is_some_and(|e| e.sequence > sequence) {
            return vec![state];
        }
        let limit = LIMIT.load(Ordering::Relaxed);
        let bytes = state.footprint() + size_of::<Entry<A>>() + id.len();
        let mut released: Vec<A> = self.forget(&id).into_iter().collect();
        if bytes > limit / 2 {
            // One state this large would push every other out; it is read
            // from its snapshot instead.
            released.push(state);
            return released;
        }
        self.states.insert(
            id,
            Entry {
                state,
                sequence,
                bytes,
            },
        );
        self.add(bytes);
        if USED.load(Ordering::Relaxed) > limit {
            // Any order will do: a dropped state is read from its snapshot.
            // This cache gives back what it can, down to half the budget;
            // the others give back theirs when they are next written.
            let mut over = USED.load(Ordering::Relaxed).saturating_sub(limit / 2);
            let mut freed = 0;
            let evicted = self.states.extract_if(|_, e| {
                if over == 0 {
                    return false;
                }
                over = over.saturating_sub(e.bytes);
                freed += e.bytes;
                true
            });
            released.extend(evicted.map(|(_, e)| e.state));
            self.states.shrink_to_fit();
            self.sub(freed);
        }
        released
    }

    fn forget(&mut self, id: &str) -> Option<A> {
        let e = self.states.remove(id)?;
        self.sub(e.bytes);
        Some(e.state)
    }

    fn add(&mut self, bytes: usize) {
        self.bytes += bytes;
        USED.fetch_add(bytes, Ordering::Relaxed);
    }

    fn sub(&mut self, bytes: usize) {
        self.bytes -= bytes;
        USED.fetch_sub(bytes, Ordering::Relaxed);
    }
}

impl<A> Drop for Cache<A> {
    fn drop(&mut self) {
        USED.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_answer_does_not_replace_a_later_state() {
        let mut cache = Cache::new();
        let later = Ledger {
            balance: 7,
            ..Ledger::default()
        };
        assert!(cache.put("acc".into(), later.clone(), 11).is_empty());
        let refused = cache.put("acc".into(), Ledger::default(), 10);
        assert_eq!(refused, vec![Ledger::default()]);
        assert_eq!(cache.get("acc"), Some((later.clone(), 11)));
        let latest = Ledger {
            balance: 9,
            ..Ledger::default()
        };
        let replaced = cache.put("acc".into(), latest.clone(), 12);
        assert_eq!(replaced, vec![later]);
        assert_eq!(cache.get("acc"), Some((latest, 12)));
    }

    #[test]
    fn a_ledger_with_more_licenses_is_estimated_larger() {
        let mut ledger = Ledger::default();
        let small = ledger.footprint();
        for i in 0..1000 {
            ledger.grants.insert(format!("grant-{i}"), 1);
        }
        let large = ledger.footprint();
        // 1,000 entries of a String key and an i64: more than 70 bytes each.
        assert!(large - small > 70_000, "{small} -> {large}");
        assert!(large - small < 400_000, "{small} -> {large}");
    }
}

//! The states this process last committed, by stream, so a partner with
//! 100,000 licenses is not read and parsed from its snapshot on every
//! command. A cached state is only a starting point: `LedgerStore` always
//! reads and applies the events written after it (by another process, say),
//! and a stale one loses the optimistic-concurrency race at commit like any
//! other.

use std::collections::HashMap;

/// The cache's budget, counted in events the cached states hold (a proxy
/// for their size that needs no measuring).
const CACHE_EVENTS: usize = 2_000_000;

/// States by stream id: (state, last sequence it includes).
pub(super) struct Cache<A> {
    states: HashMap<String, (A, usize)>,
    events: usize,
}

impl<A: Clone> Cache<A> {
    pub(super) fn new() -> Self {
        Cache {
            states: HashMap::new(),
            events: 0,
        }
    }

    pub(super) fn get(&self, id: &str) -> Option<(A, usize)> {
        self.states.get(id).cloned()
    }

    pub(super) fn put(&mut self, id: String, state: A, sequence: usize) {
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

    pub(super) fn forget(&mut self, id: &str) {
        if let Some((_, n)) = self.states.remove(id) {
            self.events -= n;
        }
    }
}

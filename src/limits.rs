//! Fixed-window rate limits kept in memory, for device calls: one limit per
//! activation key (a key is one product install) and a wider one per client
//! address (many installs may share one network address).

use crate::error::{AppError, AppResult};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_key: u32,
    per_client: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_key: u32, per_client: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            per_key,
            per_client,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one call for the key and for the client; refuses when either is
    /// over its limit.
    pub fn check(&self, key: &str, client: &str) -> AppResult<()> {
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        // Both counters move before either is judged, so a flood of calls on
        // keys that are already over their limit still uses up the client's.
        let mut refused_for = None;
        for (name, limit) in [
            (format!("key:{key}"), self.per_key),
            (format!("client:{client}"), self.per_client),
        ] {
            let entry = counts.entry(name).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.window {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
            if entry.1 > limit {
                let wait = self
                    .window
                    .saturating_sub(now.duration_since(entry.0))
                    .as_secs()
                    + 1;
                refused_for = Some(refused_for.map_or(wait, |w: u64| w.max(wait)));
            }
        }
        if let Some(wait) = refused_for {
            return Err(AppError::RateLimited(format!(
                "too many device requests; try again in {wait} s"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_holds_on_its_own() {
        let l = RateLimiter::new(2, 3, Duration::from_secs(60));
        assert!(l.check("k1", "c").is_ok());
        assert!(l.check("k1", "c").is_ok());
        assert_eq!(
            l.check("k1", "c").map_err(|e| e.code()),
            Err("RATE_LIMITED")
        );
        // The client's third call was counted above; a fourth is over its limit.
        assert!(l.check("k2", "c").is_err());
        assert!(l.check("k3", "other").is_ok());
    }
}
